import Foundation
import SpoolModel
import SpoolStorage

/// Resharding: SplitShard, MergeShards and UpdateShardCount close open shards and create their children, which take
/// the parents' hash-key ranges from then on. Closed shards keep their records until the retention period ends.
extension StreamService {
    /// SplitShard: the shard closes; two children take `[start, newStart − 1]` and `[newStart, end]`.
    package func splitShard(stream: StreamInfo, shardID: String, newStartingHashKey: String) async throws {
        let parent = try openShard(stream, shardID)
        guard let key = ShardMap.parseHashKey(newStartingHashKey) else {
            throw SpoolError(.invalidArgument, "NewStartingHashKey \(newStartingHashKey) must be a decimal integer in the range [0, 2^128-1].")
        }
        guard key > parent.hashRange.lowerBound, key <= parent.hashRange.upperBound else {
            throw SpoolError(.invalidArgument, "NewStartingHashKey \(newStartingHashKey) used in SplitShard() on shard \(shardID) in stream \(AWSIdentity.plainName(stream.name)) under account \(identity.accountID) is not both greater than one plus the shard's StartingHashKey \(parent.hashRange.lowerBound) and less than the shard's EndingHashKey \(parent.hashRange.upperBound).")
        }
        try checkShardLimit(stream, adding: 1)
        let next = stream.shards.count
        try await apply(stream, closing: [parent.index], creating: [
            NewShard(index: next, hashRange: parent.hashRange.lowerBound...(key - 1), parent: parent.index),
            NewShard(index: next + 1, hashRange: key...parent.hashRange.upperBound, parent: parent.index),
        ])
    }

    /// MergeShards: two open shards with adjacent ranges close; one child takes both ranges (`ParentShardId` is the
    /// shard to merge, `AdjacentParentShardId` the other).
    package func mergeShards(stream: StreamInfo, shardID: String, adjacentShardID: String) async throws {
        let first = try openShard(stream, shardID)
        let second = try openShard(stream, adjacentShardID)
        let lower = first.hashRange.lowerBound < second.hashRange.lowerBound ? first : second
        let upper = lower == first ? second : first
        guard lower.index != upper.index, lower.hashRange.upperBound < UInt128.max, lower.hashRange.upperBound + 1 == upper.hashRange.lowerBound else {
            throw SpoolError(.invalidArgument, "Shards \(shardID) and \(adjacentShardID) in stream \(AWSIdentity.plainName(stream.name)) under account \(identity.accountID) are not an adjacent pair of shards eligible for merging")
        }
        try await apply(stream, closing: [first.index, second.index], creating: [
            NewShard(index: stream.shards.count, hashRange: lower.hashRange.lowerBound...upper.hashRange.upperBound,
                     parent: first.index, adjacentParent: second.index),
        ])
    }

