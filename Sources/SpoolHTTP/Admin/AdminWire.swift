import Foundation
import SpoolModel

/// The JSON of the native admin API (`/spool/v1/…`): camelCase members, times as ISO 8601 strings.
/// The CLI reads the same types.
public enum AdminWire {
    /// One dead letter.
    public struct DeadLetterOutput: Codable, Sendable {
        public struct Failure: Codable, Sendable {
            public var kind: String
            public var errorType: String
            public var errorMessage: String
        }
        public var id: Int64
        public var requestId: String
        public var function: String
        public var qualifier: String?
        public var reason: String
        public var attempts: Int
        public var lastError: Failure?
        /// The original event, JSON text.
        public var payload: String
        public var enqueuedAt: String
        public var failedAt: String
        public var replayOf: Int64?
        public var replayedAt: String?
        public var replayRequestId: String?

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

    /// A page of `GET /spool/v1/dead-letters`.
    public struct DeadLetterPage: Codable, Sendable {
        public var deadLetters: [DeadLetterOutput]
        /// Pass as `after` to read the next page; absent on the last page.
        public var nextAfter: Int64?
    }

    /// The body of replay and purge: which dead letters (every member optional).
    public struct FilterInput: Codable, Sendable {
        public var function: String?
        public var reason: String?
        /// Unix milliseconds.
        public var from: Int64?
        public var until: Int64?
        public var ids: [Int64]?
        public var force: Bool?
        /// Leave out dead letters already replayed.
        public var notReplayed: Bool?

        public init(function: String? = nil, reason: String? = nil, from: Int64? = nil, until: Int64? = nil, ids: [Int64]? = nil,
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
    public struct ErrorOutput: Codable, Sendable {
        public struct Detail: Codable, Sendable {
            public var code: String
            public var message: String
        }
        public var error: Detail
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
