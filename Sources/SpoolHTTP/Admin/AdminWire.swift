import Foundation
import SpoolModel

/// The JSON of the native admin API (`/spool/v1/…`): camelCase members, times as ISO 8601 strings.
/// The CLI reads the same types.
package enum AdminWire {
    /// One dead letter.
    package struct DeadLetterOutput: Codable, Sendable {
        package struct Failure: Codable, Sendable {
            package var kind: String
            package var errorType: String
            package var errorMessage: String
        }
        package var id: Int64
        package var requestId: String
        package var function: String
        package var qualifier: String?
        package var reason: String
        package var attempts: Int
        package var lastError: Failure?
        /// The original event, JSON text; for `DestinationUnreachable`, the record that was not delivered.
        package var payload: String
        /// For `DestinationUnreachable`: `queue:NAME`, `function:NAME`, `stream:NAME` or the URL the record was going to.
        package var destination: String?
        package var enqueuedAt: String
        package var failedAt: String
        package var replayOf: Int64?
        package var replayedAt: String?
        package var replayRequestId: String?

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
            destination = letter.destination
        }
    }

    /// A page of `GET /spool/v1/dead-letters`.
    package struct DeadLetterPage: Codable, Sendable {
        package var deadLetters: [DeadLetterOutput]
        /// Pass as `after` to read the next page; absent on the last page.
        package var nextAfter: Int64?
    }

    /// The body of replay and purge: which dead letters (every member optional).
    package struct FilterInput: Codable, Sendable {
        package var function: String?
        package var reason: String?
        /// Unix milliseconds.
        package var from: Int64?
        package var until: Int64?
        package var ids: [Int64]?
        package var force: Bool?
        /// Leave out dead letters already replayed.
        package var notReplayed: Bool?

        package init(function: String? = nil, reason: String? = nil, from: Int64? = nil, until: Int64? = nil, ids: [Int64]? = nil,
                    force: Bool? = nil, notReplayed: Bool? = nil) {
            self.function = function
            self.reason = reason
            self.from = from
            self.until = until
            self.ids = ids
            self.force = force
            self.notReplayed = notReplayed
        }

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

    /// The body of every admin API error, and the last line of a failed stream.
    package struct ErrorOutput: Codable, Sendable {
        package struct Detail: Codable, Sendable {
            package var code: String
            package var message: String
        }
        package var error: Detail
    }

    /// `GET /spool/v1/mappings/{uuid}/shards`: a stream mapping's checkpoint and iterator age per shard lane.
    struct ShardProgressOutput: Encodable {
        struct Shard: Encodable {
            var ShardId: String
            var Lane: Int
            var CheckpointSequenceNumber: String?
            var IteratorAgeMilliseconds: Int64
            var RecordsBehind: Int64
        }
        var UUID: String
        var EventSourceArn: String
        var State: String
        var LastProcessingResult: String?
        var Shards: [Shard]
    }
}
