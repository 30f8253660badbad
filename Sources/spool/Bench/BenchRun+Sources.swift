import Foundation
import NIOCore
import NIOHTTP1
import SpoolServer
import Synchronization

/// The sqs, queue-mapping and stream-mapping scenarios.
extension BenchRun {
    func body(_ length: Int) -> String { String(repeating: "m", count: length) }

    /// Creates a queue; returns its URL and ARN.
    func createQueue(_ target: BenchTarget, _ name: String) async throws -> (url: String, arn: String) {
        let created = try await target.call("AmazonSQS.CreateQueue", ["QueueName": name, "Attributes": ["VisibilityTimeout": "900"]])
        let url = created["QueueUrl"] as? String ?? ""
        let attributes = try await target.call("AmazonSQS.GetQueueAttributes", ["QueueUrl": url, "AttributeNames": ["QueueArn"]])
        return (url, (attributes["Attributes"] as? [String: String])?["QueueArn"] ?? "")
    }

    /// A SendMessageBatch input of `count` messages of `payloadBytes`.
    func sendBatch(_ url: String, count: Int) -> ByteBuffer {
        BenchTarget.encode(["QueueUrl": url, "Entries": (0..<count).map { ["Id": "m\($0)", "MessageBody": body(payloadBytes)] }])
    }

    /// Messages visible and in flight.
    func queueDepth(_ target: BenchTarget, _ url: String) async throws -> Int {
        let answer = try await target.call("AmazonSQS.GetQueueAttributes", [
            "QueueUrl": url, "AttributeNames": ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        ])
        let attributes = answer["Attributes"] as? [String: String] ?? [:]
        return Int(attributes["ApproximateNumberOfMessages"] ?? "") .map { $0 + (Int(attributes["ApproximateNumberOfMessagesNotVisible"] ?? "") ?? 0) } ?? -1
    }

    /// Sends `total` messages in batches of 10 from every connection; returns the load.
    func fillQueue(_ target: BenchTarget, _ url: String, total: Int) async -> LoadResult {
        let batch = sendBatch(url, count: 10)
        let rest = total % 10
        let last = rest > 0 ? sendBatch(url, count: rest) : batch
        let batches = (total + 9) / 10
        return await BenchLoad.closed(workers: connections, seconds: 3_600, operations: batches) { _, index in
            let isLast = index == batches - 1 && rest > 0
            try await target.call("AmazonSQS.SendMessageBatch", isLast ? last : batch)
            return isLast ? rest : 10
        }
    }

    func sqs(_ report: inout ScenarioReport) async throws {
        let size = min(batchSizes.first ?? 10, 10)
        try await withServer { target in
            let (url, _) = try await createQueue(target, "bench-sqs-\(UUID().uuidString.prefix(8))")
            let operation = sqsRoundTrip([target], url: url, size: size)
            _ = await BenchLoad.closed(workers: connections, seconds: warmUp, operation)
            let (load, server) = try await target.measured { await BenchLoad.closed(workers: connections, seconds: duration, operation) }
            report.rows.append(row("batches of \(size), \(connections) connections", unit: "messages", load, latencyOf: "send+receive+delete", server: server))
        }
        report.notes.append("messages/s counts messages deleted; each operation is one SendMessageBatch, one ReceiveMessage and one DeleteMessageBatch")
    }

    /// One SendMessageBatch, ReceiveMessage and DeleteMessageBatch of `size` messages; worker i goes to server i mod N.
    func sqsRoundTrip(_ targets: [BenchTarget], url: String, size: Int) -> BenchLoad.Operation {
        let send = sendBatch(url, count: size)
        let receive = BenchTarget.encode(["QueueUrl": url, "MaxNumberOfMessages": size, "WaitTimeSeconds": 0])
        return { worker, _ in
            let target = targets[worker % targets.count]
            try await target.call("AmazonSQS.SendMessageBatch", send)
            let received = try await target.call("AmazonSQS.ReceiveMessage", receive).json()["Messages"] as? [[String: Any]] ?? []
            guard !received.isEmpty else { return 0 }
            let entries = received.enumerated().map { ["Id": "d\($0.offset)", "ReceiptHandle": $0.element["ReceiptHandle"] as? String ?? ""] }
            let deleted = try await target.call("AmazonSQS.DeleteMessageBatch", ["QueueUrl": url, "Entries": entries])
            return (deleted["Successful"] as? [Any])?.count ?? 0
        }
    }

    func queueMapping(_ report: inout ScenarioReport) async throws {
        for size in batchSizes.isEmpty ? [10, 100, 1_000] : batchSizes {
            try await withServer { target in
                let (url, arn) = try await createQueue(target, "bench-map-\(size)-\(UUID().uuidString.prefix(8))")
                let fill = await fillQueue(target, url, total: records)
                guard fill.errors == 0 else { throw BenchTarget.Failure(description: "filling the queue failed \(fill.errors) times") }
                try await target.resetProbe()
                let clock = ContinuousClock()
                let started = clock.now
                let (uuid, server) = try await target.measured {
                    let mapping = try await target.lambda(.POST, "/2015-03-31/event-source-mappings/", [
                        "FunctionName": BenchProbe.functionName, "EventSourceArn": arn, "BatchSize": size,
                        "MaximumBatchingWindowInSeconds": size > 10 ? 1 : 0,
                    ])
                    // The function counts the records it is given: counting the queue would read every message each time.
                    _ = try await BenchLoad.until(timeout: 3_600, interval: 0.02) { try await target.probe().records >= records }
                    return mapping["UUID"] as? String ?? ""
                }
                let seconds = BenchLoad.elapsed(clock.now - started)
                _ = try await BenchLoad.until(timeout: 60) { try await queueDepth(target, url) == 0 }
                let left = try await queueDepth(target, url)
                guard left == 0 else { throw BenchTarget.Failure(description: "\(left) messages were left in the queue") }
                try await target.lambda(.DELETE, "/2015-03-31/event-source-mappings/\(uuid)")
                var row = BenchRow(label: "batch size \(size)", unit: "records", count: records, seconds: seconds, rate: Double(records) / seconds,
                                   latencyOf: nil, latency: nil, server: server)
                let probe = try await target.probe()
                row.extra = ["fill messages/s": fill.rate, "invocations": Double(probe.invocations), "records delivered": Double(probe.records)]
                report.rows.append(row)
            }
        }
        report.notes.append("records/s: \(records) messages sent beforehand, from CreateEventSourceMapping until the function was given all of them (then the queue is checked empty)")
    }

