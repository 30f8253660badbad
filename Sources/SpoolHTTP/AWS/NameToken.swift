import Foundation

/// A paging token that carries the last name of a page (of queues, streams, consumers), opaque to clients as AWS's are.
enum NameToken {
    static func encode(_ name: String) -> String { Data(name.utf8).base64EncodedString() }

    /// The name a token carries, `nil` when it is not one of ours.
    static func decode(_ token: String) -> String? {
        Data(base64Encoded: token).flatMap { String(data: $0, encoding: .utf8) }
    }
}
