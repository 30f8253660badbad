import Foundation
import Logging
import NIOCore
import NIOFoundationEssentialsCompat
import ServiceLifecycle
import SpoolEngine
import SpoolExecutor
import SpoolModel
import SpoolSQLite
import SpoolSignals
import SpoolStorage
import Synchronization
import Testing

@Suite("Queue event source mappings: batches, partial failures, filters, concurrency, state changes")
struct QueueMappingTests {
    /// Every batch a function received (message bodies), with a stream to wait on.
    final class Batches: Sendable {
        let seen = Mutex<[[String]]>([])
        /// Every event as the function received it.
        let payloads = Mutex<[Data]>([])
        let running = Mutex((now: 0, peak: 0))
        let stream: AsyncStream<[String]>
        let continuation: AsyncStream<[String]>.Continuation

        init() {
            (stream, continuation) = AsyncStream.makeStream(of: [String].self)
        }

        /// Records the batch and returns its records.
        func record(_ payload: ByteBuffer) throws -> [[String: Any]] {
            payloads.withLock { $0.append(Data(buffer: payload)) }
            let event = try JSONSerialization.jsonObject(with: Data(buffer: payload)) as? [String: Any]
            let records = event?["Records"] as? [[String: Any]] ?? []
            let bodies = records.compactMap { $0["body"] as? String }
            seen.withLock { $0.append(bodies) }
            continuation.yield(bodies)
            return records
        }

