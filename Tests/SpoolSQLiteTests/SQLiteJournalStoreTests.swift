import Foundation
import SpoolEngine
import SpoolModel
import SpoolSQLite
import SpoolStorage
import Testing

@Suite("SQLite invocation journal and overview")
struct SQLiteJournalStoreTests {
    static func withStore(_ body: (SQLiteStore) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spool-journal-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await body(try SQLiteStore(directory: directory))
    }

    static func entry(_ function: String, _ request: String, at: Millis, outcome: JournalEntry.Outcome = .success, duration: Double = 10) -> JournalEntry {
        JournalEntry(functionName: function, requestID: request, origin: .async, batchSize: 3, outcome: outcome, errorType: outcome == .error ? "E" : nil,
                     startedAt: at, durationMs: duration, initDurationMs: nil, maxMemoryUsedMB: 20, log: "START \(request)\nEND\n")
    }

    @Test("pages newest first, follows oldest first after an id, filters by function and request id, and leaves logs out on request")
    func pages() async throws {
        try await Self.withStore { store in
            try await store.appendInvocationRecords((1...5).map { Self.entry($0.isMultiple(of: 2) ? "even" : "odd", "r\($0)", at: Millis($0) * 1_000) })
            let newest = try await store.invocationRecords(JournalQuery(limit: 2, includeLog: true))
            #expect(newest.map(\.requestID) == ["r5", "r4"])
            #expect(newest[0].log == "START r5\nEND\n" && newest[0].batchSize == 3 && newest[0].maxMemoryUsedMB == 20)
            let older = try await store.invocationRecords(JournalQuery(beforeID: newest[1].id, limit: 10, includeLog: false))
            #expect(older.map(\.requestID) == ["r3", "r2", "r1"] && older.allSatisfy { $0.log == nil })
            let following = try await store.invocationRecords(JournalQuery(functionName: "odd", afterID: newest[1].id - 3, limit: 10, includeLog: false))
            #expect(following.map(\.requestID) == ["r3", "r5"])
            #expect(try await store.invocationRecords(JournalQuery(requestID: "r2", limit: 10, includeLog: true)).map(\.functionName) == ["even"])
        }
    }

