import PostgresNIO
import SpoolModel
import SpoolStorage

/// Message move tasks: redriving a dead-letter queue back to its sources or to a chosen queue. Any node may advance a
/// running task; each pass locks the tasks it advances (`SKIP LOCKED`), so no task is advanced by two nodes at once.
extension PostgresStore {
    static let moveTaskColumns = """
        id, handle, source_queue_id, source_arn, destination_arn, max_per_second, status, moved, to_move, last_message_id,
        failure_reason, started_at, window_started_at, window_moved
        """

    static func moveTask(_ row: PostgresRow) throws -> MoveTask {
        let c = Columns(row)
        return MoveTask(
            handle: try c("handle"), sourceARN: try c("source_arn"), destinationARN: try c("destination_arn"),
            maxNumberOfMessagesPerSecond: try c("max_per_second"),
            status: MoveTask.Status(rawValue: try c("status")) ?? .failed, moved: try c("moved"), toMove: try c("to_move"),
            failureReason: try c("failure_reason"), startedAt: try c("started_at")
        )
    }

    static func fetchMoveTask(_ connection: PostgresConnection, handle: String) async throws -> MoveTask? {
        try await connection.first("SELECT \(unescaped: moveTaskColumns) FROM move_task WHERE handle = \(handle)").map(moveTask)
    }

    package func startMoveTask(_ params: StartMoveTaskParams) async throws -> MoveTask {
        try QueueStoreRules.checkMoveRate(params.maxNumberOfMessagesPerSecond)
        let alreadyRunning = SpoolError(.invalidParameterValue, "There is already a task running. Only one active task is allowed for a source queue arn at a given time.")
        // Two nodes starting a task for one source at once: the unique index lets one through.
        return try await transaction(conflict: alreadyRunning) { connection in
                guard let sourceName = params.identity.queueName(fromARN: params.sourceARN),
                      let source = try await Self.fetchQueue(connection, name: sourceName, lock: true)
                else {
                    throw SpoolError(.resourceNotFound, "The resource that you specified for the SourceArn parameter doesn't exist.")
                }
                guard try await connection.value("SELECT EXISTS (SELECT 1 FROM queue WHERE dlq_id = \(source.id))", as: Bool.self) == true else {
                    throw SpoolError(.invalidParameterValue, "Source queue must be configured as a Dead Letter Queue.")
                }
                if let destinationARN = params.destinationARN {
                    guard let name = params.identity.queueName(fromARN: destinationARN),
                          let destination = try await Self.fetchQueue(connection, name: name)
                    else {
                        throw SpoolError(.resourceNotFound, "The resource that you specified for the DestinationArn parameter doesn't exist.")
                    }
                    guard destination.isFIFO == source.isFIFO else {
                        throw SpoolError(.invalidParameterValue, "The destination queue must be the same type of queue as the source queue.")
                    }
                }
                guard try await connection.value(
                    "SELECT EXISTS (SELECT 1 FROM move_task WHERE source_queue_id = \(source.id) AND status = 'RUNNING')", as: Bool.self
                ) != true else { throw alreadyRunning }
                let snapshot = try await connection.first("""
                    SELECT count(*), coalesce(max(id), 0) FROM queue_message
                    WHERE queue_id = \(source.id) AND visible_at <= \(params.now)
                      AND id > (SELECT purged_through_id FROM queue WHERE id = \(source.id))
                    """)
                var (count, last): (Int64, Int64) = (0, 0)
                if let snapshot { (count, last) = try snapshot.decode((Int64, Int64).self) }
                try await connection.run("""
                    INSERT INTO move_task (handle, source_queue_id, source_arn, destination_arn, max_per_second, status, to_move,
                      last_message_id, started_at, window_started_at)
                    VALUES (\(params.handle), \(source.id), \(params.sourceARN), \(params.destinationARN), \(params.maxNumberOfMessagesPerSecond),
                      'RUNNING', \(count), \(last), \(params.now), \(params.now))
                    """)
                guard let task = try await Self.fetchMoveTask(connection, handle: params.handle) else {
                    throw SpoolError(.storageFailure, "The move task was not stored.")
                }
                return task
        }
    }

