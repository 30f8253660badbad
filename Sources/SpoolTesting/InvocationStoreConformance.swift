import Foundation
import SpoolModel
import SpoolStorage

/// The promises every `InvocationStore` backend keeps, as checks to run against a fresh store each.
///
/// Settles write into queues and function events, so a backend is checked together with its queue
/// and function stores.
public enum InvocationStoreConformance {
    public typealias Store = InvocationStore & EventInvokeConfigStore & DeadLetterStore & DestinationDeliveryStore & QueueStore & FunctionStore
        & BacklogStore

    /// One named check.
    public struct Check: Sendable, CustomStringConvertible {
        public let name: String
        let body: @Sendable (Fixture) async throws -> Void

        public var description: String { name }

        /// Runs the check against `store`, which must be empty.
        public func run(on store: any Store) async throws {
            try await body(Fixture(store: store))
        }
    }

    /// A store with a clock and helpers.
    struct Fixture {
        let store: any Store
        let clock = TestClock()
        let identity = AWSIdentity()

        func function(_ name: String) async throws {
            _ = try await store.createFunction(FunctionDefinition(name: name, executor: .inProcess, revisionID: "r1", lastModified: 1))
        }

        func enqueue(_ function: String, _ payload: String = "{}", key: String? = nil, id: String? = nil) async throws -> EnqueuedInvocation {
            let invocation = NewInvocation(requestID: id ?? "req-\(payload.hashValue)-\(clock.now())", functionName: function, qualifier: nil,
                                           payload: payload, idempotencyKey: key, idempotencyExpiresAt: clock.now() + 60_000)
            return try await store.enqueueInvocations(EnqueueInvocationsParams(invocations: [invocation], now: clock.now()))[0]
        }

        func claim(_ function: String, limit: Int = 10, lease: Millis = 30_000) async throws -> [ClaimedInvocation] {
            try await store.claimInvocations(ClaimInvocationsParams(functionName: function, limit: limit, leaseUntil: clock.now() + lease, now: clock.now()))
        }

        func queue(_ name: String) async throws -> QueueRecord {
            try await store.createQueue(CreateQueueParams(name: name, attributes: [:], tags: [:], identity: identity, now: clock.now()))
        }

        func messages(_ queue: QueueRecord) async throws -> [ReceivedMessage] {
            try await store.receiveMessages(ReceiveMessagesParams(queueID: queue.id, maxMessages: 10, visibilityTimeout: 30, identity: identity,
                                                                  now: clock.now())).messages
        }

        func letter(_ invocation: ClaimedInvocation, reason: FailureCondition = .retriesExhausted) -> DeadLetter {
            DeadLetter(id: 0, requestID: invocation.requestID, functionName: invocation.functionName, qualifier: nil, payload: invocation.payload,
                       reason: reason, attempts: invocation.invokeCount, lastError: nil, enqueuedAt: invocation.enqueuedAt, failedAt: clock.now())
        }
    }

    static let failure = InvocationFailure(kind: .functionError, errorType: "Exception", errorMessage: "boom")

