import GRDB
import SpoolModel
import SpoolStorage

extension SQLiteStore: InvocationJournalStore {
    /// Journal rows are not durable writes: losing the last ones in a power cut loses only logs, never an event.
    package func appendInvocationRecords(_ records: [JournalEntry]) async throws {
        guard !records.isEmpty else { return }
        try await write(durable: false) { db in
            let statement = try db.cachedStatement(sql: """
                INSERT INTO invocation_journal (function_name, request_id, origin, batch_size, outcome, error_type, started_at, duration_ms,
                                                init_duration_ms, max_memory_mb, log)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for record in records {
                try statement.execute(arguments: [record.functionName, record.requestID, record.origin.rawValue, record.batchSize, record.outcome.rawValue,
                                                  record.errorType, record.startedAt, record.durationMs, record.initDurationMs,
                                                  record.maxMemoryUsedMB, record.log ?? ""])
            }
        }
    }

    package func invocationRecords(_ query: JournalQuery) async throws -> [JournalEntry] {
        try await read { db in
            var conditions: [String] = []
            var arguments: StatementArguments = []
            if let name = query.functionName {
                conditions.append("function_name = ?")
                _ = arguments.append(contentsOf: [name])
            }
            if let requestID = query.requestID {
                conditions.append("request_id = ?")
                _ = arguments.append(contentsOf: [requestID])
            }
            let order: String
            if let after = query.afterID {
                conditions.append("id > ?")
                _ = arguments.append(contentsOf: [after])
                order = "id ASC"
            } else {
                if let before = query.beforeID {
                    conditions.append("id < ?")
                    _ = arguments.append(contentsOf: [before])
                }
                order = "id DESC"
            }
            _ = arguments.append(contentsOf: [query.limit])
            let columns = "id, function_name, request_id, origin, batch_size, outcome, error_type, started_at, duration_ms, init_duration_ms, max_memory_mb"
                + (query.includeLog ? ", log" : "")
            let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            return try Row.fetchAll(db, sql: "SELECT \(columns) FROM invocation_journal \(filter) ORDER BY \(order) LIMIT ?", arguments: arguments)
                .map { row in
                    JournalEntry(id: row["id"], functionName: row["function_name"], requestID: row["request_id"],
                                     origin: JournalEntry.Origin(rawValue: row["origin"]) ?? .sync, batchSize: row["batch_size"],
                                     outcome: JournalEntry.Outcome(rawValue: row["outcome"]) ?? .failed,
                                     errorType: row["error_type"], startedAt: row["started_at"], durationMs: row["duration_ms"],
                                     initDurationMs: row["init_duration_ms"], maxMemoryUsedMB: row["max_memory_mb"],
                                     log: query.includeLog ? row["log"] : nil)
                }
        }
    }

    package func invocationActivity(since: Millis, bucketMs: Millis) async throws -> [ActivityBucket] {
        try await read { db in
            try Row.fetchAll(db, sql: """
                SELECT (started_at / ?1) * ?1 AS bucket, function_name, count(*) AS invocations,
                       coalesce(sum(outcome IN ('error', 'timeout')), 0) AS errors, coalesce(sum(outcome = 'throttled'), 0) AS throttles,
                       coalesce(sum(duration_ms), 0) AS total_duration
                FROM invocation_journal WHERE started_at >= ?2
                GROUP BY bucket, function_name ORDER BY bucket, function_name
                """, arguments: [bucketMs, since])
            .map { row in
                ActivityBucket(start: row["bucket"], functionName: row["function_name"], invocations: row["invocations"],
                               errors: row["errors"], throttles: row["throttles"], totalDurationMs: row["total_duration"])
            }
        }
    }

    package func trimInvocationRecords(keeping: Int, limit: Int) async throws -> Int {
        try await write(durable: false) { db in
            // Ids only grow: everything at or below the newest id minus `keeping` is beyond the limit.
            guard let newest = try Int64.fetchOne(db, sql: "SELECT max(id) FROM invocation_journal") else { return 0 }
            try db.execute(sql: """
                DELETE FROM invocation_journal WHERE id IN (SELECT id FROM invocation_journal WHERE id <= ? ORDER BY id LIMIT ?)
                """, arguments: [newest - Int64(keeping), limit])
            return db.changesCount
        }
    }

    package func deleteInvocationRecords(startedBefore cutoff: Millis, limit: Int) async throws -> Int {
        try await write(durable: false) { db in
            try db.execute(sql: """
                DELETE FROM invocation_journal WHERE id IN (SELECT id FROM invocation_journal WHERE started_at < ? ORDER BY started_at LIMIT ?)
                """, arguments: [cutoff, limit])
            return db.changesCount
        }
    }
}

extension SQLiteStore: OverviewStore {
    package func asyncBacklogs(now: Millis) async throws -> [FunctionBacklog] {
        try await read { db in
            try Row.fetchAll(db, sql: """
                SELECT function_name, coalesce(sum(state = 'queued' OR visible_at <= ?), 0) AS queued,
                       coalesce(sum(state = 'running' AND visible_at > ?), 0) AS running, min(enqueued_at) AS oldest
                FROM invocation GROUP BY function_name ORDER BY function_name
                """, arguments: [now, now])
            .map { FunctionBacklog(functionName: $0["function_name"], queued: $0["queued"], running: $0["running"], oldestEnqueuedAt: $0["oldest"]) }
        }
    }

    package func deadLetterCounts() async throws -> [DeadLetterCount] {
        try await read { db in
            try Row.fetchAll(db, sql: """
                SELECT function_name, count(*) AS total, coalesce(sum(replayed_at IS NULL), 0) AS waiting
                FROM dead_letter GROUP BY function_name ORDER BY function_name
                """)
            .map { DeadLetterCount(functionName: $0["function_name"], total: $0["total"], notReplayed: $0["waiting"]) }
        }
    }

    package func queueDepths(now: Millis) async throws -> [QueueDepth] {
        try await read { db in
            try Row.fetchAll(db, sql: """
                SELECT q.name,
                       coalesce(sum(m.visible_at <= ?1), 0) AS visible,
                       coalesce(sum(m.visible_at > ?1 AND m.receive_count > 0), 0) AS in_flight,
                       coalesce(sum(m.visible_at > ?1 AND m.receive_count = 0), 0) AS delayed,
                       min(m.sent_at) AS oldest
                FROM queue q LEFT JOIN queue_message m
                  ON m.queue_id = q.id AND m.sent_at > ?1 - q.retention_ms AND m.id > q.purged_through_id
                WHERE q.deleted_at IS NULL GROUP BY q.id ORDER BY q.name
                """, arguments: [now])
            .map { QueueDepth(queueName: $0["name"], visible: $0["visible"], inFlight: $0["in_flight"], delayed: $0["delayed"],
                              oldestSentAt: $0["oldest"]) }
        }
    }

    package func streamDepths() async throws -> [StreamDepth] {
        try await read { db in
            // Four probes of the (stream, shard, position) index per shard.
            try Row.fetchAll(db, sql: """
                SELECT s.name, s.shard_count, coalesce(sum(x.last - x.first + 1), 0) AS records, min(x.oldest) AS oldest, max(x.newest) AS newest
                FROM stream s LEFT JOIN (
                  SELECT sh.stream_id,
                    (SELECT position FROM stream_record r WHERE r.stream_id = sh.stream_id AND r.shard_index = sh.shard_index ORDER BY position LIMIT 1) AS first,
                    (SELECT position FROM stream_record r WHERE r.stream_id = sh.stream_id AND r.shard_index = sh.shard_index ORDER BY position DESC LIMIT 1) AS last,
                    (SELECT arrival_at FROM stream_record r WHERE r.stream_id = sh.stream_id AND r.shard_index = sh.shard_index ORDER BY position LIMIT 1) AS oldest,
                    (SELECT arrival_at FROM stream_record r WHERE r.stream_id = sh.stream_id AND r.shard_index = sh.shard_index ORDER BY position DESC LIMIT 1) AS newest
                  FROM stream_shard sh) x ON x.stream_id = s.id
                WHERE s.deleted_at IS NULL GROUP BY s.id ORDER BY s.name
                """)
            .map { StreamDepth(streamName: $0["name"], shardCount: $0["shard_count"], records: $0["records"],
                               oldestArrival: $0["oldest"], newestArrival: $0["newest"]) }
        }
    }
}
