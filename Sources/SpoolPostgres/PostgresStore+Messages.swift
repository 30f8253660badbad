import Foundation
import PostgresNIO
import SpoolModel
import SpoolStorage

/// Messages: send, receive under a lease (with redrive), delete and change visibility by receipt, from any node.
///
/// Standard queues claim with `FOR UPDATE SKIP LOCKED`, so receivers on every node take disjoint messages without
/// waiting for one another. A FIFO queue's sends and receives first lock the queue row, so that deduplication,
/// sequence numbers and the one-message-group-in-flight rule are decided by one transaction at a time.
extension PostgresStore {
    /// Read by position in `receivedMessage`: keep the order.
    static let receivedColumns = """
        m.id, m.queue_id, m.message_id, m.body, m.attributes, m.system_attributes, m.sent_at, m.first_received_at, m.receive_count,
        m.lease_epoch, m.group_id, m.dedup_id, m.sequence_number, m.dead_letter_source_arn
        """

    static func receivedMessage(_ row: PostgresRow) throws -> ReceivedMessage {
        let (id, queueID, messageID, body, attributes, systemAttributes, sentAt, firstReceivedAt, receiveCount, epoch,
             groupID, deduplicationID, sequence, deadLetterSource) =
            try row.decode((Int64, Int64, String, String, String?, String?, Int64, Int64?, Int, Int64, String?, String?, Int64?, String?).self)
        return ReceivedMessage(
            messageID: messageID,
            receipt: ReceiptHandle(queueID: queueID, rowID: id, epoch: epoch, messageID: messageID),
            body: body,
            attributes: QueueStoreRules.attributeMap(attributes),
            systemAttributes: QueueStoreRules.attributeMap(systemAttributes),
            sentAt: sentAt, firstReceivedAt: firstReceivedAt ?? sentAt, receiveCount: receiveCount,
            groupID: groupID, deduplicationID: deduplicationID, sequenceNumber: sequence.map(SequenceNumber.format),
            deadLetterSourceARN: deadLetterSource
        )
    }

    static func queueRuntime(_ connection: PostgresConnection, id: Int64, lock: Bool = false) async throws -> QueueRuntime {
        let suffix = lock ? " FOR NO KEY UPDATE" : ""
        guard let row = try await connection.first(
            "SELECT \(unescaped: QueueRuntime.columns) FROM queue WHERE id = \(id) AND deleted_at IS NULL\(unescaped: suffix)"
        ) else { throw SpoolError.queueDoesNotExist() }
        let (queueID, name, fifo, deadLetterID, maxReceiveCount, retention, visibility, delay, contentBased, byGroup, purgedThrough) =
            try row.decode((Int64, String, Bool, Int64?, Int?, Int64, Int64, Int64, Bool, Bool, Int64).self)
        return QueueRuntime(
            id: queueID, name: name, fifo: fifo, deadLetterID: deadLetterID, maxReceiveCount: maxReceiveCount, retention: retention,
            visibility: visibility, delay: delay, contentBasedDeduplication: contentBased, deduplicationByGroup: byGroup,
            purgedThrough: purgedThrough
        )
    }

    /// The queue a message operation works on; a FIFO queue's row is locked for the rest of the transaction.
    static func runtimeForMessages(_ connection: PostgresConnection, id: Int64) async throws -> QueueRuntime {
        let queue = try await queueRuntime(connection, id: id)
        return queue.fifo ? try await queueRuntime(connection, id: id, lock: true) : queue
    }

    package func sendMessages(_ params: SendMessagesParams) async throws -> [SentMessage] {
        try await transaction { connection in
            let queue = try await Self.runtimeForMessages(connection, id: params.queueID)
            var sent: [SentMessage] = []
            for message in params.messages {
                sent.append(try await Self.insert(connection, message: message, into: queue, now: params.now))
            }
            return sent
        }
    }

