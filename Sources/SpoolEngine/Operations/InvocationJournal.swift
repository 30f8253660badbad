import Logging
import ServiceLifecycle
import Synchronization
import SpoolModel
import SpoolSignals
import SpoolStorage

/// Collects finished invocations and writes them to the journal in batches, off the invocation path:
/// an invocation only appends to a buffer; the first record to arrive in an empty buffer starts a flush
/// `interval` later, which stores what gathered by then in one non-durable transaction (idle, nothing wakes). The buffer is bounded; past `maximumPending` the oldest records are dropped
/// (and counted) rather than slowing functions down.
package final class InvocationJournal: Service, Sendable {
    let store: any InvocationJournalStore
    let interval: Duration
    let maximumPending: Int
    let logger: Logger
    private let pending = Mutex<[JournalEntry]>([])
    /// Raised when a record arrives in an empty buffer.
    private let arrived = WakeSignal()

    package init(store: any InvocationJournalStore, interval: Duration = .milliseconds(50), maximumPending: Int = 20_000,
                logger: Logger = Logger(label: "spool.journal")) {
        self.store = store
        self.interval = interval
        self.maximumPending = maximumPending
        self.logger = logger
    }

    /// Adds a finished invocation; it is stored with the next flush.
    func record(_ record: JournalEntry) {
        let (first, overflow) = pending.withLock { pending -> (Bool, Int) in
            pending.append(record)
            let excess = pending.count - maximumPending
            if excess > 0 { pending.removeFirst(excess) }
            return (pending.count == 1, max(0, excess))
        }
        if first { arrived.signal() }
        if overflow > 0 { SpoolMetrics.journalDropped(overflow) }
    }

    /// Stores everything gathered so far.
    package func flush() async {
        let batch = pending.withLock { pending -> [JournalEntry] in
            defer { pending.removeAll(keepingCapacity: true) }
            return pending
        }
        guard !batch.isEmpty else { return }
        do {
            try await store.appendInvocationRecords(batch)
        } catch {
            SpoolMetrics.journalDropped(batch.count)
            logger.warning("invocation journal not written", metadata: ["records": "\(batch.count)", "error": "\(error)"])
        }
    }

    /// Flushes `interval` after records arrive until shutdown, then once more: services stop in reverse order, so
    /// listed before the executors it outlives them and keeps their last invocations.
    package func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let seen = self.arrived.generation
                if self.pending.withLock({ $0.isEmpty }) { await self.arrived.wait(seen: seen) }
                await WakeSignal.sleep(for: self.interval)
                await self.flush()
            }
        }
        await flush()
    }
}
