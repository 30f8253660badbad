import Hummingbird
import Logging
import SpoolExecutor

/// One log line per request with the id the client saw (`x-amzn-RequestId`, which boto3 reports as
/// `RequestId` in its errors), so an operator can find a failed call in the log: server errors at `error`,
/// client errors at `info`, everything else at `debug`.
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = SpoolRequestContext
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let level: Logger.Level = response.status.code >= 500 ? .error : response.status.code >= 400 ? .info : .debug
        guard logger.logLevel <= level else { return response }
        var metadata: Logger.Metadata = [
            "method": "\(request.method)", "path": "\(request.uri.path)", "status": "\(response.status.code)",
            "durationMs": "\((ContinuousClock.now - start).milliseconds)", "httpRequestId": "\(context.id)",
        ]
        if let id = response.headers[AWSJSON.requestID] { metadata["requestId"] = "\(id)" }
        if let target = request.headers[AWSJSON.amzTarget] { metadata["operation"] = "\(target)" }
        logger.log(level: level, "request", metadata: metadata)
        return response
    }
}
