import SpoolExecutor
import SpoolModel
import SpoolStorage

/// What the admin API's operator views answer with (`/spool/v1/status`, `/functions`, `/queues`, …): the
/// CLI and the dashboard read these shapes as JSON. Times are Unix milliseconds, ages seconds.
package enum OperationsReport {
    /// `/spool/v1/nodes`: the nodes sharing the store.
    package struct Nodes: Sendable, Codable {
        /// `sqlite` (one node) or `postgres` (a cluster).
        package var backend: String
        /// The id of the node that answered.
        package var node: String
        /// How long a node's heartbeat and leases last unless renewed (a cluster only).
        package var leaseTimeMs: Millis?
        package var nodes: [ClusterNode]

        package init(backend: String, node: String, leaseTimeMs: Millis?, nodes: [ClusterNode]) {
            self.backend = backend
            self.node = node
            self.leaseTimeMs = leaseTimeMs
            self.nodes = nodes
        }
    }

    package struct Status: Sendable, Codable {
        package var now: Millis
        package var startedAt: Millis
        package var functions: [FunctionSummary]
        package var queues: [QueueDepth]
        package var streams: [StreamDepth]
        package var mappings: [MappingSummary]
        package var deadLetters: DeadLetterTotals
        package var throughput: Throughput
        /// How this node isolates execution environments (`sandbox` or `none`, and why).
        package var isolation: Isolation?
    }

    package struct DeadLetterTotals: Sendable, Codable {
        package var total: Int
        package var notReplayed: Int
    }

    /// Invocations over the last hour, per minute, all functions together.
    package struct Throughput: Sendable, Codable {
        package var lastMinute: Int
        package var lastHour: Int
        package var errorsLastHour: Int
        package var throttlesLastHour: Int
        package var perMinute: [ActivityPoint]
    }

    package struct ActivityPoint: Sendable, Codable, Equatable {
        package var start: Millis
        package var invocations: Int
        package var errors: Int
        package var throttles: Int
        package var averageDurationMs: Double
    }

    package struct FunctionSummary: Sendable, Codable {
        package var name: String
        package var executor: String
        package var runtime: String?
        package var handler: String?
        package var timeoutSeconds: Int
        package var memorySizeMB: Int
        package var reservedConcurrency: Int?
        package var asyncQueued: Int
        package var asyncRunning: Int
        package var oldestEventAgeSeconds: Double?
        package var deadLetters: Int
        package var deadLettersNotReplayed: Int
        package var idleEnvironments: Int
        package var busyEnvironments: Int
        package var invocationsLastHour: Int
        package var errorsLastHour: Int
    }

    package struct FunctionDetail: Sendable, Codable {
        package var function: FunctionSummary
        package var description: String
        package var role: String
        package var source: String
        package var webhookURL: String?
        package var codeSHA256: String
        package var codeSize: Int64
        package var lastModified: Millis
        package var environmentVariables: [String]
        package var mappings: [MappingSummary]
        package var activity: [ActivityPoint]
        package var recentInvocations: [JournalEntry]
    }

    package struct MappingSummary: Sendable, Codable {
        package var uuid: String
        package var functionName: String
        package var sourceARN: String
        /// `sqs` or `kinesis`.
        package var sourceType: String
        package var sourceName: String
        package var state: String
        package var stateTransitionReason: String
        package var enabled: Bool
        package var batchSize: Int
        package var maximumBatchingWindowSeconds: Int
        package var lastProcessingResult: String
        package var lastModified: Millis
    }

    package struct MappingDetail: Sendable, Codable {
        package var mapping: MappingSummary
        package var functionResponseTypes: [String]
        package var filters: [String]
        package var maximumConcurrency: Int?
        package var startingPosition: String?
        package var parallelizationFactor: Int?
        package var bisectBatchOnFunctionError: Bool?
        package var maximumRetryAttempts: Int?
        package var maximumRecordAgeSeconds: Int?
        package var onFailureDestination: String?
        package var shards: [Shard]
        /// The function's latest invocations by this kind of source.
        package var recentInvocations: [JournalEntry]
    }

    package struct Shard: Sendable, Codable {
        package var shardId: String
        package var lane: Int
        package var checkpointSequenceNumber: String?
        package var iteratorAgeSeconds: Double
        package var recordsBehind: Int64
    }

    package struct QueueDetail: Sendable, Codable {
        package var depth: QueueDepth
        package var oldestMessageAgeSeconds: Double?
        package var attributes: [String: String]
        package var mappings: [MappingSummary]
    }

    package struct StreamDetail: Sendable, Codable {
        package var depth: StreamDepth
        package var retentionHours: Int
        package var mode: String
        package var mappings: [MappingDetail]
    }
}