    /// Inserts one message. `deduplicate: false` is for messages moved between queues, which must never be dropped as
    /// duplicates of their own earlier send. A FIFO queue's row must be locked by the caller.
    static func insert(
        _ connection: PostgresConnection, message: OutgoingMessage, into queue: QueueRuntime, now: Millis, deduplicate: Bool = true
    ) async throws -> SentMessage {
        var sequence: Int64?
        var deduplication: (key: String, id: String)?
        if queue.fifo {
            guard let group = message.groupID else { throw SpoolError.missingParameter("MessageGroupId") }
            if deduplicate {
                let entry = try QueueStoreRules.deduplication(message, group: group, contentBased: queue.contentBasedDeduplication)
                let found = queue.deduplicationByGroup
                    ? try await connection.first(
                        "SELECT message_id, sequence_number FROM queue_dedup WHERE queue_id = \(queue.id) AND dedup_key = \(entry.key) AND expires_at > \(now)")
                    : try await connection.first("""
                        SELECT message_id, sequence_number FROM queue_dedup WHERE queue_id = \(queue.id) AND dedup_id = \(entry.id)
                          AND expires_at > \(now) ORDER BY sequence_number LIMIT 1
                        """)
                if let found {
                    let (messageID, sequence) = try found.decode((String, Int64).self)
                    return SentMessage(messageID: messageID, sequenceNumber: SequenceNumber.format(sequence))
                }
                deduplication = entry
            }
            sequence = try await connection.value(
                "UPDATE queue SET next_sequence = next_sequence + 1 WHERE id = \(queue.id) RETURNING next_sequence - 1", as: Int64.self
            )
        }
        let messageID = UUID().uuidString.lowercased()
        let delay = message.delaySeconds.map { Millis($0) * 1000 } ?? queue.delay
        let attributes = message.attributes.isEmpty ? nil : ColumnJSON.encode(message.attributes)
        let systemAttributes = message.systemAttributes.isEmpty ? nil : ColumnJSON.encode(message.systemAttributes)
        try await connection.run("""
            INSERT INTO queue_message (queue_id, message_id, body, attributes, system_attributes, sent_at, visible_at,
                                       group_id, dedup_id, sequence_number)
            VALUES (\(queue.id), \(messageID), \(message.body), \(attributes), \(systemAttributes), \(now), \(now + delay),
                    \(message.groupID), \(message.deduplicationID), \(sequence))
            """)
        if let deduplication, let sequence {
            try await connection.run("""
                INSERT INTO queue_dedup (queue_id, dedup_key, dedup_id, message_id, sequence_number, expires_at)
                VALUES (\(queue.id), \(deduplication.key), \(deduplication.id), \(messageID), \(sequence),
                        \(now + QueueStoreRules.deduplicationWindow))
                ON CONFLICT (queue_id, dedup_key) DO UPDATE SET message_id = excluded.message_id,
                  sequence_number = excluded.sequence_number, expires_at = excluded.expires_at
                """)
        }
        return SentMessage(messageID: messageID, sequenceNumber: sequence.map(SequenceNumber.format))
    }

    package func receiveMessages(_ params: ReceiveMessagesParams) async throws -> ReceiveOutcome {
        try await transaction { [floor = epochFloor] connection in
            let queue = try await Self.runtimeForMessages(connection, id: params.queueID)
            let visibility = params.visibilityTimeout.map { Millis($0) * 1000 } ?? queue.visibility
            let leaseUntil = params.now + visibility
            let attemptID = queue.fifo ? params.attemptID : nil
            if let attemptID, let replayed = try await Self.replayAttempt(connection, queueID: queue.id, attemptID: attemptID, leaseUntil: leaseUntil, now: params.now) {
                return ReceiveOutcome(messages: replayed)
            }
            var redriven: [Int64] = []
            if let target = queue.deadLetterID, let maxReceives = queue.maxReceiveCount {
                let moved = try await Self.redriveExhausted(connection, queue: queue, target: target, maxReceives: maxReceives, identity: params.identity, now: params.now)
                if moved > 0 { redriven.append(target) }
            }
            let rows = try await connection.rows(queue.fifo
                ? Self.fifoClaim(queue: queue, leaseUntil: leaseUntil, floor: floor, limit: params.maxMessages, now: params.now)
                : Self.standardClaim(queue: queue, leaseUntil: leaseUntil, floor: floor, limit: params.maxMessages, now: params.now))
            let messages = QueueStoreRules.receiveOrder(try rows.map(Self.receivedMessage), fifo: queue.fifo)
            if let attemptID {
                try await connection.run("""
                    INSERT INTO receive_attempt (queue_id, attempt_id, created_at, receipts)
                    VALUES (\(queue.id), \(attemptID), \(params.now), \(ColumnJSON.encode(messages.map { [$0.receipt.rowID, $0.receipt.epoch] })))
                    ON CONFLICT (queue_id, attempt_id) DO UPDATE SET created_at = excluded.created_at, receipts = excluded.receipts
                    """)
            }
            return ReceiveOutcome(messages: messages, redrivenTo: redriven)
        }
    }

