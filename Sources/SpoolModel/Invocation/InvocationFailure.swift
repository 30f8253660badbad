/// Why one attempt of an asynchronous event failed, as the dead letter and the failure record report it.
public struct InvocationFailure: Sendable, Equatable, Codable {
    /// What kind of failure it was.
    public enum Kind: String, Sendable, Codable {
        /// The function's code or runtime returned an error; consumes an attempt.
        case functionError
        /// The function ran past its timeout; consumes an attempt.
        case timeout
        /// No concurrency was available (429); retried with back-off, no attempt consumed.
        case throttled
        /// The executor could not run the function (5xx); retried with back-off, no attempt consumed.
        case systemFailure
    }

    public var kind: Kind
    /// `errorType` of the function's error document, or Spool's name for the failure.
    public var errorType: String
    public var errorMessage: String
    /// The response payload the function returned with its error (JSON text), if any.
    public var responsePayload: String?

    public init(kind: Kind, errorType: String, errorMessage: String, responsePayload: String? = nil) {
        self.kind = kind
        self.errorType = errorType
        self.errorMessage = errorMessage
        self.responsePayload = responsePayload
    }

    /// Whether this failure counts against `MaximumRetryAttempts`.
    public var consumesAttempt: Bool { kind == .functionError || kind == .timeout }
}
