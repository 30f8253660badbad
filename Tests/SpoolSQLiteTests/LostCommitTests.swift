import Foundation
import SpoolModel
import SpoolSQLite
import SpoolStorage
import SpoolTesting
import Testing

/// A power loss or kernel crash may undo the last commits that had no fsync of their own: leases (receives, claims,
/// lane takes). These tests simulate exactly that: a consistent copy of the database taken before the lease (SQLite's
/// backup API) is put back in place of the file after the lease was handed out, as if its commit had never reached the
/// disk; then the store is opened again and the same row is leased anew. The lease handed out before the loss must not
/// match the new one.
@Suite("Fencing across a lost commit (power loss simulated with a restored backup)")
struct LostCommitTests {
    /// A store in `directory`, with a way to lose everything committed after `snapshot()`.
    final class Disk {
        let directory: String
        let backup: String
        var store: SQLiteStore

        init(_ directory: String) throws {
            self.directory = directory
            self.backup = directory + "/before.sqlite"
            self.store = try SQLiteStore(directory: directory)
        }

        /// A consistent copy of the database as it is now.
        func snapshot() throws {
            try SQLiteStore.backup(directory: directory, to: backup)
        }

        /// Stops uncleanly as far as the disk can tell: everything after the snapshot is gone. Then starts again.
        func loseCommitsAndRestart() throws {
            try store.close()
            let file = directory + "/spool.sqlite"
            for path in [file, file + "-wal", file + "-shm"] { try? FileManager.default.removeItem(atPath: path) }
            try FileManager.default.moveItem(atPath: backup, toPath: file)
            store = try SQLiteStore(directory: directory)
        }
    }

    @Test("every opening takes a new, durable generation, and epochs start at its floor")
    func generations() async throws {
        try await withTemporaryDirectory { directory in
            let disk = try Disk(directory)
            let first = disk.store.generation
            try disk.snapshot()
            try disk.loseCommitsAndRestart()
            #expect(disk.store.generation > first, "the restored copy held the first generation; the next opening moves past it")
            #expect(disk.store.epochFloor == disk.store.generation << 32)
            #expect(StoreGeneration.next(after: 5, now: 0) == 6)
            #expect(StoreGeneration.next(after: 5, now: 1_577_836_800_000 + 3_600_000) == 3_600, "at least the seconds since 2020")
        }
    }

