import SpoolModel
import SpoolStorage

extension QueueStoreConformance {
    static let lifecycleChecks: [Check] = [
        check("creates, finds and lists queues by prefix in name order") { f in
            _ = try await f.create("beta")
            _ = try await f.create("alpha-2")
            _ = try await f.create("alpha-1")
            let found = try await f.store.queue(named: "alpha-1")
            try require(found?.name == "alpha-1", "queue(named:) should find the queue")
            try require(try await f.store.queue(named: "missing") == nil, "an unknown name has no queue")
            let alphas = try await f.store.listQueues(ListQueuesParams(prefix: "alpha"))
            try require(alphas.map(\.name) == ["alpha-1", "alpha-2"], "prefix listing: \(alphas.map(\.name))")
            let page = try await f.store.listQueues(ListQueuesParams(prefix: "", afterName: "alpha-1", limit: 1))
            try require(page.map(\.name) == ["alpha-2"], "paging after a name: \(page.map(\.name))")
        },
        check("create is idempotent for the same attributes and refuses different ones") { f in
            let first = try await f.create("q", ["VisibilityTimeout": "12"])
            let again = try await f.create("q", ["VisibilityTimeout": "12"])
            try require(first.id == again.id, "same attributes return the same queue")
            try await requireError(.queueNameExists) { try await f.create("q", ["VisibilityTimeout": "13"]) }
        },
        check("a deleted name is reserved for 60 seconds") { f in
            let queue = try await f.create("gone")
            try await f.send(queue, ["x"])
            try await f.store.deleteQueue(DeleteQueueParams(name: "gone", now: f.clock.now()))
            try require(try await f.store.queue(named: "gone") == nil, "deleted queue is gone")
            try await requireError(.queueDeletedRecently) { try await f.create("gone") }
            f.clock.advance(by: 60_001)
            let recreated = try await f.create("gone")
            try require(try await f.counts(recreated) == QueueCounts(visible: 0, inFlight: 0, delayed: 0), "a recreated queue starts empty")
        },
        check("attributes are validated, stored and applied") { f in
            _ = try await f.create("attrs")
            let updated = try await f.store.setQueueAttributes(SetQueueAttributesParams(name: "attrs", attributes: ["DelaySeconds": "3", "VisibilityTimeout": "5"], identity: f.identity, now: f.clock.now()))
            try require(updated.attributes.delaySeconds == 3 && updated.attributes.visibilityTimeout == 5, "attributes stored")
            try await requireError(.invalidAttributeValue) {
                try await f.store.setQueueAttributes(SetQueueAttributesParams(name: "attrs", attributes: ["DelaySeconds": "901"], identity: f.identity, now: f.clock.now()))
            }
            try await f.send(updated, ["delayed"])
            try require(try await f.receive(updated).isEmpty, "queue DelaySeconds hides a new message")
            f.clock.advance(by: 3000)
            let got = try await f.receive(updated)
            try require(got.count == 1, "message visible once the delay passed")
            f.clock.advance(by: 4999)
            try require(try await f.receive(updated).isEmpty, "queue VisibilityTimeout of 5 s holds the lease")
            f.clock.advance(by: 1)
            try require(try await f.receive(updated).count == 1, "lease over after 5 s")
        },
        check("tags merge and untag removes keys") { f in
            _ = try await f.create("tagged")
            try await f.store.tagQueue(name: "tagged", tags: ["a": "1", "b": "2"], now: f.clock.now())
            try await f.store.untagQueue(name: "tagged", keys: ["a"], now: f.clock.now())
            try require(try await f.store.queue(named: "tagged")?.tags == ["b": "2"], "tags after untag")
        },
        check("purge empties the queue at most once a minute") { f in
            let queue = try await f.create("purged")
            try await f.send(queue, ["a", "b"])
            try await f.store.purgeQueue(PurgeQueueParams(name: "purged", now: f.clock.now()))
            try require(try await f.receive(queue).isEmpty, "purged queue is empty")
            try await requireError(.purgeQueueInProgress) { try await f.store.purgeQueue(PurgeQueueParams(name: "purged", now: f.clock.now())) }
            f.clock.advance(by: 60_000)
            try await f.store.purgeQueue(PurgeQueueParams(name: "purged", now: f.clock.now()))
        },
        check("operations on a missing queue raise QueueDoesNotExist") { f in
            try await requireError(.queueDoesNotExist) { try await f.store.deleteQueue(DeleteQueueParams(name: "nope", now: f.clock.now())) }
            try await requireError(.queueDoesNotExist) { try await f.store.counts(queueID: 999, now: f.clock.now()) }
            try await requireError(.queueDoesNotExist) {
                try await f.store.sendMessages(SendMessagesParams(queueID: 999, messages: [OutgoingMessage(body: "x")], now: f.clock.now()))
            }
        },
    ]
}

