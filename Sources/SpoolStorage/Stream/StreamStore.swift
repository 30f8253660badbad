import Foundation
import SpoolModel

/// A stream as stored.
public struct StreamInfo: Sendable, Equatable {
    public var id: Int64
    public var name: String
    /// The open shards (Kinesis's `OpenShardCount`).
    public var shardCount: Int
    public var retentionHours: Int
    /// `PROVISIONED` or `ON_DEMAND`.
    public var mode: String
    public var createdAt: Millis
    public var tags: [String: String]
    /// Every shard by index, open and closed (`shardCount` counts the open ones).
    public var shards: [ShardInfo]

    /// `shards` default to the creation split of `shardCount`, all open and empty.
    public init(id: Int64, name: String, shardCount: Int, retentionHours: Int, mode: String, createdAt: Millis, tags: [String: String] = [:],
                shards: [ShardInfo]? = nil) {
        self.id = id
        self.name = name
        self.shardCount = shardCount
        self.retentionHours = retentionHours
        self.mode = mode
        self.createdAt = createdAt
        self.tags = tags
        let map = ShardMap(shardCount: max(shardCount, 1))
        self.shards = shards ?? (0..<shardCount).map { ShardInfo(index: $0, hashRange: map.range($0), createdAt: createdAt) }
    }

    /// Records that arrived before this time have expired.
    public func retentionCutoff(now: Millis) -> Millis { now - Millis(retentionHours) * 3_600_000 }

    public func sequenceNumber(_ record: StreamRecord) -> String {
        sequenceNumber(shardIndex: record.shardIndex, position: record.position, arrivalMillis: record.arrivalMillis)
    }

    /// The sequence number of the record at `position` of a shard of this stream.
    public func sequenceNumber(shardIndex: Int, position: Int64, arrivalMillis: Millis) -> String {
        StreamSequenceNumber(streamCreatedSeconds: createdAt / 1_000, shardIndex: shardIndex, position: position, arrivalMillis: arrivalMillis).text
    }
}

/// One shard's extent: the oldest record still kept, the position the next record takes, the newest arrival.
public struct ShardExtent: Sendable, Equatable {
    public var shardIndex: Int
    /// `nil` when the shard holds no record.
    public var firstPosition: Int64?
    public var nextPosition: Int64
    public var lastArrival: Millis?

    public init(shardIndex: Int, firstPosition: Int64?, nextPosition: Int64, lastArrival: Millis?) {
        self.shardIndex = shardIndex
        self.firstPosition = firstPosition
        self.nextPosition = nextPosition
        self.lastArrival = lastArrival
    }
}

/// What registering a consumer did.
public enum ConsumerRegistration: Sendable, Equatable {
    case registered(StreamConsumer)
    /// A consumer of that name exists.
    case nameInUse
    /// The stream has as many consumers as it may.
    case limitReached
}

/// An enhanced fan-out consumer of a stream, as registered.
public struct StreamConsumer: Sendable, Equatable {
    public var streamID: Int64
    public var name: String
    public var createdAt: Millis

    public init(streamID: Int64, name: String, createdAt: Millis) {
        self.streamID = streamID
        self.name = name
        self.createdAt = createdAt
    }
}

/// A lane's durable place in a shard.
public struct StreamCheckpointRow: Sendable, Equatable {
    public var streamID: Int64
    public var shardIndex: Int
    public var lane: Int
    public var position: Int64
    /// Changes when the lanes are regrouped; a settle names the epoch it read.
    public var epoch: Int64
    public var windowStart: Millis?
    public var windowState: String?
    /// The lane's retry state for the batch at its checkpoint (`StreamRetryState.encoded`); `nil` when it starts fresh.
    public var retryState: String?

    public init(streamID: Int64, shardIndex: Int, lane: Int, position: Int64, epoch: Int64 = 0, windowStart: Millis? = nil, windowState: String? = nil,
                retryState: String? = nil) {
        self.retryState = retryState
        self.streamID = streamID
        self.shardIndex = shardIndex
        self.lane = lane
        self.position = position
        self.epoch = epoch
        self.windowStart = windowStart
        self.windowState = windowState
    }
}

/// Durable Kinesis-style streams: shards of append-only records, and mapping checkpoints.
public protocol StreamStore: Sendable {
    /// Creates a stream, or throws `ResourceInUseException` when a live one has the name.
    func createStream(_ params: CreateStreamParams) async throws -> StreamInfo
    func stream(named name: String) async throws -> StreamInfo?
    /// Live streams ordered by name, after `after`.
    func listStreams(after: String?, limit: Int) async throws -> [StreamInfo]
    /// Marks the stream deleted (its records go in the background); `false` when there is no such stream.
    func deleteStream(name: String, now: Millis) async throws -> Bool
    func setStreamRetention(name: String, hours: Int) async throws
    /// Adds (or overwrites) tags, checked against the limits in the same transaction.
    func tagStream(name: String, tags: [String: String], account: String) async throws
    func untagStream(name: String, keys: [String]) async throws
    /// Appends records, in request order per shard; returns each record's position.
    func putRecords(_ params: PutRecordsParams) async throws -> [Int64]
    /// Records of one shard after a position, oldest first, not older than `notBefore`.
    func readRecords(_ params: ReadRecordsParams) async throws -> [StreamRecord]
    func shardExtents(streamID: Int64, notBefore: Millis) async throws -> [ShardExtent]
    /// The last position of a shard whose record arrived before `timestamp` (-1 when none).
    func position(before timestamp: Millis, streamID: Int64, shardIndex: Int) async throws -> Int64
    func checkpoints(mappingUUID: String) async throws -> [StreamCheckpointRow]
    /// Takes a mapping's lanes for a poller that starts them: every checkpoint gets a new epoch, never below this
    /// opening's floor (`StoreGeneration`), so that a lane started earlier (before an unclean stop included) can no
    /// longer settle. Returns the checkpoints with their new epochs, in shard and lane order. With `shards`, only the
    /// lanes of those shards (a node of a cluster takes the shards it owns, and leaves the others' lanes alone).
    func takeCheckpoints(mappingUUID: String, shards: Set<Int>?) async throws -> [StreamCheckpointRow]
    /// A stream's resource policy (PutResourcePolicy), `nil` to delete it.
    func setStreamResourcePolicy(streamID: Int64, policy: String?) async throws
    func streamResourcePolicy(streamID: Int64) async throws -> String?

