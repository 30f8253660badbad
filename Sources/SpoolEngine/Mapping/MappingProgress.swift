import SpoolSignals
import Synchronization

/// What the pollers of every mapping have done, for whoever watches them (tests, the operator's views) without
/// polling: raised after every batch a poller settled or gave back, and every state a mapping reached.
package final class MappingProgress: Sendable {
    /// Raised after each batch and each state change.
    package let signal = WakeSignal()
    private let settled = Atomic<Int>(0)

    package init() {}

    /// Batches settled or given back by every poller since the supervisor started (filtered-out messages included).
    package var batches: Int { settled.load(ordering: .relaxed) }

    /// A poller settled a batch (deleted, kept, released, checkpointed).
    func batchSettled() {
        settled.add(1, ordering: .relaxed)
        signal.signal()
    }

    /// A mapping reached a state, or was removed.
    func mappingChanged() {
        signal.signal()
    }
}
