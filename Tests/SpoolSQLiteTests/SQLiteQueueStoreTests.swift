import Foundation
import GRDB
import SpoolModel
import SpoolSQLite
import SpoolStorage
import SpoolTesting
import Testing

/// A fresh data directory per test, removed afterwards.
func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("spool-test-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

@Suite("SQLite queue store")
struct SQLiteQueueStoreTests {
    @Test("keeps every QueueStore promise", arguments: QueueStoreConformance.checks)
    func conformance(_ check: QueueStoreConformance.Check) async throws {
        try await withTemporaryDirectory { directory in
            let store = try SQLiteStore(directory: directory)
            try await check.run(on: store)
        }
    }

    @Test("runs in WAL mode with the writer at synchronous=FULL by default and NORMAL when asked")
    func durabilityPragma() async throws {
        try await withTemporaryDirectory { directory in
            let full = try SQLiteStore(directory: directory + "/full")
            #expect(try await full.writerSynchronousLevel() == 2)
            #expect(try await full.journalMode() == "wal")
            let normal = try SQLiteStore(directory: directory + "/normal", durability: .normal)
            #expect(try await normal.writerSynchronousLevel() == 1)
        }
    }

    @Test("commits a lease-only group without its own fsync and goes back to FULL for the next durable write")
    func leasesSkipTheFsync() async throws {
        try await withTemporaryDirectory { directory in
            let full = try SQLiteStore(directory: directory + "/full")
            #expect(try await full.writerSynchronousLevel(durable: false) == 1)
            #expect(try await full.writerSynchronousLevel() == 2)
            // A durable write is never relaxed, whatever leases share its group.
            for _ in 0..<20 {
                async let lease = full.writerSynchronousLevel(durable: false)
                async let durable = full.writerSynchronousLevel()
                #expect(try await durable == 2)
                _ = try await lease
            }
            #expect(try await full.writerSynchronousLevel() == 2)
            let normal = try SQLiteStore(directory: directory + "/normal", durability: .normal)
            #expect(try await normal.writerSynchronousLevel(durable: false) == 1)
        }
    }

    @Test("serves the standard claim from the claim index")
    func claimUsesIndex() async throws {
        try await withTemporaryDirectory { directory in
            let store = try SQLiteStore(directory: directory)
            let plan = try await store.standardClaimPlan()
            #expect(plan.contains { $0.contains("USING INDEX queue_message_claim (queue_id=? AND visible_at<?)") }, "\(plan)")
            #expect(!plan.contains { $0.contains("TEMP B-TREE") }, "the index already orders the claim: \(plan)")
        }
    }

    @Test("applies every migration file in Migrations/SQLite, in order")
    func migrationsMatchFiles() async throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Migrations/SQLite").standardized
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".sql") }.sorted()
        try await withTemporaryDirectory { directory in
            let store = try SQLiteStore(directory: directory)
            #expect(try await store.appliedMigrations() == files.map { String($0.dropLast(4)) })
        }
    }

    @Test("0014 keeps the deduplication entries recorded before it: scope queue by id, messageGroup by id and group")
    func deduplicationEntriesSurviveTheirMigration() async throws {
        try await withTemporaryDirectory { directory in
            var store = try SQLiteStore(directory: directory)
            let identity = AWSIdentity()
            let byQueue = try await store.createQueue(CreateQueueParams(name: "q.fifo", attributes: ["FifoQueue": "true"], tags: [:], identity: identity, now: 1))
            let byGroup = try await store.createQueue(CreateQueueParams(
                name: "g.fifo", attributes: ["FifoQueue": "true", "DeduplicationScope": "messageGroup"], tags: [:], identity: identity, now: 1))
            try store.close()
            // The table and keys as 0001 made them: the id alone under scope queue, `group U+001F id` under messageGroup.
            let database = try DatabaseQueue(path: directory + "/spool.sqlite")
            try await database.write { db in
                try db.execute(sql: """
                    DROP TABLE queue_dedup;
                    CREATE TABLE queue_dedup (queue_id INTEGER NOT NULL REFERENCES queue(id) ON DELETE CASCADE, dedup_key TEXT NOT NULL,
                        message_id TEXT NOT NULL, sequence_number INTEGER NOT NULL, expires_at INTEGER NOT NULL,
                        PRIMARY KEY (queue_id, dedup_key)) STRICT, WITHOUT ROWID;
                    DELETE FROM grdb_migrations WHERE identifier = '0014_dedup_scope';
                    """)
                try db.execute(sql: "INSERT INTO queue_dedup VALUES (?, 'd', 'old-q', 7, 1000000), (?, 'g' || char(31) || 'd', 'old-g', 8, 1000000)",
                               arguments: [byQueue.id, byGroup.id])
            }
            try database.close()
            store = try SQLiteStore(directory: directory)
            func send(_ queue: QueueRecord, group: String) async throws -> String {
                try await store.sendMessages(SendMessagesParams(
                    queueID: queue.id, messages: [OutgoingMessage(body: "x", groupID: group, deduplicationID: "d")], now: 2))[0].messageID
            }
            #expect(try await send(byQueue, group: "other") == "old-q", "scope queue: the id recorded before is a duplicate in any group")
            #expect(try await send(byGroup, group: "g") == "old-g", "scope messageGroup: same group and id")
            #expect(try await send(byGroup, group: "h") != "old-g", "scope messageGroup: another group may send the id")
        }
    }

    @Test("refuses a database that a newer Spool migrated")
    func refusesNewerDatabase() async throws {
        try await withTemporaryDirectory { directory in
            let store = try SQLiteStore(directory: directory)
            try store.close()
            let queue = try DatabaseQueue(path: directory + "/spool.sqlite")
            try await queue.write { db in try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('9999_future')") }
            try queue.close()
            #expect {
                _ = try SQLiteStore(directory: directory)
            } throws: { error in
                String(describing: error).contains("newer version of Spool") && String(describing: error).contains("9999_future")
            }
        }
    }

    @Test("commits concurrent writes in fewer transactions than writes")
    func groupCommit() async throws {
        try await withTemporaryDirectory { directory in
            let store = try SQLiteStore(directory: directory)
            let queue = try await store.createQueue(CreateQueueParams(name: "gc", attributes: [:], tags: [:], identity: AWSIdentity(), now: 1))
            let before = try await store.commitCount()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<400 {
                    group.addTask {
                        _ = try await store.sendMessages(SendMessagesParams(queueID: queue.id, messages: [OutgoingMessage(body: "m\(i)")], now: 2))
                    }
                }
                try await group.waitForAll()
            }
            let commits = try await store.commitCount() - before
            #expect(try await store.counts(queueID: queue.id, now: 3).visible == 400)
            #expect(commits < 400, "400 writes took \(commits) commits")
        }
    }
}
