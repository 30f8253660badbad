import PostgresNIO
import SpoolModel
import SpoolStorage

/// Queue lifecycle: create, look up, list, attributes, tags, purge, delete. Races between nodes are settled by the
/// database: a name is unique, and the writes that check before they change lock the queue row first.
extension PostgresStore: QueueStore {
    static let queueColumns = "id, name, attributes, tags, created_at, modified_at"

    static func queueRecord(_ row: PostgresRow) throws -> QueueRecord {
        let (id, name, attributes, tags, createdAt, modifiedAt) = try row.decode((Int64, String, String, String, Int64, Int64).self)
        return QueueStoreRules.queueRecord(id: id, name: name, attributes: attributes, tags: tags, createdAt: createdAt, modifiedAt: modifiedAt)
    }

    /// The live queue called `name`; `lock` takes its row for the rest of the transaction (no key change, so
    /// messages may still be inserted under it).
    static func fetchQueue(_ connection: PostgresConnection, name: String, lock: Bool = false) async throws -> QueueRecord? {
        // Deleted queues are renamed to 'deleted:<id>', which no valid name can equal.
        let suffix = lock ? " FOR NO KEY UPDATE" : ""
        return try await connection.first("SELECT \(unescaped: queueColumns) FROM queue WHERE name = \(name)\(unescaped: suffix)")
            .map(queueRecord)
    }

    static func requireQueue(_ connection: PostgresConnection, name: String, lock: Bool = false) async throws -> QueueRecord {
        guard let queue = try await fetchQueue(connection, name: name, lock: lock) else { throw SpoolError.queueDoesNotExist() }
        return queue
    }

    static func resolveDeadLetterTarget(
        _ connection: PostgresConnection, attributes: QueueAttributes, sourceName: String, identity: AWSIdentity
    ) async throws -> Int64? {
        var target: QueueRecord?
        if let name = QueueStoreRules.deadLetterTargetName(attributes: attributes, identity: identity) {
            target = try await fetchQueue(connection, name: name)
        }
        return try QueueStoreRules.deadLetterTarget(attributes: attributes, sourceName: sourceName, identity: identity, target: target)
    }

    static func storeAttributes(_ connection: PostgresConnection, queueID: Int64, attributes: QueueAttributes, deadLetterID: Int64?, now: Millis) async throws {
        try await connection.run("""
            UPDATE queue SET attributes = \(ColumnJSON.encode(attributes.wireValues)), modified_at = \(now), dlq_id = \(deadLetterID),
              max_receive_count = \(attributes.redrivePolicy?.maxReceiveCount),
              retention_ms = \(Int64(attributes.messageRetentionPeriod) * 1000), visibility_ms = \(Int64(attributes.visibilityTimeout) * 1000),
              delay_ms = \(Int64(attributes.delaySeconds) * 1000), content_based_dedup = \(attributes.contentBasedDeduplication),
              dedup_by_group = \(attributes.deduplicationScope == "messageGroup")
            WHERE id = \(queueID)
            """)
    }

    package func createQueue(_ params: CreateQueueParams) async throws -> QueueRecord {
        let attributes = try QueueStoreRules.newQueueAttributes(params)
        return try await transaction { connection in
            if let existing = try await Self.fetchQueue(connection, name: params.name) {
                try QueueStoreRules.checkSameAttributes(existing: existing, requested: attributes, given: params.attributes)
                return existing
            }
            try QueueStoreRules.checkNameCooldown(
                deletedAt: try await connection.value("SELECT deleted_at FROM deleted_queue_name WHERE name = \(params.name)"),
                now: params.now
            )
            let deadLetterID = try await Self.resolveDeadLetterTarget(connection, attributes: attributes, sourceName: params.name, identity: params.identity)
            // Two nodes creating the same name at once: one inserts, the other waits for it and then finds its queue.
            guard let id = try await connection.value("""
                INSERT INTO queue (name, fifo, attributes, tags, created_at, modified_at, retention_ms, visibility_ms, delay_ms)
                VALUES (\(params.name), \(attributes.fifoQueue), '{}', \(ColumnJSON.encode(params.tags)), \(params.now), \(params.now), 0, 0, 0)
                ON CONFLICT (name) DO NOTHING RETURNING id
                """, as: Int64.self)
            else {
                let existing = try await Self.requireQueue(connection, name: params.name)
                try QueueStoreRules.checkSameAttributes(existing: existing, requested: attributes, given: params.attributes)
                return existing
            }
            try await Self.storeAttributes(connection, queueID: id, attributes: attributes, deadLetterID: deadLetterID, now: params.now)
            try await connection.run("DELETE FROM deleted_queue_name WHERE name = \(params.name)")
            return try await Self.requireQueue(connection, name: params.name)
        }
    }

    package func queue(named name: String) async throws -> QueueRecord? {
        try await read { connection in try await Self.fetchQueue(connection, name: name) }
    }

    package func listQueues(_ params: ListQueuesParams) async throws -> [QueueRecord] {
        try await read { connection in
            try await connection.rows("""
                SELECT \(unescaped: Self.queueColumns) FROM queue
                WHERE deleted_at IS NULL AND starts_with(name, \(params.prefix)) AND name > \(params.afterName ?? "")
                ORDER BY name LIMIT \(params.limit)
                """).map(Self.queueRecord)
        }
    }

