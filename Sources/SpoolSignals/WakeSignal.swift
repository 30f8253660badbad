import NIOCore
import NIOPosix
import Synchronization

/// A wake-up for one kind of news (a send to a queue, a slot freed, a poller told to stop), shared by whoever
/// waits for it.
///
/// Every `signal()` raises a generation. A waiter reads `generation` before it looks at what it waits for
/// and passes that reading to `wait`, so that news arriving between its look and its wait is never missed.
/// A parked waiter costs a continuation and nothing else: no polling, no task, and a timer only when it asked for a
/// deadline. That timer is an event loop's scheduled task, removed the moment the wait ends: a `Task.sleep` cut short
/// keeps its memory until its deadline would have come, which a wait woken thousands of times a second cannot afford.
package final class WakeSignal: Sendable {
    private struct State {
        var generation: UInt64 = 0
        var waiters: [UInt64: Waiter] = [:]
        var closed = false
    }

    private let state = Mutex(State())

    package init() {}

    /// The current generation: pass it to `wait` after looking at what the signal announces.
    package var generation: UInt64 { state.withLock { $0.generation } }

    /// Whether `close()` was called: waits return at once from then on.
    package var isClosed: Bool { state.withLock { $0.closed } }

    /// How many waiters are parked now.
    package var waiting: Int { state.withLock { $0.waiters.count } }

    /// Raises the generation and wakes everyone waiting.
    package func signal() {
        let waiters = state.withLock { state -> Dictionary<UInt64, Waiter>.Values in
            state.generation &+= 1
            defer { state.waiters = [:] }
            return state.waiters.values
        }
        for waiter in waiters { waiter.wake() }
    }

    /// Wakes every waiter and makes later waits return at once (shutdown).
    package func close() {
        let waiters = state.withLock { state -> Dictionary<UInt64, Waiter>.Values in
            state.closed = true
            defer { state.waiters = [:] }
            return state.waiters.values
        }
        for waiter in waiters { waiter.wake() }
    }

    /// Waits until this signal is raised after `seen`, it closes, `timeout` passes (`nil`: no deadline) or the
    /// task is cancelled.
    package func wait(seen: UInt64, timeout: Duration? = nil) async {
        await Self.wait(any: [(self, seen)], timeout: timeout)
    }

    /// Waits until one of `signals` is raised after the generation seen for it, closes, `timeout` passes or the
    /// task is cancelled.
    package static func wait(any signals: [(signal: WakeSignal, seen: UInt64)], timeout: Duration? = nil) async {
        if let timeout, timeout <= .zero { return }
        // News already arrived (the usual case under load): no waiter, no timer.
        if signals.isEmpty && timeout == nil { return }
        for (signal, seen) in signals where signal.hasNews(since: seen) { return }
        let waiter = Waiter()
        let timer = timeout.map { timeout in
            Self.timers.next().scheduleTask(in: .nanoseconds(timeout.nanoseconds)) { waiter.wake() }
        }
        await waiter.park(on: signals)
        timer?.cancel()
    }

    /// Waits until `condition` holds: looks at it first, then again after every signal. Answers whether it held
    /// before `timeout` passed (`nil`: no deadline), the signal closed or the task was cancelled. For whoever watches
    /// what a signal announces (tests, views) without polling on a timer.
    package func until(timeout: Duration? = nil, _ condition: () async throws -> Bool) async rethrows -> Bool {
        let deadline = timeout.map { ContinuousClock.now.advanced(by: $0) }
        while true {
            let seen = generation
            if try await condition() { return true }
            let left = deadline.map { ContinuousClock.now.duration(to: $0) }
            if isClosed || Task.isCancelled || (left.map { $0 <= .zero } ?? false) { return false }
            await wait(seen: seen, timeout: left)
        }
    }

    /// Sleeps for `duration` or until the task is cancelled, whichever comes first; unlike `Task.sleep`, a sleep cut
    /// short by cancellation leaves nothing behind.
    package static func sleep(for duration: Duration) async {
        await wait(any: [(WakeSignal(), 0)], timeout: duration)
    }

    /// The event loops that keep the deadlines of timed waits.
    private static var timers: any EventLoopGroup { MultiThreadedEventLoopGroup.singleton }

    private func hasNews(since seen: UInt64) -> Bool {
        state.withLock { $0.closed || $0.generation != seen }
    }

    /// Parks `waiter` unless news arrived since `seen`; `false` when it did (the waiter must not park).
    fileprivate func register(_ waiter: Waiter, seen: UInt64) -> Bool {
        state.withLock { state in
            guard !state.closed && state.generation == seen else { return false }
            state.waiters[waiter.id] = waiter
            return true
        }
    }

    fileprivate func unregister(_ waiter: Waiter) {
        _ = state.withLock { $0.waiters.removeValue(forKey: waiter.id) }
    }
}

extension Duration {
    /// The duration in whole nanoseconds, saturating.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : whole.addingReportingOverflow(attoseconds / 1_000_000_000).partialValue
    }
}

/// One parked wait, possibly registered with several signals: the first to fire (or a cancellation) resumes it once.
private final class Waiter: Sendable {
    private static let ids = Atomic<UInt64>(0)
    let id = Waiter.ids.wrappingAdd(1, ordering: .relaxed).newValue

    private enum Phase {
        case idle
        case parked(CheckedContinuation<Void, Never>)
        /// Woken (or cancelled) before it parked: it must not park.
        case woken
    }

    private let phase = Mutex(Phase.idle)

    func wake() {
        let continuation = phase.withLock { phase -> CheckedContinuation<Void, Never>? in
            switch phase {
            case .parked(let continuation):
                phase = .woken
                return continuation
            case .idle:
                phase = .woken
                return nil
            case .woken:
                return nil
            }
        }
        continuation?.resume()
    }

    func park(on signals: [(signal: WakeSignal, seen: UInt64)]) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let parked = phase.withLock { phase -> Bool in
                    guard case .idle = phase else { return false }
                    phase = .parked(continuation)
                    return true
                }
                guard parked else { return continuation.resume() }
                for (signal, seen) in signals where !signal.register(self, seen: seen) {
                    wake()
                    break
                }
            }
        } onCancel: {
            wake()
        }
        for (signal, _) in signals { signal.unregister(self) }
    }
}
