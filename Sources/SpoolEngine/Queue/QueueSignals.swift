import Synchronization
import SpoolModel

/// Wakes long-polling receivers when their queue may have a message for them.
///
/// Each channel has a generation that every signal raises. A waiter passes the generation it saw
/// before its last look at the store, so a signal that arrived in between is never missed.
public final class QueueSignals: Sendable {
    private struct Channel {
        var generation: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
    }

    private struct State {
        var channels: [Int64: Channel] = [:]
        var nextWaiterID: UInt64 = 0
        var cancelled: Set<UInt64> = []
        var closed = false
    }

    private let state = Mutex(State())

    public init() {}

    /// The current generation of a channel.
    public func generation(_ channel: Int64) -> UInt64 {
        state.withLock { $0.channels[channel]?.generation ?? 0 }
    }

    /// How many waiters are parked on a channel right now.
    public func waiting(_ channel: Int64) -> Int {
        state.withLock { $0.channels[channel]?.waiters.count ?? 0 }
    }

    /// Whether `close()` was called: waits return at once from then on.
    public var isClosed: Bool { state.withLock { $0.closed } }

    /// Raises the channel's generation and wakes everyone waiting on it.
    public func signal(_ channel: Int64) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            var entry = state.channels[channel] ?? Channel()
            entry.generation &+= 1
            let waiting = Array(entry.waiters.values)
            entry.waiters = [:]
            state.channels[channel] = entry
            return waiting
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Wakes every waiter and makes later waits return at once (service shutdown).
    public func close() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.closed = true
            let all = state.channels.values.flatMap { $0.waiters.values }
            for key in state.channels.keys { state.channels[key]?.waiters = [:] }
            return all
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Waits until the channel is signalled after `seen`, `timeoutMillis` pass, or the signals close.
    public func wait(_ channel: Int64, seen: UInt64, timeoutMillis: Millis) async {
        guard timeoutMillis > 0 else { return }
        // Signalled already (the usual case under load, when a waiter looks again at once): no timer, no tasks.
        guard state.withLock({ !$0.closed && ($0.channels[channel]?.generation ?? 0) == seen }) else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForSignal(channel, seen: seen) }
            group.addTask { try? await Task.sleep(for: .milliseconds(timeoutMillis)) }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForSignal(_ channel: Int64, seen: UInt64) async {
        let id = state.withLock { state -> UInt64 in
            state.nextWaiterID &+= 1
            return state.nextWaiterID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.closed || state.cancelled.remove(id) != nil { return true }
                    var entry = state.channels[channel] ?? Channel()
                    if entry.generation != seen { return true }
                    entry.waiters[id] = continuation
                    state.channels[channel] = entry
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                if let waiter = state.channels[channel]?.waiters.removeValue(forKey: id) { return waiter }
                state.cancelled.insert(id)
                return nil
            }
            waiter?.resume()
        }
        // A cancellation that raced ahead of registration leaves its mark; clear it.
        _ = state.withLock { $0.cancelled.remove(id) }
    }
}