    package func listMoveTasks(sourceARN: String, limit: Int) async throws -> [MoveTask] {
        try await read { connection in
            try await connection.rows(
                "SELECT \(unescaped: Self.moveTaskColumns) FROM move_task WHERE source_arn = \(sourceARN) ORDER BY id DESC LIMIT \(limit)"
            ).map(Self.moveTask)
        }
    }

    package func cancelMoveTask(handle: String, now: Millis) async throws -> MoveTask {
        try await transaction { connection in
            let cancelled = try await connection.count("UPDATE move_task SET status = 'CANCELLED' WHERE handle = \(handle) AND status = 'RUNNING' RETURNING 1")
            guard cancelled == 1, let task = try await Self.fetchMoveTask(connection, handle: handle) else {
                throw SpoolError(.resourceNotFound, "Task does not exist.")
            }
            return task
        }
    }

    package func runMoveTasks(_ params: RunMoveTasksParams) async throws -> MoveTaskProgress {
        try await transaction { connection in
            var progress = MoveTaskProgress(moved: 0, destinationQueueIDs: [], hasRunningTasks: false, nextRunAt: nil)
            let tasks = try await connection.rows(
                "SELECT \(unescaped: Self.moveTaskColumns) FROM move_task WHERE status = 'RUNNING' ORDER BY id FOR UPDATE SKIP LOCKED"
            )
            for row in tasks {
                try await Self.advance(connection, task: Columns(row), params: params, progress: &progress)
            }
            return progress
        }
    }

    private static func advance(_ connection: PostgresConnection, task: Columns, params: RunMoveTasksParams, progress: inout MoveTaskProgress) async throws {
        let taskID: Int64 = try task("id")
        let now = params.now
        func finish(_ status: MoveTask.Status, reason: String? = nil) async throws {
            try await connection.run("UPDATE move_task SET status = \(status.rawValue), failure_reason = \(reason) WHERE id = \(taskID)")
        }
        guard let sourceID: Int64 = try task("source_queue_id") else {
            return try await finish(.failed, reason: "The source queue was deleted.")
        }
        var windowStart: Millis = try task("window_started_at")
        var windowMoved: Int = try task("window_moved")
        if now - windowStart >= 1000 {
            windowStart = now
            windowMoved = 0
        }
        let rate: Int? = try task("max_per_second")
        var allowance = params.chunkLimit
        if let rate { allowance = min(allowance, rate - windowMoved) }
        guard allowance > 0 else {
            progress.hasRunningTasks = true
            progress.nextRunAt = min(progress.nextRunAt ?? .max, windowStart + 1000)
            return
        }
        let lastMessageID: Int64 = try task("last_message_id")
        let messages = try await connection.rows("""
            SELECT id, message_id, body, attributes, system_attributes, group_id, dedup_id, dead_letter_source_arn
            FROM queue_message
            WHERE queue_id = \(sourceID) AND id <= \(lastMessageID) AND visible_at <= \(now)
              AND id > (SELECT purged_through_id FROM queue WHERE id = \(sourceID))
            ORDER BY id LIMIT \(allowance)
            FOR UPDATE SKIP LOCKED
            """)
        let explicitDestination: String? = try task("destination_arn")
        var moved = 0
        func recordMoved() async throws {
            try await connection.run(
                "UPDATE move_task SET moved = moved + \(moved), window_started_at = \(windowStart), window_moved = \(windowMoved + moved) WHERE id = \(taskID)"
            )
        }
        // Messages of one pass mostly return to the same few queues: resolve each ARN once (and lock a FIFO one).
        var resolved: [String: QueueRuntime?] = [:]
        for row in messages {
            let (id, messageID, body, attributes, systemAttributes, groupID, dedupID, deadLetterSource) =
                try row.decode((Int64, String, String, String?, String?, String?, String?, String?).self)
            let targetARN = explicitDestination ?? deadLetterSource
            var runtime: QueueRuntime?
            if let targetARN {
                if let known = resolved[targetARN] {
                    runtime = known
                } else {
                    if let name = params.identity.queueName(fromARN: targetARN), let queue = try await fetchQueue(connection, name: name) {
                        runtime = try await runtimeForMessages(connection, id: queue.id)
                    }
                    resolved[targetARN] = runtime
                }
            }
            guard let runtime else {
                try await recordMoved()
                return try await finish(.failed, reason: explicitDestination == nil
                    ? "Message \(messageID) has no source queue to return to; give a DestinationArn."
                    : "The destination queue does not exist.")
            }
            let outgoing = QueueStoreRules.movedMessage(
                body: body, attributes: attributes, systemAttributes: systemAttributes, groupID: groupID, deduplicationID: dedupID
            )
            if runtime.fifo, outgoing.groupID == nil {
                try await recordMoved()
                return try await finish(.failed, reason: "Message \(messageID) has no MessageGroupId for the FIFO destination.")
            }
            _ = try await insert(connection, message: outgoing, into: runtime, now: now, deduplicate: false)
            try await connection.run("DELETE FROM queue_message WHERE id = \(id)")
            moved += 1
            if !progress.destinationQueueIDs.contains(runtime.id) { progress.destinationQueueIDs.append(runtime.id) }
        }
        try await recordMoved()
        progress.moved += moved
        if messages.count < allowance {
            try await finish(.completed)
        } else {
            progress.hasRunningTasks = true
            let hitRate = rate.map { windowMoved + moved >= $0 } ?? false
            progress.nextRunAt = min(progress.nextRunAt ?? .max, hitRate ? windowStart + 1000 : now)
        }
    }