    @Test("activity counts invocations, errors, throttles and durations per function and bucket")
    func activity() async throws {
        try await Self.withStore { store in
            try await store.appendInvocationRecords([
                Self.entry("a", "1", at: 60_000), Self.entry("a", "2", at: 61_000, outcome: .error, duration: 30),
                Self.entry("a", "3", at: 119_000, outcome: .timeout), Self.entry("b", "4", at: 125_000, outcome: .throttled, duration: 0),
                Self.entry("a", "old", at: 1_000),
            ])
            let buckets = try await store.invocationActivity(since: 60_000, bucketMs: 60_000)
            #expect(buckets == [
                ActivityBucket(start: 60_000, functionName: "a", invocations: 3, errors: 2, throttles: 0, totalDurationMs: 50),
                ActivityBucket(start: 120_000, functionName: "b", invocations: 1, errors: 0, throttles: 1, totalDurationMs: 0),
            ])
        }
    }

    @Test("the retention sweep deletes journal records older than logs.retentionHours, and only those")
    func retention() async throws {
        try await Self.withStore { store in
            let now = WallClock().now()
            try await store.appendInvocationRecords([Self.entry("f", "ancient", at: now - 3 * 3_600_000), Self.entry("f", "recent", at: now - 60_000)])
            await RetentionSweeper(store: store, batchSize: 1, journalRetention: 3_600_000).sweep()
            #expect(try await store.invocationRecords(JournalQuery(limit: 10, includeLog: false)).map(\.requestID) == ["recent"])
            await RetentionSweeper(store: store, batchSize: 1, journalRetention: nil).sweep()
            #expect(try await store.invocationRecords(JournalQuery(limit: 10, includeLog: false)).count == 1)
        }
    }

    @Test("the retention sweep keeps at most logs.maxRecords, deleting the oldest")
    func recordLimit() async throws {
        try await Self.withStore { store in
            let now = WallClock().now()
            try await store.appendInvocationRecords((1...7).map { Self.entry("f", "r\($0)", at: now - Millis(10 - $0) * 1_000) })
            await RetentionSweeper(store: store, batchSize: 2, journalLimit: 3).sweep()
            #expect(try await store.invocationRecords(JournalQuery(limit: 10, includeLog: false)).map(\.requestID) == ["r7", "r6", "r5"])
        }
    }

    @Test("the activity tracker counts per minute and function, forgets what left the hour, and takes a seed")
    func tracker() {
        let tracker = ActivityTracker()
        tracker.seed([ActivityBucket(start: 0, functionName: "a", invocations: 5, errors: 1, throttles: 0, totalDurationMs: 50)])
        tracker.record("a", at: 61_000, outcome: .error, durationMs: 4)
        tracker.record("a", at: 62_000, outcome: .success, durationMs: 6)
        tracker.record("b", at: 70_000, outcome: .throttled, durationMs: 0)
        #expect(tracker.activity(since: 0).map(\.invocations) == [5, 2, 1])
        #expect(tracker.activity(since: 60_000) == [
            ActivityBucket(start: 60_000, functionName: "a", invocations: 2, errors: 1, throttles: 0, totalDurationMs: 10),
            ActivityBucket(start: 60_000, functionName: "b", invocations: 1, errors: 0, throttles: 1, totalDurationMs: 0),
        ])
        tracker.record("a", at: 3_700_000, outcome: .success, durationMs: 1)
        #expect(tracker.activity(since: 0).map(\.start) == [3_660_000])
    }

    @Test("queue depths count visible, in-flight and delayed messages and the oldest send, for every live queue")
    func queueDepths() async throws {
        try await Self.withStore { store in
            let queues = QueueService(store: store, identity: AWSIdentity(accountID: "000000000000", region: "us-east-1"))
            _ = try await queues.createQueue(name: "busy", attributes: [:], tags: [:])
            _ = try await queues.createQueue(name: "idle", attributes: [:], tags: [:])
            _ = try await queues.send(queueName: "busy", messages: (0..<4).map { n in
                OutgoingMessage(body: "m\(n)", delaySeconds: n == 3 ? 900 : nil)
            })
            _ = try await queues.receive(queueName: "busy", maxMessages: 1, visibilityTimeout: 300, waitSeconds: 0)
            let depths = try await store.queueDepths(now: WallClock().now())
            #expect(depths.map(\.queueName) == ["busy", "idle"])
            #expect(depths[0].visible == 2 && depths[0].inFlight == 1 && depths[0].delayed == 1 && depths[0].oldestSentAt != nil)
            #expect(depths[1].visible == 0 && depths[1].oldestSentAt == nil)
        }
    }

    @Test("stream depths count each shard's records from the ends of its index, with the oldest and newest arrival")
    func streamDepths() async throws {
        try await Self.withStore { store in
            let streams = StreamService(store: store, identity: AWSIdentity())
            try await streams.createStream(name: "busy", shardCount: 2, mode: nil)
            try await streams.createStream(name: "quiet", shardCount: 1, mode: nil)
            try await streams.createStream(name: "gone", shardCount: 1, mode: nil)
            let busy = try await streams.stream(name: "busy", arn: nil)
            let before = WallClock().now()
            _ = try await streams.put((0..<9).map { StreamService.Entry(data: Data("r\($0)".utf8), partitionKey: "key-\($0)", explicitHashKey: nil) }, into: busy, field: "Records")
            let gone = try await streams.stream(name: "gone", arn: nil)
            _ = try await streams.put([StreamService.Entry(data: Data("x".utf8), partitionKey: "k", explicitHashKey: nil)], into: gone, field: "Records")
            try await streams.deleteStream(name: "gone", arn: nil)
            let depths = try await store.streamDepths()
            #expect(depths.map(\.streamName) == ["busy", "quiet"])
            #expect(depths[0].records == 9 && depths[0].shardCount == 2)
            #expect((depths[0].oldestArrival ?? 0) >= before && depths[0].newestArrival != nil)
            #expect(depths[1].records == 0 && depths[1].oldestArrival == nil)
        }
    }

    @Test("minute points fill the hour with zeros and average durations across functions")
    func points() {
        let points = Operations.points([
            ActivityBucket(start: 120_000, functionName: "a", invocations: 1, errors: 0, throttles: 0, totalDurationMs: 10),
            ActivityBucket(start: 120_000, functionName: "b", invocations: 3, errors: 1, throttles: 1, totalDurationMs: 50),
        ], from: 0, to: 180_000)
        #expect(points.map(\.start) == [60_000, 120_000, 180_000])
        #expect(points[1].invocations == 4 && points[1].errors == 1 && points[1].throttles == 1 && points[1].averageDurationMs == 15)
        #expect(points[0].invocations == 0 && points[2].invocations == 0)
    }
}
