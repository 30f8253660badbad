import SpoolModel
import SpoolSignals
import Synchronization

/// One `WakeSignal` per queue (or per stream): wakes long-polling receivers and mapping pollers when their
/// queue may have a message for them, without waking those of other queues.
package final class QueueSignals: Sendable {
    private struct State {
        var channels: [Int64: WakeSignal] = [:]
        var closed = false
    }

    private let state = Mutex(State())

    package init() {}

    /// The signal of one queue, made on first use (closed already when the signals are).
    package func channel(_ id: Int64) -> WakeSignal {
        state.withLock { state in
            if let signal = state.channels[id] { return signal }
            let signal = WakeSignal()
            if state.closed { signal.close() }
            state.channels[id] = signal
            return signal
        }
    }

    /// The current generation of a queue's signal.
    package func generation(_ id: Int64) -> UInt64 { channel(id).generation }

    /// How many waiters are parked on a queue's signal right now.
    package func waiting(_ id: Int64) -> Int { channel(id).waiting }

    /// Whether `close()` was called: waits return at once from then on.
    package var isClosed: Bool { state.withLock { $0.closed } }

    /// Wakes everyone waiting on the queue's signal (and, in a cluster, on the other nodes).
    package func signal(_ id: Int64) {
        channel(id).signal()
        relay(id)
    }

    /// Wakes the queue's waiters on this node only (a wake-up another node relayed).
    package func signalLocally(_ id: Int64) { channel(id).signal() }

    private let relay = Relay<Int64>()

    /// Where every `signal` also goes: the cluster's wake-ups.
    package func relay(to send: @escaping @Sendable (Int64) -> Void) {
        relay.connect(send)
    }

    /// Wakes every waiter and makes later waits return at once (service shutdown).
    package func close() {
        let all = state.withLock { state in
            state.closed = true
            return Array(state.channels.values)
        }
        for signal in all { signal.close() }
    }

    /// Waits until the queue is signalled after `seen`, `timeoutMillis` pass, or the signals close.
    package func wait(_ id: Int64, seen: UInt64, timeoutMillis: Millis) async {
        guard timeoutMillis > 0 else { return }
        await channel(id).wait(seen: seen, timeout: .milliseconds(timeoutMillis))
    }
}
