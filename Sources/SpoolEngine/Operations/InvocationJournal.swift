import Logging
import ServiceLifecycle
import Synchronization
import SpoolModel
import SpoolStorage

/// Collects finished invocations and writes them to the journal in batches, off the invocation path:
/// an invocation only appends to a buffer; a flush every `interval` stores what gathered in one
/// non-durable transaction. The buffer is bounded; past `maximumPending` the oldest records are dropped
/// (and counted) rather than slowing functions down.
package final class InvocationJournal: Service, Sendable {
    let store: any InvocationJournalStore
    let interval: Duration
    let maximumPending: Int
    let logger: Logger
    private let pending = Mutex<[JournalEntry]>([])

    package init(store: any InvocationJournalStore, interval: Duration = .milliseconds(50), maximumPending: Int = 20_000,
                logger: Logger = Logger(label: "spool.journal")) {
        self.store = store
        self.interval = interval
        self.maximumPending = maximumPending
        self.logger = logger
    }

    /// Adds a finished invocation; it is stored with the next flush.
    func record(_ record: JournalEntry) {
        let overflow = pending.withLock { pending -> Int in
            pending.append(record)
            let excess = pending.count - maximumPending
            if excess > 0 { pending.removeFirst(excess) }
            return max(0, excess)
        }
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

    /// Flushes every `interval` until shutdown, then once more: services stop in reverse order, so listed
    /// before the executors it outlives them and keeps their last invocations.
    package func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: self.interval)
                await self.flush()
            }
        }
        await flush()
    }
}