extension QueueStoreConformance {
    static let deletionChecks: [Check] = [
        check("purge hides every stored message at once and the sweep removes them in batches") { f in
            let queue = try await f.create("big-purge")
            try await f.send(queue, (0..<25).map { "m\($0)" })
            _ = try await f.receive(queue, max: 3)
            try await f.store.purgeQueue(PurgeQueueParams(name: "big-purge", now: f.clock.now()))
            try require(try await f.counts(queue) == QueueCounts(visible: 0, inFlight: 0, delayed: 0), "purged messages are not counted")
            try require(try await f.receive(queue).isEmpty, "nor received")
            try await f.send(queue, ["after"])
            let removed = try await f.sweepAll(batchSize: 10)
            try require(removed == 25, "the sweep removed the 25 purged rows: \(removed)")
            try require(try await f.receive(queue).map(\.body) == ["after"], "a message sent after the purge survives")
        },
        check("a deleted queue's messages are removed by the sweep, and the name can be reused") { f in
            let dlq = try await f.create("del-dlq")
            let source = try await f.create("del-src", ["RedrivePolicy": #"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:del-dlq","maxReceiveCount":1}"#])
            try await f.send(dlq, (0..<15).map { "m\($0)" })
            try await f.store.deleteQueue(DeleteQueueParams(name: "del-dlq", now: f.clock.now()))
            try require(try await f.store.listQueues(ListQueuesParams()).map(\.name) == ["del-src"], "the deleted queue is not listed")
            try await requireError(.queueDoesNotExist) { try await f.counts(dlq) }
            try require(try await f.store.deadLetterSourceQueues(of: "del-src").isEmpty, "no dangling redrive")
            try await f.send(source, ["x"])
            _ = try await f.receive(source, visibility: 0)
            try require(try await f.receive(source).count == 1, "without its dead-letter queue the source keeps the message")
            let removed = try await f.sweepAll(batchSize: 4)
            try require(removed == 15, "the sweep removed the deleted queue's messages: \(removed)")
            f.clock.advance(by: 60_000)
            let again = try await f.create("del-dlq")
            try require(try await f.counts(again).visible == 0, "the reused name starts empty")
        },
        check("visibility can be extended to at most 12 hours after the receive") { f in
            let queue = try await f.create("twelve")
            try await f.send(queue, ["x"])
            let message = try await f.receive(queue, visibility: 43_200)[0]
            f.clock.advance(by: 3_600_000)
            let results = try await f.store.changeVisibility(ChangeVisibilityParams(queueID: queue.id, changes: [.init(receipt: message.receipt, timeoutSeconds: 43_200)], now: f.clock.now()))
            try require(results.first??.code == .invalidParameterValue, "13 hours after the receive is refused: \(results)")
            let shorter = try await f.store.changeVisibility(ChangeVisibilityParams(queueID: queue.id, changes: [.init(receipt: message.receipt, timeoutSeconds: 39_600)], now: f.clock.now()))
            try require(shorter == [nil], "up to 12 hours after the receive is fine")
        },
    ]
}
