import Logging
import ServiceLifecycle
import SpoolModel
import SpoolStorage

/// Removes messages past their queue's retention period, stream records past their stream's, the records of
/// deleted streams, idempotency keys past their window, and journal records past `logs.retentionHours`, in
/// small batches so that no long transaction stalls writers, on a fixed interval.
package struct RetentionSweeper: Service {
    let store: any QueueStore & InvocationStore & StreamStore & InvocationJournalStore
    let clock: any SpoolClock
    /// How long the invocation journal (function logs) is kept, or `nil` to keep it.
    let journalRetention: Millis?
    /// The most journal records kept; the oldest beyond it are deleted.
    let journalLimit: Int?
    let interval: Duration
    let batchSize: Int
    let logger: Logger

    package init(store: any QueueStore & InvocationStore & StreamStore & InvocationJournalStore, clock: any SpoolClock = WallClock(),
                interval: Duration = .seconds(30), batchSize: Int = 1000, journalRetention: Millis? = nil, journalLimit: Int? = nil,
                logger: Logger = Logger(label: "spool.retention")) {
        self.store = store
        self.journalRetention = journalRetention
        self.journalLimit = journalLimit
        self.clock = clock
        self.interval = interval
        self.batchSize = batchSize
        self.logger = logger
    }

    package func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await sweep()
                try? await Task.sleep(for: interval)
            }
        }
    }

    /// One full sweep: batches until a batch comes back short.
    package func sweep() async {
        do {
            let messages = try await drain { try await store.pruneExpiredMessages(now: clock.now(), limit: batchSize) }
            if messages > 0 { logger.info("expired messages removed", metadata: ["count": "\(messages)"]) }
            let records = try await drain { try await store.trimStreams(now: clock.now(), limit: batchSize) }
            if records > 0 { logger.info("expired stream records removed", metadata: ["count": "\(records)"]) }
            if let journalRetention {
                let cutoff = clock.now() - journalRetention
                _ = try await drain { try await store.deleteInvocationRecords(startedBefore: cutoff, limit: batchSize) }
            }
            if let journalLimit {
                _ = try await drain { try await store.trimInvocationRecords(keeping: journalLimit, limit: batchSize) }
            }
            while !Task.isCancelled, try await store.pruneIdempotencyKeys(now: clock.now(), limit: batchSize) == batchSize {}
        } catch {
            logger.error("retention sweep failed", metadata: ["error": "\(error)"])
        }
    }

    /// Runs one pruning step until it removes less than a batch; returns how many rows went.
    private func drain(_ step: () async throws -> Int) async throws -> Int {
        var total = 0
        while !Task.isCancelled {
            let removed = try await step()
            total += removed
            if removed < batchSize { break }
        }
        return total
    }
}
