import Dispatch
import Synchronization

/// What an environment's runtime and extensions print, collected line by line by the readers of their
/// pipes as the lines arrive, in order, without a hop to the environment's actor per line.
///
/// A line belongs to the invocation in progress, or (between init and the first invocation) to init:
/// the first invocation after a cold start shows init's lines before its own, as Lambda's log does.
final class EnvironmentOutput: Sendable {
    /// Init lines kept for the first invocation's log and for an init failure's.
    static let initLineLimit = 200

    private struct State {
        var log: InvocationLog?
        var initLines: [String] = []
        var lastAt: UInt64 = 0
    }

    private let state = Mutex(State())

    /// Adds a printed line; returns the request id of the invocation it belongs to (`nil`: init).
    @discardableResult
    func append(_ line: String) -> String? {
        state.withLock { state in
            state.lastAt = DispatchTime.now().uptimeNanoseconds
            if state.log != nil {
                state.log!.append(line)
                return state.log!.requestID
            }
            state.initLines.append(line)
            if state.initLines.count > Self.initLineLimit { state.initLines.removeFirst() }
            return nil
        }
    }

    /// Starts an invocation's log; with `includingInit`, init's lines open it.
    func begin(_ log: InvocationLog, includingInit: Bool) {
        state.withLock { state in
            var log = log
            if includingInit { for line in state.initLines { log.append(line) } }
            state.initLines = []
            state.log = log
        }
    }

    /// Ends the invocation's log and returns it.
    func end() -> InvocationLog? {
        state.withLock { state in
            defer { state.log = nil }
            return state.log
        }
    }

    /// The init lines collected so far.
    var initLines: [String] { state.withLock { $0.initLines } }

    /// Forgets init's lines (a provisioned environment: no invocation reports its init).
    func dropInitLines() {
        state.withLock { $0.initLines = [] }
    }

    /// When the last line was printed, in uptime nanoseconds.
    var lastPrintedAt: UInt64 { state.withLock { $0.lastAt } }
}
