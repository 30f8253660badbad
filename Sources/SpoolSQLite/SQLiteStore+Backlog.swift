import GRDB
import SpoolModel
import SpoolStorage

extension SQLiteStore: BacklogStore {
    /// Reads the counts that triggers keep on `invocation` and `queue_message` (migration `0008_backlog_counts`).
    package func backlog() async throws -> Backlog {
        try await read { db in
            let rows = try Row.fetchAll(db.cachedStatement(sql: "SELECT name, value FROM backlog_count"))
            var counts: [String: Int] = [:]
            for row in rows { counts[row["name"]] = row["value"] }
            return Backlog(asyncEvents: counts["invocation"] ?? 0, queueMessages: counts["queue_message"] ?? 0)
        }
    }
}
