import Logging
import ServiceLifecycle
import SpoolExecutor
import SpoolModel
import SpoolSignals
import SpoolStorage
import Synchronization

/// Runs one poller per enabled mapping and applies every change the API makes: starts pollers for new or
/// enabled mappings, hands updated settings to running ones, stops disabled and deleted ones (letting the
/// batches they started finish), then settles the mapping's state (`Enabled`, `Disabled`) or removes it.
package final class MappingSupervisor: Service, Sendable {
    let store: any MappingStore
    let registry: FunctionRegistry
    let queues: QueueService
    let streams: StreamService
    let logger: Logger
    /// The mappings this node runs: all of them alone, those it holds leases on in a cluster.
    package let owners: MappingOwners
    /// Where changes made through this node's API also go: the cluster's wake-ups, for the mapping's owner.
    let relay = Relay<String>()
    /// How long a stop waits for the batches pollers handed to functions; then they are cancelled and their
    /// messages released (a stream batch is read again from the checkpoint).
    let shutdownGrace: Duration
    let wakeups = WakeSignal()
    /// Raised whenever a poller ends (for the stop's grace period).
    let pollerEnded = WakeSignal()
    /// Batches settled and states reached, for watchers.
    package let progress = MappingProgress()
    let state = Mutex(State())

    struct State {
        /// Mappings whose stored row changed and must be applied.
        var pending: Set<String> = []
        var pollers: [String: any MappingPoller] = [:]
        /// Poller tasks not yet ended.
        var running = 0
        var stopping = false
    }

    package init(store: any MappingStore, registry: FunctionRegistry, queues: QueueService, streams: StreamService,
                shutdownGrace: Duration = .seconds(30), owners: MappingOwners = MappingOwners(),
                logger: Logger = Logger(label: "spool.mappings")) {
        self.shutdownGrace = shutdownGrace
        self.owners = owners
        self.store = store
        self.registry = registry
        self.queues = queues
        self.streams = streams
        self.logger = logger
    }

    /// Tells the supervisor that a mapping's stored row changed.
    package func notify(_ uuid: String) {
        state.withLock { _ = $0.pending.insert(uuid) }
        wakeups.signal()
    }

    /// A mapping was created, changed or deleted through the API: applied here, and by its owner in a cluster.
    package func changed(_ uuid: String) {
        notify(uuid)
        relay(uuid)
    }

    package func relay(to send: @escaping @Sendable (String) -> Void) {
        relay.connect(send)
    }

    package func run() async throws {
        for mapping in try await store.allMappings() { notify(mapping.uuid) }
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                while !self.isStopping {
                    let seen = self.wakeups.generation
                    let pending = self.state.withLock { state -> Set<String> in
                        defer { state.pending = [] }
                        return state.pending
                    }
                    for uuid in pending.sorted() where !self.isStopping {
                        if let poller = await self.apply(uuid) {
                            self.state.withLock { $0.running += 1 }
                            group.addTask {
                                await poller.run()
                                self.ended(poller)
                            }
                        }
                    }
                    await self.wakeups.wait(seen: seen)
                }
                for poller in self.state.withLock({ Array($0.pollers.values) }) { poller.stop() }
                // Leaving the group waits for every poller, and so for every batch already handed to a function,
                // for at most the grace period: then the batches are cancelled, and the pollers release them.
                if await !ShutdownGrace.drained(within: self.shutdownGrace, signal: self.pollerEnded, running: { self.state.withLock { $0.running } }) {
                    self.logger.warning("mapping batches still running when the shutdown grace period ended are cut off")
                    group.cancelAll()
                }
            }
        } onGracefulShutdown: {
            self.state.withLock { $0.stopping = true }
            self.wakeups.close()
        }
        logger.info("mapping supervisor stopped")
    }

    private var isStopping: Bool { state.withLock { $0.stopping } || Task.isCancelled }

    /// Brings one mapping's poller in line with its stored row; returns a poller to start, if any.
    private func apply(_ uuid: String) async -> (any MappingPoller)? {
        let mapping: EventSourceMapping?
        do {
            mapping = try await store.mapping(uuid: uuid)
        } catch {
            logger.error("cannot read mapping", metadata: ["uuid": "\(uuid)", "error": "\(error)"])
            return nil
        }
        let running = state.withLock { $0.pollers[uuid] }
        guard let mapping else {
            running?.stop()
            return nil
        }
        // Another node runs it (the cluster's coordinator says which): no poller here, and its owner settles its state.
        guard owners.owns(uuid) else {
            running?.stop()
            return nil
        }
        let wantsPoller = mapping.enabled && mapping.state != .deleting
        if wantsPoller {
            if let running, !running.isStopped {
                running.update(mapping)
                await settle(mapping, to: .enabled)
                return nil
            }
            if running != nil { return nil }  // still draining after a stop: `ended` re-applies the mapping
            let poller: any MappingPoller = mapping.isStream
                ? StreamPoller(mapping: mapping, registry: registry, streams: streams, queues: queues, progress: progress, owners: owners, logger: logger)
                : QueuePoller(mapping: mapping, registry: registry, queues: queues, progress: progress, logger: logger)
            state.withLock { $0.pollers[uuid] = poller }
            await settle(mapping, to: .enabled)
            return poller
        }
        if let running {
            running.stop()  // `ended` settles or removes the mapping once its batches finished
            return nil
        }
        if mapping.state == .deleting {
            do {
                try await store.removeMapping(uuid: uuid)
                progress.mappingChanged()
            } catch {
                logger.error("cannot remove mapping", metadata: ["uuid": "\(uuid)", "error": "\(error)"])
            }
        } else {
            await settle(mapping, to: .disabled)
        }
        return nil
    }

    private func settle(_ mapping: EventSourceMapping, to target: MappingState) async {
        guard mapping.state.isTransitional, mapping.state != .deleting else { return }
        do {
            _ = try await store.settleMapping(uuid: mapping.uuid, from: mapping.state, to: target, now: registry.clock.now())
            progress.mappingChanged()
        } catch {
            logger.error("cannot settle mapping state", metadata: ["uuid": "\(mapping.uuid)", "error": "\(error)"])
        }
    }

    /// Pollers running or finishing their batches.
    package var runningPollers: Int { state.withLock { $0.running } }

    /// Whether a poller of this mapping is running (or still finishing its batches after a stop).
    package func isPolling(_ uuid: String) -> Bool {
        state.withLock { $0.pollers[uuid] != nil }
    }

    /// Whether this node still runs the mapping (`shard` nil) or a lane of one shard of a stream mapping.
    package func isPolling(_ uuid: String, shard: Int?) -> Bool {
        guard let poller = state.withLock({ $0.pollers[uuid] }) else { return false }
        guard let shard, let stream = poller as? StreamPoller else { return true }
        return stream.runsLane(of: shard)
    }

    /// A poller returned: forget it and apply the mapping's row again (settle `Disabled`, remove, or restart).
    private func ended(_ poller: any MappingPoller) {
        state.withLock { state in
            state.running -= 1
            if state.pollers[poller.uuid] === poller { state.pollers[poller.uuid] = nil }
        }
        pollerEnded.signal()
        notify(poller.uuid)
    }
}
