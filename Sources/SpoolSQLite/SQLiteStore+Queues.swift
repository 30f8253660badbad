import GRDB
import SpoolModel
import SpoolStorage

/// Queue lifecycle: create, look up, list, attributes, tags, purge, delete.
extension SQLiteStore {
    static let queueColumns = "id, name, attributes, tags, created_at, modified_at"

    static func queueRecord(_ row: Row) -> QueueRecord {
        QueueStoreRules.queueRecord(
            id: row["id"], name: row["name"], attributes: row["attributes"], tags: row["tags"],
            createdAt: row["created_at"], modifiedAt: row["modified_at"]
        )
    }

    static func fetchQueue(_ db: Database, name: String) throws -> QueueRecord? {
        // Deleted queues are renamed to 'deleted:<id>', which no valid name can equal.
        try Row.fetchOne(db.cachedStatement(sql: "SELECT \(queueColumns) FROM queue WHERE name = ?"), arguments: [name])
            .map(queueRecord)
    }

    static func requireQueue(_ db: Database, name: String) throws -> QueueRecord {
        guard let queue = try fetchQueue(db, name: name) else { throw SpoolError.queueDoesNotExist() }
        return queue
    }

    /// Checks the redrive policy's target and returns its queue id (or `nil` without a policy).
    static func resolveDeadLetterTarget(
        _ db: Database, attributes: QueueAttributes, sourceName: String, identity: AWSIdentity
    ) throws -> Int64? {
        let target = try QueueStoreRules.deadLetterTargetName(attributes: attributes, identity: identity).flatMap { try fetchQueue(db, name: $0) }
        return try QueueStoreRules.deadLetterTarget(attributes: attributes, sourceName: sourceName, identity: identity, target: target)
    }

    static func storeAttributes(_ db: Database, queueID: Int64, attributes: QueueAttributes, deadLetterID: Int64?, now: Millis) throws {
        try db.execute(
            sql: """
                UPDATE queue SET attributes = ?, modified_at = ?, dlq_id = ?, max_receive_count = ?,
                  retention_ms = ?, visibility_ms = ?, delay_ms = ?, content_based_dedup = ?, dedup_by_group = ? WHERE id = ?
                """,
            arguments: [
                ColumnJSON.encode(attributes.wireValues), now, deadLetterID, attributes.redrivePolicy?.maxReceiveCount,
                Int64(attributes.messageRetentionPeriod) * 1000, Int64(attributes.visibilityTimeout) * 1000,
                Int64(attributes.delaySeconds) * 1000, attributes.contentBasedDeduplication,
                attributes.deduplicationScope == "messageGroup", queueID,
            ]
        )
    }

    package func createQueue(_ params: CreateQueueParams) async throws -> QueueRecord {
        let attributes = try QueueStoreRules.newQueueAttributes(params)
        let fifo = attributes.fifoQueue
        return try await write { db in
            if let existing = try Self.fetchQueue(db, name: params.name) {
                try QueueStoreRules.checkSameAttributes(existing: existing, requested: attributes, given: params.attributes)
                return existing
            }
            try QueueStoreRules.checkNameCooldown(
                deletedAt: try Millis.fetchOne(db, sql: "SELECT deleted_at FROM deleted_queue_name WHERE name = ?", arguments: [params.name]),
                now: params.now
            )
            let deadLetterID = try Self.resolveDeadLetterTarget(db, attributes: attributes, sourceName: params.name, identity: params.identity)
            try db.execute(
                sql: """
                    INSERT INTO queue (name, fifo, attributes, tags, created_at, modified_at, retention_ms, visibility_ms, delay_ms)
                    VALUES (?, ?, '{}', ?, ?, ?, 0, 0, 0)
                    """,
                arguments: [params.name, fifo ? 1 : 0, ColumnJSON.encode(params.tags), params.now, params.now]
            )
            let id = db.lastInsertedRowID
            try Self.storeAttributes(db, queueID: id, attributes: attributes, deadLetterID: deadLetterID, now: params.now)
            try db.execute(sql: "DELETE FROM deleted_queue_name WHERE name = ?", arguments: [params.name])
            return try Self.requireQueue(db, name: params.name)
        }
    }

    package func queue(named name: String) async throws -> QueueRecord? {
        try await read { db in try Self.fetchQueue(db, name: name) }
    }

