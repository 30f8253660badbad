import SpoolModel
import SpoolStorage

extension QueueStoreConformance {
    static let fifoChecks: [Check] = [
        check("a FIFO group's next message waits for the one in flight") { f in
            let queue = try await f.create("order.fifo", ["FifoQueue": "true"])
            try await f.send(queue, ["a1", "a2"], group: "a")
            try await f.send(queue, ["b1"], group: "b")
            let first = try await f.receive(queue, max: 1)
            try require(first.map(\.body) == ["a1"], "oldest first: \(first.map(\.body))")
            let second = try await f.receive(queue)
            try require(second.map(\.body) == ["b1"], "group a is locked: \(second.map(\.body))")
            try await f.delete(queue, [first[0].receipt])
            let third = try await f.receive(queue)
            try require(third.map(\.body) == ["a2"], "group a released: \(third.map(\.body))")
        },
        check("one receive may return several messages of a group, in order") { f in
            let queue = try await f.create("batch.fifo", ["FifoQueue": "true"])
            try await f.send(queue, ["1", "2", "3"], group: "g")
            let got = try await f.receive(queue)
            try require(got.map(\.body) == ["1", "2", "3"], "in order: \(got.map(\.body))")
            let numbers = got.compactMap(\.sequenceNumber)
            try require(numbers.count == 3 && numbers == numbers.sorted() && numbers.allSatisfy { $0.count == 20 }, "sequence numbers: \(numbers)")
        },
        check("deduplication holds for five minutes") { f in
            let queue = try await f.create("dedup.fifo", ["FifoQueue": "true"])
            let one = try await f.send(queue, ["x"], group: "g", dedup: "d")
            f.clock.advance(by: 299_999)
            let two = try await f.send(queue, ["y"], group: "g", dedup: "d")
            try require(one == two, "duplicate inside the window returns the first id")
            f.clock.advance(by: 1)
            let three = try await f.send(queue, ["z"], group: "g", dedup: "d")
            try require(three[0].messageID != one[0].messageID, "after the window the id is new")
            try require(try await f.counts(queue).visible == 2, "two messages stored")
        },
        check("a change of DeduplicationScope applies to the deduplication ids already recorded") { f in
            let queue = try await f.create("scope.fifo", ["FifoQueue": "true", "DeduplicationScope": "queue"])
            func scope(_ value: String) async throws {
                _ = try await f.store.setQueueAttributes(SetQueueAttributesParams(
                    name: "scope.fifo", attributes: ["DeduplicationScope": value], identity: f.identity, now: f.clock.now()))
            }
            let first = try await f.send(queue, ["a"], group: "g1", dedup: "d")
            let otherGroup = try await f.send(queue, ["b"], group: "g2", dedup: "d")
            try require(otherGroup == first, "scope queue: the id is a duplicate in any group")
            try await scope("messageGroup")
            let g2 = try await f.send(queue, ["c"], group: "g2", dedup: "d")
            try require(g2[0].messageID != first[0].messageID, "scope messageGroup: g2 has not sent d")
            let g1 = try await f.send(queue, ["e"], group: "g1", dedup: "d")
            try require(g1 == first, "scope messageGroup: g1 sent d before the change, still a duplicate")
            try await scope("queue")
            let g3 = try await f.send(queue, ["f"], group: "g3", dedup: "d")
            try require(g3 == first, "scope queue again: the earliest message with the id answers")
            try require(try await f.counts(queue).visible == 2, "two messages stored")
        },
        check("a receive returns one group's messages together, in order, before the next group") { f in
            let queue = try await f.create("grouped.fifo", ["FifoQueue": "true"])
            try await f.send(queue, ["g1-m1"], group: "g1")
            try await f.send(queue, ["g2-m1"], group: "g2")
            try await f.send(queue, ["g1-m2", "g1-m3"], group: "g1")
            let got = try await f.receive(queue)
            try require(got.map(\.body) == ["g1-m1", "g1-m2", "g1-m3", "g2-m1"], "grouped: \(got.map(\.body))")
            try await f.send(queue, ["g3-m1"], group: "g3")
            try await f.send(queue, ["g4-m1", "g4-m2"], group: "g4")
            let limited = try await f.receive(queue, max: 2)
            try require(limited.map(\.body) == ["g3-m1", "g4-m1"], "oldest groups first, within the limit: \(limited.map(\.body))")
        },
        check("an in-flight message whose visibility ends is received again first in its group; later ones stay in flight") { f in
            let queue = try await f.create("again.fifo", ["FifoQueue": "true"])
            try await f.send(queue, ["m1", "m2", "m3"], group: "g")
            let got = try await f.receive(queue, max: 2, visibility: 30)
            try require(got.map(\.body) == ["m1", "m2"], "first two: \(got.map(\.body))")
            let changed = try await f.store.changeVisibility(ChangeVisibilityParams(
                queueID: queue.id, changes: [.init(receipt: got[0].receipt, timeoutSeconds: 0)], now: f.clock.now()))
            try require(changed == [nil], "visibility of m1 ended: \(changed)")
            let again = try await f.receive(queue)
            try require(again.map(\.body) == ["m1"], "m1 again, m2 still in flight, m3 waits behind it: \(again.map(\.body))")
        },
        check("a purge clears the deduplication window: the same message may be sent again at once") { f in
            let queue = try await f.create("purged.fifo", ["FifoQueue": "true"])
            let first = try await f.send(queue, ["x"], group: "g", dedup: "d")
            try await f.store.purgeQueue(PurgeQueueParams(name: "purged.fifo", now: f.clock.now()))
            let again = try await f.send(queue, ["x"], group: "g", dedup: "d")
            try require(again[0].messageID != first[0].messageID, "a new message after the purge")
            let got = try await f.receive(queue)
            try require(got.map(\.messageID) == [again[0].messageID], "only the message sent after the purge: \(got.map(\.body))")
        },
    ]

