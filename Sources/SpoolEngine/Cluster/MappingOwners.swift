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

    /// The mapping a unit belongs to.
    static func mapping(of unit: String) -> String {
        unit.split(separator: "#", maxSplits: 1).first.map(String.init) ?? unit
    }

    /// The shard a unit is (`nil` for a whole queue mapping).
    static func shard(of unit: String) -> Int? {
        let parts = unit.split(separator: "#", maxSplits: 1)
        return parts.count == 2 ? Int(parts[1]) : nil
    }

    /// Whether this node runs the mapping, or some of its shards.
    package func owns(_ uuid: String) -> Bool {
        owned.withLock { units in units?.contains { Self.mapping(of: $0) == uuid } ?? true }
    }

    /// The shards of a stream mapping this node runs; `nil` for all of them (alone).
    package func shards(of uuid: String) -> Set<Int>? {
        owned.withLock { units in
            units.map { Set($0.filter { Self.mapping(of: $0) == uuid }.compactMap(Self.shard(of:))) }
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
