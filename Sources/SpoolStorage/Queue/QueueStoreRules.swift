import Foundation
import SpoolModel

/// What every `QueueStore` backend decides the same way, whatever SQL it speaks: the SQS time windows, the checks
/// on a new queue and its redrive target, FIFO deduplication keys, and reading a stored queue row.
package enum QueueStoreRules {
    /// A deleted queue's name is reserved this long.
    package static let deletedNameCooldown: Millis = 60_000
    /// One PurgeQueue per queue in this time.
    package static let purgeInterval: Millis = 60_000
    /// FIFO deduplication and `ReceiveRequestAttemptId` windows.
    package static let deduplicationWindow: Millis = 300_000
    package static let receiveAttemptWindow: Millis = 300_000
    /// A lease may reach at most 12 hours past the receive that started it.
    package static let maximumLease: Millis = 43_200_000
    /// Exhausted messages moved to the dead-letter queue per receive, keeping each transaction short.
    package static let redriveChunk = 100

    /// The validated attributes of a queue to create (name, `FifoQueue`, every attribute, tags).
    package static func newQueueAttributes(_ params: CreateQueueParams) throws -> QueueAttributes {
        // A stored name: the queue's own name, under its region's prefix outside the home region.
        guard QueueName.isValid(AWSIdentity.plainName(params.name)) else { throw QueueName.invalidNameError() }
        let fifo = QueueName.isFIFO(params.name)
        if fifo, params.attributes["FifoQueue"]?.lowercased() != "true" {
            throw SpoolError(.invalidParameterValue, "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length. Set the FifoQueue attribute to true.")
        }
        if !fifo, params.attributes["FifoQueue"]?.lowercased() == "true" {
            throw SpoolError(.invalidParameterValue, "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.")
        }
        let attributes = try QueueAttributes(fifoQueue: fifo).applying(params.attributes, creating: true)
        try QueueTags.validate(params.tags)
        return attributes
    }

    /// CreateQueue of an existing name succeeds only when every attribute given matches the queue's.
    package static func checkSameAttributes(existing: QueueRecord, requested attributes: QueueAttributes, given: [String: String]) throws {
        let requested = attributes.wireValues
        let current = existing.attributes.wireValues
        for name in given.keys.sorted() where requested[name] != current[name] {
            throw SpoolError(.queueNameExists, "A queue already exists with the same name and a different value for attribute \(name)")
        }
    }

    /// Whether a name deleted at `deletedAt` may be used again at `now`.
    package static func checkNameCooldown(deletedAt: Millis?, now: Millis) throws {
        if let deletedAt, now - deletedAt < deletedNameCooldown {
            throw SpoolError(.queueDeletedRecently, "You must wait 60 seconds after deleting a queue before you can create another with the same name.")
        }
    }

    package static func checkPurgeInterval(queue: QueueRecord, purgedAt: Millis?, now: Millis) throws {
        if let purgedAt, now - purgedAt < purgeInterval {
            throw SpoolError(.purgeQueueInProgress, "Only one PurgeQueue operation on \(AWSIdentity.plainName(queue.name)) is allowed every 60 seconds.")
        }
    }

    /// The stored name of the queue the redrive policy names, if it names one by a valid ARN of this account.
    package static func deadLetterTargetName(attributes: QueueAttributes, identity: AWSIdentity) -> String? {
        attributes.redrivePolicy.flatMap { identity.queueName(fromARN: $0.deadLetterTargetARN) }
    }

    /// The redrive policy's target queue, checked: it exists (`target`, looked up by `deadLetterTargetName`), is of
    /// the same type, and its redrive allow policy admits the source. `nil` without a policy.
    package static func deadLetterTarget(
        attributes: QueueAttributes, sourceName: String, identity: AWSIdentity, target: QueueRecord?
    ) throws -> Int64? {
        guard let policy = attributes.redrivePolicy else { return nil }
        let invalid = { (reason: String) in
            SpoolError.invalidParameter("RedrivePolicy", value: policy.json, reason: reason)
        }
        guard let target else { throw invalid("Dead letter target does not exist.") }
        guard identity.region(of: target.name) == identity.region(of: sourceName) else {
            throw invalid("Dead-letter queue must be in the same account and region as the source queue.")
        }
        guard target.isFIFO == attributes.fifoQueue else {
            throw invalid("Dead-letter queue must be same type of queue as the source.")
        }
        if let allow = target.attributes.redriveAllowPolicy, !allow.allows(sourceARN: identity.queueARN(sourceName)) {
            throw invalid("Queue \(identity.queueARN(sourceName)) does not have permission to use \(policy.deadLetterTargetARN) as a dead-letter queue (RedriveAllowPolicy).")
        }
        return target.id
    }

    /// What a FIFO message is deduplicated by: its deduplication id (given, or its body's SHA-256 under content-based
    /// deduplication) and the entry's key, the id with its group. Both are kept with every entry whatever the queue's
    /// `DeduplicationScope`, so that a change of scope applies to entries already recorded: `queue` finds an entry by
    /// its id (in any group), `messageGroup` by its key.
    package static func deduplication(_ message: OutgoingMessage, group: String, contentBased: Bool) throws -> (key: String, id: String) {
        guard let dedup = message.deduplicationID ?? (contentBased ? MessageDigest.contentDeduplicationID(message.body) : nil) else {
            throw SpoolError(.invalidParameterValue, "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly")
        }
        return (dedup + "\u{1F}" + group, dedup)
    }

    /// The time a message's visibility must end after for a visibility change under its (latest) receipt to apply, as
    /// SQS decides: on a FIFO queue now (an expired receipt is refused); on a standard queue any time (a message whose
    /// visibility ran out but which nobody received again still takes it).
    package static func visibilityChangeFloor(fifo: Bool, now: Millis) -> Millis {
        fifo ? now : .min
    }

    /// The answer to a visibility change that updated nothing, from what the receipt's message is now (`nil`: it is
    /// gone): success without a change for a stale receipt on a standard queue (the message was received again: the
    /// new holder's lease stays as it is), else the error SQS gives.
    package static func visibilityChangeError(
        current: (visibleAt: Millis, receiveCount: Int, lastReceivedAt: Millis?, epoch: Int64)?, change: ChangeVisibilityParams.Change,
        fifo: Bool, now: Millis
    ) -> SpoolError? {
        guard let current else {
            return .invalidParameter(
                "ReceiptHandle", value: change.receipt.encoded,
                reason: "Message does not exist or is not available for visibility timeout change."
            )
        }
        if current.epoch != change.receipt.epoch || (fifo && current.visibleAt <= now) {
            guard fifo else { return nil }
            return .invalidParameter("ReceiptHandle", value: change.receipt.encoded, reason: "The receipt handle has expired.")
        }
        if current.receiveCount == 0 {
            return SpoolError(.messageNotInflight, "The message referred to isn't in flight.")
        }
        return .invalidParameter(
            "VisibilityTimeout", value: String(change.timeoutSeconds),
            reason: "Total VisibilityTimeout for the message is beyond the limit [43200 seconds]"
        )
    }

    private static let attributeCache = DecodedColumnCache<QueueAttributes>()
    private static let tagCache = DecodedColumnCache<[String: String]>()

    /// A queue from its stored columns (`attributes` and `tags` as JSON objects of strings).
    package static func queueRecord(id: Int64, name: String, attributes: String, tags: String, createdAt: Millis, modifiedAt: Millis) -> QueueRecord {
        let decoded = attributeCache.value(for: attributes) { text in
            let wire = ColumnJSON.decode([String: String].self, text) ?? [:]
            let fifo = wire["FifoQueue"] == "true"
            // Stored attributes were validated when written; re-parsing them cannot fail for a known key.
            return (try? QueueAttributes(fifoQueue: fifo).applying(wire, creating: true)) ?? QueueAttributes(fifoQueue: fifo)
        }
        return QueueRecord(
            id: id, name: name, attributes: decoded,
            tags: tagCache.value(for: tags) { ColumnJSON.decode([String: String].self, $0) ?? [:] },
            createdAt: createdAt, modifiedAt: modifiedAt
        )
    }

    /// A stored message attribute map; most messages have none, stored as `NULL` or `{}`.
    package static func attributeMap(_ text: String?) -> [String: MessageAttributeValue] {
        guard let text, text != "{}" else { return [:] }
        return ColumnJSON.decode([String: MessageAttributeValue].self, text) ?? [:]
    }

    /// A message leaving a queue for another (move tasks): its body and attributes, no delay, its group and
    /// deduplication id.
    package static func movedMessage(body: String, attributes: String?, systemAttributes: String?, groupID: String?, deduplicationID: String?) -> OutgoingMessage {
        OutgoingMessage(
            body: body, attributes: attributeMap(attributes), systemAttributes: attributeMap(systemAttributes),
            delaySeconds: 0, groupID: groupID, deduplicationID: deduplicationID
        )
    }

    package static func checkMoveRate(_ rate: Int?) throws {
        if let rate, !(1...500).contains(rate) {
            throw SpoolError.invalidParameter("MaxNumberOfMessagesPerSecond", value: String(rate), reason: "Must be between 1 and 500.")
        }
    }

    /// The order a receive answers in (RETURNING has none): row ids, which follow arrival; on a FIFO queue a group's
    /// messages together, groups in the order of their oldest message, as SQS returns them.
    package static func receiveOrder(_ messages: [ReceivedMessage], fifo: Bool) -> [ReceivedMessage] {
        let byRow = messages.sorted { $0.receipt.rowID < $1.receipt.rowID }
        guard fifo else { return byRow }
        var first: [String: Int64] = [:]
        for message in byRow where first[message.groupID ?? ""] == nil { first[message.groupID ?? ""] = message.receipt.rowID }
        return byRow.sorted { (first[$0.groupID ?? ""]!, $0.receipt.rowID) < (first[$1.groupID ?? ""]!, $1.receipt.rowID) }
    }
}

