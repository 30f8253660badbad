import Logging
import NIOCore
import ServiceLifecycle
import SpoolExecutor
import SpoolModel
import SpoolStorage
import Synchronization

/// Delivers stored asynchronous events to their functions: claims them per function under a lease,
/// runs them on the executor within the function's concurrency, and settles each outcome with its
/// retries, destinations and dead letters in one transaction.
///
/// Fairness: every dispatch round visits each function with due events, starting after the one served
/// last, and claims at most `claimBatch` events of each, so one busy function cannot starve the others.
/// Concurrency: an event is claimed only with a slot of the shared `ConcurrencyLimiter` in hand, so
/// reserved concurrency and the account limit bound asynchronous and synchronous invocations together;
/// an event that finds no slot simply waits in the store.
public final class AsyncDispatcher: Service, Sendable {
    let store: any InvocationStore
    let registry: FunctionRegistry
    let executor: any FunctionExecutor
    let configs: EventInvokeConfigs
    let queueSignals: QueueSignals
    /// Signalled when a settle wrote to the http delivery outbox (the `DestinationDeliverer`'s wake-ups).
    let deliveryWakeups: QueueSignals
    let settings: AsyncSettings
    let random: @Sendable () -> Double
    let logger: Logger
    let wakeups = QueueSignals()
    let state = Mutex(State())
    /// Events stored already claimed (`handOff`), for the run loop to start.
    let direct: (stream: AsyncStream<Work>, continuation: AsyncStream<Work>.Continuation) = AsyncStream.makeStream()

    struct State {
        /// The earliest time each function may have a claimable event.
        var due: [String: Millis] = [:]
        /// Raised by every `notify`, so that a due time read from the store never overwrites a newer notice.
        var notices: [String: UInt64] = [:]
        /// Functions whose last event found the executor at capacity: not claimed for until an event
        /// finishes (which frees an environment) or the pause ends, so a full executor is not fed events
        /// only to throttle them.
        var paused: [String: Millis] = [:]
        var lastServed = ""
        var stopping = false
        /// The run loop is running and takes events handed to it directly.
        var running = false
        /// Events being executed now.
        var executing = 0
        /// The stop's grace period ended: running events are cut off and left for the next start.
        var abandoned = false
    }

    /// How often a function with due events that it could not claim (no free slot: a synchronous
    /// invocation's release does not signal the dispatcher) looks again.
    static let blockedPollMillis: Millis = 50
    /// The longest sleep with nothing due, a safety net for a missed wake-up.
    static let idleWaitMillis: Millis = 30_000

    public init(store: any InvocationStore, registry: FunctionRegistry, executor: any FunctionExecutor, configs: EventInvokeConfigs,
                queueSignals: QueueSignals, deliveryWakeups: QueueSignals, settings: AsyncSettings, random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
                logger: Logger = Logger(label: "spool.async")) {
        self.store = store
        self.registry = registry
        self.executor = executor
        self.configs = configs
        self.queueSignals = queueSignals
        self.deliveryWakeups = deliveryWakeups
        self.settings = settings
        self.random = random
        self.logger = logger
    }

    /// Tells the dispatcher that `function` has an event claimable from `visibleAt`.
    public func notify(function: String, visibleAt: Millis) {
        state.withLock { state in
            state.due[function] = min(state.due[function] ?? .max, visibleAt)
            state.notices[function, default: 0] &+= 1
        }
        wakeups.signal(0)
    }

