import PostgresNIO
import SpoolModel
import SpoolStorage

/// The backlog (kept by counting triggers, see `0006_pg_backlog_counts`), the invocation journal and the overview the
/// dashboard and `spool status` show: the same figures from whichever node is asked.
extension PostgresStore: BacklogStore, InvocationJournalStore, OverviewStore {
    package func backlog() async throws -> Backlog {
        try await read { connection in
            var counts: [String: Int] = [:]
            for row in try await connection.rows("SELECT kind, sum(n)::BIGINT FROM backlog_count GROUP BY kind") {
                let (kind, n) = try row.decode((String, Int).self)
                counts[kind] = n
            }
            return Backlog(asyncEvents: counts["invocation"] ?? 0, queueMessages: counts["queue_message"] ?? 0,
                           streamRecords: counts["stream_record"] ?? 0)
        }
    }

    package func appendInvocationRecords(_ records: [JournalEntry]) async throws {
        guard !records.isEmpty else { return }
        try await transaction { connection in
            // Swift arrays bind no NULLs: absent values go in as markers that NULLIF turns back into NULL.
            try await connection.run("""
                INSERT INTO invocation_journal (function_name, request_id, origin, batch_size, outcome, error_type, started_at, duration_ms,
                                                init_duration_ms, max_memory_mb, log)
                SELECT f, r, o, b, oc, NULLIF(e, ''), s, d, NULLIF(i, -1), NULLIF(m, -1), l
                FROM unnest(\(records.map(\.functionName))::TEXT[], \(records.map(\.requestID))::TEXT[],
                  \(records.map(\.origin.rawValue))::TEXT[], \(records.map(\.batchSize))::INTEGER[], \(records.map(\.outcome.rawValue))::TEXT[],
                  \(records.map { $0.errorType ?? "" })::TEXT[], \(records.map(\.startedAt))::BIGINT[], \(records.map(\.durationMs))::FLOAT8[],
                  \(records.map { $0.initDurationMs ?? -1 })::FLOAT8[], \(records.map { $0.maxMemoryUsedMB ?? -1 })::INTEGER[],
                  \(records.map { $0.log ?? "" })::TEXT[]) AS t(f, r, o, b, oc, e, s, d, i, m, l)
                """)
        }
    }

    package func invocationRecords(_ query: JournalQuery) async throws -> [JournalEntry] {
        try await read { connection in
            var conditions = Conditions()
            if let name = query.functionName { try conditions.add("function_name = ?", name) }
            if let requestID = query.requestID { try conditions.add("request_id = ?", requestID) }
            let order: String
            if let after = query.afterID {
                try conditions.add("id > ?", after)
                order = "id ASC"
            } else {
                if let before = query.beforeID { try conditions.add("id < ?", before) }
                order = "id DESC"
            }
            let limit = try conditions.bind(query.limit)
            let columns = "id, function_name, request_id, origin, batch_size, outcome, error_type, started_at, duration_ms, init_duration_ms, max_memory_mb, "
                + (query.includeLog ? "log" : "NULL::TEXT")
            return try await connection.rows(conditions.query("SELECT \(columns) FROM invocation_journal", "ORDER BY \(order) LIMIT \(limit)"))
                .map { row in
                    let (id, function, requestID, origin, batchSize, outcome, errorType, startedAt, duration, initDuration, memory, log) =
                        try row.decode((Int64, String, String, String, Int, String, String?, Int64, Double, Double?, Int?, String?).self)
                    return JournalEntry(id: id, functionName: function, requestID: requestID, origin: JournalEntry.Origin(rawValue: origin) ?? .sync,
                                        batchSize: batchSize, outcome: JournalEntry.Outcome(rawValue: outcome) ?? .failed, errorType: errorType,
                                        startedAt: startedAt, durationMs: duration, initDurationMs: initDuration, maxMemoryUsedMB: memory, log: log)
                }
        }
    }

    package func invocationActivity(since: Millis, bucketMs: Millis) async throws -> [ActivityBucket] {
        try await read { connection in
            try await connection.rows("""
                SELECT (started_at / \(bucketMs)) * \(bucketMs) AS bucket, function_name, count(*),
                       count(*) FILTER (WHERE outcome IN ('error', 'timeout')), count(*) FILTER (WHERE outcome = 'throttled'),
                       coalesce(sum(duration_ms), 0)
                FROM invocation_journal WHERE started_at >= \(since)
                GROUP BY bucket, function_name ORDER BY bucket, function_name
                """).map { row in
                let (bucket, function, invocations, errors, throttles, duration) = try row.decode((Int64, String, Int, Int, Int, Double).self)
                return ActivityBucket(start: bucket, functionName: function, invocations: invocations, errors: errors, throttles: throttles,
                                      totalDurationMs: duration)
            }
        }
    }

