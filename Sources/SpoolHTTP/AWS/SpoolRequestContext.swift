import Foundation
import Hummingbird
import SpoolModel

/// The context of every request to Spool's APIs: Hummingbird's own, and the request id (`x-amzn-RequestId`) minted
/// once, when the request arrives, so that the answer, its error and the log line all carry the same one.
package struct SpoolRequestContext: RequestContext {
    package var coreContext: CoreRequestContextStorage
    /// The id the client sees in `x-amzn-RequestId` (boto3 reports it as `RequestId`).
    package let requestID: String
    /// The region the request acts in: its SigV4 credential scope's, `nil` (the home region) when it carries none.
    package var region: String?
    /// The client's address, as a function URL's event reports it (`requestContext.http.sourceIp`).
    package let remoteIP: String?

    package init(source: Source) {
        coreContext = .init(source: source)
        requestID = UUID().uuidString.lowercased()
        remoteIP = source.channel.remoteAddress?.ipAddress
    }
}

/// Reads the region each request acts in from its credential scope, before any check or handler runs: each region
/// is a namespace of its own, as on AWS.
struct RegionMiddleware: RouterMiddleware {
    typealias Context = SpoolRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let target = request.head.path ?? "/"
        let query = target.firstIndex(of: "?").map { target[target.index(after: $0)...] }
        context.region = SigV4.region(authorization: request.headers[.authorization], rawQuery: query)
        return try await next(request, context)
    }
}