    public func run() async throws {
        // Leases still held belong to a server that is gone (this one just started): end them now.
        let released = try await store.releaseInvocationLeases(now: registry.clock.now())
        if released > 0 { logger.notice("events cut off by the last stop run again", metadata: ["count": "\(released)"]) }
        for name in try await store.functionsWithInvocations() {
            if let at = try await store.earliestInvocation(function: name) { notify(function: name, visibleAt: at) }
        }
        state.withLock { $0.running = true }
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.runHandedOff() }
                while !self.isStopping {
                    let seen = self.wakeups.generation(0)
                    let now = self.registry.clock.now()
                    var more = false
                    for name in self.readyFunctions(now) where !self.isStopping {
                        let claimed = await self.dispatch(name, now: now)
                        for (invocation, definition, permit) in claimed.work {
                            group.addTask { await self.execute(invocation, definition: definition, permit: permit) }
                        }
                        more = more || claimed.full
                    }
                    if more {
                        await Task.yield()
                        continue
                    }
                    await self.wakeups.wait(0, seen: seen, timeoutMillis: self.nextWake(now))
                }
                // Running events get the grace period to finish and settle; then they are cancelled (the executors
                // end their invocations) and not settled. Leaving the group waits for them.
                if await !ShutdownGrace.drained(within: self.settings.shutdownGrace, running: { self.state.withLock { $0.executing } }) {
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
            self.direct.continuation.finish()
        }
        if state.withLock({ $0.abandoned }) {
            // This server holds every lease there is: release them so that the cut-off events run again at the next start.
            let released = (try? await store.releaseInvocationLeases(now: registry.clock.now())) ?? 0
            logger.notice("released events cut off by the stop", metadata: ["count": "\(released)"])
        }
        logger.info("async dispatcher stopped")
    }

    private var isStopping: Bool { state.withLock { $0.stopping } || Task.isCancelled }

    /// Functions with a due event and a chance of a slot, starting after the one served last.
    private func readyFunctions(_ now: Millis) -> [String] {
        state.withLock { state in
            let ready = state.due.filter { $0.value <= now && state.paused[$0.key, default: 0] <= now }.map(\.key).sorted()
            let (after, before) = (ready.filter { $0 > state.lastServed }, ready.filter { $0 <= state.lastServed })
            return after + before
        }
    }

    /// Milliseconds until the next due event or pause end; a short poll while a function has due events it
    /// could not claim.
    private func nextWake(_ now: Millis) -> Millis {
        state.withLock { state in
            var next = Self.idleWaitMillis
            for (name, at) in state.due {
                if at > now {
                    next = min(next, at - now)
                } else if state.paused[name, default: 0] <= now {
                    next = min(next, Self.blockedPollMillis)
                }
            }
            for at in state.paused.values where at > now { next = min(next, at - now) }
            return next
        }
    }

    typealias Work = (ClaimedInvocation, FunctionDefinition, ConcurrencyLimiter.Permit)

    // MARK: Direct hand-off

    /// A concurrency slot for an event about to be stored, when it can run at once: the dispatcher is
    /// running, the function has no event due now (those go first) and is not paused, and a slot is free.
    /// The event is then stored already claimed and handed over with `handOff`, sparing a claim
    /// transaction and a wake-up between the commit and the start.
    public func reserveDirect(_ definition: FunctionDefinition, now: Millis) -> ConcurrencyLimiter.Permit? {
        guard definition.reservedConcurrency != 0 else { return nil }
        let free = state.withLock { state in
            state.running && !state.stopping && (state.due[definition.name] ?? .max) > now && state.paused[definition.name, default: 0] <= now
        }
        guard free else { return nil }
        return try? registry.limiter.acquire(definition.name)
    }

    /// Whether the run loop is up and takes events handed to it directly.
    public var takesHandOffs: Bool { state.withLock { $0.running && !$0.stopping } }

    /// Gives back a slot `reserveDirect` took for an event that was not stored claimed.
    public func unreserve(_ permit: ConcurrencyLimiter.Permit) {
        registry.limiter.release(permit)
    }

    /// Starts an event stored already claimed with the slot `reserveDirect` gave. If the dispatcher is
    /// stopping, the event keeps its lease until the next start releases it.
    public func handOff(_ invocation: ClaimedInvocation, definition: FunctionDefinition, permit: ConcurrencyLimiter.Permit) {
        if case .terminated = direct.continuation.yield((invocation, definition, permit)) {
            registry.limiter.release(permit)
        }
    }

    /// Runs the events handed over directly until shutdown; leaving waits for the running ones.
    private func runHandedOff() async {
        await withDiscardingTaskGroup { group in
            for await (invocation, definition, permit) in direct.stream {
                group.addTask { await self.execute(invocation, definition: definition, permit: permit) }
            }
        }
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
            postpone(name, until: now + 1_000)
            return ([], false)
        }
        guard let definition, definition.reservedConcurrency != 0 else {
            // Events that cannot run go straight to failure handling, without retries.
            return ([], await failWithoutRunning(name, definition: definition, now: now, notices: notices))
        }
        var permits: [ConcurrencyLimiter.Permit] = []
        while permits.count < settings.claimBatch, let permit = try? registry.limiter.acquire(name) { permits.append(permit) }
        // Without a free slot the events wait in the store; a slot release wakes the loop.
        guard !permits.isEmpty else { return ([], false) }
        let lease = now + Millis(definition.timeoutSeconds) * 1_000 + settings.leaseMargin
        let claimed: [ClaimedInvocation]
        do {
            claimed = try await store.claimInvocations(ClaimInvocationsParams(functionName: name, limit: permits.count, leaseUntil: lease, now: now))
        } catch {
            for permit in permits { registry.limiter.release(permit) }
            logger.error("claim failed", metadata: ["function": "\(name)", "error": "\(error)"])
            postpone(name, until: now + 1_000)
            return ([], false)
        }
        for permit in permits.dropFirst(claimed.count) { registry.limiter.release(permit) }
        if claimed.count < permits.count { await refreshDue(name, notices: notices) }
        state.withLock { $0.lastServed = name }
        return (zip(claimed, permits).map { ($0, definition, $1) }, claimed.count == permits.count)
    }

    /// Fails the due events of a deleted function or of one with reserved concurrency 0; `true` when a full
    /// batch was failed and more may be waiting.
    private func failWithoutRunning(_ name: String, definition: FunctionDefinition?, now: Millis, notices: UInt64) async -> Bool {
        do {
            let claimed = try await store.claimInvocations(ClaimInvocationsParams(
                functionName: name, limit: settings.claimBatch, leaseUntil: now + settings.leaseMargin, now: now))
            let config = definition == nil ? EventInvokeConfig.defaults(for: name) : try await configs.effective(for: name)
            let condition: FailureCondition = definition == nil ? .functionDeleted : .zeroReservedConcurrency
            for invocation in claimed {
                SpoolMetrics.asyncEventDropped(name, condition)
                let settlement = AsyncSettlement(identity: registry.identity, claimed: invocation, config: config, definition: definition, now: now)
                await settle(settlement.failed(condition, failure: nil, functionRan: false), function: name)
            }
            if claimed.count < settings.claimBatch { await refreshDue(name, notices: notices) }
            return claimed.count == settings.claimBatch
        } catch {
            logger.error("cannot fail events", metadata: ["function": "\(name)", "error": "\(error)"])
            postpone(name, until: now + 1_000)
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
            postpone(name, until: registry.clock.now() + 1_000)
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