    package func deleteQueue(_ params: DeleteQueueParams) async throws {
        try await transaction { connection in
            let queue = try await Self.requireQueue(connection, name: params.name, lock: true)
            // Tombstone now; the sweeper removes the messages and the row in small batches.
            try await connection.run("UPDATE queue SET name = 'deleted:' || id, deleted_at = \(params.now), dlq_id = NULL WHERE id = \(queue.id)")
            try await connection.run("UPDATE queue SET dlq_id = NULL WHERE dlq_id = \(queue.id)")
            try await connection.run("UPDATE move_task SET source_queue_id = NULL WHERE source_queue_id = \(queue.id)")
            try await connection.run("""
                INSERT INTO deleted_queue_name (name, deleted_at) VALUES (\(params.name), \(params.now))
                ON CONFLICT (name) DO UPDATE SET deleted_at = excluded.deleted_at
                """)
        }
    }

    package func setQueueAttributes(_ params: SetQueueAttributesParams) async throws -> QueueRecord {
        try await transaction { connection in
            let queue = try await Self.requireQueue(connection, name: params.name, lock: true)
            let attributes = try queue.attributes.applying(params.attributes, creating: false)
            let deadLetterID = try await Self.resolveDeadLetterTarget(connection, attributes: attributes, sourceName: queue.name, identity: params.identity)
            try await Self.storeAttributes(connection, queueID: queue.id, attributes: attributes, deadLetterID: deadLetterID, now: params.now)
            return try await Self.requireQueue(connection, name: params.name)
        }
    }

    package func counts(queueID: Int64, now: Millis) async throws -> QueueCounts {
        try await read { connection in
            // One statement, one snapshot: the queue's settings and its counts agree.
            guard let row = try await connection.first("""
                SELECT (SELECT count(*) FILTER (WHERE m.visible_at <= \(now)) FROM queue_message m
                          WHERE m.queue_id = q.id AND m.sent_at > \(now) - q.retention_ms AND m.id > q.purged_through_id),
                       (SELECT count(*) FILTER (WHERE m.visible_at > \(now) AND m.receive_count > 0) FROM queue_message m
                          WHERE m.queue_id = q.id AND m.sent_at > \(now) - q.retention_ms AND m.id > q.purged_through_id),
                       (SELECT count(*) FILTER (WHERE m.visible_at > \(now) AND m.receive_count = 0) FROM queue_message m
                          WHERE m.queue_id = q.id AND m.sent_at > \(now) - q.retention_ms AND m.id > q.purged_through_id)
                FROM queue q WHERE q.id = \(queueID) AND q.deleted_at IS NULL
                """)
            else { throw SpoolError.queueDoesNotExist() }
            let (visible, inFlight, delayed) = try row.decode((Int, Int, Int).self)
            return QueueCounts(visible: visible, inFlight: inFlight, delayed: delayed)
        }
    }

    package func tagQueue(name: String, tags: [String: String], now: Millis) async throws {
        try await transaction { connection in
            let queue = try await Self.requireQueue(connection, name: name, lock: true)
            try QueueTags.validate(tags, existing: queue.tags)
            let merged = queue.tags.merging(tags) { $1 }
            try await connection.run("UPDATE queue SET tags = \(ColumnJSON.encode(merged)) WHERE id = \(queue.id)")
        }
    }

    package func untagQueue(name: String, keys: [String], now: Millis) async throws {
        try await transaction { connection in
            let queue = try await Self.requireQueue(connection, name: name, lock: true)
            var tags = queue.tags
            for key in keys { tags.removeValue(forKey: key) }
            try await connection.run("UPDATE queue SET tags = \(ColumnJSON.encode(tags)) WHERE id = \(queue.id)")
        }
    }

    package func purgeQueue(_ params: PurgeQueueParams) async throws {
        try await transaction { connection in
            let queue = try await Self.requireQueue(connection, name: params.name, lock: true)
            try QueueStoreRules.checkPurgeInterval(
                queue: queue, purgedAt: try await connection.value("SELECT purged_at FROM queue WHERE id = \(queue.id)", as: Int64.self), now: params.now
            )
            // Every message stored so far is gone at once for receivers and counts; the sweeper deletes the rows in
            // small batches.
            try await connection.run("""
                UPDATE queue SET purged_at = \(params.now), purge_pending = TRUE,
                  purged_through_id = coalesce((SELECT max(id) FROM queue_message WHERE queue_id = \(queue.id)), purged_through_id)
                WHERE id = \(queue.id)
                """)
            // A purge also clears the FIFO deduplication window, as on AWS: the same message may be sent again at once.
            try await connection.run("DELETE FROM queue_dedup WHERE queue_id = \(queue.id)")
        }
    }

    package func deadLetterSourceQueues(of name: String) async throws -> [QueueRecord] {
        try await read { connection in
            let queue = try await Self.requireQueue(connection, name: name)
            return try await connection.rows("SELECT \(unescaped: Self.queueColumns) FROM queue WHERE dlq_id = \(queue.id) ORDER BY name")
                .map(Self.queueRecord)
        }
    }
}
