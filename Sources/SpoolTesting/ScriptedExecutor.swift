import Foundation
import NIOCore
import SpoolExecutor
import SpoolModel
import Synchronization

/// An executor for engine tests: answers each function's invocations from a script, records every request, and
/// lets a test await invocations and hold them until it releases them, so that tests wait on events, not on sleeps.
public final class ScriptedExecutor: FunctionExecutor {
    /// What one invocation does.
    public enum Step: Sendable {
        /// Returns this response.
        case succeed(String)
        /// Fails as the function's code would, with this error type.
        case fail(type: String, message: String)
        /// The runtime exits mid-invocation, as Lambda reports it (`Runtime.ExitError`, a function error).
        case crash
        /// Takes this long (a slow cold start, say), then returns `null`.
        case delay(Duration)
        /// Waits until `release()` (or until the caller is cancelled, which reads as Spool cutting the run off).
        case hold
    }

    private struct State {
        var scripts: [String: [Step]] = [:]
        var requests: [InvocationRequest] = []
        var released = false
        var held: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextHold: UInt64 = 0
    }

    private let fallback: Step
    private let state = Mutex(State())
    private let started: (stream: AsyncStream<Void>, continuation: AsyncStream<Void>.Continuation) = AsyncStream.makeStream()

    /// - Parameter fallback: what an invocation does once its function's script is used up (or it has none).
    public init(_ fallback: Step = .succeed("null")) {
        self.fallback = fallback
    }

    /// The steps `function`'s next invocations take, in order.
    public func script(_ function: String, _ steps: [Step]) {
        state.withLock { $0.scripts[function, default: []] += steps }
    }

    /// Every invocation that started, in order.
    public var requests: [InvocationRequest] { state.withLock { $0.requests } }

    /// Returns once `count` invocations in all have started.
    public func started(_ count: Int) async {
        var iterator = started.stream.makeAsyncIterator()
        while requests.count < count { _ = await iterator.next() }
    }

    /// Lets every held invocation, and every later one, go on.
    public func release() {
        let waiters = state.withLock { state in
            state.released = true
            defer { state.held = [:] }
            return Array(state.held.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    public func invoke(_ request: InvocationRequest) async -> InvocationOutcome {
        let step = state.withLock { state -> Step in
            state.requests.append(request)
            guard var steps = state.scripts[request.function.name], !steps.isEmpty else { return fallback }
            let step = steps.removeFirst()
            state.scripts[request.function.name] = steps
            return step
        }
        started.continuation.yield()
        switch step {
        case .succeed(let response):
            return InvocationOutcome(status: .success, payload: ByteBuffer(string: response))
        case .fail(let type, let message):
            return .error(.functionError(type: type), type: type, message: message)
        case .crash:
            return .error(.functionError(type: "Runtime.ExitError"), type: "Runtime.ExitError",
                          message: "RequestId: \(request.requestID) Error: Runtime exited with error: exit status 1")
        case .delay(let duration):
            try? await Task.sleep(for: duration)
            return InvocationOutcome(status: .success, payload: ByteBuffer(string: "null"))
        case .hold:
            await hold()
            if Task.isCancelled {
                return .error(.systemFailure(.shuttingDown), type: "Runtime.Shutdown", message: "cut off")
            }
            return InvocationOutcome(status: .success, payload: ByteBuffer(string: "null"))
        }
    }

    private func hold() async {
        let id = state.withLock { state -> UInt64 in
            state.nextHold += 1
            return state.nextHold
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let go = state.withLock { state -> Bool in
                    if state.released || Task.isCancelled { return true }
                    state.held[id] = continuation
                    return false
                }
                if go { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { $0.held.removeValue(forKey: id) }
            waiter?.resume()
        }
    }
}
