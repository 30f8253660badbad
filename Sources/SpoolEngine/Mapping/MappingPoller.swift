import Logging
import SpoolModel
import Synchronization

/// What the mapping supervisor runs for one enabled mapping: a queue poller or a stream poller.
protocol MappingPoller: AnyObject, Sendable {
    var uuid: String { get }
    /// New settings take effect from the next batch.
    func update(_ mapping: EventSourceMapping)
    func run() async
    var rest: PollerRest { get }
}

/// What every poller has for waiting: its own wake-up channel (stop, settings changed, a batch finished), its
/// stop flag, and a memory of the last problem it logged, so that a poller retrying every second logs a problem once.
final class PollerRest: Sendable {
    let wakeups = QueueSignals()
    let logger: Logger
    private let lastProblem = Mutex<String?>(nil)
    private let stopped = Atomic<Bool>(false)

    /// No new batch starts; batches already handed to the function finish and settle.
    func stop() {
        stopped.store(true, ordering: .sequentiallyConsistent)
        wakeups.signal(0)
    }

    var isStopped: Bool { stopped.load(ordering: .sequentiallyConsistent) || Task.isCancelled }

    init(logger: Logger) {
        self.logger = logger
    }

    /// Logs a problem that keeps the poller from working, once until `clearProblem`.
    func problem(_ message: Logger.Message, _ metadata: Logger.Metadata) {
        let text = message.description
        let isNew = lastProblem.withLock { last in
            defer { last = text }
            return last != text
        }
        if isNew { logger.warning(message, metadata: metadata) }
    }

    /// A batch went through: the next problem is logged again.
    func clearProblem() { lastProblem.withLock { $0 = nil } }
}

extension MappingPoller {
    var wakeups: QueueSignals { rest.wakeups }

    /// No new batch starts; batches already handed to the function finish and settle.
    func stop() { rest.stop() }

    var isStopped: Bool { rest.isStopped }

    func problem(_ message: Logger.Message, _ metadata: Logger.Metadata) { rest.problem(message, metadata) }

    /// Sleeps until `channel` of `source` (a queue's or a stream's signals) or the poller is signalled after the
    /// generations seen, or `timeout` passes.
    func wait(on source: QueueSignals?, channel: Int64 = 0, sourceSeen: UInt64 = 0, seen: UInt64, timeout: Millis) async {
        await withTaskGroup(of: Void.self) { group in
            // Closed signals (shutdown under way) return at once: waiting on them would spin.
            if let source, !source.isClosed {
                group.addTask { await source.wait(channel, seen: sourceSeen, timeoutMillis: timeout) }
            }
            group.addTask { await self.wakeups.wait(0, seen: seen, timeoutMillis: timeout) }
            await group.next()
            group.cancelAll()
        }
    }

    /// Sleeps `millis` unless stopped, updated or a batch finishes first.
    func pause(_ millis: Millis) async {
        await wait(on: nil, seen: wakeups.generation(0), timeout: millis)
    }
}

extension QueuePoller: MappingPoller {}
