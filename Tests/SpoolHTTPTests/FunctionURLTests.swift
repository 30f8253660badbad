import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import NIOCore
import Testing
@testable import SpoolHTTP

@Suite("Function URL mapping")
struct FunctionURLTests {
    @Test("a URL id is read from a host name of the lambda-url form only")
    func hostNames() {
        let id = String(repeating: "a", count: 30) + "b1"
        #expect(FunctionURLHandler.id(fromHost: "\(id).lambda-url.us-east-1.localhost:9070") == id)
        #expect(FunctionURLHandler.id(fromHost: "\(id).lambda-url.eu-central-1.on.aws") == id)
        #expect(FunctionURLHandler.id(fromHost: "127.0.0.1:9070") == nil)
        #expect(FunctionURLHandler.id(fromHost: "short.lambda-url.us-east-1.localhost") == nil)
        #expect(FunctionURLHandler.id(fromHost: "\(id).example.com") == nil)
    }

    @Test("query parameters are decoded and repeated names joined with commas")
    func query() {
        #expect(FunctionURLHandler.queryParameters("") == nil)
        #expect(FunctionURLHandler.queryParameters("a=1&a=2&b=J%C3%BCrgen+W&c") == ["a": "1,2", "b": "Jürgen W", "c": ""])
    }

    @Test("text bodies stay text, binary ones are base64")
    func bodies() {
        #expect(FunctionURLHandler.isText(nil) && FunctionURLHandler.isText("text/html; charset=utf-8"))
        #expect(FunctionURLHandler.isText("application/json") && FunctionURLHandler.isText("application/x-www-form-urlencoded"))
        #expect(!FunctionURLHandler.isText("application/octet-stream") && !FunctionURLHandler.isText("image/png"))
    }

    @Test("an HTTP prelude ends at eight zero bytes and sets status, headers and cookies")
    func prelude() {
        let prelude = Array(#"{"statusCode":201,"headers":{"X-A":"1"},"cookies":["c=1"]}"#.utf8)
        let bytes = prelude + Array(repeating: 0, count: 8) + Array("body".utf8)
        #expect(FunctionURLHandler.preludeEnd(bytes) == prelude.count)
        #expect(FunctionURLHandler.preludeEnd(prelude + [0, 0, 0]) == nil)
        let head = FunctionURLHandler.head(prelude: Data(prelude), requestID: "r")
        #expect(head.status.code == 201 && head.headers[.init("X-A")!] == "1" && head.headers[.setCookie] == "c=1")
        #expect(head.headers[.contentType] == "application/octet-stream")
    }

    @Test("a bare answer is a 200 JSON body; a statusCode answer describes the response")
    func answers() {
        let bare = FunctionURLHandler.response(from: ByteBuffer(string: #""Hello""#), requestID: "r")
        #expect(bare.status == .ok && bare.headers[.contentType] == "application/json")
        let custom = FunctionURLHandler.response(
            from: ByteBuffer(string: #"{"statusCode":204,"headers":{"X-B":"2"},"cookies":["a=1","b=2"],"body":"aGk=","isBase64Encoded":true}"#),
            requestID: "r")
        #expect(custom.status.code == 204 && custom.headers[.init("X-B")!] == "2")
        #expect(custom.headers[values: .setCookie] == ["a=1", "b=2"])
        #expect(FunctionURLHandler.response(from: ByteBuffer(string: #"{"statusCode":999}"#), requestID: "r").status == .badGateway)
    }
}