    package func pruneExpiredMessages(now: Millis, limit: Int) async throws -> Int {
        try await transaction { connection in
            var removed = 0
            let queues = try await connection.rows("SELECT id, retention_ms, purged_through_id, purge_pending, deleted_at FROM queue")
            for row in queues where removed < limit {
                let (id, retention, purgedThrough, purgePending, deletedAt) = try row.decode((Int64, Int64, Int64, Bool, Int64?).self)
                if deletedAt != nil {
                    removed += try await connection.count("""
                        DELETE FROM queue_message WHERE id IN (
                          SELECT id FROM queue_message WHERE queue_id = \(id) LIMIT \(limit - removed) FOR UPDATE SKIP LOCKED)
                        RETURNING 1
                        """)
                    try await connection.run(
                        "DELETE FROM queue WHERE id = \(id) AND NOT EXISTS (SELECT 1 FROM queue_message WHERE queue_id = \(id))"
                    )
                    continue
                }
                removed += try await connection.count("""
                    DELETE FROM queue_message WHERE id IN (
                      SELECT id FROM queue_message WHERE queue_id = \(id) AND sent_at <= \(now - retention)
                      LIMIT \(limit - removed) FOR UPDATE SKIP LOCKED)
                    RETURNING 1
                    """)
                if purgePending, removed < limit {
                    let purged = try await connection.count("""
                        DELETE FROM queue_message WHERE id IN (
                          SELECT id FROM queue_message WHERE queue_id = \(id) AND id <= \(purgedThrough)
                          LIMIT \(limit - removed) FOR UPDATE SKIP LOCKED)
                        RETURNING 1
                        """)
                    if purged < limit - removed {
                        try await connection.run("UPDATE queue SET purge_pending = FALSE WHERE id = \(id)")
                    }
                    removed += purged
                }
            }
            try await connection.run("""
                DELETE FROM queue_dedup WHERE (queue_id, dedup_key) IN (
                  SELECT queue_id, dedup_key FROM queue_dedup WHERE expires_at <= \(now) LIMIT \(limit) FOR UPDATE SKIP LOCKED)
                """)
            try await connection.run("DELETE FROM deleted_queue_name WHERE deleted_at <= \(now - QueueStoreRules.deletedNameCooldown)")
            try await connection.run("DELETE FROM receive_attempt WHERE created_at <= \(now - QueueStoreRules.receiveAttemptWindow)")
            return removed
        }
    }
}
