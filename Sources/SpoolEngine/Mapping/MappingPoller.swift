import Logging
import SpoolModel
import SpoolSignals
import Synchronization

/// What the mapping supervisor runs for one enabled mapping: a queue poller or a stream poller.
protocol MappingPoller: AnyObject, Sendable {
    var uuid: String { get }
    /// New settings take effect from the next batch.
    func update(_ mapping: EventSourceMapping)
    func run() async
    var rest: PollerRest { get }
}

/// What every poller has for waiting: its own wake-up (stop, settings changed, a backlog), its stop flag, and a
/// memory of the last problem it logged, so that a poller retrying after an error logs the problem once.
final class PollerRest: Sendable {
    let wakeups = WakeSignal()
    let logger: Logger
    private let lastProblem = Mutex<String?>(nil)
    private let stopped = Atomic<Bool>(false)
    /// Consecutive failures since the last batch went through, for the back-off.
    private let failures = Atomic<Int>(0)
    static let backoff = ErrorBackoff()

    /// The wait before trying again after one more consecutive failure.
    func nextBackoff() -> Millis {
        let count = failures.wrappingAdd(1, ordering: .relaxed).newValue
        return Self.backoff.delay(failures: count, unit: Double.random(in: 0..<1))
    }

    /// No new batch starts; batches already handed to the function finish and settle.
    func stop() {
        stopped.store(true, ordering: .sequentiallyConsistent)
        wakeups.close()
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

    /// A batch went through: the next problem is logged again, and the back-off starts over.
    func clearProblem() {
        lastProblem.withLock { $0 = nil }
        failures.store(0, ordering: .relaxed)
    }
}

extension MappingPoller {
    var wakeups: WakeSignal { rest.wakeups }

    /// No new batch starts; batches already handed to the function finish and settle.
    func stop() { rest.stop() }

    var isStopped: Bool { rest.isStopped }

    func problem(_ message: Logger.Message, _ metadata: Logger.Metadata) { rest.problem(message, metadata) }

    /// Sleeps until `source` (a queue's or a stream's signal) or the poller is signalled after the generations
    /// seen, or `timeout` passes.
    func wait(on source: WakeSignal?, sourceSeen: UInt64 = 0, seen: UInt64, timeout: Millis) async {
        var signals = [(signal: wakeups, seen: seen)]
        if let source { signals.append((source, sourceSeen)) }
        await WakeSignal.wait(any: signals, timeout: .milliseconds(max(timeout, 1)))
    }

    /// Waits out the back-off after one more consecutive failure (`ErrorBackoff`), unless stopped or updated first.
    func backOff() async {
        await wait(on: nil, seen: wakeups.generation, timeout: rest.nextBackoff())
    }
}

extension QueuePoller: MappingPoller {}
