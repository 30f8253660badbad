import Crypto
import Foundation

/// The MD5 digests SQS returns and SDKs verify.
public enum MessageDigest {
    /// Lowercase hex MD5 of the UTF-8 body.
    public static func body(_ body: String) -> String {
        hex(Insecure.MD5.hash(data: Data(body.utf8)))
    }

    /// MD5 over attributes sorted by name, each encoded as
    /// `len(name) name len(type) type transport len(value) value` with 4-byte big-endian lengths,
    /// transport 1 for string values and 2 for binary. `nil` when there are no attributes.
    public static func attributes(_ attributes: [String: MessageAttributeValue]) -> String? {
        guard !attributes.isEmpty else { return nil }
        var md5 = Insecure.MD5()
        for name in attributes.keys.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) {
            let value = attributes[name]!
            var bytes: [UInt8] = []
            append(Array(name.utf8), to: &bytes)
            append(Array(value.dataType.utf8), to: &bytes)
            if let binary = value.binaryValue, value.baseType == "Binary" {
                bytes.append(2)
                append(Array(binary), to: &bytes)
            } else {
                bytes.append(1)
                append(Array((value.stringValue ?? "").utf8), to: &bytes)
            }
            md5.update(data: bytes)
        }
        return hex(md5.finalize())
    }

    static func append(_ field: [UInt8], to bytes: inout [UInt8]) {
        let length = UInt32(field.count)
        bytes.append(contentsOf: [UInt8(length >> 24), UInt8((length >> 16) & 0xFF), UInt8((length >> 8) & 0xFF), UInt8(length & 0xFF)])
        bytes.append(contentsOf: field)
    }

    static func hex(_ digest: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in digest {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// SHA-256 hex of the body, the content-based deduplication id of FIFO queues.
    public static func contentDeduplicationID(_ body: String) -> String {
        hex(SHA256.hash(data: Data(body.utf8)))
    }
}
