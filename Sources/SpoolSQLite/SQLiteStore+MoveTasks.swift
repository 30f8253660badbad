import GRDB
import SpoolModel
import SpoolStorage

/// Message move tasks: redriving a dead-letter queue back to its sources or to a chosen queue.
extension SQLiteStore {
    static let moveTaskColumns = """
        id, handle, source_queue_id, source_arn, destination_arn, max_per_second, status, moved, to_move, last_message_id,
        failure_reason, started_at, window_started_at, window_moved
        """

    static func moveTask(_ row: Row) -> MoveTask {
        MoveTask(
            handle: row["handle"], sourceARN: row["source_arn"], destinationARN: row["destination_arn"],
            maxNumberOfMessagesPerSecond: row["max_per_second"],
            status: MoveTask.Status(rawValue: row["status"]) ?? .failed, moved: row["moved"], toMove: row["to_move"],
            failureReason: row["failure_reason"], startedAt: row["started_at"]
        )
    }

    package func startMoveTask(_ params: StartMoveTaskParams) async throws -> MoveTask {
        try QueueStoreRules.checkMoveRate(params.maxNumberOfMessagesPerSecond)
        return try await write { db in
            guard let sourceName = params.identity.queueName(fromARN: params.sourceARN),
                  let source = try Self.fetchQueue(db, name: sourceName)
            else {
                throw SpoolError(.resourceNotFound, "The resource that you specified for the SourceArn parameter doesn't exist.")
            }
            let isDeadLetterQueue = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM queue WHERE dlq_id = ?)", arguments: [source.id]) ?? false
            guard isDeadLetterQueue else {
                throw SpoolError(.invalidParameterValue, "Source queue must be configured as a Dead Letter Queue.")
            }
            if let destinationARN = params.destinationARN {
                guard let name = params.identity.queueName(fromARN: destinationARN),
                      let destination = try Self.fetchQueue(db, name: name)
                else {
                    throw SpoolError(.resourceNotFound, "The resource that you specified for the DestinationArn parameter doesn't exist.")
                }
                guard destination.isFIFO == source.isFIFO else {
                    throw SpoolError(.invalidParameterValue, "The destination queue must be the same type of queue as the source queue.")
                }
            }
            let running = try Bool.fetchOne(
                db, sql: "SELECT EXISTS (SELECT 1 FROM move_task WHERE source_queue_id = ? AND status = 'RUNNING')", arguments: [source.id]
            ) ?? false
            guard !running else {
                throw SpoolError(.invalidParameterValue, "There is already a task running. Only one active task is allowed for a source queue arn at a given time.")
            }
            let snapshot = try Row.fetchOne(
                db, sql: """
                    SELECT count(*) AS n, coalesce(max(id), 0) AS last FROM queue_message
                    WHERE queue_id = ?1 AND visible_at <= ?2 AND id > (SELECT purged_through_id FROM queue WHERE id = ?1)
                    """,
                arguments: [source.id, params.now]
            )
            try db.execute(
                sql: """
                    INSERT INTO move_task (handle, source_queue_id, source_arn, destination_arn, max_per_second, status, to_move,
                      last_message_id, started_at, window_started_at)
                    VALUES (?, ?, ?, ?, ?, 'RUNNING', ?, ?, ?, ?)
                    """,
                arguments: [
                    params.handle, source.id, params.sourceARN, params.destinationARN, params.maxNumberOfMessagesPerSecond,
                    snapshot?["n"] ?? 0, snapshot?["last"] ?? 0, params.now, params.now,
                ]
            )
            return try Self.fetchMoveTask(db, handle: params.handle)!
        }
    }

    static func fetchMoveTask(_ db: Database, handle: String) throws -> MoveTask? {
        try Row.fetchOne(db, sql: "SELECT \(moveTaskColumns) FROM move_task WHERE handle = ?", arguments: [handle]).map(moveTask)
    }

    package func listMoveTasks(sourceARN: String, limit: Int) async throws -> [MoveTask] {
        try await read { db in
            try Row.fetchAll(
                db, sql: "SELECT \(Self.moveTaskColumns) FROM move_task WHERE source_arn = ? ORDER BY id DESC LIMIT ?",
                arguments: [sourceARN, limit]
            ).map(Self.moveTask)
        }
    }

    package func cancelMoveTask(handle: String, now: Millis) async throws -> MoveTask {
        try await write { db in
            guard let task = try Self.fetchMoveTask(db, handle: handle) else {
                throw SpoolError(.resourceNotFound, "Task does not exist.")
            }
            guard task.status == .running else {
                throw SpoolError(.resourceNotFound, "Task does not exist.")
            }
            try db.execute(sql: "UPDATE move_task SET status = 'CANCELLED' WHERE handle = ? AND status = 'RUNNING'", arguments: [handle])
            return try Self.fetchMoveTask(db, handle: handle)!
        }
    }

    package func runMoveTasks(_ params: RunMoveTasksParams) async throws -> MoveTaskProgress {
        try await write { db in
            var progress = MoveTaskProgress(moved: 0, destinationQueueIDs: [], hasRunningTasks: false, nextRunAt: nil)
            let tasks = try Row.fetchAll(db, sql: "SELECT \(Self.moveTaskColumns) FROM move_task WHERE status = 'RUNNING' ORDER BY id")
            for row in tasks {
                try Self.advance(db, task: row, params: params, progress: &progress)
            }
            return progress
        }
    }

    private static func advance(_ db: Database, task row: Row, params: RunMoveTasksParams, progress: inout MoveTaskProgress) throws {
        let taskID: Int64 = row["id"]
        let now = params.now
        func finish(_ status: MoveTask.Status, reason: String? = nil) throws {
            try db.execute(sql: "UPDATE move_task SET status = ?, failure_reason = ? WHERE id = ?", arguments: [status.rawValue, reason, taskID])
        }
        guard let sourceID: Int64 = row["source_queue_id"] else {
            return try finish(.failed, reason: "The source queue was deleted.")
        }
        var windowStart: Millis = row["window_started_at"]
        var windowMoved: Int = row["window_moved"]
        if now - windowStart >= 1000 {
            windowStart = now
            windowMoved = 0
        }
        var allowance = params.chunkLimit
        if let rate: Int = row["max_per_second"] { allowance = min(allowance, rate - windowMoved) }
        guard allowance > 0 else {
            progress.hasRunningTasks = true
            progress.nextRunAt = min(progress.nextRunAt ?? .max, windowStart + 1000)
            return
        }
        let messages = try Row.fetchAll(
            db, sql: """
                SELECT id, message_id, body, attributes, system_attributes, group_id, dedup_id, dead_letter_source_arn
                FROM queue_message
                WHERE queue_id = ?1 AND id <= ?2 AND visible_at <= ?3 AND id > (SELECT purged_through_id FROM queue WHERE id = ?1)
                ORDER BY id LIMIT ?4
                """,
            arguments: [sourceID, row["last_message_id"] as Int64, now, allowance]
        )
        let explicitDestination: String? = row["destination_arn"]
        var moved = 0
        func recordMoved() throws {
            try db.execute(
                sql: "UPDATE move_task SET moved = moved + ?, window_started_at = ?, window_moved = ? WHERE id = ?",
                arguments: [moved, windowStart, windowMoved + moved, taskID]
            )
        }
        // Messages of one pass mostly return to the same few queues: resolve each ARN once.
        var resolved: [String: QueueRuntime?] = [:]
        func runtime(for arn: String) throws -> QueueRuntime? {
            if let known = resolved[arn] { return known }
            let found = try params.identity.queueName(fromARN: arn)
                .flatMap { try fetchQueue(db, name: $0) }
                .map { try QueueRuntime.fetch(db, id: $0.id) }
            resolved[arn] = found
            return found
        }
        for message in messages {
            let targetARN: String? = explicitDestination ?? (message["dead_letter_source_arn"] as String?)
            guard let targetARN, let runtime = try runtime(for: targetARN) else {
                try recordMoved()
                let id: String = message["message_id"]
                return try finish(.failed, reason: explicitDestination == nil
                    ? "Message \(id) has no source queue to return to; give a DestinationArn."
                    : "The destination queue does not exist.")
            }
            let outgoing = QueueStoreRules.movedMessage(
                body: message["body"], attributes: message["attributes"], systemAttributes: message["system_attributes"],
                groupID: message["group_id"], deduplicationID: message["dedup_id"]
            )
            if runtime.fifo, outgoing.groupID == nil {
                try recordMoved()
                return try finish(.failed, reason: "Message \(message["message_id"] as String) has no MessageGroupId for the FIFO destination.")
            }
            _ = try insert(db, message: outgoing, into: runtime, now: now, deduplicate: false)
            try db.execute(sql: "DELETE FROM queue_message WHERE id = ?", arguments: [message["id"] as Int64])
            moved += 1
            if !progress.destinationQueueIDs.contains(runtime.id) { progress.destinationQueueIDs.append(runtime.id) }
        }
        try recordMoved()
        progress.moved += moved
        if messages.count < allowance {
            try finish(.completed)
        } else {
            progress.hasRunningTasks = true
            let hitRate = (row["max_per_second"] as Int?).map { windowMoved + moved >= $0 } ?? false
            progress.nextRunAt = min(progress.nextRunAt ?? .max, hitRate ? windowStart + 1000 : now)
        }
    }
}
