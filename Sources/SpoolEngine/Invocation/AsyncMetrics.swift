import Metrics
import SpoolModel

/// What asynchronous invocation counts, through swift-metrics (names follow Lambda's async metrics).
enum AsyncMetrics {
    static let received = Counter(label: "spool_async_events_received_total")
    static let duplicates = Counter(label: "spool_async_idempotent_repeats_total")
    static let succeeded = Counter(label: "spool_async_invocations_total", dimensions: [("outcome", "success")])
    static let retried = Counter(label: "spool_async_retries_total", dimensions: [("kind", "function_error")])
    static let backedOff = Counter(label: "spool_async_retries_total", dimensions: [("kind", "throttle_or_system")])
    static let destinationFailures = Counter(label: "spool_async_destination_delivery_failures_total")
    static let eventAge = Recorder(label: "spool_async_event_age_ms")

    /// `AsyncEventsDropped` in Lambda's terms: every event given up, by reason.
    static func dropped(_ condition: FailureCondition) {
        Counter(label: "spool_async_events_dropped_total", dimensions: [("reason", condition.rawValue)]).increment()
    }
}
