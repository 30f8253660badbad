import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import SpoolEngine
import SpoolExecutor
import SpoolModel
import SpoolSignals
import SpoolSQLite
import SpoolStorage
import SpoolTesting
import Synchronization
import Testing

@Suite("Asynchronous dispatch, retries and outcomes")
struct AsyncDispatcherTests {
    /// Every invocation a handler saw, in start order, with a stream to wait on.
    final class Journal: Sendable {
        let starts = Mutex<[String]>([])
        let stream: AsyncStream<String>
        let continuation: AsyncStream<String>.Continuation

        init() {
            (stream, continuation) = AsyncStream.makeStream(of: String.self)
        }

        func record(_ name: String) {
            starts.withLock { $0.append(name) }
            continuation.yield(name)
        }

        /// Waits until `count` more invocations started.
        func wait(for count: Int) async {
            var seen = 0
            for await _ in stream {
                seen += 1
                if seen == count { return }
            }
        }
    }

    struct Harness {
        let store: SQLiteStore
        let registry: FunctionRegistry
        let queues: QueueService
        let configs: EventInvokeConfigs
        let dispatcher: AsyncDispatcher
        let intake: AsyncInvocations

        func enqueue(_ function: String, _ payload: String = "{}") async throws -> String {
            let id = UUID().uuidString.lowercased()
            return try await intake.enqueue(.init(function: FunctionReference(name: function), payload: ByteBuffer(string: payload), requestID: id))
                .requestID
        }

        /// Long-polls a queue (woken by the dispatcher's sends) until `count` messages arrived.
        func receive(_ queue: String, count: Int) async throws -> [ReceivedMessage] {
            var messages: [ReceivedMessage] = []
            while messages.count < count {
                let batch = try await queues.receive(queueName: queue, maxMessages: 10, visibilityTimeout: 300, waitSeconds: 20)
                try #require(!batch.isEmpty, "no message arrived in \(queue) within 20 s")
                messages += batch
            }
            return messages
        }

        func record(_ message: ReceivedMessage) throws -> [String: Any] {
            try #require(try JSONSerialization.jsonObject(with: Data(message.body.utf8)) as? [String: Any])
        }
    }

    func withDispatcher(limit: Int = 1000, functions: [String: InProcessExecutor.Handler], reserved: [String: Int] = [:],
                        executor custom: (any FunctionExecutor)? = nil, crashing: [String] = [], timeoutSeconds: Int = 30,
                        leaseMargin: Millis = 60_000, initTimeoutMillis: Millis = 10_000,
                        beforeStart: (Harness) async throws -> Void = { _ in }, afterStop: (Harness) async throws -> Void = { _ in },
                        _ body: (Harness) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spool-async-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteStore(directory: directory)
        let executor = custom ?? InProcessExecutor(handlers: functions)
        let registry = FunctionRegistry(store: store, runner: FunctionRunner(executor: executor, accountLimit: limit, initTimeoutMillis: initTimeoutMillis),
                                        codeRoot: directory + "/functions", identity: AWSIdentity())
        for name in Array(functions.keys) + crashing {
            try await registry.declare(FunctionDefinition(name: name, executor: .inProcess, source: .embedded, timeoutSeconds: timeoutSeconds,
                                                          deadLetterTargetARN: "arn:aws:sqs:us-east-1:000000000000:dlq",
                                                          revisionID: "r", lastModified: 1))
        }
        for (name, value) in reserved { _ = try await registry.putReservedConcurrency(FunctionReference(name: name), value: value) }
        let queues = QueueService(store: store, identity: AWSIdentity())
        for name in ["ok", "failed", "dlq"] { _ = try await queues.createQueue(name: name, attributes: [:], tags: [:]) }
        let configs = EventInvokeConfigs(store: store, registry: registry, queues: queues)
        let settings = AsyncSettings(retryPolicy: AsyncRetryPolicy(functionErrorBase: 20, throttleBase: 10, throttleMax: 100), claimBatch: 4,
                                     leaseMargin: leaseMargin)
        let dispatcher = AsyncDispatcher(store: store, registry: registry, configs: configs, queueSignals: queues.signals,
                                         deliveryWakeups: WakeSignal(), settings: settings)
        let harness = Harness(store: store, registry: registry, queues: queues, configs: configs, dispatcher: dispatcher,
                              intake: AsyncInvocations(store: store, registry: registry, dispatcher: dispatcher, settings: settings))
        for name in Array(functions.keys) + crashing {
            _ = try await configs.put(FunctionReference(name: name), EventInvokeSettings(
                destinationsGiven: true, onSuccess: "arn:aws:sqs:us-east-1:000000000000:ok", onFailure: "arn:aws:sqs:us-east-1:000000000000:failed"))
        }
        try await beforeStart(harness)
        try await withRunning([dispatcher]) { try await body(harness) }
        try await afterStop(harness)
    }

