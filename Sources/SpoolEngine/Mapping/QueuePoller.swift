import Foundation
import Logging
import SpoolExecutor
import SpoolModel
import SpoolSignals
import SpoolStorage
import Synchronization

/// Feeds one queue mapping's function: leases messages in batches, hands each batch to the function as the
/// SQS event, and settles it — deleting what succeeded, leaving what failed to come back after the queue's
/// visibility timeout (and so to the queue's redrive policy), deleting what no filter matched.
///
/// Batches run concurrently up to `ScalingConfig.MaximumConcurrency`, or as `MappingScaling` allows, and
/// always within what the function runner admits (a slot is taken before messages are leased; without one the
/// poller waits for a release, holding no messages). FIFO order holds because the queue never leases a message of
/// a group that has one in flight. A crash loses nothing: leased messages become visible when their lease ends.
///
/// Idle, a poller costs nothing: its gatherers are parked on the queue's signal and the poller's own wake-up
/// (stop, new settings, a backlog) and on the next message becoming visible, and nothing else.
final class QueuePoller: Sendable {
    let uuid: String
    let registry: FunctionRegistry
    let queues: QueueService
    let logger: Logger
    let rest: PollerRest
    let state: Mutex<State>
    /// Raised when a batch ends and gives back its place under the mapping's maximum concurrency.
    let batchEnded = WakeSignal()
    let progress: MappingProgress

    struct State {
        var mapping: EventSourceMapping
        var patterns: [FilterPattern]
        var scaling: MappingScaling
        var active = 0
        /// The last lease filled its chunk: more messages are waiting than one gatherer keeps up with.
        var backlogged = false
    }

    /// Gatherers that lease batches side by side while the queue is backlogged; one when it is not, so
    /// that batching windows collect one batch at a time. Their leases share the writer's group commits.
    static let gatherers = 4

    /// How long a poller with nothing to do sleeps at most before looking again (a safety net: sends wake it).
    static let idleWaitMillis: Millis = 60_000

    init(mapping: EventSourceMapping, registry: FunctionRegistry, queues: QueueService, progress: MappingProgress, logger: Logger) {
        self.uuid = mapping.uuid
        self.progress = progress
        self.registry = registry
        self.queues = queues
        var logger = logger
        logger[metadataKey: "mapping"] = "\(mapping.uuid)"
        self.logger = logger
        self.rest = PollerRest(logger: logger)
        self.state = Mutex(State(mapping: mapping, patterns: mapping.settings.patterns(), scaling: MappingScaling(now: registry.clock.now())))
    }

    /// New settings take effect from the next batch.
    func update(_ mapping: EventSourceMapping) {
        state.withLock { state in
            state.mapping = mapping
            state.patterns = mapping.settings.patterns()
        }
        wakeups.signal()
    }


    func run() async {
        logger.debug("poller started")
        await withDiscardingTaskGroup { gatherers in
            for index in 0..<Self.gatherers {
                gatherers.addTask { await self.gather(primary: index == 0) }
            }
        }
        logger.debug("poller stopped")
    }

    /// One gatherer's loop: lease a batch, hand it to a task of its own, repeat. Only the primary gatherer
    /// runs while the queue is not backlogged.
    private func gather(primary: Bool) async {
        await withDiscardingTaskGroup { group in
            while !isStopped {
                if !primary {
                    let seen = wakeups.generation
                    if !state.withLock({ $0.backlogged }) {
                        await wait(on: nil, seen: seen, timeout: Self.idleWaitMillis)
                        continue
                    }
                }
                guard let batch = await nextBatch(primary: primary) else { continue }
                group.addTask { await self.process(batch) }
            }
        }
    }

    /// Records whether the last lease left messages waiting, waking the other gatherers when it did.
    func noteBacklog(_ backlogged: Bool) {
        let rising = state.withLock { state in
            defer { state.backlogged = backlogged }
            return backlogged && !state.backlogged
        }
        if rising { wakeups.signal() }
    }

    /// The mapping's queue as it is now: read for every batch, so that a changed visibility timeout (or a
    /// queue deleted and recreated under the same name) applies to the next lease.
    func currentQueue(_ mapping: EventSourceMapping) async -> QueueRecord? {
        guard let name = registry.identity.queueName(fromARN: mapping.sourceARN) else { return nil }
        return try? await queues.store.queue(named: name)
    }
}
