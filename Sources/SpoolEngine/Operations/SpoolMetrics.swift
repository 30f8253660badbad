import Metrics
import SpoolModel

/// Every metric Spool records through swift-metrics, per resource, named after the CloudWatch metric it
/// mirrors in Prometheus form (`AsyncEventsReceived` → `spool_lambda_async_events_received_total`; times
/// in seconds). A name always carries the same label names: Prometheus (and swift-prometheus) require it.
/// Gauges of what is stored (queue depths, backlogs, dead letters) are measured when `/metrics` is read.
package enum SpoolMetrics {
    // MARK: Lambda, per function (`function_name`)

    static func invocation(_ function: String, origin: JournalEntry.Origin, outcome: JournalEntry.Outcome, duration: Double,
                           coldStart: Bool) {
        let labels = [("function_name", function)]
        Counter(label: "spool_lambda_invocations_total", dimensions: labels + [("origin", origin.rawValue)]).increment()
        switch outcome {
        case .error, .timeout: Counter(label: "spool_lambda_errors_total", dimensions: labels).increment()
        case .throttled: Counter(label: "spool_lambda_throttles_total", dimensions: labels).increment()
        case .failed: Counter(label: "spool_lambda_system_failures_total", dimensions: labels).increment()
        case .success: break
        }
        if outcome != .throttled {
            Timer(label: "spool_lambda_duration_seconds", dimensions: labels).recordNanoseconds(Int64(duration * 1_000_000))
        }
        if coldStart { Counter(label: "spool_lambda_cold_starts_total", dimensions: labels).increment() }
    }

    /// `ConcurrentExecutions`: invocations running now.
    static func concurrency(_ function: String) -> Meter {
        Meter(label: "spool_lambda_concurrent_executions", dimensions: [("function_name", function)])
    }

    /// Time from acceptance (an async event, an SQS message sent, a record put) to the start of the invocation that carries it.
    static func ingestToStart(_ function: String, origin: JournalEntry.Origin, millis: Millis) {
        Timer(label: "spool_lambda_ingest_to_start_seconds", dimensions: [("function_name", function), ("origin", origin.rawValue)])
            .recordMilliseconds(max(0, millis))
    }

    static func asyncEventsReceived(_ function: String, count: Int = 1) {
        Counter(label: "spool_lambda_async_events_received_total", dimensions: [("function_name", function)]).increment(by: count)
    }

    static func asyncIdempotentRepeats(_ function: String) {
        Counter(label: "spool_lambda_async_idempotent_repeats_total", dimensions: [("function_name", function)]).increment()
    }

    /// `AsyncEventAge`: from acceptance to each attempt.
    static func asyncEventAge(_ function: String, millis: Millis) {
        Timer(label: "spool_lambda_async_event_age_seconds", dimensions: [("function_name", function)]).recordMilliseconds(max(0, millis))
    }

    /// `AsyncEventsDropped`: every event given up (and dead-lettered), by reason.
    static func asyncEventDropped(_ function: String, _ condition: FailureCondition) {
        Counter(label: "spool_lambda_async_events_dropped_total", dimensions: [("function_name", function), ("reason", condition.rawValue)])
            .increment()
    }

    /// A retry scheduled: `function_error` (consumes an attempt) or `throttle_or_system` (does not).
    static func asyncRetry(_ function: String, consumesAttempt: Bool) {
        Counter(label: "spool_lambda_async_retries_total",
                dimensions: [("function_name", function), ("kind", consumesAttempt ? "function_error" : "throttle_or_system")]).increment()
    }

    /// A destination record or dead-letter message handed on; `DestinationDeliveryFailures` when it could not be.
    static func destinationDelivery(_ function: String, failed: Bool) {
        Counter(label: failed ? "spool_lambda_destination_delivery_failures_total" : "spool_lambda_destination_deliveries_total",
                dimensions: [("function_name", function)]).increment()
    }

    // MARK: Event source mappings (`function_name`, `event_source_mapping`)

    static func mappingBatch(_ mapping: EventSourceMapping, size: Int, result: String) {
        let labels = [("function_name", mapping.functionName), ("event_source_mapping", mapping.uuid)]
        Counter(label: "spool_lambda_mapping_batches_total", dimensions: labels + [("result", result)]).increment()
        Recorder(label: "spool_lambda_mapping_batch_size", dimensions: labels).record(size)
    }

    static func mappingRecords(_ mapping: EventSourceMapping, _ count: Int, disposition: String) {
        guard count > 0 else { return }
        Counter(label: "spool_lambda_mapping_records_total",
                dimensions: [("function_name", mapping.functionName), ("event_source_mapping", mapping.uuid), ("disposition", disposition)])
            .increment(by: count)
    }

    /// `IteratorAge` of a stream mapping, seconds: its oldest lane's (the age of the next record that lane read), so that one
    /// stuck shard shows while the others are idle.
    static func iteratorAge(_ mapping: EventSourceMapping) -> Gauge {
        Gauge(label: "spool_lambda_iterator_age_seconds", dimensions: [("function_name", mapping.functionName), ("event_source_mapping", mapping.uuid)])
    }

    /// The iterator age of one shard of a stream mapping (its oldest lane), seconds.
    static func shardIteratorAge(_ mapping: EventSourceMapping, shardID: String) -> Gauge {
        Gauge(label: "spool_lambda_shard_iterator_age_seconds",
              dimensions: [("function_name", mapping.functionName), ("event_source_mapping", mapping.uuid), ("shard_id", shardID)])
    }

    // MARK: SQS, per queue (`queue_name`)

    static func messagesSent(_ queue: String, _ count: Int) {
        Counter(label: "spool_sqs_number_of_messages_sent_total", dimensions: [("queue_name", queue)]).increment(by: count)
    }

    static func messagesReceived(_ queue: String, _ count: Int) {
        if count == 0 {
            Counter(label: "spool_sqs_number_of_empty_receives_total", dimensions: [("queue_name", queue)]).increment()
        } else {
            Counter(label: "spool_sqs_number_of_messages_received_total", dimensions: [("queue_name", queue)]).increment(by: count)
        }
    }

    static func messagesDeleted(_ queue: String, _ count: Int) {
        Counter(label: "spool_sqs_number_of_messages_deleted_total", dimensions: [("queue_name", queue)]).increment(by: count)
    }

    // MARK: Kinesis, per stream (`stream_name`)

    static func recordsPut(_ stream: String, records: Int, bytes: Int) {
        Counter(label: "spool_kinesis_incoming_records_total", dimensions: [("stream_name", stream)]).increment(by: records)
        Counter(label: "spool_kinesis_incoming_bytes_total", dimensions: [("stream_name", stream)]).increment(by: bytes)
    }
}

extension SpoolMetrics {
    /// Journal records lost to an overflowing buffer or a failed write (the invocations themselves are unaffected).
    static func journalDropped(_ count: Int) {
        Counter(label: "spool_journal_records_dropped_total").increment(by: count)
    }
}
