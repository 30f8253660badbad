import Logging
import SpoolModel
import SpoolStorage
import SpoolSignals
import Synchronization

/// This node's part of the cluster's limits: of `count` live nodes, it is the `rank`-th by id. A limit `total` split
/// over the nodes gives each `total / count`, and one more to the first `total % count`, so the parts add up to the
/// total exactly when the nodes agree on who is live.
package struct ClusterShare: Sendable, Equatable {
    package var rank: Int
    package var count: Int

    package init(rank: Int, count: Int) {
        self.rank = rank
        self.count = max(count, 1)
    }

    /// Alone: everything.
    package static let whole = ClusterShare(rank: 0, count: 1)

    package func of(_ total: Int) -> Int {
        guard total > 0 else { return total }
        return total / count + (rank < total % count ? 1 : 0)
    }
}

/// Reserved concurrency for the whole cluster: each invocation of a function with reserved concurrency also takes one
/// of the function's slots in the shared store (released when it ends, expiring when its node dies), so the cluster
/// never runs more of it at once than the reservation allows, whichever nodes the invocations start on.
package final class ClusterConcurrency: Sendable {
    let store: any ClusterStore
    let nodeID: String
    let logger: Logger
    /// Where a released slot is told: the other nodes, whose callers waiting for a slot of the function try again.
    let relay = Relay<String>()

    package init(store: any ClusterStore, nodeID: String, logger: Logger) {
        self.store = store
        self.nodeID = nodeID
        self.logger = logger
    }

    package func relay(to send: @escaping @Sendable (String) -> Void) {
        relay.connect(send)
    }

    /// One slot of `function`'s `limit`, held at most `leaseMillis` (the invocation's longest run and a margin); `nil`
    /// when the cluster runs `limit` already, or the store cannot be asked (refused, rather than risk going over).
    func take(_ function: String, limit: Int, leaseMillis: Millis) async -> Int64? {
        let now = WallClock().now()
        do {
            return try await store.takeConcurrencySlot(function: function, limit: limit, node: nodeID, now: now, expiresAt: now + leaseMillis)
        } catch {
            logger.warning("cannot take a concurrency slot; the invocation is throttled", metadata: ["function": "\(function)", "error": "\(error)"])
            return nil
        }
    }

    func release(_ id: Int64, function: String) {
        Task {
            do {
                try await store.releaseConcurrencySlot(id: id)
            } catch {
                logger.warning("cannot release a concurrency slot; it expires by itself", metadata: ["function": "\(function)", "error": "\(error)"])
            }
            relay(function)
        }
    }
}
