import GRDB
import SpoolModel
import SpoolStorage

/// Event-invoke configurations, one row per function and qualifier.
extension SQLiteStore: EventInvokeConfigStore {
    package func eventInvokeConfig(function: String, qualifier: String) async throws -> EventInvokeConfig? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM event_invoke_config WHERE function_name = ? AND qualifier = ?",
                             arguments: [function, qualifier]).map(Self.eventInvokeConfig)
        }
    }

    package func putEventInvokeConfig(_ config: EventInvokeConfig) async throws {
        try await write { db in
            try db.execute(sql: """
                INSERT INTO event_invoke_config (function_name, qualifier, max_retry_attempts, max_event_age_seconds, on_success,
                                                 on_failure, last_modified)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(function_name, qualifier) DO UPDATE SET max_retry_attempts = excluded.max_retry_attempts,
                  max_event_age_seconds = excluded.max_event_age_seconds, on_success = excluded.on_success,
                  on_failure = excluded.on_failure, last_modified = excluded.last_modified
                """, arguments: [config.functionName, config.qualifier, config.maximumRetryAttempts, config.maximumEventAgeSeconds,
                                 config.onSuccess, config.onFailure, config.lastModified])
        }
    }

    package func deleteEventInvokeConfig(function: String, qualifier: String) async throws -> Bool {
        try await write { db in
            try db.execute(sql: "DELETE FROM event_invoke_config WHERE function_name = ? AND qualifier = ?", arguments: [function, qualifier])
            return db.changesCount > 0
        }
    }

    package func eventInvokeConfigs(function: String) async throws -> [EventInvokeConfig] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM event_invoke_config WHERE function_name = ? ORDER BY qualifier", arguments: [function])
                .map(Self.eventInvokeConfig)
        }
    }

    static func eventInvokeConfig(_ row: Row) -> EventInvokeConfig {
        EventInvokeConfig(functionName: row["function_name"], qualifier: row["qualifier"], maximumRetryAttempts: row["max_retry_attempts"],
                          maximumEventAgeSeconds: row["max_event_age_seconds"], onSuccess: row["on_success"], onFailure: row["on_failure"],
                          lastModified: row["last_modified"])
    }
}
