import Foundation
import HTTPTypes
import Hummingbird
import SpoolModel

/// Which of Spool's APIs a request is for, decided from its path and `X-Amz-Target` before any handler
/// runs, so that checks in front of the handlers (signatures, overload) answer in that API's error shape.
enum APIService: String, Sendable {
    case lambda
    case sqs
    case kinesis
    /// `/spool/v1/…`; signed with the service name `spool`.
    case admin = "spool"

    /// The service a request belongs to; `nil` for `/health`, `/metrics` and the dashboard's page, which are always open.
    static func of(_ request: Request) -> APIService? {
        // By path components, as the router matches them: `//` is `/`, `//spool/v1/…` is the admin API.
        let components = request.uri.path.split(separator: "/", omittingEmptySubsequences: true)
        if components.count == 1 && (components[0] == "health" || components[0] == "metrics") { return nil }
        // The dashboard's page: a browser cannot sign a navigation; the page signs its API calls itself.
        if components.count == 1 && components[0] == "ui" { return nil }
        if components.first == "spool" { return .admin }
        if components.isEmpty {
            let target = request.headers[AWSJSON.amzTarget] ?? ""
            return target.hasPrefix(KinesisHandler.targetPrefix) ? .kinesis : .sqs
        }
        return .lambda
    }

    /// The service name a SigV4 credential scope must carry.
    var signingName: String { rawValue }

    /// `error` as this service's clients expect it.
    func errorResponse(_ error: SpoolError, requestID: String = UUID().uuidString.lowercased()) -> Response {
        switch self {
        case .lambda:
            return LambdaError.response(error, requestID: requestID)
        case .sqs:
            return AWSJSON.errorResponse(.sqs(error), message: error.message, namespace: "com.amazonaws.sqs", contentType: SQSHandler.contentType,
                                         requestID: requestID, queryCompatible: true).retryingLater(if: error)
        case .kinesis:
            return AWSJSON.errorResponse(.kinesis(error), message: error.message, namespace: "", contentType: KinesisHandler.contentType,
                                         requestID: requestID, queryCompatible: false).retryingLater(if: error)
        case .admin:
            return AdminHandler.errorResponse(error)
        }
    }
}

extension Response {
    /// Adds `Retry-After: 1` to a throttling answer.
    func retryingLater(if error: SpoolError) -> Response {
        guard error.code == .throttling else { return self }
        var response = self
        response.headers[LambdaError.retryAfter] = "1"
        return response
    }
}

/// Gives the errors Hummingbird raises itself (no such route, a body over its limit, a malformed request) the
/// error shape of the API the request was meant for, instead of an empty body.
struct AWSErrorMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            let service = APIService.of(request) ?? .lambda
            switch error.status {
            case .notFound:
                return service.errorResponse(SpoolError(.unknownOperation, "Unknown operation: \(request.method) \(request.uri.path)"))
            case .contentTooLarge:
                return service.errorResponse(SpoolError(.requestTooLarge, "The request body is larger than this operation accepts."))
            case .methodNotAllowed:
                return service.errorResponse(SpoolError(.unknownOperation, "Unknown operation: \(request.method) \(request.uri.path)"))
            default:
                guard error.status.code < 500 else { throw error }
                return service.errorResponse(SpoolError(.validation, error.body ?? "The request is malformed."))
            }
        }
    }
}
