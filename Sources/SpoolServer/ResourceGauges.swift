import Prometheus
import SpoolModel
import Synchronization
import SpoolEngine
import SpoolStorage

/// The gauges of what is stored, measured when `/metrics` is read (one query per kind of resource):
/// queue depths and oldest message (SQS's `ApproximateNumberOf…` and `ApproximateAgeOfOldestMessage`),
/// waiting and running async events and their oldest age, dead letters, stream contents and live
/// environments. A resource that is gone loses its series at the next scrape.
final class ResourceGauges: Sendable {
    let registry: PrometheusCollectorRegistry
    let operations: Operations
    private let current = Mutex<[String: Gauge]>([:])

    init(registry: PrometheusCollectorRegistry, operations: Operations) {
        self.registry = registry
        self.operations = operations
    }

    /// Help text for every gauge name, as `# HELP` lines.
    static let help: [String: String] = [
        "spool_sqs_approximate_number_of_messages_visible": "Messages available for retrieval (ApproximateNumberOfMessagesVisible).",
        "spool_sqs_approximate_number_of_messages_not_visible": "Messages in flight (ApproximateNumberOfMessagesNotVisible).",
        "spool_sqs_approximate_number_of_messages_delayed": "Messages delayed and not yet available (ApproximateNumberOfMessagesDelayed).",
        "spool_sqs_approximate_age_of_oldest_message_seconds": "Age of the oldest stored message (ApproximateAgeOfOldestMessage).",
        "spool_lambda_async_events_queued": "Asynchronous events waiting to run, retries included.",
        "spool_lambda_async_events_running": "Asynchronous events running now.",
        "spool_lambda_async_oldest_event_age_seconds": "Age of the oldest waiting or running asynchronous event.",
        "spool_lambda_dead_letters": "Dead letters stored.",
        "spool_lambda_dead_letters_not_replayed": "Dead letters stored and not replayed.",
        "spool_lambda_live_environments": "Execution environments alive, by state (idle, busy).",
        "spool_kinesis_stored_records": "Records stored in the stream (until the retention sweep removes expired ones).",
        "spool_kinesis_oldest_record_age_seconds": "Age of the oldest stored record.",
        "spool_kinesis_open_shards": "Shards of the stream.",
    ]

    /// Measures everything and updates the registry; failures leave the last values.
    func refresh() async {
        guard let functions = try? await operations.functionSummaries(), let queues = try? await operations.queueDepths(),
              let streams = try? await operations.streamDepths()
        else { return }
        let now = WallClock().now()
        var values: [(String, [(String, String)], Double)] = []
        for queue in queues {
            let labels = [("queue_name", queue.queueName)]
            values.append(("spool_sqs_approximate_number_of_messages_visible", labels, Double(queue.visible)))
            values.append(("spool_sqs_approximate_number_of_messages_not_visible", labels, Double(queue.inFlight)))
            values.append(("spool_sqs_approximate_number_of_messages_delayed", labels, Double(queue.delayed)))
            values.append(("spool_sqs_approximate_age_of_oldest_message_seconds", labels, queue.oldestSentAt.map { Double(max(0, now - $0)) / 1000 } ?? 0))
        }
        for function in functions {
            let labels = [("function_name", function.name)]
            values.append(("spool_lambda_async_events_queued", labels, Double(function.asyncQueued)))
            values.append(("spool_lambda_async_events_running", labels, Double(function.asyncRunning)))
            values.append(("spool_lambda_async_oldest_event_age_seconds", labels, function.oldestEventAgeSeconds ?? 0))
            values.append(("spool_lambda_dead_letters", labels, Double(function.deadLetters)))
            values.append(("spool_lambda_dead_letters_not_replayed", labels, Double(function.deadLettersNotReplayed)))
            values.append(("spool_lambda_live_environments", labels + [("state", "idle")], Double(function.idleEnvironments)))
            values.append(("spool_lambda_live_environments", labels + [("state", "busy")], Double(function.busyEnvironments)))
        }
        for stream in streams {
            let labels = [("stream_name", stream.streamName)]
            values.append(("spool_kinesis_stored_records", labels, Double(stream.records)))
            values.append(("spool_kinesis_oldest_record_age_seconds", labels, stream.oldestArrival.map { Double(max(0, now - $0)) / 1000 } ?? 0))
            values.append(("spool_kinesis_open_shards", labels, Double(stream.shardCount)))
        }
        current.withLock { current in
            var seen: [String: Gauge] = [:]
            for (name, labels, value) in values {
                let key = name + labels.map { "|\($0.0)=\($0.1)" }.joined()
                let gauge = current[key] ?? registry.makeGauge(name: name, labels: labels, help: Self.help[name] ?? "")
                gauge.set(value)
                seen[key] = gauge
            }
            for (key, gauge) in current where seen[key] == nil { registry.unregisterGauge(gauge) }
            current = seen
        }
    }
}