    @Test("every event is delivered once and its success record reaches the on-success queue")
    func delivers() async throws {
        let journal = Journal()
        try await withDispatcher(functions: ["echo": { payload, _ in journal.record("echo"); return payload }]) { harness in
            var ids: Set<String> = []
            for index in 0..<12 { ids.insert(try await harness.enqueue("echo", "{\"n\":\(index)}")) }
            let records = try await harness.receive("ok", count: 12).map(harness.record)
            let contexts = records.compactMap { $0["requestContext"] as? [String: Any] }
            #expect(Set(contexts.compactMap { $0["requestId"] as? String }) == ids)
            #expect(contexts.allSatisfy { $0["condition"] as? String == "Success" && $0["approximateInvokeCount"] as? Int == 1 })
            #expect(records.allSatisfy { ($0["requestPayload"] as? [String: Any])?["n"] != nil })
            #expect(journal.starts.withLock { $0.count } == 12)
        }
    }

    @Test("an event arriving with a slot free is stored claimed and started without a claim transaction; with none free it waits its turn")
    func directHandOff() async throws {
        let executor = ScriptedExecutor(.hold)
        try await withDispatcher(functions: [:], reserved: ["held": 1], executor: executor, crashing: ["held"]) { harness in
            // The dispatcher's first look at the store (releasing old leases) is done once it takes hand-offs.
            try #require(await harness.dispatcher.progress.until(timeout: .seconds(10)) { harness.dispatcher.takesHandOffs })
            let before = try await harness.store.commitCount()
            _ = try await harness.enqueue("held")
            await executor.started(1)
            // One commit stored it, already claimed: no claim transaction before it started.
            #expect(try await harness.store.commitCount() - before == 1)
            // The slot is taken: the next event is stored waiting (not handed over) and runs after the first, through a claim.
            _ = try await harness.enqueue("held")
            #expect(try await harness.store.invocationBacklog(function: "held").count == 2)
            #expect(executor.requests.count == 1)
            executor.release()
            let records = try await harness.receive("ok", count: 2).map(harness.record)
            let contexts = records.compactMap { $0["requestContext"] as? [String: Any] }
            #expect(contexts.allSatisfy { $0["approximateInvokeCount"] as? Int == 1 })
            #expect(executor.requests.count == 2)
        }
    }

    @Test("one busy function does not starve another")
    func fairness() async throws {
        let journal = Journal()
        let slow: InProcessExecutor.Handler = { payload, context in
            journal.record(context.functionName)
            try await Task.sleep(for: .milliseconds(5))
            return payload
        }
        // "a-hot" sorts first, and its 60 events were all stored before the one of "b-cold".
        try await withDispatcher(limit: 2, functions: ["a-hot": slow, "b-cold": slow], beforeStart: { harness in
            for _ in 0..<60 { _ = try await harness.enqueue("a-hot") }
            _ = try await harness.enqueue("b-cold")
        }) { harness in
            _ = try await harness.receive("ok", count: 61)
            let order = journal.starts.withLock { $0 }
            let position = try #require(order.firstIndex(of: "b-cold"))
            // With two slots, the cold event takes the first slot freed after the two hot events that started first.
            #expect(position <= 3, "the cold event started as invocation \(position) of \(order.count), behind the hot backlog")
        }
    }

