import SpoolModel
import SpoolStorage

/// What the admin API's operator views answer with (`/spool/v1/status`, `/functions`, `/queues`, …): the
/// CLI and the dashboard read these shapes as JSON. Times are Unix milliseconds, ages seconds.
public enum OperationsReport {
    public struct Status: Sendable, Codable {
        public var now: Millis
        public var startedAt: Millis
        public var functions: [FunctionSummary]
        public var queues: [QueueDepth]
        public var streams: [StreamDepth]
        public var mappings: [MappingSummary]
        public var deadLetters: DeadLetterTotals
        public var throughput: Throughput
    }

    public struct DeadLetterTotals: Sendable, Codable {
        public var total: Int
        public var notReplayed: Int
    }

    /// Invocations over the last hour, per minute, all functions together.
    public struct Throughput: Sendable, Codable {
        public var lastMinute: Int
        public var lastHour: Int
        public var errorsLastHour: Int
        public var throttlesLastHour: Int
        public var perMinute: [ActivityPoint]
    }

    public struct ActivityPoint: Sendable, Codable, Equatable {
        public var start: Millis
        public var invocations: Int
        public var errors: Int
        public var throttles: Int
        public var averageDurationMs: Double
    }

    public struct FunctionSummary: Sendable, Codable {
        public var name: String
        public var executor: String
        public var runtime: String?
        public var handler: String?
        public var timeoutSeconds: Int
        public var memorySizeMB: Int
        public var reservedConcurrency: Int?
        public var asyncQueued: Int
        public var asyncRunning: Int
        public var oldestEventAgeSeconds: Double?
        public var deadLetters: Int
        public var deadLettersNotReplayed: Int
        public var idleEnvironments: Int
        public var busyEnvironments: Int
        public var invocationsLastHour: Int
        public var errorsLastHour: Int
    }

    public struct FunctionDetail: Sendable, Codable {
        public var function: FunctionSummary
        public var description: String
        public var role: String
        public var source: String
        public var webhookURL: String?
        public var codeSHA256: String
        public var codeSize: Int64
        public var lastModified: Millis
        public var environmentVariables: [String]
        public var mappings: [MappingSummary]
        public var activity: [ActivityPoint]
        public var recentInvocations: [JournalEntry]
    }

    public struct MappingSummary: Sendable, Codable {
        public var uuid: String
        public var functionName: String
        public var sourceARN: String
        /// `sqs` or `kinesis`.
        public var sourceType: String
        public var sourceName: String
        public var state: String
        public var stateTransitionReason: String
        public var enabled: Bool
        public var batchSize: Int
        public var maximumBatchingWindowSeconds: Int
        public var lastProcessingResult: String
        public var lastModified: Millis
    }

    public struct MappingDetail: Sendable, Codable {
        public var mapping: MappingSummary
        public var functionResponseTypes: [String]
        public var filters: [String]
        public var maximumConcurrency: Int?
        public var startingPosition: String?
        public var parallelizationFactor: Int?
        public var bisectBatchOnFunctionError: Bool?
        public var maximumRetryAttempts: Int?
        public var maximumRecordAgeSeconds: Int?
        public var onFailureDestination: String?
        public var shards: [Shard]
        /// The function's latest invocations by this kind of source.
        public var recentInvocations: [JournalEntry]
    }

    public struct Shard: Sendable, Codable {
        public var shardId: String
        public var lane: Int
        public var checkpointSequenceNumber: String?
        public var iteratorAgeSeconds: Double
        public var recordsBehind: Int64
    }

    public struct QueueDetail: Sendable, Codable {
        public var depth: QueueDepth
        public var oldestMessageAgeSeconds: Double?
        public var attributes: [String: String]
        public var mappings: [MappingSummary]
    }

    public struct StreamDetail: Sendable, Codable {
        public var depth: StreamDepth
        public var retentionHours: Int
        public var mode: String
        public var mappings: [MappingDetail]
    }
}
