import Foundation
import NIOCore

/// How an invocation ended, with what the function returned and what it logged.
public struct InvocationOutcome: Sendable {
    /// The kinds of ending the engine treats differently.
    public enum Status: Sendable, Equatable {
        /// The function returned; `payload` is its response.
        case success
        /// The function (or its runtime, during init) reported an error of this type, or its runtime failed as Lambda
        /// reports with `X-Amz-Function-Error: Unhandled` (`Runtime.ExitError`, `Runtime.InvalidEntrypoint`,
        /// `Runtime.OutOfMemory`); `payload` is the error document. It uses an attempt, as on Lambda.
        case functionError(type: String)
        /// The function ran past its timeout and its environment was reset (`Sandbox.Timedout`).
        case timedOut
        /// Spool's own machinery could not run the function: the environment could not be prepared, the webhook was
        /// unreachable, no environment was free, or Spool is stopping. Never uses an attempt.
        case systemFailure(SystemFailure)
    }

    /// Failures of the machinery rather than of the function's code.
    public enum SystemFailure: String, Sendable, Equatable {
        /// The environment could not be prepared, or the function has nothing Spool can start (no handler, no URL).
        case spawnFailed
        /// The webhook could not be connected to.
        case unreachable
        /// The executor is shutting down.
        case shuttingDown
        /// Every environment the executor may run is busy (`functions.maxEnvironments`): a throttle.
        case atCapacity
    }

    public var status: Status
    /// The response (success) or the error document (every other status), as the caller of Invoke sees it.
    public var payload: ByteBuffer
    /// The invocation's log: `START`, the function's lines, `END`, `REPORT`.
    public var log: String
    /// Time spent in the invoke phase, milliseconds.
    public var durationMs: Double
    /// Time the cold start's init took, when this invocation caused one.
    public var initDurationMs: Double?
    /// Peak resident memory of the runtime, MB, where the executor can measure it.
    public var maxMemoryUsedMB: Int?
    /// The HTTP status a webhook answered with.
    public var httpStatus: Int?

    public init(status: Status, payload: ByteBuffer, log: String = "", durationMs: Double = 0, initDurationMs: Double? = nil,
                maxMemoryUsedMB: Int? = nil, httpStatus: Int? = nil) {
        self.status = status
        self.payload = payload
        self.log = log
        self.durationMs = durationMs
        self.initDurationMs = initDurationMs
        self.maxMemoryUsedMB = maxMemoryUsedMB
        self.httpStatus = httpStatus
    }

    /// True for every status but success: the caller sees `X-Amz-Function-Error: Unhandled`.
    public var isError: Bool { status != .success }

    /// An error outcome whose payload is Lambda's error document `{"errorMessage", "errorType"}`.
    public static func error(_ status: Status, type: String, message: String, log: String = "", durationMs: Double = 0) -> InvocationOutcome {
        InvocationOutcome(status: status, payload: errorDocument(type: type, message: message), log: log, durationMs: durationMs)
    }

    /// `{"errorMessage":…,"errorType":…}` as Lambda writes the errors it raises itself.
    public static func errorDocument(type: String, message: String) -> ByteBuffer {
        struct Document: Encodable { var errorMessage: String; var errorType: String }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        let data = (try? encoder.encode(Document(errorMessage: message, errorType: type))) ?? Data()
        return ByteBuffer(bytes: data)
    }
}
