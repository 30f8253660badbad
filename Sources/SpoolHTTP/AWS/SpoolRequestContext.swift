import Foundation
import Hummingbird

/// The context of every request to Spool's APIs: Hummingbird's own, and the request id (`x-amzn-RequestId`) minted
/// once, when the request arrives, so that the answer, its error and the log line all carry the same one.
package struct SpoolRequestContext: RequestContext {
    package var coreContext: CoreRequestContextStorage
    /// The id the client sees in `x-amzn-RequestId` (boto3 reports it as `RequestId`).
    package let requestID: String

    package init(source: Source) {
        coreContext = .init(source: source)
        requestID = UUID().uuidString.lowercased()
    }
}
