import Foundation
import SpoolModel

/// The JSON of the native admin API (`/spool/v1/…`): camelCase members, times as ISO 8601 strings.
enum AdminWire {
    struct DeadLetterOutput: Codable {
        struct Failure: Codable {
            var kind: String
            var errorType: String
            var errorMessage: String
        }
        var id: Int64
        var requestId: String
        var function: String
        var qualifier: String?
        var reason: String
        var attempts: Int
        var lastError: Failure?
        /// The original event, JSON text.
        var payload: String
        var enqueuedAt: String
        var failedAt: String
        var replayOf: Int64?
        var replayedAt: String?
        var replayRequestId: String?

        init(_ letter: DeadLetter) {
            id = letter.id
            requestId = letter.requestID
            function = letter.functionName
            qualifier = letter.qualifier
            reason = letter.reason.rawValue
            attempts = letter.attempts
            lastError = letter.lastError.map { Failure(kind: $0.kind.rawValue, errorType: $0.errorType, errorMessage: $0.errorMessage) }
            payload = letter.payload
            enqueuedAt = InvocationRecord.iso8601(letter.enqueuedAt)
            failedAt = InvocationRecord.iso8601(letter.failedAt)
            replayOf = letter.replayOf
            replayedAt = letter.replayedAt.map(InvocationRecord.iso8601)
            replayRequestId = letter.replayRequestID
        }
    }

    struct DeadLetterPage: Codable {
        var deadLetters: [DeadLetterOutput]
        /// Pass as `after` to read the next page; absent on the last page.
        var nextAfter: Int64?
    }

    /// The body of replay and purge: which dead letters (every member optional).
    struct FilterInput: Decodable {
        var function: String?
        var reason: String?
        /// Unix milliseconds.
        var from: Int64?
        var until: Int64?
        var ids: [Int64]?
        var force: Bool?
        /// Leave out dead letters already replayed.
        var notReplayed: Bool?

        func filter() throws -> DeadLetterFilter {
            try AdminWire.filter(function: function, reason: reason, from: from, until: until, ids: ids ?? [], notReplayed: notReplayed ?? false)
        }
    }

    static func filter(function: String?, reason: String?, from: Int64?, until: Int64?, ids: [Int64], notReplayed: Bool) throws -> DeadLetterFilter {
        var condition: FailureCondition?
        if let reason {
            guard let parsed = FailureCondition(rawValue: reason) else {
                throw SpoolError(.invalidParameterValue, "reason must be one of \(FailureCondition.allCases.map(\.rawValue).joined(separator: ", ")).")
            }
            condition = parsed
        }
        return DeadLetterFilter(functionName: function, reason: condition, failedFrom: from, failedUntil: until, ids: ids,
                                includeReplayed: !notReplayed)
    }

    struct ErrorOutput: Encodable {
        struct Detail: Encodable {
            var code: String
            var message: String
        }
        var error: Detail
    }
}
