import Foundation
import SpoolModel

/// One shard of a stream: its hash-key range, its lineage after resharding, and whether it is still open.
public struct ShardInfo: Sendable, Equatable {
    public var index: Int
    public var hashRange: ClosedRange<UInt128>
    /// The shard split or merged into this one (`ParentShardId`), and the other shard of a merge.
    public var parent: Int?
    public var adjacentParent: Int?
    public var createdAt: Millis
    /// When a split or merge closed it; a closed shard takes no more records.
    public var closedAt: Millis?
    /// The position the next record takes; a closed shard's last record is at `nextPosition - 1`.
    public var nextPosition: Int64

    public init(index: Int, hashRange: ClosedRange<UInt128>, parent: Int? = nil, adjacentParent: Int? = nil, createdAt: Millis,
                closedAt: Millis? = nil, nextPosition: Int64 = 0) {
        self.index = index
        self.hashRange = hashRange
        self.parent = parent
        self.adjacentParent = adjacentParent
        self.createdAt = createdAt
        self.closedAt = closedAt
        self.nextPosition = nextPosition
    }

    public var isOpen: Bool { closedAt == nil }
    /// The last position of a closed shard (-1 when it closed empty).
    public var endPosition: Int64? { closedAt == nil ? nil : nextPosition - 1 }
    public var parents: [Int] { [parent, adjacentParent].compactMap { $0 } }

    /// A shard from its stored columns: a range as decimal text, or none for a shard the stream was created with and
    /// never resharded since (its range is the creation split of the stream's `shardCount`).
    public static func stored(index: Int, hashStart: String?, hashEnd: String?, parent: Int?, adjacentParent: Int?, createdAt: Millis?,
                              closedAt: Millis?, nextPosition: Int64, stream: (createdAt: Millis, shardCount: Int)) -> ShardInfo {
        let range: ClosedRange<UInt128>
        if let hashStart, let hashEnd, let start = UInt128(hashStart), let end = UInt128(hashEnd), start <= end {
            range = start...end
        } else {
            range = ShardMap(shardCount: max(stream.shardCount, 1)).range(index)
        }
        return ShardInfo(index: index, hashRange: range, parent: parent, adjacentParent: adjacentParent, createdAt: createdAt ?? stream.createdAt,
                         closedAt: closedAt, nextPosition: nextPosition)
    }

    /// The stored columns of the range (decimal text).
    public var storedRange: (start: String, end: String) { hashRange.storedText }
}

extension ClosedRange where Bound == UInt128 {
    /// A hash-key range as `stream_shard` stores it: its ends as decimal text.
    public var storedText: (start: String, end: String) { (String(lowerBound), String(upperBound)) }
}

extension StreamInfo {
    public var openShards: [ShardInfo] { shards.filter(\.isOpen) }

    /// A shard's `StartingSequenceNumber`: position 0 with an arrival time of 0, which no record has, so that it stands
    /// for "before the first record" (reading after it starts at the shard's first record).
    public func startingSequenceNumber(shardIndex: Int) -> String {
        sequenceNumber(shardIndex: shardIndex, position: 0, arrivalMillis: 0)
    }

    public func shard(_ index: Int) -> ShardInfo? {
        index >= 0 && index < shards.count && shards[index].index == index ? shards[index] : shards.first { $0.index == index }
    }

    /// The shards split or merged from `index`.
    public func children(of index: Int) -> [ShardInfo] { shards.filter { $0.parents.contains(index) } }

    /// The open shard whose range holds `hashKey`.
    public func openShard(forHashKey hashKey: UInt128) -> Int {
        openShards.first { $0.hashRange.contains(hashKey) }?.index ?? 0
    }

    /// The open shard a record goes to: by `explicitHashKey` when given, else by the MD5 of its partition key.
    public func openShard(partitionKey: String, explicitHashKey: UInt128?) -> Int {
        openShard(forHashKey: explicitHashKey ?? ShardMap.hashKey(partitionKey))
    }

    /// The shards listed for the stream: open ones, and closed ones until the retention period after their closing.
    public func listedShards(now: Millis) -> [ShardInfo] {
        let cutoff = retentionCutoff(now: now)
        return shards.filter { $0.closedAt.map { $0 >= cutoff } ?? true }
    }
}

/// A shard a reshard creates; `closed` for the intermediate shards of UpdateShardCount, closed as they are made.
public struct NewShard: Sendable, Equatable {
    public var index: Int
    public var hashRange: ClosedRange<UInt128>
    public var parent: Int?
    public var adjacentParent: Int?
    public var closed: Bool

    public init(index: Int, hashRange: ClosedRange<UInt128>, parent: Int?, adjacentParent: Int? = nil, closed: Bool = false) {
        self.index = index
        self.hashRange = hashRange
        self.parent = parent
        self.adjacentParent = adjacentParent
        self.closed = closed
    }
}

/// SplitShard, MergeShards or UpdateShardCount as the store applies it in one transaction.
public struct ReshardParams: Sendable {
    public var streamID: Int64
    /// How many shards the plan was made for: another reshard in between makes it stale (`ResourceInUseException`).
    public var shardTotal: Int
    /// Open shards to close.
    public var closing: [Int]
    /// Shards to create, indices from `shardTotal` on.
    public var creating: [NewShard]
    public var now: Millis

    public init(streamID: Int64, shardTotal: Int, closing: [Int], creating: [NewShard], now: Millis) {
        self.streamID = streamID
        self.shardTotal = shardTotal
        self.closing = closing
        self.creating = creating
        self.now = now
    }

    /// Why the plan cannot apply to the stream's shards as they are now, or `nil` when it can.
    public func refusal(current: [ShardInfo]) -> ReshardOutcome? {
        guard current.count == shardTotal else { return .stale }
        for index in closing where current.first(where: { $0.index == index })?.isOpen != true { return .notOpen(index) }
        return nil
    }

    /// The stream's open shard count after the reshard of `current`.
    public func openCount(after current: [ShardInfo]) -> Int {
        current.filter(\.isOpen).count - closing.count + creating.filter { !$0.closed }.count
    }
}

/// What a reshard did, or why it did not.
public enum ReshardOutcome: Sendable, Equatable {
    case done
    /// Another reshard changed the stream since the plan was made.
    case stale
    /// A shard to close was closed already.
    case notOpen(Int)
}

/// Failures a stream store reports to the engine rather than to a client.
public enum StreamStoreError: Error, Equatable {
    /// A record was routed to a shard a reshard has closed since: route it again.
    case shardClosed
}
