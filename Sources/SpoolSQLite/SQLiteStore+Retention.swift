import GRDB
import SpoolModel
import SpoolStorage

/// Retention: removes expired, purged and deleted-queue messages in small batches.
extension SQLiteStore {
    package func pruneExpiredMessages(now: Millis, limit: Int) async throws -> Int {
        try await write { db in
            var removed = 0
            let queues = try Row.fetchAll(db, sql: "SELECT id, retention_ms, purged_through_id, purge_pending, deleted_at FROM queue")
            for queue in queues where removed < limit {
                let id: Int64 = queue["id"]
                if queue["deleted_at"] as Millis? != nil {
                    try db.execute(
                        sql: "DELETE FROM queue_message WHERE id IN (SELECT id FROM queue_message WHERE queue_id = ? LIMIT ?)",
                        arguments: [id, limit - removed]
                    )
                    removed += db.changesCount
                    let empty = try Bool.fetchOne(db, sql: "SELECT NOT EXISTS (SELECT 1 FROM queue_message WHERE queue_id = ?)", arguments: [id]) ?? false
                    if empty { try db.execute(sql: "DELETE FROM queue WHERE id = ?", arguments: [id]) }
                    continue
                }
                try db.execute(
                    sql: "DELETE FROM queue_message WHERE id IN (SELECT id FROM queue_message WHERE queue_id = ? AND sent_at <= ? LIMIT ?)",
                    arguments: [id, now - (queue["retention_ms"] as Millis), limit - removed]
                )
                removed += db.changesCount
                if queue["purge_pending"] as Int == 1, removed < limit {
                    try db.execute(
                        sql: "DELETE FROM queue_message WHERE id IN (SELECT id FROM queue_message WHERE queue_id = ? AND id <= ? LIMIT ?)",
                        arguments: [id, queue["purged_through_id"] as Int64, limit - removed]
                    )
                    let purged = db.changesCount
                    if purged < limit - removed {
                        try db.execute(sql: "UPDATE queue SET purge_pending = 0 WHERE id = ?", arguments: [id])
                    }
                    removed += purged
                }
            }
            try db.execute(sql: "DELETE FROM queue_dedup WHERE (queue_id, dedup_key) IN (SELECT queue_id, dedup_key FROM queue_dedup WHERE expires_at <= ? LIMIT ?)", arguments: [now, limit])
            try db.execute(sql: "DELETE FROM deleted_queue_name WHERE deleted_at <= ?", arguments: [now - QueueStoreRules.deletedNameCooldown])
            try db.execute(sql: "DELETE FROM receive_attempt WHERE created_at <= ?", arguments: [now - QueueStoreRules.receiveAttemptWindow])
            return removed
        }
    }
}
