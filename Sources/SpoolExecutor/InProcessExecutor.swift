import Foundation
import NIOCore
import SpoolModel
import Synchronization

/// Runs functions as Swift closures inside the Spool process, for embedding and tests.
///
/// A handler's thrown error is a function error whose type is the error's type name. The function's
/// timeout applies: a handler still running at the deadline is cancelled and the invocation times out.
public struct InProcessExecutor: FunctionExecutor {
    /// What a handler is given beside the payload.
    public struct Context: Sendable {
        public var requestID: String
        public var functionName: String
        public var invokedFunctionARN: String
        public var deadline: Millis
        public var clientContext: String?
        /// Adds a line to the invocation's log.
        public var log: @Sendable (String) -> Void
    }

    public typealias Handler = @Sendable (ByteBuffer, Context) async throws -> ByteBuffer

    let handlers: [String: Handler]
    let clock: any SpoolClock

    /// - Parameter handlers: the closure of each function, by function name.
    public init(handlers: [String: Handler], clock: any SpoolClock = WallClock()) {
        self.handlers = handlers
        self.clock = clock
    }

    /// The names of the functions this executor can run.
    public var functionNames: [String] { Array(handlers.keys) }

    public func invoke(_ request: InvocationRequest) async -> InvocationOutcome {
        guard let handler = handlers[request.function.name] else {
            return .error(.systemFailure(.spawnFailed), type: "Runtime.InvalidEntrypoint",
                          message: "RequestId: \(request.requestID) Error: no in-process handler is registered for \(request.function.name)")
        }
        let lines = LineCollector()
        let started = ContinuousClock.now
        let timeout = request.function.timeoutSeconds
        let context = Context(
            requestID: request.requestID, functionName: request.function.name, invokedFunctionARN: request.invokedFunctionARN,
            deadline: clock.now() + Millis(timeout) * 1000, clientContext: request.clientContext, log: { lines.append($0) }
        )
        let result: Result<ByteBuffer, any Error>? = await withTaskGroup(of: Result<ByteBuffer, any Error>?.self) { group in
            group.addTask {
                do { return .success(try await handler(request.payload, context)) } catch { return .failure(error) }
            }
            group.addTask {
                // Task.sleep, not WakeSignal.sleep: an event-loop timer per invocation cost ~1 ms of ingest-to-start p50 in
                // async-e2e (an in-process function per event). A cut-short Task.sleep keeps its memory until its deadline.
                try? await Task.sleep(for: .seconds(timeout))
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        let duration = (ContinuousClock.now - started).milliseconds
        if Task.isCancelled {
            // Spool cut the invocation off (a stop's grace period ended): not the function's timeout, nor its error.
            return .error(.systemFailure(.shuttingDown), type: "Runtime.Shutdown",
                          message: "RequestId: \(request.requestID) Error: the invocation was cut off by Spool")
        }
        var log = InvocationLog(requestID: request.requestID, version: request.function.versionName)
        for line in lines.lines { log.append(line) }
        let text = log.finished(durationMs: duration, memorySizeMB: request.function.memorySizeMB, maxMemoryUsedMB: nil, initDurationMs: nil)
        switch result {
        case .success(let payload)?:
            return InvocationOutcome(status: .success, payload: payload, log: text, durationMs: duration)
        case .failure(let error)?:
            let type = String(describing: Swift.type(of: error))
            return .error(.functionError(type: type), type: type, message: String(describing: error), log: text, durationMs: duration)
        case nil:
            return .error(.timedOut, type: "Sandbox.Timedout",
                          message: "RequestId: \(request.requestID) Error: Task timed out after \(timeout).00 seconds", log: text, durationMs: duration)
        }
    }
}

/// Lines logged from concurrent code, in order.
final class LineCollector: Sendable {
    private let storage = Mutex<[String]>([])
    func append(_ line: String) { storage.withLock { $0.append(line) } }
    var lines: [String] { storage.withLock { $0 } }
}