    static let redriveChecks: [Check] = [
        check("a message past maxReceiveCount moves to the dead-letter queue atomically") { f in
            let dlq = try await f.create("dlq")
            let source = try await f.create("src", ["RedrivePolicy": #"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":2}"#])
            let sent = try await f.send(source, ["poison"])
            _ = try await f.receive(source, visibility: 0)
            _ = try await f.receive(source, visibility: 0)
            let outcome = try await f.store.receiveMessages(ReceiveMessagesParams(queueID: source.id, maxMessages: 10, visibilityTimeout: nil, identity: f.identity, now: f.clock.now()))
            try require(outcome.messages.isEmpty && outcome.redrivenTo == [dlq.id], "third receive redrives: \(outcome)")
            let dead = try await f.receive(dlq)
            try require(dead.first?.messageID == sent[0].messageID, "same message id in the DLQ")
            try require(dead.first?.deadLetterSourceARN == "arn:aws:sqs:us-east-1:000000000000:src", "source recorded")
            try require(try await f.counts(source) == QueueCounts(visible: 0, inFlight: 0, delayed: 0), "nothing left behind")
            let sources = try await f.store.deadLetterSourceQueues(of: "dlq")
            try require(sources.map(\.name) == ["src"], "dead-letter sources")
        },
        check("a move task returns dead letters to their sources, within its rate") { f in
            let dlq = try await f.create("dlq2")
            let source = try await f.create("src2", ["RedrivePolicy": #"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq2","maxReceiveCount":1}"#])
            try await f.send(source, ["a", "b", "c"])
            _ = try await f.receive(source, visibility: 0)
            _ = try await f.receive(source)
            try require(try await f.counts(dlq).visible == 3, "three dead letters")
            let task = try await f.store.startMoveTask(StartMoveTaskParams(sourceARN: f.identity.queueARN("dlq2"), destinationARN: nil, maxNumberOfMessagesPerSecond: 2, identity: f.identity, handle: "h1", now: f.clock.now()))
            try require(task.status == .running && task.toMove == 3, "task started: \(task)")
            var progress = try await f.store.runMoveTasks(RunMoveTasksParams(chunkLimit: 100, identity: f.identity, now: f.clock.now()))
            try require(progress.moved == 2 && progress.hasRunningTasks, "rate limits the first second: \(progress)")
            try require(progress.nextRunAt == f.clock.now() + 1000, "next pass after the window")
            progress = try await f.store.runMoveTasks(RunMoveTasksParams(chunkLimit: 100, identity: f.identity, now: f.clock.now()))
            try require(progress.moved == 0, "nothing more within the same second")
            f.clock.advance(by: 1000)
            progress = try await f.store.runMoveTasks(RunMoveTasksParams(chunkLimit: 100, identity: f.identity, now: f.clock.now()))
            try require(progress.moved == 1 && !progress.hasRunningTasks && progress.destinationQueueIDs == [source.id], "finished: \(progress)")
            let tasks = try await f.store.listMoveTasks(sourceARN: f.identity.queueARN("dlq2"), limit: 10)
            try require(tasks.first?.status == .completed && tasks.first?.moved == 3, "completed: \(tasks)")
            let back = try await f.receive(source)
            try require(back.map(\.body).sorted() == ["a", "b", "c"] && back.allSatisfy { $0.receiveCount == 1 }, "back in the source with fresh counts")
        },
        check("a FIFO move back to its source is never dropped as a duplicate") { f in
            let dlq = try await f.create("dlq3.fifo", ["FifoQueue": "true"])
            let source = try await f.create("src3.fifo", ["FifoQueue": "true", "RedrivePolicy": #"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq3.fifo","maxReceiveCount":1}"#])
            try await f.send(source, ["once"], group: "g", dedup: "same")
            _ = try await f.receive(source, visibility: 0)
            _ = try await f.receive(source)
            try require(try await f.counts(dlq).visible == 1, "dead letter stored")
            _ = try await f.store.startMoveTask(StartMoveTaskParams(sourceARN: f.identity.queueARN("dlq3.fifo"), destinationARN: nil, maxNumberOfMessagesPerSecond: nil, identity: f.identity, handle: "h3", now: f.clock.now()))
            _ = try await f.store.runMoveTasks(RunMoveTasksParams(chunkLimit: 100, identity: f.identity, now: f.clock.now()))
            try require(try await f.receive(source).map(\.body) == ["once"], "moved back inside the deduplication window")
        },
    ]
}

extension QueueStoreConformance {
    static let attemptChecks: [Check] = [
        check("a retried FIFO receive with the same attempt id gets the same receipts") { f in
            let queue = try await f.create("attempt.fifo", ["FifoQueue": "true"])
            try await f.send(queue, ["1", "2"], group: "g")
            func receive(_ attempt: String) async throws -> [ReceivedMessage] {
                try await f.store.receiveMessages(ReceiveMessagesParams(queueID: queue.id, maxMessages: 10, visibilityTimeout: 30, attemptID: attempt, identity: f.identity, now: f.clock.now())).messages
            }
            let first = try await receive("a1")
            f.clock.advance(by: 10_000)
            let retry = try await receive("a1")
            try require(retry.map(\.receipt) == first.map(\.receipt) && retry.count == 2, "same receipts on retry")
            f.clock.advance(by: 25_000)
            try require(try await f.counts(queue).inFlight == 2, "the retry reset the visibility timeout")
            try await f.delete(queue, [first[0].receipt])
            let afterDelete = try await receive("a1")
            try require(afterDelete.isEmpty, "a deleted message ends the replay; the group stays locked by the other")
        },
    ]
}