    /// Leases visible messages of a standard queue under a new epoch (never below this opening's floor), skipping
    /// the rows another receiver is leasing at this moment.
    static func standardClaim(queue: QueueRuntime, leaseUntil: Millis, floor: Int64, limit: Int, now: Millis) -> PostgresQuery {
        """
        WITH picked AS (
            SELECT id FROM queue_message
            WHERE queue_id = \(queue.id) AND visible_at <= \(now) AND sent_at > \(now - queue.retention)
              AND receive_count < \(queue.receiveLimit) AND id > \(queue.purgedThrough)
            ORDER BY visible_at, id LIMIT \(limit)
            FOR UPDATE SKIP LOCKED)
        UPDATE queue_message m
        SET visible_at = \(leaseUntil), lease_epoch = GREATEST(m.lease_epoch + 1, \(floor)), receive_count = m.receive_count + 1,
            first_received_at = coalesce(m.first_received_at, \(now)), last_received_at = \(now)
        FROM picked WHERE m.id = picked.id
        RETURNING \(unescaped: receivedColumns)
        """
    }

    /// Leases messages of a FIFO queue (whose row the caller holds, so FIFO receivers take turns): a group's messages
    /// together, in sequence order, groups in the order of their oldest message; a message waits while an earlier one
    /// of its group is in flight (so one whose visibility ended is received again first, later ones staying in flight).
    static func fifoClaim(queue: QueueRuntime, leaseUntil: Millis, floor: Int64, limit: Int, now: Millis) -> PostgresQuery {
        """
        WITH eligible AS (
            SELECT c.id, min(c.id) OVER (PARTITION BY c.group_id) AS first FROM queue_message c
            WHERE c.queue_id = \(queue.id) AND c.visible_at <= \(now) AND c.sent_at > \(now - queue.retention)
              AND c.receive_count < \(queue.receiveLimit) AND c.id > \(queue.purgedThrough)
              AND NOT EXISTS (
                SELECT 1 FROM queue_message f
                WHERE f.queue_id = c.queue_id AND f.group_id = c.group_id AND f.id < c.id AND f.visible_at > \(now)
                  AND f.receive_count > 0 AND f.id > \(queue.purgedThrough))),
        picked AS (SELECT id FROM eligible ORDER BY first, id LIMIT \(limit))
        UPDATE queue_message m
        SET visible_at = \(leaseUntil), lease_epoch = GREATEST(m.lease_epoch + 1, \(floor)), receive_count = m.receive_count + 1,
            first_received_at = coalesce(m.first_received_at, \(now)), last_received_at = \(now)
        FROM picked WHERE m.id = picked.id
        RETURNING \(unescaped: receivedColumns)
        """
    }

    /// Moves visible messages whose receive count is exhausted to the dead-letter queue in one statement (so two
    /// receivers never move the same message twice), keeping their id, body, attributes and sent time, and recording
    /// where they came from.
    static func redriveExhausted(
        _ connection: PostgresConnection, queue: QueueRuntime, target: Int64, maxReceives: Int, identity: AWSIdentity, now: Millis
    ) async throws -> Int {
        try await connection.count("""
            WITH moved AS (
                DELETE FROM queue_message WHERE id IN (
                    SELECT id FROM queue_message
                    WHERE queue_id = \(queue.id) AND visible_at <= \(now) AND receive_count >= \(maxReceives) AND id > \(queue.purgedThrough)
                    ORDER BY id LIMIT \(QueueStoreRules.redriveChunk)
                    FOR UPDATE SKIP LOCKED)
                RETURNING *)
            INSERT INTO queue_message (queue_id, message_id, body, attributes, system_attributes, sent_at, visible_at,
              receive_count, group_id, dedup_id, sequence_number, dead_letter_source_arn)
            SELECT \(target), message_id, body, attributes, system_attributes, sent_at, \(now), receive_count, group_id, dedup_id,
              sequence_number, \(identity.queueARN(queue.name)) FROM moved ORDER BY id
            RETURNING 1
            """)
    }

