import GRDB
import SpoolModel

extension SQLiteStore {
    /// What waits in the store: asynchronous events not yet finished, and SQS messages not yet deleted.
    public struct Backlog: Sendable, Equatable {
        public var asyncEvents: Int
        public var queueMessages: Int
    }

    /// Counts the backlog (both counts read the smallest index of their table, not the rows).
    public func backlog() async throws -> Backlog {
        try await read { db in
            let row = try Row.fetchOne(db, sql: "SELECT (SELECT count(*) FROM invocation), (SELECT count(*) FROM queue_message)")
            return Backlog(asyncEvents: row?[0] ?? 0, queueMessages: row?[1] ?? 0)
        }
    }
}
