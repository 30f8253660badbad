import Foundation
import SpoolModel
@testable import SpoolSQLite
import SpoolStorage
import Testing

@Suite("SQLite backlog counts")
struct SQLiteBacklogTests {
    struct Refused: Error {}

    @Test("counts what is stored when the store opens, then follows committed inserts and deletes only")
    func countsFollowCommits() async throws {
        try await withTemporaryDirectory { directory in
            var store = try SQLiteStore(directory: directory)
            let identity = AWSIdentity()
            let queue = try await store.createQueue(CreateQueueParams(name: "q", attributes: [:], tags: [:], identity: identity, now: 1))
            _ = try await store.sendMessages(SendMessagesParams(queueID: queue.id, messages: (0..<5).map { OutgoingMessage(body: "\($0)") }, now: 1))
            _ = try await store.enqueueInvocations(EnqueueInvocationsParams(invocations: (0..<2).map {
                NewInvocation(requestID: "r\($0)", functionName: "f", qualifier: nil, payload: "{}")
            }, now: 1))
            #expect(try await store.backlog() == Backlog(asyncEvents: 2, queueMessages: 5))

            // A write that fails rolls back alone (its savepoint in the group), and what it inserted never counts.
            await #expect(throws: (any Error).self) {
                try await store.write { db in
                    _ = try SQLiteStore.enqueue(db, NewInvocation(requestID: "gone", functionName: "f", qualifier: nil, payload: "{}"), now: 1, epoch: 0)
                    throw Refused()
                }
            }
            #expect(try await store.backlog() == Backlog(asyncEvents: 2, queueMessages: 5))

            let received = try await store.receiveMessages(ReceiveMessagesParams(queueID: queue.id, maxMessages: 3, visibilityTimeout: 30, identity: identity, now: 2))
            _ = try await store.deleteMessages(DeleteMessagesParams(queueID: queue.id, receipts: received.messages.map(\.receipt), now: 2))
            #expect(try await store.backlog() == Backlog(asyncEvents: 2, queueMessages: 2))

            // Opened again: counted from the rows.
            try store.close()
            store = try SQLiteStore(directory: directory)
            #expect(try await store.backlog() == Backlog(asyncEvents: 2, queueMessages: 2))
            // Retention removes rows in bulk statements: each row still counts.
            #expect(try await store.pruneExpiredMessages(now: 400 * 86_400_000, limit: 100) == 2)
            #expect(try await store.backlog() == Backlog(asyncEvents: 2, queueMessages: 0))
        }
    }
}