    package func listQueues(_ params: ListQueuesParams) async throws -> [QueueRecord] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT \(Self.queueColumns) FROM queue WHERE deleted_at IS NULL AND substr(name, 1, ?) = ? AND name > ? ORDER BY name LIMIT ?",
                arguments: [params.prefix.count, params.prefix, params.afterName ?? "", params.limit]
            ).map(Self.queueRecord)
        }
    }

    package func deleteQueue(_ params: DeleteQueueParams) async throws {
        try await write { db in
            let queue = try Self.requireQueue(db, name: params.name)
            // Tombstone now; the sweeper removes the messages and the row in small batches.
            try db.execute(
                sql: "UPDATE queue SET name = 'deleted:' || id, deleted_at = ?, dlq_id = NULL WHERE id = ?",
                arguments: [params.now, queue.id]
            )
            try db.execute(sql: "UPDATE queue SET dlq_id = NULL WHERE dlq_id = ?", arguments: [queue.id])
            try db.execute(sql: "UPDATE move_task SET source_queue_id = NULL WHERE source_queue_id = ?", arguments: [queue.id])
            try db.execute(
                sql: "INSERT INTO deleted_queue_name (name, deleted_at) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET deleted_at = excluded.deleted_at",
                arguments: [params.name, params.now]
            )
        }
    }

    package func setQueueAttributes(_ params: SetQueueAttributesParams) async throws -> QueueRecord {
        try await write { db in
            let queue = try Self.requireQueue(db, name: params.name)
            let attributes = try queue.attributes.applying(params.attributes, creating: false)
            let deadLetterID = try Self.resolveDeadLetterTarget(db, attributes: attributes, sourceName: queue.name, identity: params.identity)
            try Self.storeAttributes(db, queueID: queue.id, attributes: attributes, deadLetterID: deadLetterID, now: params.now)
            return try Self.requireQueue(db, name: params.name)
        }
    }

    package func counts(queueID: Int64, now: Millis) async throws -> QueueCounts {
        try await read { db in
            guard let queue = try Row.fetchOne(
                db, sql: "SELECT retention_ms, purged_through_id FROM queue WHERE id = ? AND deleted_at IS NULL", arguments: [queueID]
            ) else {
                throw SpoolError.queueDoesNotExist()
            }
            let retention: Millis = queue["retention_ms"]
            let purgedThrough: Int64 = queue["purged_through_id"]
            let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT coalesce(sum(visible_at <= ?1), 0) AS visible,
                           coalesce(sum(visible_at > ?1 AND receive_count > 0), 0) AS in_flight,
                           coalesce(sum(visible_at > ?1 AND receive_count = 0), 0) AS delayed
                    FROM queue_message WHERE queue_id = ?2 AND sent_at > ?3 AND id > ?4
                    """,
                arguments: [now, queueID, now - retention, purgedThrough]
            )
            return QueueCounts(visible: row?["visible"] ?? 0, inFlight: row?["in_flight"] ?? 0, delayed: row?["delayed"] ?? 0)
        }
    }

    package func tagQueue(name: String, tags: [String: String], now: Millis) async throws {
        try await write { db in
            let queue = try Self.requireQueue(db, name: name)
            try QueueTags.validate(tags, existing: queue.tags)
            let merged = queue.tags.merging(tags) { $1 }
            try db.execute(sql: "UPDATE queue SET tags = ? WHERE id = ?", arguments: [ColumnJSON.encode(merged), queue.id])
        }
    }

    package func untagQueue(name: String, keys: [String], now: Millis) async throws {
        try await write { db in
            let queue = try Self.requireQueue(db, name: name)
            var tags = queue.tags
            for key in keys { tags.removeValue(forKey: key) }
            try db.execute(sql: "UPDATE queue SET tags = ? WHERE id = ?", arguments: [ColumnJSON.encode(tags), queue.id])
        }
    }

    package func purgeQueue(_ params: PurgeQueueParams) async throws {
        try await write { db in
            let queue = try Self.requireQueue(db, name: params.name)
            try QueueStoreRules.checkPurgeInterval(
                queue: queue, purgedAt: try Millis.fetchOne(db, sql: "SELECT purged_at FROM queue WHERE id = ?", arguments: [queue.id]), now: params.now
            )
            // Every message stored so far is gone at once for receivers and counts; the sweeper
            // deletes the rows in small batches.
            try db.execute(
                sql: """
                    UPDATE queue SET purged_at = ?, purge_pending = 1,
                      purged_through_id = coalesce((SELECT max(id) FROM queue_message WHERE queue_id = ?), purged_through_id)
                    WHERE id = ?
                    """,
                arguments: [params.now, queue.id, queue.id]
            )
            // A purge also clears the FIFO deduplication window, as on AWS: the same message may be sent again at once.
            try db.execute(sql: "DELETE FROM queue_dedup WHERE queue_id = ?", arguments: [queue.id])
        }
    }

    package func deadLetterSourceQueues(of name: String) async throws -> [QueueRecord] {
        try await read { db in
            let queue = try Self.requireQueue(db, name: name)
            return try Row.fetchAll(
                db, sql: "SELECT \(Self.queueColumns) FROM queue WHERE dlq_id = ? ORDER BY name", arguments: [queue.id]
            ).map(Self.queueRecord)
        }
    }
}
