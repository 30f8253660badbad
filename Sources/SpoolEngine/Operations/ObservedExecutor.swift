import CoreMetrics
import SpoolExecutor
import SpoolModel

/// Wraps the executor every invocation goes through (Invoke, async events, mapping batches): counts each
/// in the per-function metrics and the last hour's activity, and hands it to the journal with its log.
package struct ObservedExecutor: FunctionExecutor {
    let inner: any FunctionExecutor
    let journal: InvocationJournal?
    let activity: ActivityTracker
    let clock: any SpoolClock

    /// - Parameter journal: `nil` when function logs are not kept (`logs.enabled: false`).
    package init(_ inner: any FunctionExecutor, journal: InvocationJournal?, activity: ActivityTracker, clock: any SpoolClock = WallClock()) {
        self.inner = inner
        self.journal = journal
        self.activity = activity
        self.clock = clock
    }

    package func invoke(_ request: InvocationRequest) async -> InvocationOutcome {
        let name = request.function.name
        let running = SpoolMetrics.concurrency(name)
        running.increment()
        let started = clock.now()
        let outcome = await inner.invoke(request)
        running.decrement()
        let (kind, errorType) = Self.classify(outcome.status)
        activity.record(name, at: started, outcome: kind, durationMs: outcome.durationMs)
        SpoolMetrics.invocation(name, origin: request.origin, outcome: kind, duration: outcome.durationMs, coldStart: outcome.initDurationMs != nil)
        journal?.record(JournalEntry(functionName: name, requestID: request.requestID, origin: request.origin, batchSize: request.batchSize, outcome: kind,
                                         errorType: errorType, startedAt: started, durationMs: outcome.durationMs,
                                         initDurationMs: outcome.initDurationMs, maxMemoryUsedMB: outcome.maxMemoryUsedMB, log: outcome.log))
        return outcome
    }

    package func functionChanged(name: String, to definition: FunctionDefinition?) async {
        await inner.functionChanged(name: name, to: definition)
    }

    package func provisionedReadiness(of name: String) async -> ProvisionedReadiness {
        await inner.provisionedReadiness(of: name)
    }

    static func classify(_ status: InvocationOutcome.Status) -> (JournalEntry.Outcome, String?) {
        switch status {
        case .success: (.success, nil)
        case .functionError(let type): (.error, type)
        case .timedOut: (.timeout, "Sandbox.Timedout")
        case .systemFailure(.atCapacity): (.throttled, "TooManyRequestsException")
        case .systemFailure(let failure): (.failed, failure.rawValue)
        }
    }
}
