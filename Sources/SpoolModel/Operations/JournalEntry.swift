/// One finished invocation as the journal keeps it: which function ran for what, how it ended, how long it
/// took, and the log it wrote (`START`, the function's lines, `END`, `REPORT`).
public struct JournalEntry: Sendable, Codable, Equatable {
    /// What started an invocation.
    public enum Origin: String, Sendable, Codable, CaseIterable {
        /// `Invoke` with `RequestResponse`.
        case sync
        /// An asynchronous event (`Event`), first attempt or retry.
        case async
        /// A batch of an SQS event source mapping.
        case sqs
        /// A batch of a Kinesis event source mapping.
        case kinesis
    }

    /// How it ended, in the terms of Lambda's metrics (`Errors`, `Throttles`).
    public enum Outcome: String, Sendable, Codable, CaseIterable {
        case success
        /// The function returned an error (`Errors`).
        case error
        /// The function ran past its timeout (also `Errors`).
        case timeout
        /// No environment was free (`Throttles`).
        case throttled
        /// Spool could not run it: the environment could not be prepared or the webhook was unreachable.
        case failed
    }

    /// Assigned by the store; 0 before.
    public var id: Int64
    public var functionName: String
    public var requestID: String
    public var origin: Origin
    /// Records the function received: 1, or a mapping batch's size.
    public var batchSize: Int
    public var outcome: Outcome
    /// The error type the function or runtime reported, or the failure's kind.
    public var errorType: String?
    public var startedAt: Millis
    public var durationMs: Double
    /// Set when this invocation paid for a cold start.
    public var initDurationMs: Double?
    public var maxMemoryUsedMB: Int?
    /// `nil` in listings that leave the text out.
    public var log: String?

    enum CodingKeys: String, CodingKey {
        case id, functionName, requestID = "requestId", origin, batchSize, outcome, errorType, startedAt, durationMs, initDurationMs, maxMemoryUsedMB, log
    }

    public init(id: Int64 = 0, functionName: String, requestID: String, origin: Origin, batchSize: Int = 1, outcome: Outcome, errorType: String? = nil,
                startedAt: Millis, durationMs: Double, initDurationMs: Double? = nil, maxMemoryUsedMB: Int? = nil, log: String?) {
        self.id = id
        self.functionName = functionName
        self.requestID = requestID
        self.origin = origin
        self.batchSize = batchSize
        self.outcome = outcome
        self.errorType = errorType
        self.startedAt = startedAt
        self.durationMs = durationMs
        self.initDurationMs = initDurationMs
        self.maxMemoryUsedMB = maxMemoryUsedMB
        self.log = log
    }
}

/// Invocations and errors of one function in one time bucket, for throughput and error-rate charts.
public struct ActivityBucket: Sendable, Codable, Equatable {
    /// Start of the bucket, Unix milliseconds.
    public var start: Millis
    public var functionName: String
    public var invocations: Int
    /// Errors and timeouts.
    public var errors: Int
    public var throttles: Int
    public var totalDurationMs: Double

    public init(start: Millis, functionName: String, invocations: Int, errors: Int, throttles: Int, totalDurationMs: Double) {
        self.start = start
        self.functionName = functionName
        self.invocations = invocations
        self.errors = errors
        self.throttles = throttles
        self.totalDurationMs = totalDurationMs
    }
}
