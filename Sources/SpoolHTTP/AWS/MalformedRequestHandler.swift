import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Answers a request that the HTTP parser rejects (a malformed request line or header, a bad `Content-Length`) in
/// AWS's JSON error shape — 400, `x-amzn-ErrorType`, `x-amzn-RequestId` and a body with `__type` and `message`,
/// which every JSON protocol of the AWS SDKs reads — then closes the connection, where the HTTP server alone would
/// send a bare 400 with no body. The request never reached a router, so which API it was for is unknown.
package final class MalformedRequestHandler: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    package typealias InboundIn = HTTPRequestPart
    package typealias InboundOut = HTTPRequestPart

    static let errorType = HTTPField.Name("x-amzn-ErrorType")!
    static let requestID = HTTPField.Name("x-amzn-RequestId")!

    package init() {}

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(data)
    }

    package func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parse = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        let type = "MalformedHttpRequestException"
        let message = "The request could not be read: its request line or headers are not valid HTTP/1.1 (\(parse))."
        let document = try? JSONSerialization.data(withJSONObject: ["__type": type, "message": message], options: [.sortedKeys])
        let body = ByteBuffer(bytes: document ?? Data())
        var fields = HTTPFields()
        fields[.contentType] = "application/x-amz-json-1.0"
        fields[.contentLength] = "\(body.readableBytes)"
        fields[.connection] = "close"
        fields[Self.errorType] = type
        fields[Self.requestID] = UUID().uuidString.lowercased()
        context.write(NIOAny(HTTPResponsePart.head(HTTPResponse(status: .badRequest, headerFields: fields))), promise: nil)
        context.write(NIOAny(HTTPResponsePart.body(body)), promise: nil)
        context.writeAndFlush(NIOAny(HTTPResponsePart.end(nil))).whenComplete { _ in context.close(promise: nil) }
    }
}
