import Foundation
import Logging
import SpoolModel
import SpoolStorage

/// The SQS capability over a `QueueStore`: validation against the queue, long polling, wake-ups.
///
/// The HTTP facade decodes requests into model values and calls this; nothing here knows the wire.
package final class QueueService: Sendable {
    package let store: any QueueStore
    package let identity: AWSIdentity
    package let clock: any SpoolClock
    package let signals: QueueSignals
    let logger: Logger

    /// The channel the move task runner listens on.
    static let moveTaskChannel: Int64 = .min

    package init(store: any QueueStore, identity: AWSIdentity, clock: any SpoolClock = WallClock(), signals: QueueSignals = QueueSignals(), logger: Logger = Logger(label: "spool.sqs")) {
        self.store = store
        self.identity = identity
        self.clock = clock
        self.signals = signals
        self.logger = logger
    }

    /// The queue called `name`, or `QueueDoesNotExist`.
    package func queue(named name: String) async throws -> QueueRecord {
        guard let queue = try await store.queue(named: name) else { throw SpoolError.queueDoesNotExist() }
        return queue
    }

    /// The queue, if its access policy does not deny `action` (what Spool evaluates of a policy: `QueuePolicy`).
    func queue(named name: String, for action: String) async throws -> QueueRecord {
        let queue = try await queue(named: name)
        if queue.attributes.policy?.denies(action, account: identity.accountID) == true {
            throw SpoolError(.accessDenied, "Access to the resource \(identity.queueARN(queue.name)) is denied by the queue's policy (\(action)).")
        }
        return queue
    }

    /// AddPermission: a statement allowing `actions` to `accounts`, labelled `label`, added to the queue's policy.
    package func addPermission(name: String, label: String, accounts: [String], actions: [String]) async throws {
        let queue = try await queue(named: name)
        let policy = try QueuePolicy.adding(to: queue.attributes.policy, label: label, accounts: accounts, actions: actions,
                                           queueARN: identity.queueARN(queue.name))
        try await setAttributes(name: name, attributes: ["Policy": policy.text])
    }

    /// RemovePermission: the statement labelled `label` removed from the queue's policy (the policy goes with its last).
    package func removePermission(name: String, label: String) async throws {
        let queue = try await queue(named: name)
        guard let current = queue.attributes.policy else {
            throw SpoolError.invalidParameter("Label", value: label, reason: "can't find label on existing policy.")
        }
        try await setAttributes(name: name, attributes: ["Policy": try current.removing(label: label)?.text ?? ""])
    }

    package func createQueue(name: String, attributes: [String: String], tags: [String: String]) async throws -> QueueRecord {
        try await store.createQueue(CreateQueueParams(name: name, attributes: attributes, tags: tags, identity: identity, now: clock.now()))
    }

    /// A page of the queues of the region `identity` acts in whose names start with `prefix`, and the stored name to
    /// continue after, if more may follow.
    package func listQueues(in identity: AWSIdentity, prefix: String, after: String?, maxResults: Int?) async throws -> (queues: [QueueRecord], next: String?) {
        let limit = maxResults ?? 1000
        let storedPrefix = identity.region == identity.homeRegion ? prefix : identity.stored(prefix)
        let page = try await RegionPage.read(limit: limit, after: after, identity: identity, fetch: { after, count in
            try await store.listQueues(ListQueuesParams(prefix: storedPrefix, afterName: after, limit: count))
        }, name: \.name)
        guard maxResults != nil, page.hasMore else { return (page.items, nil) }
        return (page.items, page.items.last?.name)
    }

    /// DeleteQueue; long polls waiting on the queue wake and end at once with `QueueDoesNotExist`, as on SQS.
    package func deleteQueue(name: String) async throws {
        let queue = try await queue(named: name)
        try await store.deleteQueue(DeleteQueueParams(name: name, now: clock.now()))
        signals.signal(queue.id)
    }

    package func setAttributes(name: String, attributes: [String: String]) async throws {
        _ = try await store.setQueueAttributes(SetQueueAttributesParams(name: name, attributes: attributes, identity: identity, now: clock.now()))
    }

    /// GetQueueAttributes: the requested names (`All` for every one) as strings.
    package func attributes(name: String, requested: [String]) async throws -> [String: String] {
        let queue = try await queue(named: name, for: "GetQueueAttributes")
        let known = Set(QueueAttributes.settableNames + QueueAttributes.readOnlyNames + ["All"])
        for name in requested where !known.contains(name) { throw SpoolError.invalidAttributeName(name) }
        var values = queue.attributes.wireValues
        values["QueueArn"] = identity.queueARN(queue.name)
        values["CreatedTimestamp"] = String(queue.createdAt / 1000)
        values["LastModifiedTimestamp"] = String(queue.modifiedAt / 1000)
        let wantsAll = requested.contains("All")
        let countNames = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"]
        if wantsAll || requested.contains(where: countNames.contains) {
            let counts = try await store.counts(queueID: queue.id, now: clock.now())
            values["ApproximateNumberOfMessages"] = String(counts.visible)
            values["ApproximateNumberOfMessagesNotVisible"] = String(counts.inFlight)
            values["ApproximateNumberOfMessagesDelayed"] = String(counts.delayed)
        }
        return wantsAll ? values : values.filter { requested.contains($0.key) }
    }

    package func purge(name: String) async throws {
        _ = try await queue(named: name, for: "PurgeQueue")
        try await store.purgeQueue(PurgeQueueParams(name: name, now: clock.now()))
    }

    package func tag(name: String, tags: [String: String]) async throws {
        try await store.tagQueue(name: name, tags: tags, now: clock.now())
    }

    package func untag(name: String, keys: [String]) async throws {
        try await store.untagQueue(name: name, keys: keys, now: clock.now())
    }

    package func tags(name: String) async throws -> [String: String] {
        try await queue(named: name).tags
    }

    /// Validates every message against the queue, stores the valid ones in one transaction and
    /// reports, per message in order, its id or the error that kept it out.
    package func send(queueName: String, messages: [OutgoingMessage]) async throws -> [Result<SentMessage, SpoolError>] {
        let queue = try await queue(named: queueName, for: "SendMessage")
        try SendRules.requireFIFOIdentifiers(messages, queue: queue.attributes)
        return try await Self.perEntry(messages) { message throws(SpoolError) in
            try SendRules.validate(message, queue: queue.attributes)
            return message
        } apply: { accepted in
            let stored = try await store.sendMessages(SendMessagesParams(queueID: queue.id, messages: accepted, now: clock.now()))
            SpoolMetrics.messagesSent(queue.name, stored.count)
            signals.signal(queue.id)
            return stored.map { .success($0) }
        }
    }

    /// Receives up to `maxMessages`, waiting up to `waitSeconds` (the queue's
    /// `ReceiveMessageWaitTimeSeconds` when `nil`) for one to become available.
    ///
    /// The wait sleeps until a send, a redrive or a move signals the queue, or until the next delayed
    /// or leased message becomes visible; it never polls on a fixed interval.
    package func receive(queueName: String, maxMessages: Int, visibilityTimeout: Int?, waitSeconds: Int?, attemptID: String? = nil) async throws -> [ReceivedMessage] {
        guard (1...10).contains(maxMessages) else {
            throw SpoolError.invalidParameter("MaxNumberOfMessages", value: String(maxMessages), reason: "Must be between 1 and 10, if provided.")
        }
        if let visibilityTimeout, !(0...43_200).contains(visibilityTimeout) {
            throw SpoolError.invalidParameter("VisibilityTimeout", value: String(visibilityTimeout), reason: "Must be between 0 and 43200, if provided.")
        }
        if let waitSeconds, !(0...20).contains(waitSeconds) {
            throw SpoolError.invalidParameter("WaitTimeSeconds", value: String(waitSeconds), reason: "Must be >= 0 and <= 20, if provided.")
        }
        if let attemptID { try SendRules.checkToken("ReceiveRequestAttemptId", attemptID) }
        let queue = try await queue(named: queueName, for: "ReceiveMessage")
        let wait = Millis(waitSeconds ?? queue.attributes.receiveMessageWaitTimeSeconds) * 1000
        let deadline = clock.now() + wait
        while true {
            let seen = signals.generation(queue.id)
            let outcome = try await store.receiveMessages(ReceiveMessagesParams(
                queueID: queue.id, maxMessages: maxMessages, visibilityTimeout: visibilityTimeout, attemptID: attemptID,
                identity: identity, now: clock.now()
            ))
            for target in outcome.redrivenTo { signals.signal(target) }
            if !outcome.messages.isEmpty {
                SpoolMetrics.messagesReceived(queue.name, outcome.messages.count)
                return outcome.messages
            }
            let now = clock.now()
            guard now < deadline, !signals.isClosed, !Task.isCancelled else {
                SpoolMetrics.messagesReceived(queue.name, 0)
                return []
            }
            let nextVisible = try await store.nextVisibleAt(queueID: queue.id, now: now)
            let until = min(deadline, nextVisible ?? deadline)
            await signals.wait(queue.id, seen: seen, timeoutMillis: max(1, until - now))
        }
    }

    /// Deletes by receipt handle; per entry `nil` on success or the error.
    package func delete(queueName: String, receiptHandles: [String]) async throws -> [SpoolError?] {
        let queue = try await queue(named: queueName, for: "DeleteMessage")
        return try await Self.perEntry(receiptHandles) { text throws(SpoolError) in
            try ReceiptHandle.decode(text)
        } apply: { receipts in
            let stored = try await store.deleteMessages(DeleteMessagesParams(queueID: queue.id, receipts: receipts, now: clock.now()))
            SpoolMetrics.messagesDeleted(queue.name, stored.filter { $0 == nil }.count)
            // Deleting the in-flight head of a FIFO group may release the group's next message.
            if queue.isFIFO { signals.signal(queue.id) }
            return stored.map(Self.result)
        }.map(\.error)
    }

    /// Changes visibility timeouts by receipt handle; per entry `nil` on success or the error.
    package func changeVisibility(queueName: String, changes: [(receiptHandle: String, timeout: Int)]) async throws -> [SpoolError?] {
        let queue = try await queue(named: queueName, for: "ChangeMessageVisibility")
        return try await Self.perEntry(changes) { change throws(SpoolError) in
            guard (0...43_200).contains(change.timeout) else {
                throw .invalidParameter("VisibilityTimeout", value: String(change.timeout), reason: "Must be between 0 and 43200.")
            }
            return ChangeVisibilityParams.Change(receipt: try ReceiptHandle.decode(change.receiptHandle), timeoutSeconds: change.timeout)
        } apply: { valid in
            let stored = try await store.changeVisibility(ChangeVisibilityParams(queueID: queue.id, changes: valid, now: clock.now()))
            signals.signal(queue.id)
            return stored.map(Self.result)
        }.map(\.error)
    }

    package func deadLetterSourceQueues(name: String) async throws -> [QueueRecord] {
        try await store.deadLetterSourceQueues(of: name)
    }

    package func startMoveTask(sourceARN: String, destinationARN: String?, maxPerSecond: Int?) async throws -> MoveTask {
        let handle = MoveTaskHandle.make(taskID: UUID().uuidString.lowercased(), sourceARN: sourceARN)
        let task = try await store.startMoveTask(StartMoveTaskParams(
            sourceARN: sourceARN, destinationARN: destinationARN, maxNumberOfMessagesPerSecond: maxPerSecond,
            identity: identity, handle: handle, now: clock.now()
        ))
        signals.signal(Self.moveTaskChannel)
        return task
    }

    package func listMoveTasks(sourceARN: String, maxResults: Int?) async throws -> [MoveTask] {
        let limit = maxResults ?? 1
        guard (1...10).contains(limit) else {
            throw SpoolError.invalidParameter("MaxResults", value: String(limit), reason: "Must be between 1 and 10.")
        }
        guard let name = identity.queueName(fromARN: sourceARN), try await store.queue(named: name) != nil else {
            throw SpoolError(.resourceNotFound, "The resource that you specified for the SourceArn parameter doesn't exist.")
        }
        return try await store.listMoveTasks(sourceARN: sourceARN, limit: limit)
    }

    package func cancelMoveTask(handle: String) async throws -> MoveTask {
        guard MoveTaskHandle.isWellFormed(handle) else {
            throw SpoolError.invalidParameter("TaskHandle", value: handle, reason: "The task handle is not valid.")
        }
        return try await store.cancelMoveTask(handle: handle, now: clock.now())
    }
}
