import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOFoundationEssentialsCompat
import SpoolServer
import Testing

/// Drives the real router with raw AWS JSON requests and checks the wire shapes botocore relies on.
@Suite("SQS wire protocol")
struct SQSWireTests {
    static let target = HTTPField.Name("X-Amz-Target")!
    static let queryError = HTTPField.Name("x-amzn-query-error")!
    static let requestID = HTTPField.Name("x-amzn-RequestId")!

    func withServer(_ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spool-http-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = SpoolConfiguration()
        configuration.dataDir = directory
        let server = try await SpoolServer(configuration: configuration)
        try await server.application().test(.router, body)
    }

    func call(_ client: any TestClientProtocol, _ operation: String, _ json: String) async throws -> TestResponse {
        try await client.execute(
            uri: "/", method: .post,
            headers: [Self.target: "AmazonSQS.\(operation)", .contentType: "application/x-amz-json-1.0"],
            body: ByteBuffer(string: json)
        )
    }

    func object(_ response: TestResponse) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
    }

    @Test("answers /health with 200 and its durability")
    func health() async throws {
        try await withServer { client in
            let response = try await client.execute(uri: "/health", method: .get)
            #expect(response.status == .ok)
            let body = try self.object(response)
            #expect(body["status"] as? String == "ok")
            #expect(body["durability"] as? String == "full")
        }
    }

    @Test("reports an unknown queue with __type and the legacy query error code")
    func unknownQueue() async throws {
        try await withServer { client in
            let response = try await self.call(client, "GetQueueUrl", #"{"QueueName":"missing"}"#)
            #expect(response.status == .badRequest)
            #expect(response.headers[Self.queryError] == "AWS.SimpleQueueService.NonExistentQueue;Sender")
            #expect(response.headers[Self.requestID]?.isEmpty == false)
            #expect(response.headers[.contentType] == "application/x-amz-json-1.0")
            let body = try self.object(response)
            #expect(body["__type"] as? String == "com.amazonaws.sqs#QueueDoesNotExist")
            #expect(body["message"] as? String == "The specified queue does not exist.")
        }
    }

    @Test("rejects unknown operations, malformed bodies and missing members in AWS shapes")
    func badRequests() async throws {
        try await withServer { client in
            let unknown = try await self.call(client, "Frobnicate", "{}")
            #expect(unknown.status == .badRequest)
            #expect(try self.object(unknown)["__type"] as? String == "com.amazonaws.sqs#UnknownOperationException")
            let malformed = try await self.call(client, "CreateQueue", "{not json")
            #expect(malformed.status == .badRequest)
            #expect(try self.object(malformed)["__type"] as? String == "com.amazonaws.sqs#SerializationException")
            let missing = try await self.call(client, "CreateQueue", "{}")
            #expect(missing.headers[Self.queryError] == "MissingParameter;Sender")
            let wrongType = try await self.call(client, "CreateQueue", #"{"QueueName":5}"#)
            #expect(try self.object(wrongType)["__type"] as? String == "com.amazonaws.sqs#SerializationException")
        }
    }

    @Test("sends and receives through raw JSON, omitting Messages when there are none")
    func sendAndReceive() async throws {
        try await withServer { client in
            let created = try await self.call(client, "CreateQueue", #"{"QueueName":"raw"}"#)
            #expect(String(buffer: created.body).contains("http://"), "slashes are not escaped: \(String(buffer: created.body))")
            let url = try #require(try self.object(created)["QueueUrl"] as? String)
            #expect(url.hasSuffix("/000000000000/raw"))
            let empty = try await self.call(client, "ReceiveMessage", #"{"QueueUrl":"\#(url)"}"#)
            #expect(try self.object(empty).isEmpty)
            let sent = try await self.call(client, "SendMessage", #"{"QueueUrl":"\#(url)","MessageBody":"hello"}"#)
            #expect(try self.object(sent)["MD5OfMessageBody"] as? String == "5d41402abc4b2a76b9719d911017c592")
            let received = try await self.call(client, "ReceiveMessage", #"{"QueueUrl":"\#(url)","MaxNumberOfMessages":10}"#)
            let messages = try #require(try self.object(received)["Messages"] as? [[String: Any]])
            #expect(messages.count == 1)
            #expect(messages[0]["Body"] as? String == "hello")
        }
    }

    @Test("answers PurgeQueue twice within a minute with 403 PurgeQueueInProgress")
    func purgeLimit() async throws {
        try await withServer { client in
            let created = try await self.call(client, "CreateQueue", #"{"QueueName":"purge"}"#)
            let url = try #require(try self.object(created)["QueueUrl"] as? String)
            #expect(try await self.call(client, "PurgeQueue", #"{"QueueUrl":"\#(url)"}"#).status == .ok)
            let second = try await self.call(client, "PurgeQueue", #"{"QueueUrl":"\#(url)"}"#)
            #expect(second.status == .forbidden)
            #expect(second.headers[Self.queryError] == "AWS.SimpleQueueService.PurgeQueueInProgress;Sender")
        }
    }
}
