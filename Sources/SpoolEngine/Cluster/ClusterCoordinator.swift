import Logging
import ServiceLifecycle
import SpoolModel
import SpoolSignals
import SpoolStorage
import Synchronization

/// A node's part in a cluster on a shared store: it heartbeats the node's row, and decides which units of work —
/// queue mappings, and shards of stream mappings (`MappingOwners`) — this node runs, holding a lease on each.
///
/// Every node computes the same owner for each unit from the live nodes (`Rendezvous`), so the units spread over
/// the live nodes and move when one joins or leaves. A node takes a lease only when it is free or ended; a node that is
/// to give a mapping up first stops its poller (letting running batches finish and settle), renewing the lease until
/// the poller is gone, and only then releases it, so a mapping is never polled by two nodes at once. A node that
/// cannot renew stops its pollers before its leases end; a node that dies leaves leases that end after `leaseTime`,
/// and the survivors take them. On a clean leave (SIGTERM) the node releases everything once its pollers stopped.
///
/// Changes to mappings made through other nodes reach the owner at its next tick at the latest (each tick reads the
/// mappings), and at once through the cluster's wake-ups.
package final class ClusterCoordinator: Service, Sendable {
    let store: any ClusterStore
    let mappings: any MappingStore
    let streams: any StreamStore
    let supervisor: MappingSupervisor
    let owners: MappingOwners
    let nodeID: String
    let address: Mutex<String>
    let version: String
    /// How long a lease or heartbeat lasts unless renewed.
    package let leaseTime: Millis
    /// How often the node heartbeats and renews.
    let interval: Duration
    let logger: Logger
    /// The margin asynchronous events' leases carry beyond their longest run (`AsyncSettings.leaseMargin`), and what
    /// to do once events held by nodes no longer live were released (the dispatcher's rescan).
    let invocationLeaseMargin: Millis
    let afterReleasingEvents: @Sendable () async -> Void
    /// Told after each heartbeat this node's share of the cluster's limits (from the live nodes).
    let onShare: @Sendable (ClusterShare) async -> Void
    let wakeups = WakeSignal()
    let state = Mutex(State())

    struct State {
        /// Mappings this node holds leases on and runs.
        var running: Set<String> = []
        /// Mappings this node holds leases on while their pollers stop (given up, or no longer wanted).
        var draining: Set<String> = []
        /// Each mapping's state, enabled flag and last change, as last read: a difference is a change to apply.
        var fingerprints: [String: String] = [:]
        /// When leases were last renewed.
        var renewed: ContinuousClock.Instant?
        var ticks = 0
        var stopping = false
    }

    package init(store: any ClusterStore, mappings: any MappingStore, streams: any StreamStore, supervisor: MappingSupervisor, owners: MappingOwners,
                 nodeID: String, address: String, version: String, leaseTime: Millis = 10_000, interval: Duration = .seconds(2),
                 invocationLeaseMargin: Millis = 60_000, afterReleasingEvents: @escaping @Sendable () async -> Void = {},
                 onShare: @escaping @Sendable (ClusterShare) async -> Void = { _ in }, logger: Logger) {
        self.onShare = onShare
        self.invocationLeaseMargin = invocationLeaseMargin
        self.afterReleasingEvents = afterReleasingEvents
        self.store = store
        self.mappings = mappings
        self.streams = streams
        self.supervisor = supervisor
        self.owners = owners
        self.nodeID = nodeID
        self.address = Mutex(address)
        self.version = version
        self.leaseTime = leaseTime
        self.interval = interval
        self.logger = logger
        owners.set([])
    }

    /// The address other nodes and operators see (the port is known once the server listens).
    package func listening(on address: String) {
        self.address.withLock { $0 = address }
        poke()
    }

    /// Every node the store knows, live or not, with the units each holds.
    package func nodes() async throws -> [ClusterNode] {
        try await store.clusterNodes(ttl: leaseTime)
    }

    /// Runs a tick at once (a mapping was created or changed, a node asked for a rebalance).
    package func poke() {
        wakeups.signal()
    }

    package func run() async throws {
        await withGracefulShutdownHandler {
            while !self.isStopping {
                let seen = self.wakeups.generation
                await self.tick()
                await WakeSignal.wait(any: [(self.wakeups, seen)], timeout: self.interval)
            }
        } onGracefulShutdown: {
            self.state.withLock { $0.stopping = true }
            self.wakeups.close()
        }
        // The supervisor stops before this service (it comes later in the service group), so every poller has ended.
        do {
            try await store.leave(node: nodeID)
            logger.notice("left the cluster", metadata: ["node": "\(nodeID)"])
        } catch {
            logger.warning("cannot leave the cluster; this node's leases end by themselves", metadata: ["error": "\(error)"])
        }
    }

    private var isStopping: Bool { state.withLock { $0.stopping } || Task.isCancelled }

    /// One round: heartbeat, read the mappings, decide, take and release leases, tell the supervisor what changed.
    func tick() async {
        let started = ContinuousClock.now
        do {
            let nodes = try await store.heartbeat(node: nodeID, address: address.withLock { $0 }, version: version, ttl: leaseTime)
            var live = nodes.filter(\.live).map(\.id)
            if !live.contains(nodeID) { live.append(nodeID) }
            live.sort()
            await onShare(ClusterShare(rank: live.firstIndex(of: nodeID) ?? 0, count: live.count))
            let (fingerprints, units) = try await readMappings()
            let wanted = units.filter { Rendezvous.owner(of: $0, among: live) == nodeID }
            let (running, draining) = state.withLock { ($0.running, $0.draining) }
            // Running mappings no longer wanted drain (their pollers stop); a draining one wanted again runs again; a
            // drained one (its poller gone, or the mapping deleted) is released.
            var nowDraining = draining.union(running.subtracting(wanted)).subtracting(wanted)
            let drained = nowDraining.filter {
                !units.contains($0) || !supervisor.isPolling(MappingOwners.mapping(of: $0), shard: MappingOwners.shard(of: $0))
            }
            nowDraining.subtract(drained)
            try await store.releaseLeases(node: nodeID, units: Array(drained))
            let held = Set(try await store.acquireLeases(node: nodeID, units: Array(wanted.union(nowDraining)), ttl: leaseTime).map(\.unit))
            let nowRunning = wanted.intersection(held)
            nowDraining.formIntersection(held)
            let changed = state.withLock { state -> Set<String> in
                var changed = Set(state.running.symmetricDifference(nowRunning).map(MappingOwners.mapping(of:)))
                for (uuid, print) in fingerprints where state.fingerprints[uuid] != print { changed.insert(uuid) }
                for uuid in state.fingerprints.keys where fingerprints[uuid] == nil { changed.insert(uuid) }
                state.running = nowRunning
                state.draining = nowDraining
                state.fingerprints = fingerprints
                state.renewed = started
                state.ticks += 1
                return changed
            }
            owners.set(nowRunning)
            for uuid in changed { supervisor.notify(uuid) }
            if state.withLock({ $0.ticks % 30 == 1 }) { try await store.dropLeases(except: Array(units)) }
            // Events a dead node held: once their longest run is over they cannot be running, so they need not wait
            // out the rest of the margin.
            let dead = nodes.filter { !$0.live && $0.id != nodeID }.map(\.id)
            if !dead.isEmpty {
                let released = try await store.releaseInvocationLeases(ofNodes: dead, margin: invocationLeaseMargin, now: WallClock().now())
                if released > 0 {
                    logger.notice("events held by nodes no longer live run again", metadata: ["count": "\(released)", "nodes": "\(dead)"])
                    await afterReleasingEvents()
                }
            }
        } catch {
            logger.warning("cluster heartbeat failed", metadata: ["error": "\(error)"])
            fenceIfStale()
        }
    }

    /// After failing to renew for most of a lease time, this node stops its pollers, before its leases end and other
    /// nodes take the mappings over.
    private func fenceIfStale() {
        let stale = state.withLock { state -> Set<String> in
            guard let renewed = state.renewed, ContinuousClock.now - renewed > .milliseconds(leaseTime) - interval * 2 else { return [] }
            defer {
                state.running = []
                state.draining = []
            }
            return Set(state.running.union(state.draining).map(MappingOwners.mapping(of:)))
        }
        guard !stale.isEmpty else { return }
        logger.error("cluster leases not renewed in time: this node stops its mappings' pollers", metadata: ["mappings": "\(stale.count)"])
        owners.set([])
        for uuid in stale { supervisor.notify(uuid) }
    }

    /// Every mapping's UUID with what identifies its stored version, and the units of work they make: a queue mapping
    /// is one unit, a stream mapping one per shard of its stream (the shard's lanes run together).
    private func readMappings() async throws -> (fingerprints: [String: String], units: Set<String>) {
        var fingerprints: [String: String] = [:]
        var units: Set<String> = []
        var shardIndices: [String: [Int]] = [:]
        for mapping in try await mappings.allMappings() {
            fingerprints[mapping.uuid] = "\(mapping.state.rawValue)|\(mapping.enabled)|\(mapping.lastModified)"
            guard mapping.isStream else {
                units.insert(mapping.uuid)
                continue
            }
            let stream = MappingStoreRules.streamName(mapping.sourceARN)
            if shardIndices[stream] == nil { shardIndices[stream] = try await streams.stream(named: stream)?.shards.map(\.index) ?? [] }
            // Every shard, closed ones included (their lanes finish them before the children start). A mapping whose
            // stream is gone still needs an owner, to settle or remove it: its shard 0.
            let shards = shardIndices[stream] ?? []
            for shard in shards.isEmpty ? [0] : shards { units.insert(MappingOwners.unit(mapping.uuid, shard: shard)) }
        }
        return (fingerprints, units)
    }
}
