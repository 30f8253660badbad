import Foundation
import GRDB
import SpoolModel
import SpoolStorage

/// Published versions and aliases of functions.
extension SQLiteStore {
    package func publishVersion(_ snapshot: FunctionDefinition, expectedRevision: String) async throws -> FunctionDefinition {
        try await write { db in
            guard let current = try String.fetchOne(db, sql: "SELECT revision_id FROM function WHERE name = ?", arguments: [snapshot.name]) else {
                throw SpoolError.functionNotFound(snapshot.name)
            }
            guard current == expectedRevision else { throw FunctionStoreRules.revisionMismatch }
            let newest = try Row.fetchOne(db, sql: "SELECT definition FROM function_version WHERE function_name = ? ORDER BY version DESC LIMIT 1",
                                          arguments: [snapshot.name]).flatMap(Self.functionDefinition)
            if let newest, FunctionStoreRules.samePublishedState(newest, snapshot) { return newest }
            let number = (try Int.fetchOne(db, sql: "SELECT last_version FROM function_version_counter WHERE function_name = ?",
                                           arguments: [snapshot.name]) ?? 0) + 1
            var version = snapshot
            version.version = String(number)
            try db.execute(sql: "INSERT INTO function_version (function_name, version, definition, created_at) VALUES (?, ?, ?, ?)",
                           arguments: [snapshot.name, number, ColumnJSON.encode(version), version.lastModified])
            try db.execute(sql: """
                INSERT INTO function_version_counter (function_name, last_version) VALUES (?, ?)
                ON CONFLICT (function_name) DO UPDATE SET last_version = excluded.last_version
                """, arguments: [snapshot.name, number])
            return version
        }
    }

    package func functionVersion(_ name: String, version: Int) async throws -> FunctionDefinition? {
        try await read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT definition FROM function_version WHERE function_name = ? AND version = ?"),
                             arguments: [name, version]).flatMap(Self.functionDefinition)
        }
    }

    package func functionVersions(_ name: String, after: Int?, limit: Int) async throws -> [FunctionDefinition] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT definition FROM function_version WHERE function_name = ? AND version > ? ORDER BY version LIMIT ?",
                             arguments: [name, after ?? 0, limit]).compactMap(Self.functionDefinition)
        }
    }

    package func deleteFunctionVersion(_ name: String, version: Int) async throws -> FunctionDefinition? {
        try await write { db in
            let users = try String.fetchAll(db, sql: "SELECT alias FROM function_alias WHERE function_name = ? ORDER BY name", arguments: [name])
                .compactMap(FunctionStoreRules.alias).filter { FunctionStoreRules.uses($0, version: version) }
            guard users.isEmpty else { throw FunctionStoreRules.versionInUse(version, aliases: users.map(\.name)) }
            let existing = try Row.fetchOne(db, sql: "SELECT definition FROM function_version WHERE function_name = ? AND version = ?",
                                            arguments: [name, version]).flatMap(Self.functionDefinition)
            try db.execute(sql: "DELETE FROM function_version WHERE function_name = ? AND version = ?", arguments: [name, version])
            try db.execute(sql: "DELETE FROM function_policy WHERE function_name = ? AND qualifier = ?", arguments: [name, String(version)])
            return existing
        }
    }

    package func createAlias(_ alias: FunctionAlias) async throws -> FunctionAlias {
        try await write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM function WHERE name = ?", arguments: [alias.functionName]) == true else {
                throw SpoolError.functionNotFound(alias.functionName)
            }
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM function_alias WHERE function_name = ? AND name = ?",
                                 arguments: [alias.functionName, alias.name]) == true {
                throw FunctionStoreRules.aliasExists(alias)
            }
            try db.execute(sql: "INSERT INTO function_alias (function_name, name, revision_id, alias) VALUES (?, ?, ?, ?)",
                           arguments: [alias.functionName, alias.name, alias.revisionID, ColumnJSON.encode(alias)])
            return alias
        }
    }

    package func alias(_ functionName: String, name: String) async throws -> FunctionAlias? {
        try await read { db in
            try String.fetchOne(db.cachedStatement(sql: "SELECT alias FROM function_alias WHERE function_name = ? AND name = ?"),
                                arguments: [functionName, name]).flatMap(FunctionStoreRules.alias)
        }
    }

    package func aliases(_ functionName: String, after: String?, limit: Int) async throws -> [FunctionAlias] {
        try await read { db in
            try String.fetchAll(db, sql: "SELECT alias FROM function_alias WHERE function_name = ? AND name > ? ORDER BY name LIMIT ?",
                                arguments: [functionName, after ?? "", limit]).compactMap(FunctionStoreRules.alias)
        }
    }

    package func updateAlias(_ alias: FunctionAlias, expectedRevision: String?) async throws -> FunctionAlias {
        try await write { db in
            guard let current = try String.fetchOne(db, sql: "SELECT revision_id FROM function_alias WHERE function_name = ? AND name = ?",
                                                    arguments: [alias.functionName, alias.name]) else {
                throw FunctionStoreRules.aliasNotFound(alias)
            }
            if let expectedRevision, current != expectedRevision { throw FunctionStoreRules.revisionMismatch }
            try db.execute(sql: "UPDATE function_alias SET revision_id = ?, alias = ? WHERE function_name = ? AND name = ?",
                           arguments: [alias.revisionID, ColumnJSON.encode(alias), alias.functionName, alias.name])
            return alias
        }
    }

    package func deleteAlias(_ functionName: String, name: String) async throws -> Bool {
        try await write { db in
            try db.execute(sql: "DELETE FROM function_alias WHERE function_name = ? AND name = ?", arguments: [functionName, name])
            let deleted = db.changesCount > 0
            try db.execute(sql: "DELETE FROM function_url WHERE function_name = ? AND qualifier = ?", arguments: [functionName, name])
            try db.execute(sql: "DELETE FROM function_policy WHERE function_name = ? AND qualifier = ?", arguments: [functionName, name])
            return deleted
        }
    }

    /// Everything of a function besides its row: versions, their counter, aliases.
    static func deleteVersionsAndAliases(_ db: Database, of name: String) throws {
        try db.execute(sql: "DELETE FROM function_version WHERE function_name = ?", arguments: [name])
        try db.execute(sql: "DELETE FROM function_version_counter WHERE function_name = ?", arguments: [name])
        try db.execute(sql: "DELETE FROM function_alias WHERE function_name = ?", arguments: [name])
        try db.execute(sql: "DELETE FROM function_url WHERE function_name = ?", arguments: [name])
        try db.execute(sql: "DELETE FROM function_policy WHERE function_name = ?", arguments: [name])
    }
}

