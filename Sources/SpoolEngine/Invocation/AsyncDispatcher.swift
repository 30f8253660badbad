import Logging
import NIOCore
import ServiceLifecycle
import SpoolExecutor
import SpoolModel
import SpoolSignals
import SpoolStorage
import Synchronization

/// Delivers stored asynchronous events to their functions: claims them per function under a lease,
/// runs them through the function runner, and settles each outcome with its retries, destinations and dead
/// letters in one transaction.
///
/// Fairness: every dispatch round visits each function with due events, starting after the one served
/// last, and claims at most `claimBatch` events of each, so one busy function cannot starve the others.
/// Concurrency: an event is claimed only with a slot from the runner in hand, so reserved concurrency, the
/// account limit and the environments bound asynchronous, synchronous and mapped invocations together. An event
/// that finds no slot waits in the store, and the dispatcher waits for the runner to free a slot of that
/// function: a release wakes it at once, whoever released.
package final class AsyncDispatcher: Service, Sendable {
    let store: any InvocationStore
    let registry: FunctionRegistry
    let configs: EventInvokeConfigs
    let queueSignals: QueueSignals
    /// Signalled when a settle wrote to the http delivery outbox (the `DestinationDeliverer`'s wake-ups).
    let deliveryWakeups: WakeSignal
    let settings: AsyncSettings
    let random: @Sendable () -> Double
    let logger: Logger
    /// Raised by notices, finished events and the stop.
    let wakeups = WakeSignal()
    /// Raised whenever an event stops executing (for the stop's grace period).
    let finished = WakeSignal()
    /// Raised when the run loop starts or stops taking hand-offs and after every settle it stored: what a watcher
    /// (tests, the operator's views) waits on instead of polling.
    package let progress = WakeSignal()
    let state = Mutex(State())
    /// Events stored already claimed (`handOff`), for the run loop to start.
    let direct: (stream: AsyncStream<Work>, continuation: AsyncStream<Work>.Continuation) = AsyncStream.makeStream()

    var runner: FunctionRunner { registry.runner }

    struct State {
        /// The earliest time each function may have a claimable event.
        var due: [String: Millis] = [:]
        /// Raised by every `notify`, so that a due time read from the store never overwrites a newer notice.
        var notices: [String: UInt64] = [:]
        /// Functions with due events that found no free slot: the wake-up that tells a slot freed, and its
        /// generation read before the slot was asked for.
        var blocked: [String: (signal: WakeSignal, seen: UInt64)] = [:]
        var lastServed = ""
        var stopping = false
        /// The run loop is running and takes events handed to it directly.
        var running = false
        /// Events being executed now, and events handed over and not started yet.
        var executing = 0
        /// The stop's grace period ended: running events are cut off, and events not started yet stay unstarted.
        var abandoned = false
        /// Dispatch rounds run so far: each follows a wake-up (a notice, a released slot, a due time), never a timer.
        var rounds = 0
        /// Consecutive failures to read or write the store, for the back-off.
        var storeFailures = 0
    }

    static let backoff = ErrorBackoff()

    /// When a function whose store call just failed is looked at again (`ErrorBackoff`).
    func backedOff(from now: Millis) -> Millis {
        let failures = state.withLock { state in
            state.storeFailures += 1
            return state.storeFailures
        }
        return now + Self.backoff.delay(failures: failures, unit: random())
    }

    /// Dispatch rounds run so far (each one follows a wake-up), for tests that check the dispatcher does not poll.
    package var rounds: Int { state.withLock { $0.rounds } }

    /// The longest sleep with nothing due, a safety net for a missed wake-up.
    static let idleWaitMillis: Millis = 30_000

    package init(store: any InvocationStore, registry: FunctionRegistry, configs: EventInvokeConfigs,
                queueSignals: QueueSignals, deliveryWakeups: WakeSignal, settings: AsyncSettings, random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
                logger: Logger = Logger(label: "spool.async")) {
        self.store = store
        self.registry = registry
        self.configs = configs
        self.queueSignals = queueSignals
        self.deliveryWakeups = deliveryWakeups
        self.settings = settings
        self.random = random
        self.logger = logger
    }

    /// Tells the dispatcher that `function` has an event claimable from `visibleAt` (and, in a cluster, the other
    /// nodes' dispatchers too).
    package func notify(function: String, visibleAt: Millis) {
        notifyLocally(function: function, visibleAt: visibleAt)
        relay((function, visibleAt))
    }

    /// Where notices also go: the cluster's wake-ups, so that another node's dispatcher may take the event.
    let relay = Relay<(String, Millis)>()

    package func relay(to send: @escaping @Sendable (String, Millis) -> Void) {
        relay.connect { send($0.0, $0.1) }
    }

    /// `notify` for this node alone (a notice another node relayed, a rescan).
    package func notifyLocally(function: String, visibleAt: Millis) {
        state.withLock { state in
            state.due[function] = min(state.due[function] ?? .max, visibleAt)
            state.notices[function, default: 0] &+= 1
        }
        wakeups.signal()
    }

    package func run() async throws {
        // Leases still held belong to a server that is gone (this one just started): end them now.
        let released = try await store.releaseInvocationLeases(now: registry.clock.now())
        if released > 0 { logger.notice("events cut off by the last stop run again", metadata: ["count": "\(released)"]) }
        try await rescan()
        state.withLock { $0.running = true }
        progress.signal()
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.runHandedOff() }
                while !self.isStopping {
                    let seen = self.wakeups.generation
                    let now = self.registry.clock.now()
                    self.state.withLock { $0.rounds += 1 }
                    var more = false
                    for name in self.readyFunctions(now) where !self.isStopping {
                        let claimed = await self.dispatch(name, now: now)
                        self.state.withLock { $0.executing += claimed.work.count }
                        for (invocation, slot) in claimed.work {
                            group.addTask { await self.execute(invocation, slot: slot) }
                        }
                        more = more || claimed.full
                    }
                    if more {
                        await Task.yield()
                        continue
                    }
                    let blocked = self.state.withLock { state in
                        // A function with nothing due any more waits for no slot.
                        state.blocked = state.blocked.filter { name, _ in (state.due[name] ?? .max) <= now }
                        return Array(state.blocked.values)
                    }
                    await WakeSignal.wait(any: [(self.wakeups, seen)] + blocked, timeout: .milliseconds(self.nextWake(now)))
                }
                // Running events, and events handed over before the stop, get the grace period to finish and settle;
                // then running ones are cancelled (the runner reports them cut off and they are released, unsettled)
                // and those not started stay unstarted. Leaving the group waits for them.
                if await !ShutdownGrace.drained(within: self.settings.shutdownGrace, signal: self.finished,
                                                running: { self.state.withLock { $0.executing } }) {
                    let cut = self.state.withLock { state in
                        state.abandoned = true
                        return state.executing
                    }
                    self.logger.warning("events still running when the shutdown grace period ended are cut off",
                                        metadata: ["count": "\(cut)", "graceSeconds": "\(self.settings.shutdownGrace.components.seconds)"])
                    group.cancelAll()
                }
            }
        } onGracefulShutdown: {
            self.state.withLock {
                $0.stopping = true
                $0.running = false
            }
            self.wakeups.close()
            self.progress.signal()
            self.direct.continuation.finish()
        }
        logger.info("async dispatcher stopped")
    }

    private var isStopping: Bool { state.withLock { $0.stopping } || Task.isCancelled }

    /// Reads every function with stored events and when its next one is due. At start, and in a cluster now and then:
    /// events accepted by a node that died, or whose lease on another node ended, are noticed no other way.
    package func rescan() async throws {
        for name in try await store.functionsWithInvocations() {
            if let at = try await store.earliestInvocation(function: name) { notifyLocally(function: name, visibleAt: at) }
        }
    }

    /// Functions with a due event and a chance of a slot, starting after the one served last.
    private func readyFunctions(_ now: Millis) -> [String] {
        state.withLock { state in
            let ready = state.due.filter { name, due in
                guard due <= now else { return false }
                // Blocked until a slot of its kind frees: its wake-up was raised since, or it stays out of the round.
                guard let blocked = state.blocked[name] else { return true }
                return blocked.signal.generation != blocked.seen
            }.map(\.key).sorted()
            let (after, before) = (ready.filter { $0 > state.lastServed }, ready.filter { $0 <= state.lastServed })
            return after + before
        }
    }

    /// Milliseconds until the next due event; functions due now but blocked wait for their slot's wake-up instead.
    private func nextWake(_ now: Millis) -> Millis {
        state.withLock { state in
            var next = Self.idleWaitMillis
            for at in state.due.values where at > now { next = min(next, at - now) }
            return next
        }
    }

    typealias Work = (ClaimedInvocation, FunctionRunner.Slot)

    // MARK: Direct hand-off

    /// A slot for an event about to be stored, when it can run at once: the dispatcher is running, the function
    /// has no event due now (those go first), and the runner admits it. The event is then stored already claimed
    /// and handed over with `handOff`, sparing a claim transaction and a wake-up between the commit and the start.
    package func reserveDirect(_ definition: FunctionDefinition, now: Millis) async -> FunctionRunner.Slot? {
        guard definition.reservedConcurrency != 0 else { return nil }
        let free = state.withLock { state in
            state.running && !state.stopping && (state.due[definition.name] ?? .max) > now
        }
        guard free else { return nil }
        return try? await runner.tryAdmit(definition).get()
    }

    /// Whether the run loop is up and takes events handed to it directly.
    package var takesHandOffs: Bool { state.withLock { $0.running && !$0.stopping } }

    /// Gives back a slot `reserveDirect` took for an event that was not stored claimed.
    package func unreserve(_ slot: FunctionRunner.Slot) {
        runner.release(slot)
    }

    /// Starts an event stored already claimed with the slot `reserveDirect` gave. If the dispatcher is
    /// stopping, the event is released unstarted, to run at the next start (or on another node).
    package func handOff(_ invocation: ClaimedInvocation, slot: FunctionRunner.Slot) async {
        let accepted = state.withLock { state -> Bool in
            guard !state.stopping else { return false }
            state.executing += 1
            return true
        }
        if accepted, case .enqueued = direct.continuation.yield((invocation, slot)) { return }
        if accepted { eventEnded() }
        runner.release(slot)
        await settle(AsyncSettlement(identity: registry.identity, claimed: invocation, config: .defaults(for: invocation.functionName),
                                     definition: slot.definition, now: registry.clock.now()).released(started: false),
                     function: invocation.functionName)
    }

    /// Runs the events handed over directly until shutdown; leaving waits for the running ones.
    private func runHandedOff() async {
        await withDiscardingTaskGroup { group in
            for await (invocation, slot) in direct.stream {
                group.addTask { await self.execute(invocation, slot: slot) }
            }
        }
    }

    /// One executing (or handed-over) event ended.
    func eventEnded() {
        state.withLock { $0.executing -= 1 }
        finished.signal()
    }

    /// Claims up to `claimBatch` events of one function, one per free slot. `full` says more may be waiting.
    private func dispatch(_ name: String, now: Millis) async -> (work: [Work], full: Bool) {
        let notices = state.withLock { $0.notices[name] ?? 0 }
        let definition: FunctionDefinition?
        do {
            definition = try await registry.function(FunctionReference(name: name))
        } catch let error as SpoolError where error.code == .resourceNotFound {
            definition = nil
        } catch {
            logger.error("cannot read function", metadata: ["function": "\(name)", "error": "\(error)"])
            postpone(name, until: backedOff(from: now))
            return ([], false)
        }
        guard let definition, definition.reservedConcurrency != 0 else {
            // Events that cannot run go straight to failure handling, without retries.
            return ([], await failWithoutRunning(name, definition: definition, now: now, notices: notices))
        }
        var slots: [FunctionRunner.Slot] = []
        var refused: Admission.Refused?
        while slots.count < settings.claimBatch, refused == nil {
            switch await runner.tryAdmit(definition) {
            case .success(let slot): slots.append(slot)
            case .failure(let reason): refused = reason
            }
        }
        // Without a free slot the events wait in the store, and the function waits for a release of its kind.
        guard !slots.isEmpty else {
            if let refused { state.withLock { $0.blocked[name] = refused.wakeup } }
            return ([], false)
        }
        state.withLock { _ = $0.blocked.removeValue(forKey: name) }
        let lease = now + runner.leaseMillis(definition, margin: settings.leaseMargin)
        let claimed: [ClaimedInvocation]
        do {
            claimed = try await store.claimInvocations(ClaimInvocationsParams(functionName: name, limit: slots.count, leaseUntil: lease, now: now))
        } catch {
            for slot in slots { runner.release(slot) }
            logger.error("claim failed", metadata: ["function": "\(name)", "error": "\(error)"])
            postpone(name, until: backedOff(from: now))
            return ([], false)
        }
        for slot in slots.dropFirst(claimed.count) { runner.release(slot) }
        if claimed.count < slots.count { await refreshDue(name, notices: notices) }
        state.withLock { state in
            state.lastServed = name
            state.storeFailures = 0
        }
        return (Array(zip(claimed, slots)), claimed.count == slots.count)
    }

    /// Fails the due events of a deleted function or of one with reserved concurrency 0; `true` when a full
    /// batch was failed and more may be waiting.
    private func failWithoutRunning(_ name: String, definition: FunctionDefinition?, now: Millis, notices: UInt64) async -> Bool {
        do {
            let claimed = try await store.claimInvocations(ClaimInvocationsParams(
                functionName: name, limit: settings.claimBatch, leaseUntil: now + settings.leaseMargin, now: now))
            let condition: FailureCondition = definition == nil ? .functionDeleted : .zeroReservedConcurrency
            for invocation in claimed {
                let config = definition == nil ? EventInvokeConfig.defaults(for: name)
                    : try await configs.effective(for: name, qualifier: invocation.qualifier)
                SpoolMetrics.asyncEventDropped(name, condition)
                let settlement = AsyncSettlement(identity: registry.identity, claimed: invocation, config: config, definition: definition, now: now)
                await settle(settlement.failed(condition, failure: nil, functionRan: false), function: name)
            }
            if claimed.count < settings.claimBatch { await refreshDue(name, notices: notices) }
            return claimed.count == settings.claimBatch
        } catch {
            logger.error("cannot fail events", metadata: ["function": "\(name)", "error": "\(error)"])
            postpone(name, until: backedOff(from: now))
            return false
        }
    }

    /// Re-reads when the function's next event is due, unless a newer notice arrived meanwhile.
    private func refreshDue(_ name: String, notices: UInt64) async {
        let earliest: Millis?
        do {
            earliest = try await store.earliestInvocation(function: name)
        } catch {
            // Keep the function due (a second from now) rather than forget events the store could not be asked about.
            logger.error("cannot read the next due event", metadata: ["function": "\(name)", "error": "\(error)"])
            postpone(name, until: backedOff(from: registry.clock.now()))
            return
        }
        state.withLock { state in
            if state.notices[name] ?? 0 == notices {
                state.due[name] = earliest
            } else if let earliest {
                state.due[name] = min(state.due[name] ?? earliest, earliest)
            }
        }
    }

    private func postpone(_ name: String, until time: Millis) {
        state.withLock { state in
            if let due = state.due[name], due < time { state.due[name] = time }
        }
    }
}
