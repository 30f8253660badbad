import Foundation
import NIOCore
import ZIPFoundation

/// One message of AWS's event stream encoding (`application/vnd.amazon.eventstream`), the framing of streamed answers
/// such as Kinesis's SubscribeToShard: a prelude (total and header lengths, their CRC-32), string headers, the
/// payload, and the CRC-32 of everything before it.
enum EventStreamMessage {
    static let contentType = "application/vnd.amazon.eventstream"

    /// An event: `:message-type` `event`, its `:event-type`, and its payload (JSON or CBOR, as `contentType` says).
    static func event(_ type: String, contentType: String, payload: Data) -> ByteBuffer {
        encode(headers: [(":event-type", type), (":content-type", contentType), (":message-type", "event")], payload: payload)
    }

    /// An exception in the stream: `:message-type` `exception`, its `:exception-type`, and the service's error document.
    static func exception(_ type: String, contentType: String, payload: Data) -> ByteBuffer {
        encode(headers: [(":exception-type", type), (":content-type", contentType), (":message-type", "exception")], payload: payload)
    }

    static func encode(headers: [(name: String, value: String)], payload: Data) -> ByteBuffer {
        var headerBytes = Data()
        for (name, value) in headers {
            let nameBytes = Data(name.utf8)
            let valueBytes = Data(value.utf8)
            headerBytes.append(UInt8(nameBytes.count))
            headerBytes.append(nameBytes)
            headerBytes.append(7)  // a string
            headerBytes.append(contentsOf: [UInt8(valueBytes.count >> 8), UInt8(valueBytes.count & 0xFF)])
            headerBytes.append(valueBytes)
        }
        let total = 12 + headerBytes.count + payload.count + 4
        var message = Data()
        message.reserveCapacity(total)
        message.append(bigEndian: UInt32(total))
        message.append(bigEndian: UInt32(headerBytes.count))
        message.append(bigEndian: message.crc32(checksum: 0))
        message.append(headerBytes)
        message.append(payload)
        message.append(bigEndian: message.crc32(checksum: 0))
        return ByteBuffer(bytes: message)
    }
}

private extension Data {
    mutating func append(bigEndian value: UInt32) {
        append(contentsOf: [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)])
    }
}