    /// Registers a consumer, unless the stream has one of that name or already `limit` of them.
    func registerStreamConsumer(streamID: Int64, name: String, now: Millis, limit: Int) async throws -> ConsumerRegistration
    /// The stream's consumers, by name.
    func streamConsumers(streamID: Int64) async throws -> [StreamConsumer]
    /// Removes a consumer; `false` when there was none of that name.
    func deregisterStreamConsumer(streamID: Int64, name: String) async throws -> Bool
    /// Sets a mapping's checkpoints for a stream to its starting position, every shard and lane (a mapping
    /// that finds its stream created again under the same name starts over on it), under a new epoch.
    func startCheckpoints(mappingUUID: String, streamID: Int64, settings: StreamMappingSettings) async throws -> [StreamCheckpointRow]
    /// Advances a lane's checkpoint and applies what the batch caused, in one transaction; `false` (and
    /// nothing done) when the checkpoint is no longer where the poller read it.
    func settleStreamBatch(_ params: SettleStreamBatchParams) async throws -> SettleOutcome
    /// Closes and creates shards as one reshard plans it (and gives every stream mapping of the stream checkpoints in
    /// the new shards, at their start), in one transaction.
    func reshard(_ params: ReshardParams) async throws -> ReshardOutcome
    /// Deletes expired records and the records of deleted streams, at most `limit`; returns how many.
    func trimStreams(now: Millis, limit: Int) async throws -> Int
}

public struct CreateStreamParams: Sendable {
    public var name: String
    public var shardCount: Int
    public var mode: String
    public var tags: [String: String]
    public var now: Millis

    public init(name: String, shardCount: Int, mode: String, tags: [String: String] = [:], now: Millis) {
        self.name = name
        self.shardCount = shardCount
        self.mode = mode
        self.tags = tags
        self.now = now
    }
}

/// One record to append, its shard already chosen.
public struct NewStreamRecord: Sendable {
    public var shardIndex: Int
    public var partitionKey: String
    public var data: Data

    public init(shardIndex: Int, partitionKey: String, data: Data) {
        self.shardIndex = shardIndex
        self.partitionKey = partitionKey
        self.data = data
    }
}

public struct PutRecordsParams: Sendable {
    public var streamID: Int64
    public var records: [NewStreamRecord]
    public var now: Millis

    public init(streamID: Int64, records: [NewStreamRecord], now: Millis) {
        self.streamID = streamID
        self.records = records
        self.now = now
    }
}

public struct ReadRecordsParams: Sendable {
    public var streamID: Int64
    public var shardIndex: Int
    /// Records after this position (-1: from the oldest kept).
    public var afterPosition: Int64
    public var limit: Int
    /// Stop before the total data passes this many bytes (at least one record is returned).
    public var maximumBytes: Int
    public var notBefore: Millis

    public init(streamID: Int64, shardIndex: Int, afterPosition: Int64, limit: Int, maximumBytes: Int, notBefore: Millis) {
        self.streamID = streamID
        self.shardIndex = shardIndex
        self.afterPosition = afterPosition
        self.limit = limit
        self.maximumBytes = maximumBytes
        self.notBefore = notBefore
    }
}

public struct SettleStreamBatchParams: Sendable {
    public enum WindowChange: Sendable, Equatable {
        case keep
        case open(start: Millis, state: String)
        case close
    }

    public var mappingUUID: String
    public var shardIndex: Int
    public var lane: Int
    /// The checkpoint the batch was read from (position and epoch); the settle applies only if it is still there.
    public var expectedPosition: Int64
    public var expectedEpoch: Int64
    public var newPosition: Int64
    public var window: WindowChange
    /// The lane's retry state from here on (`StreamRetryState.encoded`, `nil` for a fresh one), stored with the checkpoint.
    public var retryState: String?
    /// `LastProcessingResult` to record.
    public var result: String?
    public var effects: [InvocationEffect]
    /// Whose on-failure record the effects carry (see `EffectOrigin`).
    public var origin: EffectOrigin?
    public var now: Millis

    public init(mappingUUID: String, shardIndex: Int, lane: Int, expectedPosition: Int64, expectedEpoch: Int64 = 0, newPosition: Int64,
                window: WindowChange = .keep, retryState: String? = nil, result: String?, effects: [InvocationEffect] = [], origin: EffectOrigin? = nil,
                now: Millis) {
        self.origin = origin
        self.retryState = retryState
        self.mappingUUID = mappingUUID
        self.shardIndex = shardIndex
        self.lane = lane
        self.expectedPosition = expectedPosition
        self.expectedEpoch = expectedEpoch
        self.newPosition = newPosition
        self.window = window
        self.result = result
        self.effects = effects
        self.now = now
    }
}

extension StreamStore {
    /// Every lane of the mapping.
    package func takeCheckpoints(mappingUUID: String) async throws -> [StreamCheckpointRow] {
        try await takeCheckpoints(mappingUUID: mappingUUID, shards: nil)
    }
}
