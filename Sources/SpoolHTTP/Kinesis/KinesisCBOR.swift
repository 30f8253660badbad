import Foundation
import HTTPTypes
import Hummingbird
import NIOFoundationEssentialsCompat
import SpoolModel

/// Kinesis's CBOR wire (`Content-Type: application/x-amz-cbor-1.1`), what the AWS SDK for Java and the KCL send by
/// default: the JSON 1.1 protocol's documents written in CBOR, blobs as byte strings, timestamps as tag 1 over epoch
/// milliseconds. A CBOR request is read into the JSON input the handler decodes, and the JSON answer (or error)
/// written back in CBOR.
enum KinesisCBOR {
    static let contentType = "application/x-amz-cbor-1.1"

    /// The JSON body of a CBOR request. A timestamp (tag 1) over an integer is epoch milliseconds, as the SDKs write
    /// it; over a float, epoch seconds, as RFC 8949 defines the tag.
    static func jsonBody(_ body: ByteBuffer) throws -> ByteBuffer {
        guard body.readableBytes > 0 else { return ByteBuffer(string: "{}") }
        let tree: JSONTree
        do {
            tree = try CBOR.decode(Array(body.readableBytesView)) { tag, value in
                guard tag == CBOR.timestampTag else { return value }
                switch value {
                case .integer(let millis): return .double(Double(millis) / 1_000)
                case .double: return value
                default: throw CBOR.Malformed(reason: "a timestamp (tag 1) is not a number")
                }
            }
        } catch let error as CBOR.Malformed {
            throw SpoolError(.serialization, "The request body is not valid CBOR: \(error.reason).")
        }
        guard case .object = tree else { throw SpoolError(.serialization, "The request body is not a CBOR map.") }
        return ByteBuffer(data: AWSJSON.encode(tree))
    }

    /// `json` (an answer of the JSON protocol) in CBOR: `Data` members as byte strings, `…Timestamp` members as tag 1
    /// over epoch milliseconds.
    static func document(fromJSON json: Data) -> Data {
        let tree = (try? JSONDecoder().decode(JSONTree.self, from: json)) ?? .object([])
        return Data(CBOR.encode(wire(tree)) { isTimestamp($0) ? CBOR.timestampTag : nil })
    }

    static func errorResponse(_ shape: AWSErrorShape, message: String, requestID: String) -> Response {
        let document = JSONTree.object([("__type", .string(shape.type)), ("message", .string(message))])
        return Response(status: shape.status, headers: [.contentType: contentType, AWSJSON.requestID: requestID],
                        body: .init(byteBuffer: ByteBuffer(bytes: CBOR.encode(document))))
    }

    private static func isTimestamp(_ name: String) -> Bool { name.hasSuffix("Timestamp") }

    private static func wire(_ tree: JSONTree) -> JSONTree {
        switch tree {
        case .array(let items):
            return .array(items.map(wire))
        case .object(let members):
            return .object(members.map { name, value in
                switch value {
                case .string(let text) where name == "Data":
                    return (name, Data(base64Encoded: text).map { .bytes(Array($0)) } ?? value)
                case .double(let seconds) where isTimestamp(name):
                    return (name, .integer(Int64((seconds * 1_000).rounded())))
                case .integer(let seconds) where isTimestamp(name):
                    return (name, .integer(seconds * 1_000))
                default:
                    return (name, wire(value))
                }
            })
        default:
            return tree
        }
    }
}