    @Test("a receipt handed out before the lost commit deletes nothing and changes no visibility once the message was received again")
    func staleReceipt() async throws {
        try await withTemporaryDirectory { directory in
            let disk = try Disk(directory)
            let identity = AWSIdentity()
            let queue = try await disk.store.createQueue(CreateQueueParams(name: "q", attributes: [:], tags: [:], identity: identity, now: WallClock().now()))
            _ = try await disk.store.sendMessages(SendMessagesParams(queueID: queue.id, messages: [OutgoingMessage(body: "x")], now: WallClock().now()))
            func receive() async throws -> ReceivedMessage {
                try #require(try await disk.store.receiveMessages(ReceiveMessagesParams(
                    queueID: queue.id, maxMessages: 1, visibilityTimeout: 300, identity: identity, now: WallClock().now())).messages.first)
            }
            try disk.snapshot()
            let stale = try await receive()
            try disk.loseCommitsAndRestart()
            let current = try await receive()
            #expect(current.messageID == stale.messageID && current.receiveCount == 1, "the receive was lost: a first receive again")
            #expect(current.receipt.epoch != stale.receipt.epoch)

            let changed = try await disk.store.changeVisibility(ChangeVisibilityParams(
                queueID: queue.id, changes: [.init(receipt: stale.receipt, timeoutSeconds: 0)], now: WallClock().now()))
            #expect(changed == [nil], "the stale receipt answers success, as SQS does on a standard queue")
            #expect(try await disk.store.counts(queueID: queue.id, now: WallClock().now()) == QueueCounts(visible: 0, inFlight: 1, delayed: 0),
                    "and changed nothing: the new holder's lease stands")
            _ = try await disk.store.deleteMessages(DeleteMessagesParams(queueID: queue.id, receipts: [stale.receipt], now: WallClock().now()))
            #expect(try await disk.store.counts(queueID: queue.id, now: WallClock().now()) == QueueCounts(visible: 0, inFlight: 1, delayed: 0),
                    "the stale receipt deleted nothing: the new holder still has the message")
            _ = try await disk.store.deleteMessages(DeleteMessagesParams(queueID: queue.id, receipts: [current.receipt], now: WallClock().now()))
            #expect(try await disk.store.counts(queueID: queue.id, now: WallClock().now()) == QueueCounts(visible: 0, inFlight: 0, delayed: 0))
        }
    }

    @Test("a receipt whose message was not leased again keeps working after an unclean stop")
    func survivingReceipt() async throws {
        try await withTemporaryDirectory { directory in
            let disk = try Disk(directory)
            let identity = AWSIdentity()
            let queue = try await disk.store.createQueue(CreateQueueParams(name: "q", attributes: [:], tags: [:], identity: identity, now: WallClock().now()))
            _ = try await disk.store.sendMessages(SendMessagesParams(queueID: queue.id, messages: [OutgoingMessage(body: "x")], now: WallClock().now()))
            let received = try #require(try await disk.store.receiveMessages(ReceiveMessagesParams(
                queueID: queue.id, maxMessages: 1, visibilityTimeout: 300, identity: identity, now: WallClock().now())).messages.first)
            try disk.snapshot()  // the receive reached the disk this time
            try disk.loseCommitsAndRestart()
            _ = try await disk.store.deleteMessages(DeleteMessagesParams(queueID: queue.id, receipts: [received.receipt], now: WallClock().now()))
            #expect(try await disk.store.counts(queueID: queue.id, now: WallClock().now()) == QueueCounts(visible: 0, inFlight: 0, delayed: 0))
        }
    }

    @Test("an async event's lease from before the lost commit cannot settle the event claimed again")
    func staleInvocationLease() async throws {
        try await withTemporaryDirectory { directory in
            let disk = try Disk(directory)
            let now = WallClock().now()
            _ = try await disk.store.enqueueInvocations(EnqueueInvocationsParams(
                invocations: [NewInvocation(requestID: "r1", functionName: "f", qualifier: nil, payload: "{}")], now: now))
            func claim() async throws -> ClaimedInvocation {
                try #require(try await disk.store.claimInvocations(ClaimInvocationsParams(
                    functionName: "f", limit: 1, leaseUntil: WallClock().now() + 600_000, now: WallClock().now())).first)
            }
            try disk.snapshot()
            let stale = try await claim()
            try disk.loseCommitsAndRestart()
            let current = try await claim()
            #expect(current.requestID == "r1" && current.epoch != stale.epoch)
            let refused = try await disk.store.settleInvocation(SettleInvocationParams(
                id: stale.id, epoch: stale.epoch, transition: .finish, effects: [], now: WallClock().now()))
            #expect(!refused.settled, "the lease from before the loss settles nothing")
            #expect(try await disk.store.invocationBacklog(function: "f").count == 1)
            let settled = try await disk.store.settleInvocation(SettleInvocationParams(
                id: current.id, epoch: current.epoch, transition: .finish, effects: [], now: WallClock().now()))
            #expect(settled.settled)
        }
    }

    @Test("an event handed straight to a function before the lost commit cannot settle one stored again in its place")
    func staleHandOff() async throws {
        try await withTemporaryDirectory { directory in
            let disk = try Disk(directory)
            func handOff(_ requestID: String) async throws -> ClaimedInvocation {
                var event = NewInvocation(requestID: requestID, functionName: "f", qualifier: nil, payload: "{}")
                event.leaseUntil = WallClock().now() + 600_000
                let stored = try await disk.store.enqueueInvocations(EnqueueInvocationsParams(invocations: [event], now: WallClock().now()))
                return try #require(stored.first?.claimed)
            }
            try disk.snapshot()
            let lost = try await handOff("lost")
            try disk.loseCommitsAndRestart()
            // In `normal` durability the lost event's row id is free again: the next event may take it.
            let next = try await handOff("next")
            #expect(next.epoch != lost.epoch)
            let refused = try await disk.store.settleInvocation(SettleInvocationParams(
                id: lost.id, epoch: lost.epoch, transition: .finish, effects: [], now: WallClock().now()))
            #expect(!refused.settled)
        }
    }

    @Test("a stream lane started before the lost commit cannot move the checkpoint of the lane started after it")
    func staleLane() async throws {
        try await withTemporaryDirectory { directory in
            let disk = try Disk(directory)
            let stream = try await disk.store.createStream(CreateStreamParams(name: "s", shardCount: 1, mode: "PROVISIONED", now: 0))
            _ = try await disk.store.putRecords(PutRecordsParams(streamID: stream.id, records: [
                NewStreamRecord(shardIndex: 0, partitionKey: "k", data: Data("a".utf8)),
                NewStreamRecord(shardIndex: 0, partitionKey: "k", data: Data("b".utf8)),
            ], now: 10))
            _ = try await disk.store.createMapping(EventSourceMapping(
                uuid: "m", functionName: "f", functionQualifier: nil, sourceARN: "arn:aws:kinesis:us-east-1:000000000000:stream/s",
                state: .enabled, stateTransitionReason: "User action",
                settings: MappingSettings(batchSize: 100, stream: StreamMappingSettings(startingPosition: .trimHorizon)), enabled: true, lastModified: 1))
            try disk.snapshot()
            let stale = try #require(try await disk.store.takeCheckpoints(mappingUUID: "m").first)
            try disk.loseCommitsAndRestart()
            let current = try #require(try await disk.store.takeCheckpoints(mappingUUID: "m").first)
            #expect(current.position == stale.position && current.epoch != stale.epoch)
            let refused = try await disk.store.settleStreamBatch(SettleStreamBatchParams(
                mappingUUID: "m", shardIndex: 0, lane: 0, expectedPosition: stale.position, expectedEpoch: stale.epoch, newPosition: 1,
                result: nil, now: 20))
            #expect(!refused.settled, "the old lane moves nothing")
            let settled = try await disk.store.settleStreamBatch(SettleStreamBatchParams(
                mappingUUID: "m", shardIndex: 0, lane: 0, expectedPosition: current.position, expectedEpoch: current.epoch, newPosition: 0,
                result: nil, now: 20))
            #expect(settled.settled)
            #expect(try await disk.store.checkpoints(mappingUUID: "m").first?.position == 0)
        }
    }
}
