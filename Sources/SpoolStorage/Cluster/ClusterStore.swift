import SpoolModel

/// One Spool node of a cluster as the shared store knows it.
public struct ClusterNode: Sendable, Equatable, Codable {
    /// The node's id, kept in its data directory (the same across its restarts).
    public var id: String
    /// Where the node listens (`host:port`, as configured).
    public var address: String
    /// The node's Spool version.
    public var version: String
    /// When the node (this run of it) joined, milliseconds since the epoch, by the database's clock.
    public var startedAt: Millis
    /// The node's last heartbeat, by the database's clock.
    public var heartbeatAt: Millis
    /// Whether the heartbeat is recent enough for the node to count as live.
    public var live: Bool
    /// The work units it holds leases on, sorted: a queue mapping's UUID, `UUID#SHARD` for a stream mapping's shard.
    public var owns: [String]

    public init(id: String, address: String, version: String, startedAt: Millis, heartbeatAt: Millis, live: Bool, owns: [String]) {
        self.id = id
        self.address = address
        self.version = version
        self.startedAt = startedAt
        self.heartbeatAt = heartbeatAt
        self.live = live
        self.owns = owns
    }
}

/// A lease a node holds on one unit of work that must run on one node at a time (a queue mapping's pollers, a
/// stream mapping shard's lanes).
public struct WorkLease: Sendable, Equatable, Codable {
    public var unit: String
    public var node: String
    /// Rises each time the unit changes hands.
    public var epoch: Int64
    /// When the lease ends unless renewed, by the database's clock.
    public var expiresAt: Millis

    public init(unit: String, node: String, epoch: Int64, expiresAt: Millis) {
        self.unit = unit
        self.node = node
        self.epoch = epoch
        self.expiresAt = expiresAt
    }
}

/// Membership and work ownership of the nodes sharing one store. Only a shared backend (PostgreSQL) implements it: a
/// SQLite store has one node, which owns everything. Times are the database's, so that nodes' clocks never disagree
/// about who is live or whose lease ended.
package protocol ClusterStore: Sendable {
    /// Records the node as alive now (joining if it was not), and returns every node the store knows, with `live` set
    /// for those whose heartbeat is younger than `ttl`.
    func heartbeat(node id: String, address: String, version: String, ttl: Millis) async throws -> [ClusterNode]

    /// The nodes the store knows (as `heartbeat` returns them), without heartbeating.
    func clusterNodes(ttl: Millis) async throws -> [ClusterNode]

    /// Takes or renews leases on `units` for `node` for `ttl`: a unit is taken when it is free, its lease ended, or its
    /// holder is this node; a unit another node holds unexpired stays with it. Returns the leases `node` holds on
    /// `units` afterwards.
    func acquireLeases(node: String, units: [String], ttl: Millis) async throws -> [WorkLease]

    /// Gives up `node`'s leases on `units` so that other nodes take them at once.
    func releaseLeases(node: String, units: [String]) async throws

    /// Forgets ended leases on units not in `units` (mappings that no longer exist).
    func dropLeases(except units: [String]) async throws

    /// Every lease row: held, ended, or released (`node` empty).
    func workLeases() async throws -> [WorkLease]

    /// Ends the leases that nodes no longer live hold on asynchronous events whose longest run is over (the lease,
    /// less `margin`, has passed `now`): those events can no longer be running, and a live node may take them now
    /// instead of waiting out the margin; their concurrency slots likewise. Returns how many events were released.
    func releaseInvocationLeases(ofNodes nodes: [String], margin: Millis, now: Millis) async throws -> Int

    /// Takes one of the `limit` slots of `function` shared by the whole cluster (its reserved concurrency) for `node`,
    /// held until `expiresAt` unless released: `nil` when `limit` slots are held and unexpired. Slots are counted under
    /// a transaction lock on the function, so two nodes never both take the last one.
    func takeConcurrencySlot(function: String, limit: Int, node: String, now: Millis, expiresAt: Millis) async throws -> Int64?

    /// Gives a slot back.
    func releaseConcurrencySlot(id: Int64) async throws

    /// A clean leave: the node's leases are released and its row removed.
    func leave(node: String) async throws
}