    @Test("a function that always fails is attempted 1 + MaximumRetryAttempts times, then reaches the on-failure queue, the DLQ and the dead letters")
    func retriesExhausted() async throws {
        let journal = Journal()
        struct Boom: Error {}
        try await withDispatcher(functions: ["bad": { _, _ in journal.record("bad"); throw Boom() }]) { harness in
            _ = try await harness.configs.update(FunctionReference(name: "bad"), EventInvokeSettings(maximumRetryAttempts: 1))
            let id = try await harness.enqueue("bad", "{\"order\":7}")
            let record = try harness.record(try #require(try await harness.receive("failed", count: 1).first))
            let context = try #require(record["requestContext"] as? [String: Any])
            #expect(context["condition"] as? String == "RetriesExhausted" && context["approximateInvokeCount"] as? Int == 2)
            #expect((record["responseContext"] as? [String: Any])?["functionError"] as? String == "Unhandled")
            #expect(journal.starts.withLock { $0.count } == 2)
            let dead = try #require(try await harness.receive("dlq", count: 1).first)
            #expect(dead.body == "{\"order\":7}")
            #expect(dead.attributes["RequestID"]?.stringValue == id && dead.attributes["ErrorCode"]?.stringValue == "200")
            let letters = try await harness.store.deadLetters(DeadLetterFilter(functionName: "bad"), afterID: 0, limit: 10)
            #expect(letters.count == 1 && letters[0].reason == .retriesExhausted && letters[0].attempts == 2 && letters[0].requestID == id)
        }
    }

    @Test("reserved concurrency 0 sends events to failure handling without running them")
    func zeroReserved() async throws {
        let journal = Journal()
        // More than one claim batch (4 here), all waiting before the dispatcher starts: every batch is failed
        // without waiting for another wake-up.
        try await withDispatcher(functions: ["off": { payload, _ in journal.record("off"); return payload }], reserved: ["off": 0],
                                 beforeStart: { harness in for _ in 0..<25 { _ = try await harness.enqueue("off") } }) { harness in
            let records = try await harness.receive("failed", count: 25).map(harness.record)
            #expect(records.count == 25)
            let record = try #require(records.first)
            let context = try #require(record["requestContext"] as? [String: Any])
            #expect(context["condition"] as? String == "ZeroReservedConcurrency" && context["approximateInvokeCount"] as? Int == 0)
            #expect(record["responseContext"] == nil)
            #expect(journal.starts.withLock { $0.isEmpty })
        }
    }

    @Test("an event cut off by a crash runs again when the dispatcher starts, and its record counts both invocations")
    func expiredLease() async throws {
        try await withDispatcher(functions: ["echo": { payload, _ in payload }], beforeStart: { harness in
            _ = try await harness.enqueue("echo", "{\"crash\":1}")
            // A server that claimed the event and then died, holding a ten-minute lease.
            let now = WallClock().now()
            let lost = try await harness.store.claimInvocations(ClaimInvocationsParams(functionName: "echo", limit: 1, leaseUntil: now + 600_000, now: now))
            try #require(lost.count == 1)
        }) { harness in
            let record = try harness.record(try #require(try await harness.receive("ok", count: 1).first))
            let context = try #require(record["requestContext"] as? [String: Any])
            #expect(context["condition"] as? String == "Success" && context["approximateInvokeCount"] as? Int == 2)
        }
    }

    @Test("a deleted function's waiting events become dead letters")
    func deletedFunction() async throws {
        try await withDispatcher(functions: ["gone": { payload, _ in payload }], beforeStart: { harness in
            _ = try await harness.enqueue("gone", "{\"left\":true}")
            try await harness.registry.delete(FunctionReference(name: "gone"))
        }) { harness in
            var letters: [DeadLetter] = []
            for _ in 0..<200 where letters.isEmpty {
                letters = try await harness.store.deadLetters(DeadLetterFilter(functionName: "gone"), afterID: 0, limit: 10)
                if letters.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
            }
            #expect(letters.count == 1 && letters.first?.reason == .functionDeleted && letters.first?.payload == "{\"left\":true}")
        }
    }
}
