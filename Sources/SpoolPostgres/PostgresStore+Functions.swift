import PostgresNIO
import SpoolModel
import SpoolStorage

/// Function definitions, one row per function (the definition as a JSON document), and their event-invoke
/// configurations. Updates check the revision in the statement that writes, so two nodes updating one function
/// at once cannot both win.
extension PostgresStore: FunctionStore, EventInvokeConfigStore {
    static func storeFunction(_ connection: PostgresConnection, _ definition: FunctionDefinition, replace: Bool) async throws {
        let conflict = replace
            ? """
              ON CONFLICT (name) DO UPDATE SET executor = excluded.executor, source = excluded.source, revision_id = excluded.revision_id,
                reserved_concurrency = excluded.reserved_concurrency, definition = excluded.definition, code_size = excluded.code_size,
                modified_at = excluded.modified_at
              """
            : ""
        try await connection.run("""
            INSERT INTO function (name, executor, source, revision_id, reserved_concurrency, definition, code_size, created_at, modified_at)
            VALUES (\(definition.name), \(definition.executor.rawValue), \(definition.source.rawValue), \(definition.revisionID),
                    \(definition.reservedConcurrency), \(ColumnJSON.encode(definition)), \(definition.codeSize),
                    \(definition.lastModified), \(definition.lastModified))
            \(unescaped: conflict)
            """)
    }

    package func createFunction(_ definition: FunctionDefinition) async throws -> FunctionDefinition {
        try await transaction(conflict: FunctionStoreRules.alreadyExists(definition.name)) { connection in
            try await Self.storeFunction(connection, definition, replace: false)
            return definition
        }
    }

    package func putFunction(_ definition: FunctionDefinition) async throws -> FunctionDefinition {
        try await transaction { connection in
            try await Self.storeFunction(connection, definition, replace: true)
            return definition
        }
    }

    package func function(named name: String) async throws -> FunctionDefinition? {
        try await read { connection in
            try await connection.value("SELECT definition FROM function WHERE name = \(name)", as: String.self).flatMap(FunctionStoreRules.definition)
        }
    }

    package func listFunctions(after marker: String?, limit: Int) async throws -> [FunctionDefinition] {
        try await read { connection in
            try await connection.rows("SELECT definition FROM function WHERE name > \(marker ?? "") ORDER BY name LIMIT \(limit)")
                .compactMap { FunctionStoreRules.definition(try $0.decode(String.self)) }
        }
    }

    package func updateFunction(_ definition: FunctionDefinition, expectedRevision: String) async throws -> FunctionDefinition {
        try await transaction { connection in
            guard let current = try await connection.value(
                "SELECT revision_id FROM function WHERE name = \(definition.name) FOR UPDATE", as: String.self
            ) else {
                throw SpoolError.functionNotFound(definition.name)
            }
            guard current == expectedRevision else { throw FunctionStoreRules.revisionMismatch }
            try await Self.storeFunction(connection, definition, replace: true)
            return definition
        }
    }

    package func deleteFunction(named name: String) async throws -> FunctionDefinition? {
        try await transaction { connection in
            let existing = try await connection.value("DELETE FROM function WHERE name = \(name) RETURNING definition", as: String.self)
            try await Self.deleteVersionsAndAliases(connection, of: name)
            // Its asynchronous settings go with it; its waiting events stay and become dead letters when claimed.
            try await connection.run("DELETE FROM event_invoke_config WHERE function_name = \(name)")
            return existing.flatMap(FunctionStoreRules.definition)
        }
    }

    package func reservedConcurrencyTotal(excluding name: String) async throws -> Int {
        try await read { connection in
            try await connection.value("SELECT COALESCE(SUM(reserved_concurrency), 0)::BIGINT FROM function WHERE name <> \(name)", as: Int.self) ?? 0
        }
    }

    package func functionUsage() async throws -> FunctionUsage {
        try await read { connection in
            guard let row = try await connection.first("""
                SELECT count(*), COALESCE(SUM(code_size), 0)::BIGINT, COALESCE(SUM(reserved_concurrency), 0)::BIGINT FROM function
                """)
            else { return FunctionUsage(functionCount: 0, totalCodeSize: 0, totalReservedConcurrency: 0) }
            let (count, size, reserved) = try row.decode((Int, Int64, Int).self)
            return FunctionUsage(functionCount: count, totalCodeSize: size, totalReservedConcurrency: reserved)
        }
    }

    // MARK: Event-invoke configurations

    static let eventInvokeConfigColumns = "function_name, qualifier, max_retry_attempts, max_event_age_seconds, on_success, on_failure, last_modified"

    static func eventInvokeConfig(_ row: PostgresRow) throws -> EventInvokeConfig {
        let (function, qualifier, retries, age, onSuccess, onFailure, modified) =
            try row.decode((String, String, Int?, Int?, String?, String?, Int64).self)
        return EventInvokeConfig(functionName: function, qualifier: qualifier, maximumRetryAttempts: retries, maximumEventAgeSeconds: age,
                                 onSuccess: onSuccess, onFailure: onFailure, lastModified: modified)
    }

    package func eventInvokeConfig(function: String, qualifier: String) async throws -> EventInvokeConfig? {
        try await read { connection in
            try await connection.first("""
                SELECT \(unescaped: Self.eventInvokeConfigColumns) FROM event_invoke_config WHERE function_name = \(function) AND qualifier = \(qualifier)
                """).map(Self.eventInvokeConfig)
        }
    }

    package func putEventInvokeConfig(_ config: EventInvokeConfig) async throws {
        try await transaction { connection in
            try await connection.run("""
                INSERT INTO event_invoke_config (function_name, qualifier, max_retry_attempts, max_event_age_seconds, on_success, on_failure, last_modified)
                VALUES (\(config.functionName), \(config.qualifier), \(config.maximumRetryAttempts), \(config.maximumEventAgeSeconds),
                        \(config.onSuccess), \(config.onFailure), \(config.lastModified))
                ON CONFLICT (function_name, qualifier) DO UPDATE SET max_retry_attempts = excluded.max_retry_attempts,
                  max_event_age_seconds = excluded.max_event_age_seconds, on_success = excluded.on_success,
                  on_failure = excluded.on_failure, last_modified = excluded.last_modified
                """)
        }
    }

    package func deleteEventInvokeConfig(function: String, qualifier: String) async throws -> Bool {
        try await transaction { connection in
            try await connection.count("DELETE FROM event_invoke_config WHERE function_name = \(function) AND qualifier = \(qualifier) RETURNING 1") > 0
        }
    }

    package func eventInvokeConfigs(function: String) async throws -> [EventInvokeConfig] {
        try await read { connection in
            try await connection.rows("""
                SELECT \(unescaped: Self.eventInvokeConfigColumns) FROM event_invoke_config WHERE function_name = \(function) ORDER BY qualifier
                """).map(Self.eventInvokeConfig)
        }
    }
}
