import Foundation
import SpoolEngine
import SpoolModel
import SpoolSQLite
import SpoolTesting
import Testing

@Suite("Queue service")
struct QueueServiceTests {
    func withService(_ body: (QueueService) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spool-engine-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteStore(directory: directory)
        try await body(QueueService(store: store, identity: AWSIdentity()))
    }

    @Test("a signal after the seen generation wakes a waiter, and one before it is not lost")
    func signalsNeverLoseAWakeUp() async throws {
        let signals = QueueSignals()
        let seen = signals.generation(7)
        signals.signal(7)
        // The signal came after `seen` was read: the wait must return at once, not after an hour.
        await signals.wait(7, seen: seen, timeoutMillis: 3_600_000)
        // Whether the waiter registers before or after this signal, it must return.
        let before = signals.generation(7)
        let waiter = Task { await signals.wait(7, seen: before, timeoutMillis: 3_600_000) }
        signals.signal(7)
        await waiter.value
    }

    @Test("closing the signals ends every wait and every later one")
    func closeEndsWaits() async throws {
        let signals = QueueSignals()
        let waiter = Task { await signals.wait(1, seen: signals.generation(1), timeoutMillis: 3_600_000) }
        signals.close()
        await waiter.value
        await signals.wait(2, seen: signals.generation(2), timeoutMillis: 3_600_000)
        #expect(signals.isClosed)
    }

    @Test("a long poll returns the message sent while it waits")
    func longPollWakesOnSend() async throws {
        try await withService { queues in
            let queue = try await queues.createQueue(name: "poll", attributes: [:], tags: [:])
            async let received = queues.receive(queueName: "poll", maxMessages: 10, visibilityTimeout: nil, waitSeconds: 20)
            // Send only once the poller is parked, so the answer proves the send woke it.
            while queues.signals.waiting(queue.id) == 0 { await Task.yield() }
            let started = ContinuousClock.now
            let sent = try await queues.send(queueName: "poll", messages: [OutgoingMessage(body: "hello")])
            let messages = try await received
            #expect(messages.map(\.body) == ["hello"])
            #expect(ContinuousClock.now - started < .seconds(10), "woken by the send, not by the 20 s timeout")
            #expect(messages.first?.messageID == (try sent[0].get()).messageID)
        }
    }

    @Test("a batch keeps valid entries and reports the invalid ones in place")
    func batchOutcomes() async throws {
        try await withService { queues in
            _ = try await queues.createQueue(name: "batch", attributes: [:], tags: [:])
            let results = try await queues.send(queueName: "batch", messages: [
                OutgoingMessage(body: "ok"), OutgoingMessage(body: ""), OutgoingMessage(body: "also ok", delaySeconds: 901),
                OutgoingMessage(body: "fine"),
            ])
            #expect(results.map { (try? $0.get()) != nil } == [true, false, false, true])
            let deleted = try await queues.delete(queueName: "batch", receiptHandles: ["junk"])
            #expect(deleted.first??.code == .receiptHandleIsInvalid)
            let messages = try await queues.receive(queueName: "batch", maxMessages: 10, visibilityTimeout: nil, waitSeconds: 0)
            #expect(messages.map(\.body) == ["ok", "fine"])
        }
    }

    @Test("refuses out-of-range receive parameters before touching the store")
    func receiveValidation() async throws {
        try await withService { queues in
            await #expect(throws: SpoolError.self) { try await queues.receive(queueName: "x", maxMessages: 0, visibilityTimeout: nil, waitSeconds: nil) }
            await #expect(throws: SpoolError.self) { try await queues.receive(queueName: "x", maxMessages: 1, visibilityTimeout: 43_201, waitSeconds: nil) }
            await #expect(throws: SpoolError.self) { try await queues.receive(queueName: "x", maxMessages: 1, visibilityTimeout: nil, waitSeconds: 21) }
            await #expect { try await queues.receive(queueName: "x", maxMessages: 1, visibilityTimeout: nil, waitSeconds: nil) } throws: {
                ($0 as? SpoolError)?.code == .queueDoesNotExist
            }
        }
    }
}