    /// Every check, in a stable order.
    public static let checks: [Check] = [
        Check(name: "an enqueued event is claimed once, with its payload, and counts its invocation") { f in
            try await f.function("fn")
            let stored = try await f.enqueue("fn", "{\"a\":1}", id: "r1")
            try require(stored == EnqueuedInvocation(requestID: "r1", stored: true), "enqueue reported \(stored)")
            let claimed = try await f.claim("fn")
            try require(claimed.count == 1 && claimed[0].payload == "{\"a\":1}" && claimed[0].requestID == "r1", "claimed \(claimed)")
            try require(claimed[0].invokeCount == 1 && claimed[0].functionErrors == 0, "counts after one claim: \(claimed[0])")
            try require(try await f.claim("fn").isEmpty, "a leased event must not be claimed again before its lease ends")
            try require(try await f.claim("other").isEmpty, "another function's claim must not see the event")
        },
        Check(name: "events are claimed oldest first, at most the limit") { f in
            try await f.function("fn")
            for index in 0..<5 {
                _ = try await f.enqueue("fn", "{\"n\":\(index)}")
                f.clock.advance(by: 1)
            }
            let first = try await f.claim("fn", limit: 3)
            try require(first.map(\.payload) == ["{\"n\":0}", "{\"n\":1}", "{\"n\":2}"], "first claim \(first.map(\.payload))")
            try require(try await f.claim("fn", limit: 10).count == 2, "the rest must be claimable")
        },
        Check(name: "an expired lease makes the event claimable again under a new epoch; the old lease cannot settle") { f in
            try await f.function("fn")
            _ = try await f.enqueue("fn")
            let first = try await f.claim("fn", lease: 1_000)[0]
            f.clock.advance(by: 1_001)
            let second = try await f.claim("fn")
            try require(second.count == 1 && second[0].epoch > first.epoch && second[0].invokeCount == 2, "reclaimed \(second)")
            let stale = try await f.store.settleInvocation(SettleInvocationParams(
                id: first.id, epoch: first.epoch, transition: .finish, effects: [.deadLetter(f.letter(first))], now: f.clock.now()))
            try require(!stale.settled, "a stale lease must not settle")
            try require(try await f.store.deadLetters(DeadLetterFilter(), afterID: 0, limit: 10).isEmpty, "a stale settle must apply no effects")
            let done = try await f.store.settleInvocation(SettleInvocationParams(id: second[0].id, epoch: second[0].epoch, transition: .finish,
                                                                                effects: [], now: f.clock.now()))
            try require(done.settled, "the current lease must settle")
            f.clock.advance(by: 100_000)
            try require(try await f.claim("fn").isEmpty, "a finished event is gone")
            try require(try await f.store.earliestInvocation(function: "fn") == nil, "no event may remain")
        },
        Check(name: "releasing leases at start-up makes cut-off events claimable at once, keeping their counts") { f in
            try await f.function("fn")
            _ = try await f.enqueue("fn")
            _ = try await f.enqueue("fn")
            let cut = try await f.claim("fn", limit: 1, lease: 600_000)[0]
            try require(try await f.store.releaseInvocationLeases(now: f.clock.now()) == 1, "one lease was held")
            let again = try await f.claim("fn")
            try require(again.count == 2, "both events must be claimable: \(again)")
            try require(again.first { $0.id == cut.id }?.invokeCount == 2, "the cut-off invocation still counts")
        },
        Check(name: "the backlog counts events and messages as they are stored and removed, without counting rows") { f in
            try await f.function("fn")
            let start = try await f.store.backlog()
            _ = try await f.enqueue("fn", "{\"n\":1}")
            _ = try await f.enqueue("fn", "{\"n\":2}")
            let claimed = try await f.claim("fn", limit: 1)[0]
            _ = try await f.store.settleInvocation(SettleInvocationParams(id: claimed.id, epoch: claimed.epoch, transition: .finish, effects: [],
                                                                          now: f.clock.now()))
            let queue = try await f.queue("counted")
            let messages = (0..<3).map { OutgoingMessage(body: "m\($0)") }
            _ = try await f.store.sendMessages(SendMessagesParams(queueID: queue.id, messages: messages, now: f.clock.now()))
            let received = try await f.store.receiveMessages(ReceiveMessagesParams(
                queueID: queue.id, maxMessages: 1, visibilityTimeout: 30, identity: f.identity, now: f.clock.now()))
            _ = try await f.store.deleteMessages(DeleteMessagesParams(queueID: queue.id, receipts: received.messages.map(\.receipt), now: f.clock.now()))
            let end = try await f.store.backlog()
            try require(end.asyncEvents - start.asyncEvents == 1, "one of two events finished: \(start) → \(end)")
            try require(end.queueMessages - start.queueMessages == 2, "one of three messages deleted: \(start) → \(end)")
        },
        Check(name: "an event stored claimed for a direct hand-off counts no invocation until one started") { f in
            try await f.function("fn")
            var invocation = NewInvocation(requestID: "handed", functionName: "fn", qualifier: nil, payload: "{}")
            invocation.leaseUntil = f.clock.now() + 600_000
            let stored = try await f.store.enqueueInvocations(EnqueueInvocationsParams(invocations: [invocation], now: f.clock.now()))[0]
            try require(stored.claimed != nil, "the event must come back claimed")
            let handed = stored.claimed!
            try require(handed.invokeCount == 1, "the hand-off is about to start its first invocation: \(handed)")
            // The server died before it started: at the next start its lease is released and it is claimed as a first run.
            _ = try await f.store.releaseInvocationLeases(now: f.clock.now())
            let again = try await f.claim("fn")
            try require(again.count == 1 && again[0].invokeCount == 1, "a hand-off that never started must not count: \(again)")
        },
        Check(name: "a released lease makes the event claimable at once, with the invocations that started") { f in
            try await f.function("fn")
            _ = try await f.enqueue("fn")
            let claimed = try await f.claim("fn", lease: 600_000)[0]
            let released = try await f.store.settleInvocation(SettleInvocationParams(
                id: claimed.id, epoch: claimed.epoch, transition: .release(invokeCount: 0), effects: [], now: f.clock.now()))
            try require(released.settled, "the current lease must release")
            let again = try await f.claim("fn")
            try require(again.count == 1 && again[0].invokeCount == 1 && again[0].functionErrors == 0 && again[0].systemRetries == 0,
                        "a release uses no attempt and keeps the count it was given: \(again)")
            let stale = try await f.store.settleInvocation(SettleInvocationParams(
                id: claimed.id, epoch: claimed.epoch, transition: .release(invokeCount: 0), effects: [], now: f.clock.now()))
            try require(!stale.settled, "a stale lease must not release the new holder's event")
        },
        Check(name: "a retry is the same event, visible later, with its counts") { f in
            try await f.function("fn")
            _ = try await f.enqueue("fn")
            let claimed = try await f.claim("fn")[0]
            let at = f.clock.now() + 5_000
            _ = try await f.store.settleInvocation(SettleInvocationParams(
                id: claimed.id, epoch: claimed.epoch, transition: .retry(visibleAt: at, failure: failure, invokeCount: claimed.invokeCount), effects: [],
                now: f.clock.now()))
            try require(try await f.store.earliestInvocation(function: "fn") == at, "earliest must be the retry time")
            try require(try await f.claim("fn").isEmpty, "a retry must wait for its time")
            f.clock.advance(by: 5_000)
            let again = try await f.claim("fn")
            try require(again.count == 1 && again[0].functionErrors == 1 && again[0].invokeCount == 2 && again[0].lastError == failure,
                        "retried event \(again)")
            let throttle = InvocationFailure(kind: .throttled, errorType: "TooManyRequestsException", errorMessage: "Rate Exceeded.")
            _ = try await f.store.settleInvocation(SettleInvocationParams(
                id: again[0].id, epoch: again[0].epoch, transition: .retry(visibleAt: f.clock.now(), failure: throttle, invokeCount: again[0].invokeCount - 1),
                effects: [], now: f.clock.now()))
            let third = try await f.claim("fn")
            try require(third.count == 1 && third[0].systemRetries == 1 && third[0].functionErrors == 1 && third[0].invokeCount == 2,
                        "a throttle must not count an attempt or an invocation: \(third)")
            try require(third[0].lastError == failure, "a throttle must not hide the last function error")
        },
        Check(name: "settling applies every effect in the same transaction") { f in
            try await f.function("fn")
            try await f.function("next")
            let queue = try await f.queue("records")
            _ = try await f.enqueue("fn", "{\"x\":1}")
            let claimed = try await f.claim("fn")[0]
            let outcome = try await f.store.settleInvocation(SettleInvocationParams(
                id: claimed.id, epoch: claimed.epoch, transition: .finish,
                effects: [
                    .sendMessage(queueName: "records", message: OutgoingMessage(body: "record")),
                    .invoke(NewInvocation(requestID: "chained", functionName: "next", qualifier: nil, payload: "{\"r\":1}")),
                    .post(url: "http://127.0.0.1:1/hook", body: "{}"),
                    .deadLetter(f.letter(claimed)),
                    .sendMessage(queueName: "missing", message: OutgoingMessage(body: "lost")),
                    .invoke(NewInvocation(requestID: "nowhere", functionName: "ghost", qualifier: nil, payload: "{}")),
                ], now: f.clock.now()))
            try require(outcome.settled && outcome.queuesSent == [queue.id] && outcome.functionsInvoked == ["next"] && outcome.postsQueued == 1,
                        "outcome \(outcome)")
            try require(outcome.undelivered.count == 2, "missing destinations must be reported: \(outcome.undelivered)")
            try require(try await f.messages(queue).map(\.body) == ["record"], "the record must be in the queue")
            try require(try await f.claim("next").map(\.requestID) == ["chained"], "the chained event must be queued")
            try require(try await f.store.claimDeliveries(now: f.clock.now(), leaseUntil: f.clock.now() + 1_000, limit: 10).count == 1,
                        "the delivery must be in the outbox")
            let letters = try await f.store.deadLetters(DeadLetterFilter(), afterID: 0, limit: 10)
            try require(letters.count == 1 && letters[0].payload == "{\"x\":1}" && letters[0].requestID == claimed.requestID, "letters \(letters)")
        },
        Check(name: "a record no destination takes becomes a dead letter with where it was going, and replay delivers it there") { f in
            try await f.function("fn")
            _ = try await f.enqueue("fn", "{\"x\":2}")
            let claimed = try await f.claim("fn")[0]
            let origin = EffectOrigin(requestID: claimed.requestID, functionName: "fn", qualifier: nil, attempts: 1, enqueuedAt: claimed.enqueuedAt)
            let outcome = try await f.store.settleInvocation(SettleInvocationParams(
                id: claimed.id, epoch: claimed.epoch, transition: .finish,
                effects: [.sendMessage(queueName: "later", message: OutgoingMessage(body: "the record")),
                          .invoke(NewInvocation(requestID: "to-ghost", functionName: "ghost", qualifier: nil, payload: "{\"r\":2}"))],
                origin: origin, now: f.clock.now()))
            try require(outcome.settled && outcome.undelivered.count == 2, "reported: \(outcome)")
            let letters = try await f.store.deadLetters(DeadLetterFilter(reason: .destinationUnreachable), afterID: 0, limit: 10)
            try require(letters.map(\.destination) == ["queue:later", "function:ghost"], "destinations: \(letters)")
            try require(letters.map(\.payload) == ["the record", "{\"r\":2}"] && letters.allSatisfy { $0.requestID == claimed.requestID
                && $0.functionName == "fn" && $0.lastError?.errorType == "Spool.DestinationUnreachable" }, "letters \(letters)")
            // Still nowhere to go: the replay skips it and it stays.
            var replay = ReplayDeadLettersParams(filter: DeadLetterFilter(reason: .destinationUnreachable), afterID: 0, limit: 10, force: false,
                                                 makeRequestID: { UUID().uuidString }, now: f.clock.now())
            try require(try await f.store.replayDeadLetters(replay).skipped == 2, "nothing to deliver to yet")
            let queue = try await f.queue("later")
            replay.now = f.clock.now()
            let chunk = try await f.store.replayDeadLetters(replay)
            try require(chunk.replayed == 1 && chunk.skipped == 1, "the queue exists now: \(chunk)")
            try require(try await f.messages(queue).map(\.body) == ["the record"], "the record was delivered where it was going")
            try require(try await f.claim("fn").isEmpty, "the function does not run again")
        },
        Check(name: "an http delivery given up becomes a dead letter and leaves the outbox; a stale lease changes nothing") { f in
            try await f.function("fn")
            _ = try await f.enqueue("fn")
            let claimed = try await f.claim("fn")[0]
            let origin = EffectOrigin(requestID: claimed.requestID, functionName: "fn", qualifier: nil, attempts: 1, enqueuedAt: claimed.enqueuedAt)
            _ = try await f.store.settleInvocation(SettleInvocationParams(
                id: claimed.id, epoch: claimed.epoch, transition: .finish, effects: [.post(url: "http://127.0.0.1:9/hook", body: "{\"rec\":1}")],
                origin: origin, now: f.clock.now()))
            let first = try await f.store.claimDeliveries(now: f.clock.now(), leaseUntil: f.clock.now() + 1_000, limit: 10)
            try require(first.count == 1 && first[0].functionName == "fn" && first[0].requestID == claimed.requestID, "outbox row \(first)")
            f.clock.advance(by: 2_000)
            let second = try await f.store.claimDeliveries(now: f.clock.now(), leaseUntil: f.clock.now() + 1_000, limit: 10)
            try require(try await !f.store.abandonDelivery(first[0], error: "HTTP 503", now: f.clock.now()), "a stale lease abandons nothing")
            try require(try await f.store.abandonDelivery(second[0], error: "HTTP 503", now: f.clock.now()), "the current lease does")
            try require(try await f.store.earliestDelivery() == nil, "the outbox is empty")
            let letters = try await f.store.deadLetters(DeadLetterFilter(reason: .destinationUnreachable), afterID: 0, limit: 10)
            try require(letters.count == 1 && letters[0].destination == "http://127.0.0.1:9/hook" && letters[0].payload == "{\"rec\":1}"
                        && letters[0].attempts == 2 && letters[0].lastError?.errorMessage == "HTTP 503", "letter \(letters)")
        },
        Check(name: "a repeated idempotency key stores nothing and answers the first request id until its window ends") { f in
            try await f.function("fn")
            let first = try await f.enqueue("fn", key: "k1", id: "first")
            let again = try await f.enqueue("fn", key: "k1", id: "second")
            try require(first.stored && !again.stored && again.requestID == "first", "first \(first), again \(again)")
            try require(try await f.enqueue("fn", key: "k2", id: "third").stored, "another key must store")
            try require(try await f.claim("fn").count == 2, "two events, not three")
            f.clock.advance(by: 60_001)
            try require(try await f.store.pruneIdempotencyKeys(now: f.clock.now(), limit: 100) == 2, "both keys must be pruned")
            try require(try await f.enqueue("fn", key: "k1", id: "fourth").stored, "after the window the key is new again")
        },
        Check(name: "dead letters filter, replay once unless forced, and purge") { f in
            try await f.function("fn")
            try await f.function("other")
            for name in ["fn", "fn", "other"] {
                _ = try await f.enqueue(name)
                let claimed = try await f.claim(name)[0]
                _ = try await f.store.settleInvocation(SettleInvocationParams(id: claimed.id, epoch: claimed.epoch, transition: .finish,
                                                                              effects: [.deadLetter(f.letter(claimed))], now: f.clock.now()))
                f.clock.advance(by: 10)
            }
            let mine = DeadLetterFilter(functionName: "fn")
            try require(try await f.store.deadLetters(mine, afterID: 0, limit: 10).count == 2, "two dead letters of fn")
            try require(try await f.store.deadLetters(DeadLetterFilter(reason: .eventAgeExceeded), afterID: 0, limit: 10).isEmpty, "reason filter")
            var counter = 0
            let replay = ReplayDeadLettersParams(filter: mine, afterID: 0, limit: 10, force: false, makeRequestID: { "replay-\(UInt64.random(in: 0...UInt64.max))" },
                                                 now: f.clock.now())
            let chunk = try await f.store.replayDeadLetters(replay)
            try require(chunk.replayed == 2 && chunk.skipped == 0 && chunk.functions == ["fn"], "first replay \(chunk)")
            let replayed = try await f.claim("fn")
            counter = replayed.count
            try require(counter == 2 && replayed.allSatisfy { $0.replayOf != nil && $0.invokeCount == 1 }, "replayed events \(replayed)")
            let again = try await f.store.replayDeadLetters(replay)
            try require(again.replayed == 0 && again.skipped == 2, "a second replay must skip: \(again)")
            var forced = replay
            forced.force = true
            try require(try await f.store.replayDeadLetters(forced).replayed == 2, "force must replay again")
            let letters = try await f.store.deadLetters(mine, afterID: 0, limit: 10)
            try require(letters.allSatisfy { $0.replayedAt != nil && $0.replayRequestID != nil }, "replays must be recorded")
            try require(try await f.store.deadLetters(DeadLetterFilter(includeReplayed: false), afterID: 0, limit: 10).count == 1, "not-replayed filter")
            let purged = try await f.store.purgeDeadLetters(mine, afterID: 0, limit: 10)
            try require(purged.count == 2, "purged \(purged)")
            try require(try await f.store.deadLetters(DeadLetterFilter(), afterID: 0, limit: 10).map(\.functionName) == ["other"], "other remains")
        },
        Check(name: "event-invoke configurations store, replace, list and delete per function") { f in
            try require(try await f.store.eventInvokeConfig(function: "fn", qualifier: "$LATEST") == nil, "none at first")
            let config = EventInvokeConfig(functionName: "fn", maximumRetryAttempts: 0, onFailure: "arn:aws:sqs:us-east-1:000000000000:q", lastModified: 5)
            try await f.store.putEventInvokeConfig(config)
            try require(try await f.store.eventInvokeConfig(function: "fn", qualifier: "$LATEST") == config, "read back")
            var replaced = config
            replaced.maximumRetryAttempts = nil
            replaced.maximumEventAgeSeconds = 60
            try await f.store.putEventInvokeConfig(replaced)
            try require(try await f.store.eventInvokeConfigs(function: "fn") == [replaced], "replaced")
            try require(try await f.store.deleteEventInvokeConfig(function: "fn", qualifier: "$LATEST"), "deleted")
            try require(!(try await f.store.deleteEventInvokeConfig(function: "fn", qualifier: "$LATEST")), "nothing left to delete")
        },
        Check(name: "functions with events are found without reading every event") { f in
            for name in ["b", "a", "c"] {
                try await f.function(name)
                _ = try await f.enqueue(name)
                _ = try await f.enqueue(name)
            }
            try require(try await f.store.functionsWithInvocations() == ["a", "b", "c"], "functions with events")
            let backlog = try await f.store.invocationBacklog(function: "a")
            try require(backlog.count == 2 && backlog.oldestEnqueuedAt == f.clock.now(), "backlog \(backlog)")
        },
        Check(name: "deliveries are leased, retried later and finished") { f in
            try await f.function("fn")
            _ = try await f.enqueue("fn")
            let claimed = try await f.claim("fn")[0]
            _ = try await f.store.settleInvocation(SettleInvocationParams(id: claimed.id, epoch: claimed.epoch, transition: .finish,
                                                                          effects: [.post(url: "http://127.0.0.1:1/", body: "{\"r\":1}")], now: f.clock.now()))
            let first = try await f.store.claimDeliveries(now: f.clock.now(), leaseUntil: f.clock.now() + 1_000, limit: 10)
            try require(first.count == 1 && first[0].attempts == 1 && first[0].body == "{\"r\":1}", "first \(first)")
            try require(try await f.store.claimDeliveries(now: f.clock.now(), leaseUntil: f.clock.now() + 1_000, limit: 10).isEmpty, "leased")
            try await f.store.settleDelivery(id: first[0].id, epoch: first[0].epoch, retryAt: f.clock.now() + 500, error: "HTTP 500")
            try require(try await f.store.earliestDelivery() == f.clock.now() + 500, "retry time")
            f.clock.advance(by: 500)
            let second = try await f.store.claimDeliveries(now: f.clock.now(), leaseUntil: f.clock.now() + 1_000, limit: 10)
            try require(second.count == 1 && second[0].attempts == 2, "second \(second)")
            try await f.store.settleDelivery(id: first[0].id, epoch: first[0].epoch, retryAt: nil, error: nil)
            try require(try await f.store.earliestDelivery() != nil, "a stale lease must not finish the delivery")
            try await f.store.settleDelivery(id: second[0].id, epoch: second[0].epoch, retryAt: nil, error: nil)
            try require(try await f.store.earliestDelivery() == nil, "delivered")
        },
    ]
}
