import Foundation
import SpoolModel
import SpoolPostgres
import SpoolStorage
import Synchronization
import Testing

/// Two stores opened on one database are two Spool nodes: what one accepts, the other serves, and concurrent
/// receivers on both never share a message or break a FIFO group's order.
/// Two stores on one new database, as nodes `node-a` and `node-b`, closed after `body` however it ends.
func withTwoNodes(_ body: (PostgresStore, PostgresStore) async throws -> Void) async throws {
    try await withTestDatabase { url in
        let a = try await PostgresStore.open(url: url, nodeID: "node-a")
        let b = try await PostgresStore.open(url: url, nodeID: "node-b")
        do {
            try await body(a, b)
        } catch {
            await a.close()
            await b.close()
            throw error
        }
        await a.close()
        await b.close()
    }
}

/// Shared state of concurrent test workers.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func withLock<T: Sendable>(_ body: (inout Value) -> T) -> T { mutex.withLock { body(&$0) } }
}

@Suite("PostgreSQL queues across nodes", .serialized)
struct PostgresClusterQueueTests {
    let identity = AWSIdentity()
    let now: Millis = 1_700_000_000_000

    @Test("receivers on two nodes take every message exactly once, and a receipt from one node deletes through the other")
    func standardAcrossNodes() async throws {
        try await withTwoNodes { a, b in
            let queue = try await a.createQueue(CreateQueueParams(name: "shared", attributes: [:], tags: [:], identity: identity, now: now))
            #expect(try await b.queue(named: "shared")?.id == queue.id, "the queue created on A is seen on B")
            let total = 600
            for chunk in stride(from: 0, to: total, by: 10) {
                let node = chunk % 20 == 0 ? a : b
                _ = try await node.sendMessages(SendMessagesParams(
                    queueID: queue.id, messages: (chunk..<chunk + 10).map { OutgoingMessage(body: "m\($0)") }, now: now
                ))
            }
            let received = Locked<[String: Int]>([:])
            let identity = self.identity, now = self.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<12 {
                    let node = worker.isMultiple(of: 2) ? a : b
                    let other = worker.isMultiple(of: 2) ? b : a
                    group.addTask {
                        while true {
                            let batch = try await node.receiveMessages(ReceiveMessagesParams(
                                queueID: queue.id, maxMessages: 10, visibilityTimeout: 300, identity: identity, now: now
                            )).messages
                            if batch.isEmpty { return }
                            received.withLock { seen in for message in batch { seen[message.body, default: 0] += 1 } }
                            // The receipts were issued by one node; the other deletes with them.
                            let results = try await other.deleteMessages(DeleteMessagesParams(queueID: queue.id, receipts: batch.map(\.receipt), now: now))
                            #expect(results.allSatisfy { $0 == nil })
                        }
                    }
                }
                try await group.waitForAll()
            }
            let seen = received.withLock { $0 }
            #expect(seen.count == total, "every message received")
            #expect(seen.values.allSatisfy { $0 == 1 }, "no message received twice while its lease held")
            #expect(try await a.counts(queueID: queue.id, now: now + 600_000) == QueueCounts(visible: 0, inFlight: 0, delayed: 0), "every delete landed")
        }
    }

    @Test("a FIFO queue served by two nodes hands out each group in order, one batch of a group at a time")
    func fifoAcrossNodes() async throws {
        try await withTwoNodes { a, b in
            let queue = try await a.createQueue(CreateQueueParams(
                name: "orders.fifo", attributes: ["FifoQueue": "true", "ContentBasedDeduplication": "true"], tags: [:], identity: identity, now: now
            ))
            let groups = ["g1", "g2", "g3", "g4"]
            let perGroup = 40
            let now = self.now
            // Sends from both nodes at once; each group's sends come from one sender in order.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, name) in groups.enumerated() {
                    let node = index.isMultiple(of: 2) ? a : b
                    group.addTask {
                        for n in 0..<perGroup {
                            _ = try await node.sendMessages(SendMessagesParams(
                                queueID: queue.id, messages: [OutgoingMessage(body: "\(name)-\(n)", groupID: name)], now: now
                            ))
                        }
                    }
                }
                try await group.waitForAll()
            }
            // A duplicate sent through the other node is dropped.
            let first = try await b.sendMessages(SendMessagesParams(queueID: queue.id, messages: [OutgoingMessage(body: "g1-0", groupID: "g1")], now: now))
            #expect(first.first?.sequenceNumber != nil)
            let inFlight = Locked<Set<String>>([])
            let identity = self.identity
            let delivered = Locked<[String: [Int]]>([:])
            let violations = Locked<[String]>([])
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<8 {
                    let node = worker.isMultiple(of: 2) ? a : b
                    group.addTask {
                        var idle = 0
                        while idle < 3 {
                            let batch = try await node.receiveMessages(ReceiveMessagesParams(
                                queueID: queue.id, maxMessages: 3, visibilityTimeout: 300, identity: identity, now: now
                            )).messages
                            if batch.isEmpty { idle += 1; try await Task.sleep(for: .milliseconds(5)); continue }
                            idle = 0
                            let batchGroups = Set(batch.compactMap(\.groupID))
                            inFlight.withLock { held in
                                for name in batchGroups where held.contains(name) { violations.withLock { $0.append("\(name) received while in flight") } }
                                held.formUnion(batchGroups)
                            }
                            delivered.withLock { order in
                                for message in batch {
                                    let parts = message.body.split(separator: "-")
                                    order[String(parts[0]), default: []].append(Int(parts[1])!)
                                }
                            }
                            inFlight.withLock { $0.subtract(batchGroups) }
                            _ = try await (worker.isMultiple(of: 3) ? a : b).deleteMessages(
                                DeleteMessagesParams(queueID: queue.id, receipts: batch.map(\.receipt), now: now)
                            )
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(violations.withLock { $0 }.isEmpty)
            let order = delivered.withLock { $0 }
            for name in groups {
                #expect(order[name] == Array(0..<perGroup), "group \(name) in order, each message once")
            }
        }
    }
}
