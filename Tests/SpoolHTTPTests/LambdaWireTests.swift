import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOFoundationEssentialsCompat
import SpoolExecutor
import SpoolServer
import Testing

/// Drives the Lambda REST-JSON routes with raw requests and checks the wire details botocore relies on.
@Suite("Lambda wire protocol")
struct LambdaWireTests {
    static let errorType = HTTPField.Name("x-amzn-ErrorType")!
    static let functionError = HTTPField.Name("X-Amz-Function-Error")!
    static let executedVersion = HTTPField.Name("X-Amz-Executed-Version")!
    static let logResult = HTTPField.Name("X-Amz-Log-Result")!
    static let logType = HTTPField.Name("X-Amz-Log-Type")!

    func withServer(_ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spool-lambda-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = SpoolConfiguration()
        configuration.dataDir = directory
        let server = try await SpoolServer(configuration: configuration, inProcessFunctions: [
            "echo": { payload, context in
                context.log("echo says hi")
                return payload
            },
            "fail": { _, _ in throw CancellationError() },
        ])
        try await server.prepareFunctions()
        try await server.application().test(.router, body)
    }

    func object(_ response: TestResponse) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
    }

    @Test("a missing function is a 404 with x-amzn-ErrorType and a capitalised Message")
    func notFound() async throws {
        try await withServer { client in
            let response = try await client.execute(uri: "/2015-03-31/functions/nope/invocations", method: .post, body: ByteBuffer(string: "{}"))
            #expect(response.status == .notFound)
            #expect(response.headers[Self.errorType] == "ResourceNotFoundException")
            let body = try object(response)
            #expect(body["Type"] as? String == "User")
            #expect(body["Message"] as? String == "Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope")
        }
    }

    @Test("a percent-encoded ARN with a $LATEST qualifier reaches the function")
    func encodedARN() async throws {
        try await withServer { client in
            let uri = "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Aecho%3A%24LATEST/invocations"
            let response = try await client.execute(uri: uri, method: .post, headers: [Self.logType: "Tail"], body: ByteBuffer(string: #"{"k":"v"}"#))
            #expect(response.status == .ok)
            #expect(String(buffer: response.body) == #"{"k":"v"}"#)
            #expect(response.headers[Self.executedVersion] == "$LATEST")
            #expect(response.headers[Self.functionError] == nil)
            let log = String(decoding: Data(base64Encoded: response.headers[Self.logResult] ?? "") ?? Data(), as: UTF8.self)
            #expect(log.contains("echo says hi") && log.contains("REPORT RequestId:"))
        }
    }

    @Test("a function error answers 200 with X-Amz-Function-Error: Unhandled")
    func unhandled() async throws {
        try await withServer { client in
            let response = try await client.execute(uri: "/2015-03-31/functions/fail/invocations", method: .post, body: ByteBuffer(string: "{}"))
            #expect(response.status == .ok)
            #expect(response.headers[Self.functionError] == "Unhandled")
            #expect(try object(response)["errorType"] as? String == "CancellationError")
        }
    }

    @Test("validation failures name the member, with ValidationException")
    func validation() async throws {
        try await withServer { client in
            let body = #"{"FunctionName":"x","Role":"arn:aws:iam::000000000000:role/r","Runtime":"python3.12","Handler":"a.b","Timeout":1000,"Code":{"ZipFile":"UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA=="}}"#
            let response = try await client.execute(uri: "/2015-03-31/functions", method: .post, body: ByteBuffer(string: body))
            #expect(response.status == .badRequest)
            #expect(response.headers[Self.errorType] == "ValidationException")
            #expect((try object(response)["message"] as? String)?.contains("at 'timeout' failed to satisfy constraint") == true)
        }
    }

    @Test("listing shows embedded functions; GetFunction has no code location for them")
    func listing() async throws {
        try await withServer { client in
            let list = try object(try await client.execute(uri: "/2015-03-31/functions/", method: .get))
            let names = (list["Functions"] as? [[String: Any]])?.compactMap { $0["FunctionName"] as? String }
            #expect(names == ["echo", "fail"])
            let got = try object(try await client.execute(uri: "/2015-03-31/functions/echo", method: .get))
            #expect(got["Code"] == nil)
            #expect((got["Configuration"] as? [String: Any])?["FunctionArn"] as? String == "arn:aws:lambda:us-east-1:000000000000:function:echo")
        }
    }
}
