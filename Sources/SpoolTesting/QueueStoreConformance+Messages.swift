import SpoolModel
import SpoolStorage

extension QueueStoreConformance {
    static let messageChecks: [Check] = [
        check("does not redeliver before the lease expires, and does after") { f in
            let queue = try await f.create("lease")
            try await f.send(queue, ["one"])
            let first = try await f.receive(queue, visibility: 10)
            try require(first.count == 1 && first[0].receiveCount == 1, "first receive leases the message")
            f.clock.advance(by: 9_999)
            try require(try await f.receive(queue).isEmpty, "still leased")
            f.clock.advance(by: 1)
            let second = try await f.receive(queue)
            try require(second.first?.messageID == first[0].messageID, "redelivered after the lease")
            try require(second[0].receiveCount == 2 && second[0].receipt.epoch > first[0].receipt.epoch, "count and epoch grow")
            try require(second[0].firstReceivedAt == first[0].firstReceivedAt, "first receive time is kept")
        },
        check("a stale receipt never deletes a message received again since") { f in
            let queue = try await f.create("stale")
            try await f.send(queue, ["x"])
            let old = try await f.receive(queue, visibility: 0)[0]
            let current = try await f.receive(queue, visibility: 30)[0]
            try await f.delete(queue, [old.receipt])
            try require(try await f.counts(queue).inFlight == 1, "stale delete removed nothing")
            try await f.delete(queue, [current.receipt])
            try require(try await f.counts(queue) == QueueCounts(visible: 0, inFlight: 0, delayed: 0), "current receipt deletes")
        },
        check("a released message is visible at once, its receive uncounted, and a stale release changes nothing") { f in
            let queue = try await f.create("release")
            try await f.send(queue, ["x"])
            let first = try await f.receive(queue, visibility: 300)[0]
            try await f.store.releaseMessages(DeleteMessagesParams(queueID: queue.id, receipts: [first.receipt], now: f.clock.now()))
            let again = try await f.receive(queue, visibility: 300)
            try require(again.count == 1 && again[0].receiveCount == 1, "released and received again as a first receive: \(again)")
            try await f.store.releaseMessages(DeleteMessagesParams(queueID: queue.id, receipts: [first.receipt], now: f.clock.now()))
            try require(try await f.counts(queue).inFlight == 1, "the stale receipt released nothing")
        },
        check("counts split visible, in flight and delayed") { f in
            let queue = try await f.create("counts")
            try await f.send(queue, ["a", "b"])
            try await f.send(queue, ["c"], delay: 60)
            _ = try await f.receive(queue, max: 1)
            try require(try await f.counts(queue) == QueueCounts(visible: 1, inFlight: 1, delayed: 1), "counts")
            let next = try await f.store.nextVisibleAt(queueID: queue.id, now: f.clock.now())
            try require(next == f.clock.now() + 30_000, "the next visible time is the lease end: \(String(describing: next))")
        },
        check("change visibility extends or ends a lease; a stale receipt changes nothing; FIFO refuses an expired one") { f in
            let queue = try await f.create("visibility")
            try await f.send(queue, ["x"])
            let message = try await f.receive(queue)[0]
            func change(_ receipt: ReceiptHandle, _ seconds: Int, on queue: QueueRecord) async throws -> [SpoolError?] {
                try await f.store.changeVisibility(ChangeVisibilityParams(queueID: queue.id, changes: [.init(receipt: receipt, timeoutSeconds: seconds)], now: f.clock.now()))
            }
            try require(try await change(message.receipt, 0, on: queue) == [nil], "change accepted")
            // Its visibility ran out and nobody received it again: the receipt still holds, as on SQS.
            try require(try await change(message.receipt, 10, on: queue) == [nil], "an expired but not re-received receipt changes visibility")
            try require(try await f.counts(queue).inFlight == 1, "in flight again")
            try require(try await change(message.receipt, 0, on: queue) == [nil], "and ends it")
            let again = try await f.receive(queue)[0]
            try require(again.messageID == message.messageID, "same message")
            // Received again: the earlier receipt answers success and changes nothing of the new holder's lease.
            try require(try await change(message.receipt, 0, on: queue) == [nil], "a stale receipt answers success on a standard queue")
            try require(try await f.counts(queue).inFlight == 1, "the new holder's lease is untouched")
            let fifo = try await f.create("visibility.fifo", ["FifoQueue": "true"])
            try await f.send(fifo, ["y"], group: "g")
            let held = try await f.receive(fifo, visibility: 1)[0]
            f.clock.advance(by: 1_001)
            try require(try await change(held.receipt, 10, on: fifo).first??.code == .invalidParameterValue, "FIFO: an expired receipt is refused")
        },
        check("messages past retention are neither received nor kept") { f in
            let queue = try await f.create("retention", ["MessageRetentionPeriod": "60"])
            try await f.send(queue, ["old"])
            f.clock.advance(by: 30_000)
            try await f.send(queue, ["young"])
            f.clock.advance(by: 30_000)
            let got = try await f.receive(queue)
            try require(got.map(\.body) == ["young"], "expired message not received: \(got.map(\.body))")
            let removed = try await f.store.pruneExpiredMessages(now: f.clock.now(), limit: 100)
            try require(removed == 1, "prune removed the expired message: \(removed)")
        },
        check("concurrent sends are all committed") { f in
            let queue = try await f.create("concurrent")
            let store = f.store
            let now = f.clock.now()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<200 {
                    group.addTask {
                        _ = try await store.sendMessages(SendMessagesParams(queueID: queue.id, messages: [OutgoingMessage(body: "m\(i)")], now: now))
                    }
                }
                try await group.waitForAll()
            }
            try require(try await f.counts(queue).visible == 200, "all 200 messages stored")
        },
        check("one failing write does not undo the others committed with it") { f in
            let queue = try await f.create("isolation")
            let store = f.store
            let now = f.clock.now()
            let outcomes = await withTaskGroup(of: Bool.self) { group in
                for i in 0..<50 {
                    group.addTask {
                        // Odd writes target a missing queue and fail.
                        let id = i % 2 == 0 ? queue.id : 987_654
                        return (try? await store.sendMessages(SendMessagesParams(queueID: id, messages: [OutgoingMessage(body: "m\(i)")], now: now))) != nil
                    }
                }
                return await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            try require(outcomes.filter { $0 }.count == 25, "25 writes succeed")
            try require(try await f.counts(queue).visible == 25, "their messages are stored")
        },
    ]
}
