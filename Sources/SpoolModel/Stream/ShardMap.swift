import Crypto
import Foundation

/// How a stream's hash-key space `0 … 2^128 − 1` is split among its shards, as Kinesis splits it on
/// CreateStream: shard `i` starts at `i × ⌊2^128 / n⌋`, and the last shard ends at `2^128 − 1`.
public struct ShardMap: Sendable, Equatable {
    public let shardCount: Int

    public init(shardCount: Int) {
        precondition(shardCount > 0)
        self.shardCount = shardCount
    }

    /// `⌊2^128 / n⌋`, computed without overflowing 128 bits (only for n > 1: 2^128 itself does not fit).
    var step: UInt128 {
        let n = UInt128(shardCount)
        return UInt128.max / n + (UInt128.max % n == n - 1 ? 1 : 0)
    }

    /// The hash-key range of shard `index`, both ends included.
    public func range(_ index: Int) -> ClosedRange<UInt128> {
        guard shardCount > 1 else { return 0...UInt128.max }
        let start = step * UInt128(index)
        let end = index == shardCount - 1 ? UInt128.max : start + step - 1
        return start...end
    }

    /// The shard whose range holds `hashKey`.
    public func shard(forHashKey hashKey: UInt128) -> Int {
        guard shardCount > 1 else { return 0 }
        return min(Int(hashKey / step), shardCount - 1)
    }

    /// The shard a record goes to: by `explicitHashKey` when given, else by the MD5 of its partition key.
    public func shard(partitionKey: String, explicitHashKey: UInt128?) -> Int {
        shard(forHashKey: explicitHashKey ?? Self.hashKey(partitionKey))
    }

    /// The MD5 of the partition key's UTF-8 bytes, read as a big-endian 128-bit integer.
    public static func hashKey(_ partitionKey: String) -> UInt128 {
        Insecure.MD5.hash(data: Data(partitionKey.utf8)).reduce(UInt128(0)) { ($0 << 8) | UInt128($1) }
    }

    /// An `ExplicitHashKey` as Kinesis accepts it: a decimal in `0 … 2^128 − 1`.
    public static func parseHashKey(_ text: String) -> UInt128? {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        return UInt128(text)
    }

    /// `shardId-000000000000`.
    public static func shardID(_ index: Int) -> String {
        let digits = String(index)
        return "shardId-" + String(repeating: "0", count: max(0, 12 - digits.count)) + digits
    }

    /// The index a `shardId-…` names (also accepts the bare number, as Kinesis does).
    public static func shardIndex(_ shardID: String) -> Int? {
        let digits = shardID.hasPrefix("shardId-") ? String(shardID.dropFirst("shardId-".count)) : shardID
        guard !digits.isEmpty, digits.count <= 12, digits.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        return Int(digits)
    }
}
