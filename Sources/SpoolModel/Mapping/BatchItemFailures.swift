import Foundation

/// What a function's response to a batch means when the mapping has `ReportBatchItemFailures`.
public enum BatchResponse: Sendable, Equatable {
    /// Every record succeeded.
    case succeeded
    /// These item identifiers failed; the others succeeded.
    case partial(Set<String>)
    /// The response is malformed: the whole batch counts as failed.
    case failed(reason: String)

    /// Reads `{"batchItemFailures":[{"itemIdentifier":"…"}]}` by Lambda's rules (reference §3.4): an empty
    /// or null list, an empty response, `{}` or `null` is complete success; invalid JSON, a missing, null or
    /// empty `itemIdentifier`, a key other than `batchItemFailures`, or an identifier not in the batch fails
    /// the whole batch.
    public static func parse(_ response: Data, identifiers: Set<String>) -> BatchResponse {
        let trimmed = String(decoding: response, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty || trimmed == "null" || trimmed == "\"\"" { return .succeeded }
        guard let value = FilterValue.parse(trimmed) else { return .failed(reason: "the response is not JSON") }
        guard case .object(let object) = value else { return .failed(reason: "the response is not a JSON object") }
        if object.isEmpty { return .succeeded }
        guard let list = object["batchItemFailures"] else {
            return .failed(reason: "the response has no batchItemFailures")
        }
        let items: [FilterValue]
        switch list {
        case .null: return .succeeded
        case .array(let elements): items = elements
        default: return .failed(reason: "batchItemFailures is not a list")
        }
        var failed = Set<String>()
        for item in items {
            guard case .object(let fields) = item, case .string(let identifier)? = fields["itemIdentifier"], !identifier.isEmpty else {
                return .failed(reason: "an itemIdentifier is missing, null or empty")
            }
            guard identifiers.contains(identifier) else {
                return .failed(reason: "itemIdentifier \(identifier) is not in the batch")
            }
            failed.insert(identifier)
        }
        return failed.isEmpty ? .succeeded : .partial(failed)
    }
}
