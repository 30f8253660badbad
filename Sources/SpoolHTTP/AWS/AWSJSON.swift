import Foundation
import HTTPTypes
import Hummingbird
import NIOFoundationEssentialsCompat
import SpoolModel

/// Encoding and decoding of AWS JSON-protocol bodies, and the responses that carry them.
enum AWSJSON {
    static let amzTarget = HTTPField.Name("X-Amz-Target")!
    static let requestID = HTTPField.Name("x-amzn-RequestId")!
    static let queryError = HTTPField.Name("x-amzn-query-error")!

    static func decode<T: Decodable>(_ type: T.Type, from body: ByteBuffer) throws -> T {
        let data = body.readableBytes == 0 ? Data("{}".utf8) : Data(buffer: body)
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch let DecodingError.keyNotFound(key, _) {
            throw SpoolError.missingParameter(key.stringValue)
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw SpoolError(.serialization, "Start of structure or map found where not expected, or wrong type for \(path).")
        } catch let DecodingError.dataCorrupted(context) {
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw SpoolError(.serialization, path.isEmpty ? "The request body is not valid JSON." : "The value of \(path) is malformed.")
        }
    }

    /// Writes JSON as AWS does: `/` is not escaped (Foundation's default would send `http:\/\/…`).
    static func encode(_ value: some Encodable) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        return (try? encoder.encode(value)) ?? Data("{}".utf8)
    }

    static func response(_ value: some Encodable, contentType: String, requestID: String) -> Response {
        let data = encode(value)
        return Response(
            status: .ok,
            headers: [.contentType: contentType, Self.requestID: requestID],
            body: .init(byteBuffer: ByteBuffer(data: data))
        )
    }

    static func errorResponse(_ shape: AWSErrorShape, message: String, namespace: String, contentType: String, requestID: String, queryCompatible: Bool) -> Response {
        let body: [String: String] = ["__type": namespace.isEmpty ? shape.type : "\(namespace)#\(shape.type)", "message": message]
        var headers: HTTPFields = [.contentType: contentType, Self.requestID: requestID]
        if queryCompatible { headers[Self.queryError] = "\(shape.queryCode);\(shape.fault)" }
        let data = encode(body)
        return Response(status: shape.status, headers: headers, body: .init(byteBuffer: ByteBuffer(data: data)))
    }
}

/// An empty JSON object, the output of operations that return nothing.
struct EmptyOutput: Encodable {}
