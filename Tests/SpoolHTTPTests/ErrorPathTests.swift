import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import SpoolHTTP
import SpoolModel
import Synchronization
import Testing

/// Every API answers errors through one middleware: AWS's shape for the API, the request's one id, `Retry-After` on
/// every throttle, and never Swift's description of an unexpected error.
@Suite("One error path for every API")
struct ErrorPathTests {
    struct Secret: Error, CustomStringConvertible {
        var description: String { "SECRET-INTERNAL-DETAIL at /var/lib/spool" }
    }

    /// The request ids the routes saw.
    final class Seen: Sendable {
        let ids = Mutex<[String]>([])
    }

    static let requestIDField = HTTPField.Name("x-amzn-RequestId")!
    static let retryAfter = HTTPField.Name("Retry-After")!
    static let target = HTTPField.Name("X-Amz-Target")!

    /// A router with the error middleware whose routes throw `error` for each API, recording the request id they saw.
    func withRouter(throwing error: @escaping @Sendable () -> any Error,
                    _ body: @escaping @Sendable (any TestClientProtocol, Seen) async throws -> Void) async throws {
        let seen = Seen()
        let router = Router(context: SpoolRequestContext.self)
        router.add(middleware: APIErrorMiddleware(logger: Logger(label: "test")))
        let fail: @Sendable (Request, SpoolRequestContext) async throws -> Response = { _, context in
            seen.ids.withLock { $0.append(context.requestID) }
            throw error()
        }
        router.post("/2015-03-31/functions/f/invocations", use: fail)
        router.post("/", use: fail)
        router.get("/spool/v1/status", use: fail)
        try await Application(router: router).test(.router) { client in try await body(client, seen) }
    }

    /// One request to each API.
    func requests(_ client: any TestClientProtocol) async throws -> [(api: String, response: TestResponse)] {
        [
            ("lambda", try await client.execute(uri: "/2015-03-31/functions/f/invocations", method: .post, body: ByteBuffer(string: "{}"))),
            ("sqs", try await client.execute(uri: "/", method: .post, headers: [Self.target: "AmazonSQS.SendMessage"], body: ByteBuffer(string: "{}"))),
            ("kinesis", try await client.execute(uri: "/", method: .post, headers: [Self.target: "Kinesis_20131202.PutRecord"],
                                                 body: ByteBuffer(string: "{}"))),
            ("admin", try await client.execute(uri: "/spool/v1/status", method: .get)),
        ]
    }

    @Test("an unexpected error answers 500 in each API's shape with the request's id, never with Swift's description of it")
    func unexpectedErrors() async throws {
        try await withRouter(throwing: { Secret() }) { client, seen in
            let answers = try await requests(client)
            let ids = seen.ids.withLock { $0 }
            #expect(ids.count == 4 && Set(ids).count == 4)
            for ((api, response), id) in zip(answers, ids) {
                #expect(response.status == .internalServerError, "\(api)")
                #expect(response.headers[Self.requestIDField] == id, "\(api): the id minted when the request arrived")
                let text = String(buffer: response.body)
                #expect(!text.contains("SECRET") && !text.contains("/var/lib"), "\(api) leaked: \(text)")
                let type = response.headers[HTTPField.Name("x-amzn-ErrorType")!] ?? ""
                #expect(text.contains("InternalFailure") || text.contains("ServiceException") || type == "ServiceException", "\(api): \(text)")
            }
        }
    }

    @Test("every API's throttle is a 429 with Retry-After")
    func throttles() async throws {
        try await withRouter(throwing: { SpoolError.throttled("Rate Exceeded.", reason: "ConcurrentInvocationLimitExceeded") }) { client, _ in
            // Lambda's own throttle (with a Reason), as the Lambda API and the admin API answer it.
            for (api, response) in try await requests(client) where api == "lambda" || api == "admin" {
                #expect(response.status == .tooManyRequests, "\(api)")
                #expect(response.headers[Self.retryAfter] == "1", "\(api)")
            }
        }
        try await withRouter(throwing: { SpoolError(.throttling, "Rate exceeded") }) { client, _ in
            for (api, response) in try await requests(client) {
                #expect(response.status == .tooManyRequests, "\(api)")
                #expect(response.headers[Self.retryAfter] == "1", "\(api)")
            }
        }
    }
}