        /// Waits until batches holding `count` records in all have arrived (20 s at most).
        func wait(records count: Int) async throws {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    var total = self.seen.withLock { $0.reduce(0) { $0 + $1.count } }
                    var iterator = self.stream.makeAsyncIterator()
                    while total < count, let batch = await iterator.next() { total += batch.count }
                }
                group.addTask {
                    try await Task.sleep(for: .seconds(20))
                    throw CancellationError()
                }
                try await group.next()
                group.cancelAll()
            }
        }

        var all: [String] { seen.withLock { $0.flatMap { $0 } } }

        /// The first record of the first event.
        func firstRecord() throws -> [String: Any] {
            let first = try #require(payloads.withLock { $0.first })
            let event = try #require(try JSONSerialization.jsonObject(with: first) as? [String: Any])
            return try #require((event["Records"] as? [[String: Any]])?.first)
        }
    }

    struct Harness {
        let store: SQLiteStore
        let registry: FunctionRegistry
        let queues: QueueService
        let mappings: EventSourceMappings
        let streams: StreamService
        let supervisor: MappingSupervisor

        func send(_ queue: String, _ bodies: [String], group: String? = nil) async throws {
            for chunk in stride(from: 0, to: bodies.count, by: 10) {
                let messages = bodies[chunk..<min(chunk + 10, bodies.count)].map { body in
                    OutgoingMessage(body: body, groupID: group, deduplicationID: group == nil ? nil : UUID().uuidString)
                }
                _ = try await queues.send(queueName: queue, messages: Array(messages))
            }
        }

        func counts(_ queue: String) async throws -> QueueCounts {
            try await store.counts(queueID: try await queues.queue(named: queue).id, now: WallClock().now())
        }

        /// Waits until `condition` holds, looking again after every batch a poller settles and every state a mapping
        /// reaches (20 s at most).
        func eventually(_ what: String, _ condition: () async throws -> Bool) async throws {
            if try await !supervisor.progress.signal.until(timeout: .seconds(20), condition) {
                Issue.record("never happened: \(what)")
            }
        }

        func map(_ queue: String, to function: String, _ change: (inout MappingRequest) -> Void = { _ in }) async throws -> EventSourceMapping {
            var request = MappingRequest()
            change(&request)
            return try await mappings.create(sourceARN: "arn:aws:sqs:us-east-1:000000000000:\(queue)", functionName: function, request: request)
        }
    }

    /// Answers "every environment is busy" to the first `throttles` invocations, then runs the in-process handlers.
    final class ThrottlingExecutor: FunctionExecutor {
        let inner: InProcessExecutor
        let throttles: Mutex<Int>

        init(inner: InProcessExecutor, throttles: Int) {
            self.inner = inner
            self.throttles = Mutex(throttles)
        }

        func invoke(_ request: InvocationRequest) async -> InvocationOutcome {
            let throttled = throttles.withLock { remaining in
                defer { remaining -= 1 }
                return remaining > 0
            }
            if throttled { return .error(.systemFailure(.atCapacity), type: "Spool.AtCapacity", message: "busy") }
            return await inner.invoke(request)
        }
    }

    func withMappings(functions: [String: InProcessExecutor.Handler], queues names: [String: [String: String]], throttles: Int = 0,
                      shutdownGrace: Duration = .seconds(30), afterStop: (Harness) async throws -> Void = { _ in },
                      _ body: (Harness) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spool-esm-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteStore(directory: directory)
        let executor = ThrottlingExecutor(inner: InProcessExecutor(handlers: functions), throttles: throttles)
        let registry = FunctionRegistry(store: store, runner: FunctionRunner(executor: executor, accountLimit: 1000),
                                        codeRoot: directory + "/functions", identity: AWSIdentity())
        for name in functions.keys {
            try await registry.declare(FunctionDefinition(name: name, executor: .inProcess, source: .embedded, timeoutSeconds: 30,
                                                          revisionID: "r", lastModified: 1))
        }
        let queues = QueueService(store: store, identity: AWSIdentity())
        // Dead-letter targets first: a redrive policy must name a queue that exists.
        let ordered = names.sorted { ($0.value["RedrivePolicy"] == nil ? 0 : 1, $0.key) < ($1.value["RedrivePolicy"] == nil ? 0 : 1, $1.key) }
        for (name, attributes) in ordered { _ = try await queues.createQueue(name: name, attributes: attributes, tags: [:]) }
        let streams = StreamService(store: store, identity: AWSIdentity())
        let supervisor = MappingSupervisor(store: store, registry: registry, queues: queues, streams: streams, shutdownGrace: shutdownGrace)
        let harness = Harness(store: store, registry: registry, queues: queues,
                              mappings: EventSourceMappings(store: store, registry: registry, queues: queues, streams: streams, supervisor: supervisor),
                              streams: streams, supervisor: supervisor)
        try await withRunning([supervisor]) { try await body(harness) }
        try await afterStop(harness)
    }

    @Test("delivers every message as the SQS event in batches no larger than BatchSize, and deletes them")
    func delivers() async throws {
        let batches = Batches()
        try await withMappings(functions: ["f": { payload, _ in
            _ = try batches.record(payload)
            return ByteBuffer(string: "{}")
        }], queues: ["q": [:]]) { harness in
            try await harness.send("q", (0..<25).map { "m\($0)" })
            let mapping = try await harness.map("q", to: "f")
            #expect(mapping.state == .creating && mapping.settings.batchSize == 10)
            try await batches.wait(records: 25)
            #expect(Set(batches.all) == Set((0..<25).map { "m\($0)" }))
            #expect(batches.seen.withLock { $0.allSatisfy { $0.count <= 10 } })
            try await harness.eventually("every message deleted") { try await harness.counts("q") == QueueCounts(visible: 0, inFlight: 0, delayed: 0) }
            #expect(try await harness.mappings.get(mapping.uuid).state == .enabled)
            let record = try batches.firstRecord()
            #expect(record["eventSource"] as? String == "aws:sqs")
            #expect(record["eventSourceARN"] as? String == "arn:aws:sqs:us-east-1:000000000000:q")
            #expect(record["awsRegion"] as? String == "us-east-1")
            #expect((record["attributes"] as? [String: String])?["ApproximateReceiveCount"] == "1")
            #expect(record["md5OfBody"] as? String != nil && record["receiptHandle"] as? String != nil)
        }
    }

    @Test("with ReportBatchItemFailures only the reported messages stay, and a malformed response keeps the whole batch")
    func partialFailures() async throws {
        let batches = Batches()
        try await withMappings(functions: ["f": { payload, _ in
            let records = try batches.record(payload)
            if records.contains(where: { $0["body"] as? String == "garbage" }) { return ByteBuffer(string: "{\"batchItemFailures\": [{}]}") }
            let failed = records.filter { ($0["body"] as? String)?.hasPrefix("bad") == true }.map { ["itemIdentifier": $0["messageId"] as! String] }
            return ByteBuffer(data: try JSONSerialization.data(withJSONObject: ["batchItemFailures": failed]))
        }], queues: ["q": ["VisibilityTimeout": "300"], "r": ["VisibilityTimeout": "300"]]) { harness in
            try await harness.send("q", ["good1", "bad1", "good2", "bad2", "good3"])
            _ = try await harness.map("q", to: "f") { $0.functionResponseTypes = ["ReportBatchItemFailures"] }
            try await batches.wait(records: 5)
            try await harness.eventually("only the two reported messages are left, in flight") {
                try await harness.counts("q") == QueueCounts(visible: 0, inFlight: 2, delayed: 0)
            }
            try await harness.send("r", ["garbage", "fine"])
            _ = try await harness.map("r", to: "f") { $0.functionResponseTypes = ["ReportBatchItemFailures"] }
            try await batches.wait(records: 7)
            // The malformed answer keeps the whole batch: nothing in the store changes, so wait for the poller to settle it.
            try await harness.eventually("every batch settled") { harness.supervisor.progress.batches >= batches.seen.withLock { $0.count } }
            #expect(try await harness.counts("r") == QueueCounts(visible: 0, inFlight: 2, delayed: 0))
        }
    }

    @Test("messages no filter matches are deleted without running the function")
    func filters() async throws {
        let batches = Batches()
        try await withMappings(functions: ["f": { payload, _ in _ = try batches.record(payload); return ByteBuffer(string: "null") }],
                               queues: ["q": [:]]) { harness in
            _ = try await harness.map("q", to: "f") { $0.filters = [#"{"body": {"kind": ["order"]}}"#, #"{"body": [{"prefix": "urgent"}]}"#] }
            try await harness.send("q", [#"{"kind": "order", "n": 1}"#, #"{"kind": "refund"}"#, "urgent: call", "plain", #"{"kind": "order", "n": 2}"#])
            try await batches.wait(records: 3)
            try await harness.eventually("the queue is empty") { try await harness.counts("q") == QueueCounts(visible: 0, inFlight: 0, delayed: 0) }
            #expect(Set(batches.all) == [#"{"kind": "order", "n": 1}"#, "urgent: call", #"{"kind": "order", "n": 2}"#])
        }
    }

    @Test("ScalingConfig.MaximumConcurrency bounds the batches running at once")
    func maximumConcurrency() async throws {
        let batches = Batches()
        try await withMappings(functions: ["f": { payload, _ in
            batches.running.withLock { $0.now += 1; $0.peak = max($0.peak, $0.now) }
            try await Task.sleep(for: .milliseconds(20))
            batches.running.withLock { $0.now -= 1 }
            _ = try batches.record(payload)
            return ByteBuffer(string: "{}")
        }], queues: ["q": [:]]) { harness in
            try await harness.send("q", (0..<30).map { "m\($0)" })
            _ = try await harness.map("q", to: "f") { $0.batchSize = 1; $0.scalingConfigGiven = true; $0.maximumConcurrency = 2 }
            try await batches.wait(records: 30)
            #expect(batches.running.withLock { $0.peak } == 2)
        }
    }

    @Test("without ScalingConfig five batches run at once to start with, and reserved concurrency bounds a mapping")
    func defaultScalingAndReservedConcurrency() async throws {
        let free = Batches()
        let reserved = Batches()
        func slow(_ batches: Batches) -> InProcessExecutor.Handler {
            { payload, _ in
                batches.running.withLock { $0.now += 1; $0.peak = max($0.peak, $0.now) }
                try await Task.sleep(for: .milliseconds(200))
                batches.running.withLock { $0.now -= 1 }
                _ = try batches.record(payload)
                return ByteBuffer(string: "{}")
            }
        }
        try await withMappings(functions: ["free": slow(free), "reserved": slow(reserved)], queues: ["a": [:], "b": [:]]) { harness in
            _ = try await harness.registry.putReservedConcurrency(FunctionReference(name: "reserved"), value: 1)
            try await harness.send("a", (0..<10).map { "a\($0)" })
            try await harness.send("b", (0..<4).map { "b\($0)" })
            _ = try await harness.map("a", to: "free") { $0.batchSize = 1 }
            _ = try await harness.map("b", to: "reserved") { $0.batchSize = 1 }
            try await free.wait(records: 10)
            try await reserved.wait(records: 4)
            // Five to start with; 200 ms of backlog earns a sixth (300 a minute), which a slow machine may reach.
            #expect((MappingScaling.initial...MappingScaling.initial + 1).contains(free.running.withLock { $0.peak }))
            #expect(reserved.running.withLock { $0.peak } == 1)
        }
    }

    @Test("a batch that would pass 6 MB is handed over early and the rest waits for the next")
    func payloadLimit() async throws {
        let batches = Batches()
        try await withMappings(functions: ["f": { payload, _ in _ = try batches.record(payload); return ByteBuffer(string: "{}") }],
                               queues: ["q": [:]]) { harness in
            let body = String(repeating: "x", count: 1_000_000)
            try await harness.send("q", (0..<8).map { "\($0)" + body })
            _ = try await harness.map("q", to: "f") { $0.batchSize = 10; $0.maximumBatchingWindowSeconds = 1 }
            try await batches.wait(records: 8)
            #expect(batches.seen.withLock { $0.map(\.count) } == [6, 2])
            try await harness.eventually("all deleted") { try await harness.counts("q") == QueueCounts(visible: 0, inFlight: 0, delayed: 0) }
        }
    }

    @Test("a batch the executor had no room for goes back at once, its receive not counted toward maxReceiveCount")
    func throttledBatches() async throws {
        let batches = Batches()
        try await withMappings(functions: ["f": { payload, _ in
            _ = try batches.record(payload)
            return ByteBuffer(string: "{}")
        }], queues: ["dlq": [:], "q": ["VisibilityTimeout": "300",
                                       "RedrivePolicy": #"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":"1"}"#]],
                               throttles: 3) { harness in
            try await harness.send("q", ["only"])
            _ = try await harness.map("q", to: "f")
            try await batches.wait(records: 1)
            let record = try batches.firstRecord()
            #expect((record["attributes"] as? [String: String])?["ApproximateReceiveCount"] == "1", "three throttles did not count")
            try await harness.eventually("deleted, not redriven") { try await harness.counts("q") == QueueCounts(visible: 0, inFlight: 0, delayed: 0) }
            #expect(try await harness.counts("dlq").visible == 0)
        }
    }

    @Test("a queue whose visibility timeout is shorter than the function's timeout is refused, as Lambda does")
    func visibilityShorterThanTimeout() async throws {
        try await withMappings(functions: ["f": { payload, _ in payload }], queues: ["short": ["VisibilityTimeout": "10"]]) { harness in
            await #expect(throws: SpoolError(.invalidParameterValue, "Queue visibility timeout: 10 seconds is less than Function timeout: 30 seconds")) {
                _ = try await harness.map("short", to: "f")
            }
        }
    }

    @Test("a mapping whose queue and function are gone can still be disabled and deleted")
    func orphanedMapping() async throws {
        try await withMappings(functions: ["f": { payload, _ in payload }], queues: ["gone": [:]]) { harness in
            let mapping = try await harness.map("gone", to: "f")
            try await harness.queues.deleteQueue(name: "gone")
            try await harness.registry.delete(FunctionReference(name: "f"))
            var disable = MappingRequest()
            disable.enabled = false
            #expect(try await harness.mappings.update(mapping.uuid, functionName: nil, request: disable).state == .disabling)
            try await harness.eventually("disabled") { try await harness.mappings.get(mapping.uuid).state == .disabled }
            _ = try await harness.mappings.delete(mapping.uuid)
            try await harness.eventually("removed") { (try? await harness.mappings.get(mapping.uuid)) == nil }
        }
    }

    @Test("a changed visibility timeout applies to the next lease")
    func changedVisibility() async throws {
        let batches = Batches()
        try await withMappings(functions: ["f": { payload, _ in
            let records = try batches.record(payload)
            if records.contains(where: { $0["body"] as? String == "fails" }) { throw CancellationError() }
            return ByteBuffer(string: "{}")
        }], queues: ["q": ["VisibilityTimeout": "300"]]) { harness in
            _ = try await harness.map("q", to: "f")
            // A first batch: the poller is running and has read the queue (and its visibility timeout) before the change.
            try await harness.send("q", ["first"])
            try await batches.wait(records: 1)
            try await harness.eventually("the first batch settled") { harness.supervisor.progress.batches >= 1 }
            try await harness.queues.setAttributes(name: "q", attributes: ["VisibilityTimeout": "40"])
            try await harness.send("q", ["fails"])
            try await batches.wait(records: 2)
            let queue = try await harness.queues.queue(named: "q")
            let now = WallClock().now()
            let visibleAt = try #require(try await harness.store.nextVisibleAt(queueID: queue.id, now: now))
            #expect(visibleAt - now <= 40_000, "leased for \(visibleAt - now) ms")
        }
    }

    @Test("a FIFO mapping keeps every group in order")
    func fifoOrder() async throws {
        let batches = Batches()
        try await withMappings(functions: ["f": { payload, _ in
            _ = try batches.record(payload)
            try await Task.sleep(for: .milliseconds(2))
            return ByteBuffer(string: "{}")
        }], queues: ["q.fifo": ["FifoQueue": "true"]]) { harness in
            for group in ["a", "b", "c"] { try await harness.send("q.fifo", (0..<12).map { "\(group)-\($0)" }, group: group) }
            _ = try await harness.map("q.fifo", to: "f") { $0.batchSize = 3 }
            try await batches.wait(records: 36)
            for group in ["a", "b", "c"] {
                let order = batches.all.filter { $0.hasPrefix(group + "-") }
                #expect(order == (0..<12).map { "\(group)-\($0)" })
            }
        }
    }

    @Test("disabling stops delivery, enabling resumes it, an update applies live, deleting removes the mapping")
    func stateChanges() async throws {
        let batches = Batches()
        try await withMappings(functions: ["f": { payload, _ in _ = try batches.record(payload); return ByteBuffer(string: "{}") }],
                               queues: ["q": [:]]) { harness in
            let mapping = try await harness.map("q", to: "f")
            try await harness.send("q", ["one"])
            try await batches.wait(records: 1)
            var disable = MappingRequest()
            disable.enabled = false
            #expect(try await harness.mappings.update(mapping.uuid, functionName: nil, request: disable).state == .disabling)
            try await harness.eventually("disabled") { try await harness.mappings.get(mapping.uuid).state == .disabled }
            // `Disabled` is reached only once the poller ended: none runs, so nothing can lease what comes next.
            #expect(!harness.supervisor.isPolling(mapping.uuid))
            try await harness.send("q", (0..<6).map { "later\($0)" })
            #expect(try await harness.counts("q") == QueueCounts(visible: 6, inFlight: 0, delayed: 0))
            #expect(batches.all == ["one"], "nothing is delivered while disabled")
            var enable = MappingRequest()
            enable.enabled = true
            enable.batchSize = 2
            #expect(try await harness.mappings.update(mapping.uuid, functionName: nil, request: enable).state == .enabling)
            try await batches.wait(records: 7)
            #expect(batches.seen.withLock { $0.dropFirst().allSatisfy { $0.count <= 2 } }, "the new batch size applies")
            #expect(try await harness.mappings.delete(mapping.uuid).state == .deleting)
            try await harness.eventually("removed") { (try? await harness.mappings.get(mapping.uuid)) == nil }
            #expect(!harness.supervisor.isPolling(mapping.uuid), "a deleted mapping's poller has ended")
            try await harness.send("q", ["after delete"])
            #expect(try await harness.counts("q").visible == 1, "a deleted mapping delivers nothing")
        }
    }
}
