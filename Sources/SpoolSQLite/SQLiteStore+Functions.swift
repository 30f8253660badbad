import Foundation
import GRDB
import SpoolModel
import SpoolStorage

/// Function definitions: one row per function, the definition as a JSON document.
extension SQLiteStore: FunctionStore {
    static func functionDefinition(_ row: Row) -> FunctionDefinition? {
        FunctionStoreRules.definition(row["definition"])
    }

    static func storeFunction(_ db: Database, _ definition: FunctionDefinition, replace: Bool) throws {
        let verb = replace ? "INSERT OR REPLACE" : "INSERT"
        try db.execute(
            sql: """
            \(verb) INTO function (name, executor, source, revision_id, reserved_concurrency, definition, created_at, modified_at)
            VALUES (?, ?, ?, ?, ?, ?, COALESCE((SELECT created_at FROM function WHERE name = ?), ?), ?)
            """,
            arguments: [definition.name, definition.executor.rawValue, definition.source.rawValue, definition.revisionID,
                        definition.reservedConcurrency, ColumnJSON.encode(definition), definition.name,
                        definition.lastModified, definition.lastModified]
        )
    }

    package func createFunction(_ definition: FunctionDefinition) async throws -> FunctionDefinition {
        try await write { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM function WHERE name = ?", arguments: [definition.name]) == true {
                throw FunctionStoreRules.alreadyExists(definition.name)
            }
            try Self.storeFunction(db, definition, replace: false)
            return definition
        }
    }

    package func putFunction(_ definition: FunctionDefinition) async throws -> FunctionDefinition {
        try await write { db in
            try Self.storeFunction(db, definition, replace: true)
            return definition
        }
    }

    package func function(named name: String) async throws -> FunctionDefinition? {
        try await read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT definition FROM function WHERE name = ?"), arguments: [name])
                .flatMap(Self.functionDefinition)
        }
    }

    package func listFunctions(after marker: String?, limit: Int) async throws -> [FunctionDefinition] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT definition FROM function WHERE name > ? ORDER BY name LIMIT ?", arguments: [marker ?? "", limit])
                .compactMap(Self.functionDefinition)
        }
    }

    package func updateFunction(_ definition: FunctionDefinition, expectedRevision: String) async throws -> FunctionDefinition {
        try await write { db in
            guard let current = try String.fetchOne(db, sql: "SELECT revision_id FROM function WHERE name = ?", arguments: [definition.name]) else {
                throw SpoolError.functionNotFound(definition.name)
            }
            guard current == expectedRevision else {
                throw FunctionStoreRules.revisionMismatch
            }
            try Self.storeFunction(db, definition, replace: true)
            return definition
        }
    }

    package func deleteFunction(named name: String) async throws -> FunctionDefinition? {
        try await write { db in
            let existing = try Row.fetchOne(db, sql: "SELECT definition FROM function WHERE name = ?", arguments: [name]).flatMap(Self.functionDefinition)
            try db.execute(sql: "DELETE FROM function WHERE name = ?", arguments: [name])
            try Self.deleteVersionsAndAliases(db, of: name)
            // Its asynchronous settings go with it; its waiting events stay and become dead letters when claimed.
            try db.execute(sql: "DELETE FROM event_invoke_config WHERE function_name = ?", arguments: [name])
            return existing
        }
    }

    package func reservedConcurrencyTotal(excluding name: String) async throws -> Int {
        try await read { db in
            try Int.fetchOne(db, sql: "SELECT COALESCE(SUM(reserved_concurrency), 0) FROM function WHERE name != ?", arguments: [name]) ?? 0
        }
    }

    package func functionUsage() async throws -> FunctionUsage {
        try await read { db in
            let row = try Row.fetchOne(db, sql: """
                SELECT COUNT(*) AS n, COALESCE(SUM(json_extract(definition, '$.codeSize')), 0) AS size,
                       COALESCE(SUM(reserved_concurrency), 0) AS reserved
                FROM function
                """)
            return FunctionUsage(functionCount: row?["n"] ?? 0, totalCodeSize: row?["size"] ?? 0, totalReservedConcurrency: row?["reserved"] ?? 0)
        }
    }
}
