/// Why an asynchronous event was given up, the `condition` of its failure record and the `reason` of
/// its dead letter. The `dead_letter.reason` CHECK lists the same values.
public enum FailureCondition: String, Sendable, Codable, CaseIterable {
    /// The function failed on its first attempt and every retry `MaximumRetryAttempts` allowed.
    case retriesExhausted = "RetriesExhausted"
    /// The event reached `MaximumEventAgeInSeconds`, or its next retry would have landed past it.
    case eventAgeExceeded = "EventAgeExceeded"
    /// The function's reserved concurrency is 0: events go to failure handling without being run.
    case zeroReservedConcurrency = "ZeroReservedConcurrency"
    /// The function was deleted while the event waited (Spool keeps such events as dead letters).
    case functionDeleted = "FunctionDeleted"
    /// A destination (a queue, function or stream that is gone, an http(s) endpoint that never answered 2xx within the
    /// event age limit) could not take an invocation record: Spool keeps the record itself, with where it was going.
    case destinationUnreachable = "DestinationUnreachable"
}
