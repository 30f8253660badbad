import Synchronization

/// Which event source mappings, and which shards of stream mappings, this node runs. Alone (SQLite), a node runs
/// everything; in a cluster the `ClusterCoordinator` sets the units this node holds leases on — a queue mapping's
/// UUID, or `UUID#SHARD` for one shard of a stream mapping — and the supervisor runs only those.
package final class MappingOwners: Sendable {
    private let owned: Mutex<Set<String>?>

    /// `nil`: everything (one node alone).
    package init(_ owned: Set<String>? = nil) {
        self.owned = Mutex(owned)
    }

    /// The unit of one shard of a stream mapping.
    package static func unit(_ uuid: String, shard: Int) -> String { "\(uuid)#\(shard)" }

    /// Whether this node runs the mapping, or some of its shards.
    package func owns(_ uuid: String) -> Bool {
        owned.withLock { units in
            guard let units else { return true }
            return units.contains(uuid) || units.contains { $0.hasPrefix(uuid + "#") }
        }
    }

    /// The shards of a stream mapping this node runs; `nil` for all of them (alone).
    package func shards(of uuid: String) -> Set<Int>? {
        owned.withLock { units in
            guard let units else { return nil }
            let prefix = uuid + "#"
            return Set(units.compactMap { $0.hasPrefix(prefix) ? Int($0.dropFirst(prefix.count)) : nil })
        }
    }

    func set(_ units: Set<String>) {
        owned.withLock { $0 = units }
    }

    /// The units owned, `nil` for all.
    package var current: Set<String>? { owned.withLock { $0 } }
}

/// Rendezvous (highest random weight) hashing: every node computes the same owner for a unit from the same set of live
/// nodes, a joining node takes about 1/N of the units, and a leaving node's units spread over the others, no unit
/// moving between two nodes that both stay.
package enum Rendezvous {
    package static func owner(of unit: String, among nodes: [String]) -> String? {
        nodes.max { weight(unit, $0) < weight(unit, $1) || (weight(unit, $0) == weight(unit, $1) && $0 < $1) }
    }

    /// FNV-1a over node, a separator and unit, finished with SplitMix64's mixer: the same on every node and run
    /// (Swift's `Hasher` is seeded per process).
    static func weight(_ unit: String, _ node: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in node.utf8 + [0] + unit.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        hash ^= hash >> 30
        hash = hash &* 0xbf58_476d_1ce4_e5b9
        hash ^= hash >> 27
        hash = hash &* 0x94d0_49bb_1331_11eb
        return hash ^ (hash >> 31)
    }
}