    package func trimInvocationRecords(keeping: Int, limit: Int) async throws -> Int {
        try await transaction { connection in
            // Ids only grow: everything at or below the newest id minus `keeping` is beyond the limit.
            guard let newest = try await connection.value("SELECT max(id) FROM invocation_journal", as: Int64.self) else { return 0 }
            return try await connection.count("""
                DELETE FROM invocation_journal WHERE id IN (
                  SELECT id FROM invocation_journal WHERE id <= \(newest - Int64(keeping)) ORDER BY id LIMIT \(limit) FOR UPDATE SKIP LOCKED)
                RETURNING 1
                """)
        }
    }

    package func deleteInvocationRecords(startedBefore cutoff: Millis, limit: Int) async throws -> Int {
        try await transaction { connection in
            try await connection.count("""
                DELETE FROM invocation_journal WHERE id IN (
                  SELECT id FROM invocation_journal WHERE started_at < \(cutoff) ORDER BY started_at LIMIT \(limit) FOR UPDATE SKIP LOCKED)
                RETURNING 1
                """)
        }
    }

    package func asyncBacklogs(now: Millis) async throws -> [FunctionBacklog] {
        try await read { connection in
            try await connection.rows("""
                SELECT function_name, count(*) FILTER (WHERE state = 'queued' OR visible_at <= \(now)),
                       count(*) FILTER (WHERE state = 'running' AND visible_at > \(now)), min(enqueued_at)
                FROM invocation GROUP BY function_name ORDER BY function_name
                """).map { row in
                let (function, queued, running, oldest) = try row.decode((String, Int, Int, Int64?).self)
                return FunctionBacklog(functionName: function, queued: queued, running: running, oldestEnqueuedAt: oldest)
            }
        }
    }

    package func deadLetterCounts() async throws -> [DeadLetterCount] {
        try await read { connection in
            try await connection.rows("""
                SELECT function_name, count(*), count(*) FILTER (WHERE replayed_at IS NULL)
                FROM dead_letter GROUP BY function_name ORDER BY function_name
                """).map { row in
                let (function, total, waiting) = try row.decode((String, Int, Int).self)
                return DeadLetterCount(functionName: function, total: total, notReplayed: waiting)
            }
        }
    }

    package func queueDepths(now: Millis) async throws -> [QueueDepth] {
        try await read { connection in
            try await connection.rows("""
                SELECT q.name,
                       count(m.id) FILTER (WHERE m.visible_at <= \(now)),
                       count(m.id) FILTER (WHERE m.visible_at > \(now) AND m.receive_count > 0),
                       count(m.id) FILTER (WHERE m.visible_at > \(now) AND m.receive_count = 0),
                       min(m.sent_at)
                FROM queue q LEFT JOIN queue_message m
                  ON m.queue_id = q.id AND m.sent_at > \(now) - q.retention_ms AND m.id > q.purged_through_id
                WHERE q.deleted_at IS NULL GROUP BY q.id ORDER BY q.name
                """).map { row in
                let (name, visible, inFlight, delayed, oldest) = try row.decode((String, Int, Int, Int, Int64?).self)
                return QueueDepth(queueName: name, visible: visible, inFlight: inFlight, delayed: delayed, oldestSentAt: oldest)
            }
        }
    }

    package func streamDepths() async throws -> [StreamDepth] {
        try await read { connection in
            // Four probes of the (stream, shard, position) index per shard.
            try await connection.rows("""
                SELECT s.name, s.shard_count, coalesce(sum(x.last - x.first + 1), 0)::BIGINT, min(x.oldest), max(x.newest)
                FROM stream s LEFT JOIN (
                  SELECT sh.stream_id,
                    (SELECT position FROM stream_record r WHERE r.stream_id = sh.stream_id AND r.shard_index = sh.shard_index ORDER BY position LIMIT 1) AS first,
                    (SELECT position FROM stream_record r WHERE r.stream_id = sh.stream_id AND r.shard_index = sh.shard_index ORDER BY position DESC LIMIT 1) AS last,
                    (SELECT arrival_at FROM stream_record r WHERE r.stream_id = sh.stream_id AND r.shard_index = sh.shard_index ORDER BY position LIMIT 1) AS oldest,
                    (SELECT arrival_at FROM stream_record r WHERE r.stream_id = sh.stream_id AND r.shard_index = sh.shard_index ORDER BY position DESC LIMIT 1) AS newest
                  FROM stream_shard sh) x ON x.stream_id = s.id
                WHERE s.deleted_at IS NULL GROUP BY s.id ORDER BY s.name
                """).map { row in
                let (name, shards, records, oldest, newest) = try row.decode((String, Int, Int, Int64?, Int64?).self)
                return StreamDepth(streamName: name, shardCount: shards, records: records, oldestArrival: oldest, newestArrival: newest)
            }
        }
    }
}
