import Foundation
import HTTPTypes
import Hummingbird
import Logging
import SpoolModel

/// Which of Spool's APIs a request is for, decided from its path and `X-Amz-Target` before any handler
/// runs, so that checks in front of the handlers (signatures, overload) answer in that API's error shape.
package enum APIService: String, Sendable {
    case lambda
    /// SQS's JSON protocol (`X-Amz-Target: AmazonSQS.…`), on `/` or on a queue's URL.
    case sqs
    /// SQS's query protocol: form-encoded parameters, XML answers.
    case sqsQuery
    case kinesis
    /// Kinesis in CBOR (`application/x-amz-cbor-1.1`).
    case kinesisCBOR
    /// `/spool/v1/…`; signed with the service name `spool`.
    case admin = "spool"

    /// The service a request belongs to; `nil` for `/health`, `/metrics` and the dashboard's page, which are always open.
    package static func of(_ request: Request) -> APIService? {
        // By path components, as the router matches them: `//` is `/`, `//spool/v1/…` is the admin API.
        let components = request.uri.path.split(separator: "/", omittingEmptySubsequences: true)
        if components.count == 1 && (components[0] == "health" || components[0] == "metrics") { return nil }
        // The dashboard's page: a browser cannot sign a navigation; the page signs its API calls itself.
        if components.count == 1 && components[0] == "ui" { return nil }
        // A function URL checks its own authorization (`AuthType`).
        if components.first.map({ $0 == FunctionURLHandler.pathPrefix }) ?? false { return nil }
        if components.first == "spool" { return .admin }
        // `/` serves SQS and Kinesis, a queue's URL SQS; every other path is Lambda's.
        let queuePath = isQueuePath(components)
        guard components.isEmpty || queuePath else { return .lambda }
        let target = request.headers[AWSJSON.amzTarget] ?? ""
        if target.hasPrefix("AmazonSQS.") { return .sqs }
        if components.isEmpty && target.hasPrefix(KinesisHandler.targetPrefix) {
            return (request.headers[.contentType] ?? "").contains("cbor") ? .kinesisCBOR : .kinesis
        }
        if !target.isEmpty { return .sqs }
        // Without a target: the query protocol, unless the body says it is JSON.
        return (request.headers[.contentType] ?? "").contains("json") ? .sqs : .sqsQuery
    }

    /// `/ACCOUNT/QUEUE` or `/REGION/ACCOUNT/QUEUE`, a queue's URL: Lambda's paths start with a date (`/2015-03-31/…`),
    /// an account id is 12 digits.
    static func isQueuePath(_ components: [Substring]) -> Bool {
        let account = components.count == 3 && AWSIdentity.isRegionName(components[0]) ? 1 : 0
        return components.count == account + 2 && !components[account].isEmpty && components[account].allSatisfy { $0.isASCII && $0.isNumber }
    }

    /// The service name a SigV4 credential scope must carry.
    var signingName: String {
        switch self {
        case .sqs, .sqsQuery: "sqs"
        case .kinesis, .kinesisCBOR: "kinesis"
        default: rawValue
        }
    }

    /// `error` as this service's clients expect it; every throttle (429) carries `Retry-After`.
    package func errorResponse(_ error: SpoolError, requestID: String) -> Response {
        var response = switch self {
        case .lambda:
            LambdaError.response(error, requestID: requestID)
        case .sqs:
            AWSJSON.errorResponse(.sqs(error), message: error.message, namespace: "com.amazonaws.sqs", contentType: SQSHandler.contentType,
                                  requestID: requestID, queryCompatible: true)
        case .sqsQuery:
            SQSQuery.errorResponse(error, requestID: requestID)
        case .kinesisCBOR:
            KinesisCBOR.errorResponse(.kinesis(error), message: error.message, requestID: requestID)
        case .kinesis:
            AWSJSON.errorResponse(.kinesis(error), message: error.message, namespace: "", contentType: KinesisHandler.contentType,
                                  requestID: requestID, queryCompatible: false)
        case .admin:
            AdminHandler.errorResponse(error, requestID: requestID)
        }
        if response.status == .tooManyRequests || error.code == .provisionedThroughputExceeded { response.headers[LambdaError.retryAfter] = "1" }
        return response
    }
}

/// The one place where Spool's APIs turn errors into answers: whatever a handler or a middleware after this one
/// throws (a `SpoolError`, one of Hummingbird's own errors, anything else) is answered in the error shape of the API
/// the request was for, with the request's id. Errors of Spool's own (5xx) are logged with their cause; the client
/// sees AWS's wording, never Swift's description of the error.
package struct APIErrorMiddleware: RouterMiddleware {
    package typealias Context = SpoolRequestContext
    let logger: Logger

    package init(logger: Logger) {
        self.logger = logger
    }

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let service = APIService.of(request) ?? .lambda
            let spoolError = Self.spoolError(error, request)
            if spoolError.code == .storageFailure || spoolError.code == .serviceFailure {
                logger.error("request failed", metadata: ["path": "\(request.uri.path)", "requestId": "\(context.requestID)", "error": "\(error)"])
            }
            return service.errorResponse(spoolError, requestID: context.requestID)
        }
    }

    /// What a thrown error means to the client.
    static func spoolError(_ error: any Error, _ request: Request) -> SpoolError {
        switch error {
        case let error as SpoolError:
            return error
        case let error as HTTPError:
            switch error.status {
            case .notFound, .methodNotAllowed:
                return SpoolError(.unknownOperation, "Unknown operation: \(request.method) \(request.uri.path)")
            case .contentTooLarge:
                return SpoolError(.requestTooLarge, "The request body is larger than this operation accepts.")
            default:
                guard error.status.code < 500 else { return SpoolError(.serviceFailure, "An internal error occurred.", underlying: error) }
                return SpoolError(.validation, error.body ?? "The request is malformed.")
            }
        default:
            return SpoolError(.serviceFailure, "An internal error occurred.", underlying: error)
        }
    }
}