/// Function URLs.
extension SQLiteStore {
    package func createFunctionURL(_ config: FunctionURLConfig) async throws -> FunctionURLConfig {
        try await write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM function WHERE name = ?", arguments: [config.functionName]) == true else {
                throw SpoolError.functionNotFound(config.functionName)
            }
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM function_url WHERE function_name = ? AND qualifier = ?",
                                 arguments: [config.functionName, config.qualifier ?? ""]) == true {
                throw FunctionStoreRules.functionURLExists
            }
            try db.execute(sql: "INSERT INTO function_url (url_id, function_name, qualifier, config) VALUES (?, ?, ?, ?)",
                           arguments: [config.urlID, config.functionName, config.qualifier ?? "", ColumnJSON.encode(config)])
            return config
        }
    }

    package func functionURL(_ functionName: String, qualifier: String?) async throws -> FunctionURLConfig? {
        try await read { db in
            try String.fetchOne(db, sql: "SELECT config FROM function_url WHERE function_name = ? AND qualifier = ?",
                                arguments: [functionName, qualifier ?? ""]).flatMap(FunctionStoreRules.functionURL)
        }
    }

    package func functionURL(id: String) async throws -> FunctionURLConfig? {
        try await read { db in
            try String.fetchOne(db.cachedStatement(sql: "SELECT config FROM function_url WHERE url_id = ?"), arguments: [id])
                .flatMap(FunctionStoreRules.functionURL)
        }
    }

    package func functionURLs(_ functionName: String) async throws -> [FunctionURLConfig] {
        try await read { db in
            try String.fetchAll(db, sql: "SELECT config FROM function_url WHERE function_name = ? ORDER BY qualifier", arguments: [functionName])
                .compactMap(FunctionStoreRules.functionURL)
        }
    }

    package func updateFunctionURL(_ config: FunctionURLConfig) async throws -> FunctionURLConfig {
        try await write { db in
            try db.execute(sql: "UPDATE function_url SET config = ? WHERE function_name = ? AND qualifier = ?",
                           arguments: [ColumnJSON.encode(config), config.functionName, config.qualifier ?? ""])
            guard db.changesCount > 0 else { throw FunctionStoreRules.functionURLNotFound }
            return config
        }
    }

    package func deleteFunctionURL(_ functionName: String, qualifier: String?) async throws -> Bool {
        try await write { db in
            try db.execute(sql: "DELETE FROM function_url WHERE function_name = ? AND qualifier = ?", arguments: [functionName, qualifier ?? ""])
            return db.changesCount > 0
        }
    }
}

extension SQLiteStore {
    package func setVersionProvisionedConcurrency(_ name: String, version: Int, value: Int?, at: Millis?) async throws -> FunctionDefinition? {
        try await write { db in
            guard var definition = try Row.fetchOne(db, sql: "SELECT definition FROM function_version WHERE function_name = ? AND version = ?",
                                                    arguments: [name, version]).flatMap(Self.functionDefinition) else { return nil }
            definition.provisionedConcurrency = value
            definition.provisionedLastModified = at
            try db.execute(sql: "UPDATE function_version SET definition = ? WHERE function_name = ? AND version = ?",
                           arguments: [ColumnJSON.encode(definition), name, version])
            return definition
        }
    }
}

/// Resource-based policies.
extension SQLiteStore {
    package func functionPolicy(_ functionName: String, qualifier: String?) async throws -> FunctionPolicy? {
        try await read { db in
            try String.fetchOne(db, sql: "SELECT policy FROM function_policy WHERE function_name = ? AND qualifier = ?",
                                arguments: [functionName, qualifier ?? ""]).flatMap(FunctionStoreRules.functionPolicy)
        }
    }

    package func putFunctionPolicy(_ functionName: String, qualifier: String?, policy: FunctionPolicy, expectedRevision: String?) async throws {
        try await write { db in
            let current = try String.fetchOne(db, sql: "SELECT policy FROM function_policy WHERE function_name = ? AND qualifier = ?",
                                              arguments: [functionName, qualifier ?? ""]).flatMap(FunctionStoreRules.functionPolicy)
            guard current?.revisionID == expectedRevision else { throw FunctionStoreRules.revisionMismatch }
            if policy.statements.isEmpty {
                try db.execute(sql: "DELETE FROM function_policy WHERE function_name = ? AND qualifier = ?", arguments: [functionName, qualifier ?? ""])
            } else {
                try db.execute(sql: """
                    INSERT INTO function_policy (function_name, qualifier, policy) VALUES (?, ?, ?)
                    ON CONFLICT (function_name, qualifier) DO UPDATE SET policy = excluded.policy
                    """, arguments: [functionName, qualifier ?? "", ColumnJSON.encode(policy)])
            }
        }
    }
}
