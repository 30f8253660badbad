import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOFoundationEssentialsCompat
import SpoolServer
import SpoolSQLite
import SpoolStorage
import Testing

/// The asynchronous invocation routes and the admin API, driven with raw requests (no dispatcher runs,
/// so accepted events stay in the store where the tests can count them).
@Suite("Asynchronous invocation wire protocol")
struct AsyncWireTests {
    static let invocationType = HTTPField.Name("X-Amz-Invocation-Type")!
    static let requestID = HTTPField.Name("x-amzn-RequestId")!
    static let errorType = HTTPField.Name("x-amzn-ErrorType")!

    func withServer(_ body: @escaping @Sendable (SpoolServer, any TestClientProtocol) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spool-async-wire-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = SpoolConfiguration()
        configuration.dataDir = directory
        let server = try await SpoolServer(configuration: configuration, inProcessFunctions: ["echo": { payload, _ in payload }])
        try await server.prepareFunctions()
        try await server.application().test(.router) { client in try await body(server, client) }
    }

    func object(_ response: TestResponse) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
    }

    @Test("an Event invoke answers 202 with the request id and an empty body once the event is stored")
    func event() async throws {
        try await withServer { server, client in
            let response = try await client.execute(uri: "/2015-03-31/functions/echo/invocations", method: .post,
                                                    headers: [Self.invocationType: "Event"], body: ByteBuffer(string: "{\"a\":1}"))
            #expect(response.status == .accepted)
            #expect(response.body.readableBytes == 0)
            #expect(response.headers[Self.requestID]?.count == 36)
            #expect(try await server.store.invocationBacklog(function: "echo").count == 1)
        }
    }

    @Test("InvokeAsync answers 202 with {\"Status\":202}, with or without the trailing slash")
    func invokeAsync() async throws {
        try await withServer { server, client in
            for uri in ["/2014-11-13/functions/echo/invoke-async/", "/2014-11-13/functions/echo/invoke-async"] {
                let response = try await client.execute(uri: uri, method: .post, body: ByteBuffer(string: "{}"))
                #expect(response.status == .accepted)
                #expect(try object(response)["Status"] as? Int == 202)
            }
            #expect(try await server.store.invocationBacklog(function: "echo").count == 2)
        }
    }

    @Test("an Event payload over 1 MB is a 413 and stores nothing")
    func tooLarge() async throws {
        try await withServer { server, client in
            let response = try await client.execute(uri: "/2015-03-31/functions/echo/invocations", method: .post, headers: [Self.invocationType: "Event"],
                                                    body: ByteBuffer(string: "\"" + String(repeating: "x", count: 1_048_576) + "\""))
            #expect(response.status == .contentTooLarge)
            #expect(response.headers[Self.errorType] == "RequestEntityTooLargeException")
            #expect(try object(response)["Message"] as? String == "Request must be smaller than 1048576 bytes for the InvokeFunction operation")
            #expect(try await server.store.invocationBacklog(function: "echo").count == 0)
        }
    }

    @Test("an event-invoke config echoes only what was set, with both destinations always present")
    func configShape() async throws {
        try await withServer { _, client in
            let put = try await client.execute(uri: "/2019-09-25/functions/echo/event-invoke-config", method: .put,
                                               body: ByteBuffer(string: #"{"MaximumRetryAttempts": 0}"#))
            #expect(put.status == .ok)
            let body = try object(put)
            #expect(body["MaximumRetryAttempts"] as? Int == 0)
            #expect(body["MaximumEventAgeInSeconds"] == nil)
            #expect(body["FunctionArn"] as? String == "arn:aws:lambda:us-east-1:000000000000:function:echo:$LATEST")
            let destinations = try #require(body["DestinationConfig"] as? [String: Any])
            #expect((destinations["OnSuccess"] as? [String: Any])?.isEmpty == true)
            #expect((destinations["OnFailure"] as? [String: Any])?.isEmpty == true)
            let other = try await client.execute(uri: "/2019-09-25/functions/echo/event-invoke-config?Qualifier=7", method: .get)
            #expect(other.status == .notFound)
            let deleted = try await client.execute(uri: "/2019-09-25/functions/echo/event-invoke-config", method: .delete)
            #expect(deleted.status == .noContent)
        }
    }

    @Test("the admin API lists dead letters and answers errors as JSON with a code")
    func admin() async throws {
        try await withServer { _, client in
            let list = try await client.execute(uri: "/spool/v1/dead-letters?function=echo", method: .get)
            #expect(list.status == .ok)
            #expect((try object(list)["deadLetters"] as? [Any])?.isEmpty == true)
            let missing = try await client.execute(uri: "/spool/v1/dead-letters/42", method: .get)
            #expect(missing.status == .notFound)
            #expect((try object(missing)["error"] as? [String: Any])?["code"] as? String == "ResourceNotFoundException")
            let badLimit = try await client.execute(uri: "/spool/v1/dead-letters?limit=0", method: .get)
            #expect(badLimit.status == .badRequest)
            let badReason = try await client.execute(uri: "/spool/v1/dead-letters/replay", method: .post, body: ByteBuffer(string: #"{"reason":"Nope"}"#))
            #expect(badReason.status == .badRequest)
            let replay = try await client.execute(uri: "/spool/v1/dead-letters/replay", method: .post, body: ByteBuffer(string: "{}"))
            #expect(replay.status == .ok)
            #expect(replay.headers[.contentType] == "application/x-ndjson")
            let lines = String(buffer: replay.body).split(separator: "\n")
            let line = try #require(lines.last)
            let last = try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(lines.count == 1 && last["done"] as? Bool == true && last["replayed"] as? Int == 0)
        }
    }
}