    /// The messages an earlier receive with this attempt id returned, with their visibility reset, or `nil` when
    /// there was none within five minutes or any of them was deleted or received again.
    static func replayAttempt(_ connection: PostgresConnection, queueID: Int64, attemptID: String, leaseUntil: Millis, now: Millis) async throws -> [ReceivedMessage]? {
        guard let text = try await connection.value(
            "SELECT receipts FROM receive_attempt WHERE queue_id = \(queueID) AND attempt_id = \(attemptID) AND created_at > \(now - QueueStoreRules.receiveAttemptWindow)",
            as: String.self
        ), let receipts = ColumnJSON.decode([[Int64]].self, text) else { return nil }
        var messages: [ReceivedMessage] = []
        for pair in receipts where pair.count == 2 {
            guard let row = try await connection.first(
                "SELECT \(unescaped: receivedColumns) FROM queue_message m WHERE m.id = \(pair[0]) AND m.queue_id = \(queueID) AND m.lease_epoch = \(pair[1])"
            ) else { return nil }
            messages.append(try receivedMessage(row))
        }
        for message in messages {
            try await connection.run("UPDATE queue_message SET visible_at = \(leaseUntil) WHERE id = \(message.receipt.rowID)")
        }
        return messages
    }

    package func nextVisibleAt(queueID: Int64, now: Millis) async throws -> Millis? {
        try await read { connection in
            try await connection.value("""
                SELECT min(visible_at) FROM queue_message
                WHERE queue_id = \(queueID) AND visible_at > \(now) AND id > (SELECT purged_through_id FROM queue WHERE id = \(queueID))
                """, as: Int64.self)
        }
    }

    package func deleteMessages(_ params: DeleteMessagesParams) async throws -> [SpoolError?] {
        try await transaction { connection in
            var results: [SpoolError?] = []
            for receipt in params.receipts {
                guard receipt.queueID == params.queueID else {
                    results.append(.receiptHandleIsInvalid(receipt.encoded))
                    continue
                }
                // A receipt from an earlier receive carries an older epoch and deletes nothing, as SQS reports success for it.
                try await connection.run("""
                    DELETE FROM queue_message
                    WHERE id = \(receipt.rowID) AND queue_id = \(receipt.queueID) AND lease_epoch = \(receipt.epoch) AND message_id = \(receipt.messageID)
                    """)
                results.append(nil)
            }
            return results
        }
    }

    package func releaseMessages(_ params: DeleteMessagesParams) async throws {
        try await transaction { [floor = epochFloor] connection in
            for receipt in params.receipts where receipt.queueID == params.queueID {
                try await connection.run("""
                    UPDATE queue_message
                    SET visible_at = \(params.now), receive_count = GREATEST(receive_count - 1, 0), lease_epoch = GREATEST(lease_epoch + 1, \(floor))
                    WHERE id = \(receipt.rowID) AND queue_id = \(receipt.queueID) AND lease_epoch = \(receipt.epoch)
                      AND message_id = \(receipt.messageID) AND receive_count > 0
                    """)
            }
        }
    }

    package func changeVisibility(_ params: ChangeVisibilityParams) async throws -> [SpoolError?] {
        try await transaction { connection in
            var results: [SpoolError?] = []
            let fifo = try await connection.value("SELECT fifo FROM queue WHERE id = \(params.queueID)", as: Bool.self) ?? false
            for change in params.changes {
                let receipt = change.receipt
                guard receipt.queueID == params.queueID else {
                    results.append(.receiptHandleIsInvalid(receipt.encoded))
                    continue
                }
                let leaseUntil = params.now + Millis(change.timeoutSeconds) * 1000
                let changed = try await connection.count("""
                    UPDATE queue_message SET visible_at = \(leaseUntil)
                    WHERE id = \(receipt.rowID) AND queue_id = \(receipt.queueID) AND lease_epoch = \(receipt.epoch)
                      AND message_id = \(receipt.messageID) AND receive_count > 0
                      AND visible_at > \(QueueStoreRules.visibilityChangeFloor(fifo: fifo, now: params.now))
                      AND \(leaseUntil) - last_received_at <= \(QueueStoreRules.maximumLease)
                    RETURNING 1
                    """)
                if changed == 1 {
                    results.append(nil)
                    continue
                }
                let current = try await connection.first("""
                    SELECT visible_at, receive_count, last_received_at, lease_epoch FROM queue_message
                    WHERE id = \(receipt.rowID) AND queue_id = \(receipt.queueID) AND message_id = \(receipt.messageID)
                    """)
                results.append(QueueStoreRules.visibilityChangeError(
                    current: try current.map { try $0.decode((Int64, Int, Int64?, Int64).self) }, change: change, fifo: fifo, now: params.now
                ))
            }
            return results
        }
    }
}