    /// UpdateShardCount with `UNIFORM_SCALING` on a `PROVISIONED` stream: the open shards become `target` shards of equal
    /// ranges, by splits at the new boundaries and merges of the pieces that share a new range (the intermediate shards
    /// close at once, as Kinesis's do). `target` is between half and double the open shard count (Kinesis's default
    /// limits, `LimitExceededException` past them).
    package func updateShardCount(stream: StreamInfo, target: Int, scalingType: String) async throws -> (current: Int, target: Int) {
        guard scalingType == "UNIFORM_SCALING" else {
            throw SpoolError.validation(field: "scalingType", value: scalingType, constraint: "Member must satisfy enum value set: [UNIFORM_SCALING]")
        }
        let current = stream.openShards.count
        guard target >= 1 else {
            throw SpoolError.validation(field: "targetShardCount", value: "\(target)", constraint: "Member must have value greater than or equal to 1")
        }
        guard stream.mode == "PROVISIONED" else {
            throw SpoolError(.invalidArgument, "UpdateShardCount is only supported for streams in PROVISIONED mode; \(AWSIdentity.plainName(stream.name)) is \(stream.mode).")
        }
        // Kinesis's default limits: at most double, at least half the open shard count.
        guard target <= current * 2, target * 2 >= current else {
            throw SpoolError(.overLimit, "UpdateShardCount cannot scale \(AWSIdentity.plainName(stream.name)) from \(current) to \(target) shards: the target must be between half (\((current + 1) / 2)) and double (\(current * 2)) the current open shard count.")
        }
        try checkShardLimit(stream, adding: target - current)
        var next = stream.shards.count
        var closing: [Int] = []
        var creating: [NewShard] = []
        // Pieces: (index, range), in hash-key order; the stream's open shards first.
        var pieces = stream.openShards.sorted { $0.hashRange.lowerBound < $1.hashRange.lowerBound }.map { (index: $0.index, range: $0.hashRange) }
        let map = ShardMap(shardCount: target)
        func close(_ index: Int) {
            if let made = creating.firstIndex(where: { $0.index == index }) { creating[made].closed = true } else { closing.append(index) }
        }
        // Splits at every new boundary inside a piece.
        for boundary in (1..<max(target, 1)).map({ map.range($0).lowerBound }) {
            guard let at = pieces.firstIndex(where: { $0.range.lowerBound < boundary && boundary <= $0.range.upperBound }) else { continue }
            let piece = pieces[at]
            close(piece.index)
            let left = NewShard(index: next, hashRange: piece.range.lowerBound...(boundary - 1), parent: piece.index)
            let right = NewShard(index: next + 1, hashRange: boundary...piece.range.upperBound, parent: piece.index)
            next += 2
            creating += [left, right]
            pieces.replaceSubrange(at...at, with: [(left.index, left.hashRange), (right.index, right.hashRange)])
        }
        // Merges of the pieces of each new range, left to right.
        for newShard in 0..<target {
            let range = map.range(newShard)
            var inside = pieces.filter { range.contains($0.range.lowerBound) }
            while inside.count > 1 {
                let (a, b) = (inside[0], inside[1])
                close(a.index)
                close(b.index)
                let merged = NewShard(index: next, hashRange: a.range.lowerBound...b.range.upperBound, parent: a.index, adjacentParent: b.index)
                next += 1
                creating.append(merged)
                inside.replaceSubrange(0...1, with: [(merged.index, merged.hashRange)])
            }
        }
        if !closing.isEmpty || !creating.isEmpty { try await apply(stream, closing: closing, creating: creating) }
        return (current, target)
    }

    private func openShard(_ stream: StreamInfo, _ shardID: String) throws -> ShardInfo {
        guard let index = ShardMap.shardIndex(shardID), let shard = stream.shard(index) else {
            throw SpoolError(.resourceNotFound, "Could not find shard \(shardID) in stream \(AWSIdentity.plainName(stream.name)) under account \(identity.accountID).")
        }
        guard shard.isOpen else { throw notEligible(stream, shard.index) }
        return shard
    }

    private func notEligible(_ stream: StreamInfo, _ index: Int) -> SpoolError {
        SpoolError(.invalidArgument, "Shard \(ShardMap.shardID(index)) in stream \(AWSIdentity.plainName(stream.name)) under account \(identity.accountID) has already been merged or split, and thus is not eligible for merging or splitting.")
    }

    private func checkShardLimit(_ stream: StreamInfo, adding: Int) throws {
        let open = stream.openShards.count + adding
        guard open <= StreamLimits.shardCount.upperBound else {
            throw SpoolError(.overLimit, "This request would exceed the shard limit for the account \(identity.accountID) in \(identity.region(of: stream.name)). Current shard count for the account: \(stream.openShards.count). Limit: \(StreamLimits.shardCount.upperBound).")
        }
        // Shard ids are numbered once per stream; closed shards keep theirs.
        guard stream.shards.count + max(adding, 0) * 3 + 2 < 1_000_000 else {
            throw SpoolError(.overLimit, "Stream \(AWSIdentity.plainName(stream.name)) has used every shard id Spool numbers (1,000,000).")
        }
    }

    private func apply(_ stream: StreamInfo, closing: [Int], creating: [NewShard]) async throws {
        switch try await store.reshard(ReshardParams(streamID: stream.id, shardTotal: stream.shards.count, closing: closing, creating: creating, now: clock.now())) {
        case .done:
            signals.signal(stream.id)
        case .stale:
            throw SpoolError(.resourceInUse, "Stream \(AWSIdentity.plainName(stream.name)) under account \(identity.accountID) is being updated (another reshard changed its shards). Retry the request.")
        case .notOpen(let index):
            throw notEligible(stream, index)
        }
    }
}
