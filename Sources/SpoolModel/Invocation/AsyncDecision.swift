/// The asynchronous invocation state machine (reference §2.1b), as a pure function of one attempt's result.
///
/// `queued → running → succeeded | queued (retry at a later time) | failed(condition)`.
/// Function errors consume an attempt; throttles and system failures back off without consuming one;
/// either way an event is given up once its next try would land past `MaximumEventAgeInSeconds`.
public enum AsyncDecision: Sendable, Equatable {
    /// The function succeeded: the event is done and goes to the on-success destination.
    case succeed
    /// Run the event again at `visibleAt`. `consumesAttempt` is true for a function error or timeout.
    case retry(visibleAt: Millis, consumesAttempt: Bool)
    /// Give the event up: on-failure destination, dead-letter target and a dead letter.
    case fail(FailureCondition)

    /// What a claimed event whose age already passed the limit (or whose function cannot run) becomes.
    public static func beforeRunning(enqueuedAt: Millis, now: Millis, config: EventInvokeConfig, reservedConcurrency: Int?) -> AsyncDecision? {
        if reservedConcurrency == 0 { return .fail(.zeroReservedConcurrency) }
        if now - enqueuedAt > config.effectiveEventAgeMillis { return .fail(.eventAgeExceeded) }
        return nil
    }

    /// The decision after one attempt.
    /// - Parameters:
    ///   - failure: `nil` when the function succeeded.
    ///   - functionErrors: function errors and timeouts before this attempt.
    ///   - systemRetries: throttles and system failures in a row before this attempt.
    ///   - unit: a random value in 0..<1 for jitter.
    public static func after(
        failure: InvocationFailure?, enqueuedAt: Millis, now: Millis, functionErrors: Int, systemRetries: Int,
        config: EventInvokeConfig, policy: AsyncRetryPolicy, unit: Double
    ) -> AsyncDecision {
        guard let failure else { return .succeed }
        let deadline = enqueuedAt + config.effectiveEventAgeMillis
        if failure.consumesAttempt {
            let retry = functionErrors + 1
            guard retry <= config.effectiveRetryAttempts else { return .fail(.retriesExhausted) }
            let visibleAt = now + policy.jittered(policy.functionErrorDelay(retry: retry), unit: unit)
            // A retry that would land past the age limit ends the event now (AWS reports EventAgeExceeded).
            guard visibleAt - enqueuedAt <= config.effectiveEventAgeMillis else { return .fail(.eventAgeExceeded) }
            return .retry(visibleAt: visibleAt, consumesAttempt: true)
        }
        let visibleAt = now + policy.jittered(policy.throttleDelay(occurrence: systemRetries + 1), unit: unit)
        guard visibleAt <= deadline else { return .fail(.eventAgeExceeded) }
        return .retry(visibleAt: visibleAt, consumesAttempt: false)
    }
}
