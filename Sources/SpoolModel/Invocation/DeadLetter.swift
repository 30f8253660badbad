/// An asynchronous event that finally failed, or an invocation record no destination took, kept in Spool's
/// `dead_letter` table until purged.
public struct DeadLetter: Sendable, Equatable {
    public var id: Int64
    public var requestID: String
    public var functionName: String
    public var qualifier: String?
    /// The original event, as accepted; for `destinationUnreachable`, the record that was not delivered.
    public var payload: String
    public var reason: FailureCondition
    /// Times the function was started for the event.
    public var attempts: Int
    public var lastError: InvocationFailure?
    public var enqueuedAt: Millis
    public var failedAt: Millis
    /// The dead letter this event was a replay of.
    public var replayOf: Int64?
    public var replayedAt: Millis?
    /// The request id of the event a replay created.
    public var replayRequestID: String?
    /// For `destinationUnreachable`: where the record was going (`DeadLetterDestination.text`). Replaying the letter
    /// delivers the record there again instead of running the function.
    public var destination: String?

    public init(id: Int64, requestID: String, functionName: String, qualifier: String?, payload: String, reason: FailureCondition,
                attempts: Int, lastError: InvocationFailure?, enqueuedAt: Millis, failedAt: Millis, replayOf: Int64? = nil,
                replayedAt: Millis? = nil, replayRequestID: String? = nil, destination: String? = nil) {
        self.id = id
        self.requestID = requestID
        self.functionName = functionName
        self.qualifier = qualifier
        self.payload = payload
        self.reason = reason
        self.attempts = attempts
        self.lastError = lastError
        self.enqueuedAt = enqueuedAt
        self.failedAt = failedAt
        self.replayOf = replayOf
        self.replayedAt = replayedAt
        self.replayRequestID = replayRequestID
        self.destination = destination
    }
}

/// Where an undelivered record was going, as a dead letter keeps it: `queue:NAME`, `function:NAME`, `stream:NAME`, or
/// the http(s) URL itself.
public enum DeadLetterDestination: Sendable, Equatable {
    case queue(String)
    case function(String)
    case stream(String)
    case url(String)

    public var text: String {
        switch self {
        case .queue(let name): "queue:\(name)"
        case .function(let name): "function:\(name)"
        case .stream(let name): "stream:\(name)"
        case .url(let url): url
        }
    }

    /// An http(s) endpoint, delivered through the outbox.
    public var isURL: Bool {
        if case .url = self { return true }
        return false
    }

    public init?(text: String) {
        if text.hasPrefix("queue:") { self = .queue(String(text.dropFirst(6))) }
        else if text.hasPrefix("function:") { self = .function(String(text.dropFirst(9))) }
        else if text.hasPrefix("stream:") { self = .stream(String(text.dropFirst(7))) }
        else if text.hasPrefix("http://") || text.hasPrefix("https://") { self = .url(text) }
        else { return nil }
    }
}

/// Which dead letters an operator means: every given criterion must hold.
public struct DeadLetterFilter: Sendable, Equatable {
    public var functionName: String?
    public var reason: FailureCondition?
    /// Failed at or after this time.
    public var failedFrom: Millis?
    /// Failed before this time.
    public var failedUntil: Millis?
    /// Only these ids (empty: any).
    public var ids: [Int64]
    /// `false` leaves out dead letters already replayed.
    public var includeReplayed: Bool

    public init(functionName: String? = nil, reason: FailureCondition? = nil, failedFrom: Millis? = nil, failedUntil: Millis? = nil,
                ids: [Int64] = [], includeReplayed: Bool = true) {
        self.functionName = functionName
        self.reason = reason
        self.failedFrom = failedFrom
        self.failedUntil = failedUntil
        self.ids = ids
        self.includeReplayed = includeReplayed
    }
}
