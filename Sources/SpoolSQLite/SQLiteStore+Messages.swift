import Foundation
import GRDB
import SpoolModel
import SpoolStorage

/// Messages: send, receive under a lease (with redrive), delete and change visibility by receipt.
extension SQLiteStore {
    package func sendMessages(_ params: SendMessagesParams) async throws -> [SentMessage] {
        try await write { db in
            let queue = try QueueRuntime.fetch(db, id: params.queueID)
            var sent: [SentMessage] = []
            for message in params.messages {
                sent.append(try Self.insert(db, message: message, into: queue, now: params.now))
            }
            return sent
        }
    }

    /// Inserts one message. `deduplicate: false` is for messages moved between queues, which must
    /// never be dropped as duplicates of their own earlier send.
    static func insert(
        _ db: Database, message: OutgoingMessage, into queue: QueueRuntime, now: Millis, deduplicate: Bool = true
    ) throws -> SentMessage {
        var sequence: Int64?
        var deduplication: (key: String, id: String)?
        if queue.fifo {
            guard let group = message.groupID else { throw SpoolError.missingParameter("MessageGroupId") }
            if deduplicate {
                let entry = try QueueStoreRules.deduplication(message, group: group, contentBased: queue.contentBasedDeduplication)
                let lookup = queue.deduplicationByGroup
                    ? "SELECT message_id, sequence_number FROM queue_dedup WHERE queue_id = ? AND dedup_key = ? AND expires_at > ?"
                    : "SELECT message_id, sequence_number FROM queue_dedup WHERE queue_id = ? AND dedup_id = ? AND expires_at > ? ORDER BY sequence_number LIMIT 1"
                if let row = try Row.fetchOne(db.cachedStatement(sql: lookup),
                                              arguments: [queue.id, queue.deduplicationByGroup ? entry.key : entry.id, now]) {
                    return SentMessage(messageID: row["message_id"], sequenceNumber: SequenceNumber.format(row["sequence_number"]))
                }
                deduplication = entry
            }
            sequence = try Int64.fetchOne(
                db.cachedStatement(sql: "UPDATE queue SET next_sequence = next_sequence + 1 WHERE id = ? RETURNING next_sequence - 1"),
                arguments: [queue.id]
            )
        }
        let messageID = UUID().uuidString.lowercased()
        let delay = message.delaySeconds.map { Millis($0) * 1000 } ?? queue.delay
        try db.cachedStatement(sql: """
            INSERT INTO queue_message (queue_id, message_id, body, attributes, system_attributes, sent_at, visible_at,
                                       group_id, dedup_id, sequence_number)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [
                queue.id, messageID, message.body,
                message.attributes.isEmpty ? nil : ColumnJSON.encode(message.attributes),
                message.systemAttributes.isEmpty ? nil : ColumnJSON.encode(message.systemAttributes),
                now, now + delay, message.groupID, message.deduplicationID, sequence,
            ])
        if let deduplication, let sequence {
            try db.cachedStatement(sql: """
                INSERT INTO queue_dedup (queue_id, dedup_key, dedup_id, message_id, sequence_number, expires_at) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(queue_id, dedup_key) DO UPDATE SET message_id = excluded.message_id,
                  sequence_number = excluded.sequence_number, expires_at = excluded.expires_at
                """).execute(arguments: [queue.id, deduplication.key, deduplication.id, messageID, sequence,
                                         now + QueueStoreRules.deduplicationWindow])
        }
        return SentMessage(messageID: messageID, sequenceNumber: sequence.map(SequenceNumber.format))
    }

    package func receiveMessages(_ params: ReceiveMessagesParams) async throws -> ReceiveOutcome {
        // A lease (with the redrives it triggers) lost in a power failure only makes messages receivable
        // again, as an expired visibility timeout would: no fsync of its own.
        try await write(durable: false) { db in
            let queue = try QueueRuntime.fetch(db, id: params.queueID)
            let visibility = params.visibilityTimeout.map { Millis($0) * 1000 } ?? queue.visibility
            let attemptID = queue.fifo ? params.attemptID : nil
            if let attemptID, let replayed = try Self.replayAttempt(db, queueID: queue.id, attemptID: attemptID, leaseUntil: params.now + visibility, now: params.now) {
                return ReceiveOutcome(messages: replayed)
            }
            var redriven: [Int64] = []
            if let target = queue.deadLetterID, let maxReceives = queue.maxReceiveCount {
                let moved = try Self.redriveExhausted(db, queue: queue, target: target, maxReceives: maxReceives, identity: params.identity, now: params.now)
                if moved > 0 { redriven.append(target) }
            }
            let rows = try Row.fetchAll(
                db.cachedStatement(sql: queue.fifo ? Self.fifoClaimSQL : Self.standardClaimSQL),
                arguments: [
                    "leaseUntil": params.now + visibility, "now": params.now, "queue": queue.id,
                    "oldest": params.now - queue.retention, "maxReceives": queue.deadLetterID == nil ? Int.max : (queue.maxReceiveCount ?? Int.max),
                    "limit": params.maxMessages, "purgedThrough": queue.purgedThrough, "floor": self.epochFloor,
                ]
            )
            let messages = QueueStoreRules.receiveOrder(rows.map(Self.receivedMessage), fifo: queue.fifo)
            if let attemptID {
                try Self.recordAttempt(db, queueID: queue.id, attemptID: attemptID, messages: messages, now: params.now)
            }
            return ReceiveOutcome(messages: messages, redrivenTo: redriven)
        }
    }

    /// Moves visible messages whose receive count is exhausted to the dead-letter queue, keeping their
    /// id, body, attributes and sent time, and recording where they came from.
    static func redriveExhausted(
        _ db: Database, queue: QueueRuntime, target: Int64, maxReceives: Int, identity: AWSIdentity, now: Millis
    ) throws -> Int {
        let ids = try Int64.fetchAll(
            db.cachedStatement(sql: """
                SELECT id FROM queue_message WHERE queue_id = ? AND visible_at <= ? AND receive_count >= ? AND id > ?
                ORDER BY id LIMIT ?
                """),
            arguments: [queue.id, now, maxReceives, queue.purgedThrough, QueueStoreRules.redriveChunk]
        )
        guard !ids.isEmpty else { return 0 }
        let list = ids.map(String.init).joined(separator: ",")
        try db.execute(
            sql: """
                INSERT INTO queue_message (queue_id, message_id, body, attributes, system_attributes, sent_at, visible_at,
                  receive_count, group_id, dedup_id, sequence_number, dead_letter_source_arn)
                SELECT ?, message_id, body, attributes, system_attributes, sent_at, ?, receive_count, group_id, dedup_id,
                  sequence_number, ? FROM queue_message WHERE id IN (\(list)) ORDER BY id
                """,
            arguments: [target, now, identity.queueARN(queue.name)]
        )
        try db.execute(sql: "DELETE FROM queue_message WHERE id IN (\(list))")
        return ids.count
    }

    /// A message from a row of `receivedColumns`, read by position (a lookup by name lowercases the
    /// name for every column of every row, which cost more than the claim itself).
    static func receivedMessage(_ row: Row) -> ReceivedMessage {
        let sequence: Int64? = row[12]
        let messageID: String = row[2]
        return ReceivedMessage(
            messageID: messageID,
            receipt: ReceiptHandle(queueID: row[1], rowID: row[0], epoch: row[9], messageID: messageID),
            body: row[3],
            attributes: QueueStoreRules.attributeMap(row[4]),
            systemAttributes: QueueStoreRules.attributeMap(row[5]),
            sentAt: row[6], firstReceivedAt: row[7], receiveCount: row[8],
            groupID: row[10], deduplicationID: row[11], sequenceNumber: sequence.map(SequenceNumber.format),
            deadLetterSourceARN: row[13]
        )
    }

    package func nextVisibleAt(queueID: Int64, now: Millis) async throws -> Millis? {
        try await read { db in
            try Millis.fetchOne(
                db.cachedStatement(sql: """
                    SELECT min(visible_at) FROM queue_message
                    WHERE queue_id = ?1 AND visible_at > ?2 AND id > (SELECT purged_through_id FROM queue WHERE id = ?1)
                    """),
                arguments: [queueID, now]
            )
        }
    }

    package func deleteMessages(_ params: DeleteMessagesParams) async throws -> [SpoolError?] {
        try await write { db in
            var results: [SpoolError?] = []
            for receipt in params.receipts {
                guard receipt.queueID == params.queueID else {
                    results.append(.receiptHandleIsInvalid(receipt.encoded))
                    continue
                }
                // A receipt from an earlier receive carries an older epoch and deletes nothing, as SQS
                // reports success for it.
                try db.cachedStatement(sql: "DELETE FROM queue_message WHERE id = ? AND queue_id = ? AND lease_epoch = ? AND message_id = ?")
                    .execute(arguments: [receipt.rowID, receipt.queueID, receipt.epoch, receipt.messageID])
                results.append(nil)
            }
            return results
        }
    }

    package func releaseMessages(_ params: DeleteMessagesParams) async throws {
        try await write { [floor = epochFloor] db in
            for receipt in params.receipts where receipt.queueID == params.queueID {
                try db.cachedStatement(sql: """
                    UPDATE queue_message SET visible_at = ?, receive_count = max(receive_count - 1, 0), lease_epoch = max(lease_epoch + 1, ?)
                    WHERE id = ? AND queue_id = ? AND lease_epoch = ? AND message_id = ? AND receive_count > 0
                    """).execute(arguments: [params.now, floor, receipt.rowID, receipt.queueID, receipt.epoch, receipt.messageID])
            }
        }
    }

    package func changeVisibility(_ params: ChangeVisibilityParams) async throws -> [SpoolError?] {
        try await write { db in
            var results: [SpoolError?] = []
            let fifo = try Bool.fetchOne(db, sql: "SELECT fifo FROM queue WHERE id = ?", arguments: [params.queueID]) ?? false
            for change in params.changes {
                let receipt = change.receipt
                guard receipt.queueID == params.queueID else {
                    results.append(.receiptHandleIsInvalid(receipt.encoded))
                    continue
                }
                let leaseUntil = params.now + Millis(change.timeoutSeconds) * 1000
                try db.cachedStatement(sql: """
                    UPDATE queue_message SET visible_at = ?1
                    WHERE id = ?2 AND queue_id = ?3 AND lease_epoch = ?4 AND message_id = ?5 AND receive_count > 0
                      AND visible_at > ?6 AND ?1 - last_received_at <= ?7
                    """).execute(arguments: [leaseUntil, receipt.rowID, receipt.queueID, receipt.epoch, receipt.messageID,
                                             QueueStoreRules.visibilityChangeFloor(fifo: fifo, now: params.now), QueueStoreRules.maximumLease])
                if db.changesCount == 1 {
                    results.append(nil)
                    continue
                }
                let current = try Row.fetchOne(
                    db.cachedStatement(sql: """
                        SELECT visible_at, receive_count, last_received_at, lease_epoch FROM queue_message
                        WHERE id = ? AND queue_id = ? AND message_id = ?
                        """),
                    arguments: [receipt.rowID, receipt.queueID, receipt.messageID]
                )
                results.append(QueueStoreRules.visibilityChangeError(
                    current: current.map { ($0["visible_at"], $0["receive_count"], $0["last_received_at"], $0["lease_epoch"]) }, change: change,
                    fifo: fifo, now: params.now
                ))
            }
            return results
        }
    }
}

extension QueueRuntime {
    static func fetch(_ db: Database, id: Int64) throws -> QueueRuntime {
        guard let row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT \(columns) FROM queue WHERE id = ? AND deleted_at IS NULL"),
            arguments: [id]
        ) else { throw SpoolError.queueDoesNotExist() }
        return QueueRuntime(
            id: row["id"], name: row["name"], fifo: row["fifo"] as Int64 == 1, deadLetterID: row["dlq_id"],
            maxReceiveCount: row["max_receive_count"], retention: row["retention_ms"], visibility: row["visibility_ms"],
            delay: row["delay_ms"], contentBasedDeduplication: row["content_based_dedup"],
            deduplicationByGroup: row["dedup_by_group"], purgedThrough: row["purged_through_id"]
        )
    }
}