/// The queue settings a message operation needs, read inside its transaction.
package struct QueueRuntime: Sendable {
    package var id: Int64
    package var name: String
    package var fifo: Bool
    package var deadLetterID: Int64?
    package var maxReceiveCount: Int?
    package var retention: Millis
    package var visibility: Millis
    package var delay: Millis
    package var contentBasedDeduplication: Bool
    package var deduplicationByGroup: Bool
    /// Messages with ids up to this were purged and are waiting for the sweeper.
    package var purgedThrough: Int64

    /// The columns of the `queue` table these come from, in this order, on either backend.
    package static let columns = """
        id, name, fifo, dlq_id, max_receive_count, retention_ms, visibility_ms, delay_ms, content_based_dedup,
        dedup_by_group, purged_through_id
        """

    package init(
        id: Int64, name: String, fifo: Bool, deadLetterID: Int64?, maxReceiveCount: Int?, retention: Millis, visibility: Millis,
        delay: Millis, contentBasedDeduplication: Bool, deduplicationByGroup: Bool, purgedThrough: Int64
    ) {
        self.id = id
        self.name = name
        self.fifo = fifo
        self.deadLetterID = deadLetterID
        self.maxReceiveCount = maxReceiveCount
        self.retention = retention
        self.visibility = visibility
        self.delay = delay
        self.contentBasedDeduplication = contentBasedDeduplication
        self.deduplicationByGroup = deduplicationByGroup
        self.purgedThrough = purgedThrough
    }

    /// The largest receive count a claim may take a message at: the redrive policy's, when there is a target.
    package var receiveLimit: Int {
        deadLetterID == nil ? Int.max : (maxReceiveCount ?? Int.max)
    }
}