    func streamMapping(_ report: inout ScenarioReport) async throws {
        for size in batchSizes.isEmpty ? [1_000] : batchSizes {
            try await withServer { target in
                let name = "bench-stream-\(UUID().uuidString.prefix(8))"
                try await target.call("Kinesis_20131202.CreateStream", ["StreamName": name, "ShardCount": 4])
                let summary = try await target.call("Kinesis_20131202.DescribeStreamSummary", ["StreamName": name])
                let arn = (summary["StreamDescriptionSummary"] as? [String: Any])?["StreamARN"] as? String ?? ""
                let data = Data(body(payloadBytes).utf8).base64EncodedString()
                let put = BenchTarget.encode(["StreamName": name, "Records": (0..<500).map { ["Data": data, "PartitionKey": "key-\($0)"] }])
                let createMapping: @Sendable () async throws -> String = {
                    let mapping = try await target.lambda(.POST, "/2015-03-31/event-source-mappings/", [
                        "FunctionName": BenchProbe.functionName, "EventSourceArn": arn, "BatchSize": size, "StartingPosition": "TRIM_HORIZON",
                    ])
                    return mapping["UUID"] as? String ?? ""
                }
                // Live: the mapping runs while the records are put; iterator age is sampled meanwhile.
                let live = try await createMapping()
                let total = max(500, records / 500 * 500)
                let clock = ContinuousClock()
                let started = clock.now
                let ages = AgeSamples()
                let sampler = Task {
                    while !Task.isCancelled {
                        if let age = try? await iteratorAge(target, live) { ages.add(age.age) }
                        try? await Task.sleep(for: .milliseconds(100))
                    }
                }
                let (fill, server) = try await target.measured {
                    let fill = await BenchLoad.closed(workers: connections, seconds: 3_600, operations: total / 500) { _, _ in
                        let answer = try await target.call("Kinesis_20131202.PutRecords", put).json()
                        guard (answer["FailedRecordCount"] as? Int ?? 1) == 0 else { throw BenchTarget.Failure(description: "PutRecords failed records") }
                        return 500
                    }
                    _ = try await BenchLoad.until(timeout: 3_600, interval: 0.05) { try await iteratorAge(target, live).behind == 0 }
                    return fill
                }
                sampler.cancel()
                let caughtUp = BenchLoad.elapsed(clock.now - started)
                var liveRow = row("PutRecords 500, \(connections) connections, mapping live", unit: "records", fill, latencyOf: "PutRecords", server: server)
                let sorted = ages.sorted
                liveRow.extra = ["iterator age p50 ms": sorted.isEmpty ? 0 : Double(sorted[sorted.count / 2]), "iterator age max ms": Double(sorted.last ?? 0),
                                 "all delivered after s": caughtUp]
                report.rows.append(liveRow)
                try await target.lambda(.DELETE, "/2015-03-31/event-source-mappings/\(live)")
                // A deleted mapping goes through Deleting; the same source and function take a new one once it is gone.
                _ = try await BenchLoad.until(timeout: 60) {
                    try await target.request(.GET, "/2015-03-31/event-source-mappings/\(live)").status == 404
                }
                // Backlog: a new mapping reads the whole stream from the start.
                let drainStart = clock.now
                let (drain, drainServer) = try await target.measured {
                    let uuid = try await createMapping()
                    _ = try await BenchLoad.until(timeout: 3_600, interval: 0.02) { try await iteratorAge(target, uuid).behind == 0 }
                    return uuid
                }
                let seconds = BenchLoad.elapsed(clock.now - drainStart)
                try await target.lambda(.DELETE, "/2015-03-31/event-source-mappings/\(drain)")
                report.rows.append(BenchRow(label: "drain \(fill.units) records, batch size \(size)", unit: "records", count: fill.units, seconds: seconds,
                                            rate: Double(fill.units) / seconds, latencyOf: nil, latency: nil, server: drainServer))
            }
        }
        report.notes.append("4 shards; drain: a new mapping at TRIM_HORIZON, from CreateEventSourceMapping until every shard is read to its end")
    }

    /// A mapping's largest iterator age and the records its shards have still to read (admin API).
    func iteratorAge(_ target: BenchTarget, _ uuid: String) async throws -> (age: Int, behind: Int) {
        let shards = try await target.expect(.GET, "/spool/v1/mappings/\(uuid)/shards").json()["Shards"] as? [[String: Any]] ?? []
        guard !shards.isEmpty else { return (0, 1) }
        return (shards.map { $0["IteratorAgeMilliseconds"] as? Int ?? 0 }.max() ?? 0, shards.map { $0["RecordsBehind"] as? Int ?? 0 }.reduce(0, +))
    }
}

/// Iterator ages sampled while a load runs.
final class AgeSamples: Sendable {
    private let values = Mutex<[Int]>([])
    func add(_ value: Int) { values.withLock { $0.append(value) } }
    var sorted: [Int] { values.withLock { $0.sorted() } }
}
