import PostgresNIO
import SpoolModel
import SpoolStorage

/// Published versions and aliases of functions. Publishing locks the function's row, so two nodes publishing at
/// once number their versions one after the other.
extension PostgresStore {
    package func publishVersion(_ snapshot: FunctionDefinition, expectedRevision: String) async throws -> FunctionDefinition {
        try await transaction { connection in
            guard let current = try await connection.value(
                "SELECT revision_id FROM function WHERE name = \(snapshot.name) FOR UPDATE", as: String.self
            ) else {
                throw SpoolError.functionNotFound(snapshot.name)
            }
            guard current == expectedRevision else { throw FunctionStoreRules.revisionMismatch }
            let newest = try await connection.value(
                "SELECT definition FROM function_version WHERE function_name = \(snapshot.name) ORDER BY version DESC LIMIT 1", as: String.self
            ).flatMap(FunctionStoreRules.definition)
            if let newest, FunctionStoreRules.samePublishedState(newest, snapshot) { return newest }
            let last = try await connection.value(
                "SELECT last_version FROM function_version_counter WHERE function_name = \(snapshot.name)", as: Int.self) ?? 0
            let number = last + 1
            var version = snapshot
            version.version = String(number)
            try await connection.run("""
                INSERT INTO function_version (function_name, version, definition, created_at)
                VALUES (\(snapshot.name), \(number), \(ColumnJSON.encode(version)), \(version.lastModified))
                """)
            try await connection.run("""
                INSERT INTO function_version_counter (function_name, last_version) VALUES (\(snapshot.name), \(number))
                ON CONFLICT (function_name) DO UPDATE SET last_version = excluded.last_version
                """)
            return version
        }
    }

    package func functionVersion(_ name: String, version: Int) async throws -> FunctionDefinition? {
        try await read { connection in
            try await connection.value("SELECT definition FROM function_version WHERE function_name = \(name) AND version = \(version)",
                                       as: String.self).flatMap(FunctionStoreRules.definition)
        }
    }

    package func functionVersions(_ name: String, after: Int?, limit: Int) async throws -> [FunctionDefinition] {
        try await read { connection in
            try await connection.rows("""
                SELECT definition FROM function_version WHERE function_name = \(name) AND version > \(after ?? 0) ORDER BY version LIMIT \(limit)
                """).compactMap { FunctionStoreRules.definition(try $0.decode(String.self)) }
        }
    }

    package func deleteFunctionVersion(_ name: String, version: Int) async throws -> FunctionDefinition? {
        try await transaction { connection in
            let users = try await connection.rows("SELECT alias FROM function_alias WHERE function_name = \(name) ORDER BY name FOR UPDATE")
                .compactMap { FunctionStoreRules.alias(try $0.decode(String.self)) }.filter { FunctionStoreRules.uses($0, version: version) }
            guard users.isEmpty else { throw FunctionStoreRules.versionInUse(version, aliases: users.map(\.name)) }
            try await connection.run("DELETE FROM function_policy WHERE function_name = \(name) AND qualifier = \(String(version))")
            return try await connection.value(
                "DELETE FROM function_version WHERE function_name = \(name) AND version = \(version) RETURNING definition", as: String.self
            ).flatMap(FunctionStoreRules.definition)
        }
    }

    package func createAlias(_ alias: FunctionAlias) async throws -> FunctionAlias {
        try await transaction(conflict: FunctionStoreRules.aliasExists(alias)) { connection in
            guard try await connection.count("SELECT 1 FROM function WHERE name = \(alias.functionName) FOR SHARE") > 0 else {
                throw SpoolError.functionNotFound(alias.functionName)
            }
            try await connection.run("""
                INSERT INTO function_alias (function_name, name, revision_id, alias)
                VALUES (\(alias.functionName), \(alias.name), \(alias.revisionID), \(ColumnJSON.encode(alias)))
                """)
            return alias
        }
    }

    package func alias(_ functionName: String, name: String) async throws -> FunctionAlias? {
        try await read { connection in
            try await connection.value("SELECT alias FROM function_alias WHERE function_name = \(functionName) AND name = \(name)", as: String.self)
                .flatMap(FunctionStoreRules.alias)
        }
    }

    package func aliases(_ functionName: String, after: String?, limit: Int) async throws -> [FunctionAlias] {
        try await read { connection in
            try await connection.rows("""
                SELECT alias FROM function_alias WHERE function_name = \(functionName) AND name > \(after ?? "") ORDER BY name LIMIT \(limit)
                """).compactMap { FunctionStoreRules.alias(try $0.decode(String.self)) }
        }
    }

    package func updateAlias(_ alias: FunctionAlias, expectedRevision: String?) async throws -> FunctionAlias {
        try await transaction { connection in
            guard let current = try await connection.value(
                "SELECT revision_id FROM function_alias WHERE function_name = \(alias.functionName) AND name = \(alias.name) FOR UPDATE", as: String.self
            ) else {
                throw FunctionStoreRules.aliasNotFound(alias)
            }
            if let expectedRevision, current != expectedRevision { throw FunctionStoreRules.revisionMismatch }
            try await connection.run("""
                UPDATE function_alias SET revision_id = \(alias.revisionID), alias = \(ColumnJSON.encode(alias))
                WHERE function_name = \(alias.functionName) AND name = \(alias.name)
                """)
            return alias
        }
    }

    package func deleteAlias(_ functionName: String, name: String) async throws -> Bool {
        try await transaction { connection in
            try await connection.run("DELETE FROM function_url WHERE function_name = \(functionName) AND qualifier = \(name)")
            try await connection.run("DELETE FROM function_policy WHERE function_name = \(functionName) AND qualifier = \(name)")
            return try await connection.count("DELETE FROM function_alias WHERE function_name = \(functionName) AND name = \(name) RETURNING 1") > 0
        }
    }

    /// Everything of a function besides its row: versions, their counter, aliases.
    static func deleteVersionsAndAliases(_ connection: PostgresConnection, of name: String) async throws {
        try await connection.run("DELETE FROM function_version WHERE function_name = \(name)")
        try await connection.run("DELETE FROM function_version_counter WHERE function_name = \(name)")
        try await connection.run("DELETE FROM function_alias WHERE function_name = \(name)")
        try await connection.run("DELETE FROM function_url WHERE function_name = \(name)")
        try await connection.run("DELETE FROM function_policy WHERE function_name = \(name)")
    }
}

/// Function URLs.
extension PostgresStore {
    package func createFunctionURL(_ config: FunctionURLConfig) async throws -> FunctionURLConfig {
        try await transaction(conflict: FunctionStoreRules.functionURLExists) { connection in
            guard try await connection.count("SELECT 1 FROM function WHERE name = \(config.functionName) FOR SHARE") > 0 else {
                throw SpoolError.functionNotFound(config.functionName)
            }
            try await connection.run("""
                INSERT INTO function_url (url_id, function_name, qualifier, config)
                VALUES (\(config.urlID), \(config.functionName), \(config.qualifier ?? ""), \(ColumnJSON.encode(config)))
                """)
            return config
        }
    }

    package func functionURL(_ functionName: String, qualifier: String?) async throws -> FunctionURLConfig? {
        try await read { connection in
            try await connection.value("SELECT config FROM function_url WHERE function_name = \(functionName) AND qualifier = \(qualifier ?? "")",
                                       as: String.self).flatMap(FunctionStoreRules.functionURL)
        }
    }

    package func functionURL(id: String) async throws -> FunctionURLConfig? {
        try await read { connection in
            try await connection.value("SELECT config FROM function_url WHERE url_id = \(id)", as: String.self).flatMap(FunctionStoreRules.functionURL)
        }
    }

    package func functionURLs(_ functionName: String) async throws -> [FunctionURLConfig] {
        try await read { connection in
            try await connection.rows("SELECT config FROM function_url WHERE function_name = \(functionName) ORDER BY qualifier")
                .compactMap { FunctionStoreRules.functionURL(try $0.decode(String.self)) }
        }
    }

    package func updateFunctionURL(_ config: FunctionURLConfig) async throws -> FunctionURLConfig {
        try await transaction { connection in
            guard try await connection.count("""
                UPDATE function_url SET config = \(ColumnJSON.encode(config))
                WHERE function_name = \(config.functionName) AND qualifier = \(config.qualifier ?? "") RETURNING 1
                """) > 0 else { throw FunctionStoreRules.functionURLNotFound }
            return config
        }
    }

    package func deleteFunctionURL(_ functionName: String, qualifier: String?) async throws -> Bool {
        try await transaction { connection in
            try await connection.count("DELETE FROM function_url WHERE function_name = \(functionName) AND qualifier = \(qualifier ?? "") RETURNING 1") > 0
        }
    }
}

extension PostgresStore {
    package func setVersionProvisionedConcurrency(_ name: String, version: Int, value: Int?, at: Millis?) async throws -> FunctionDefinition? {
        try await transaction { connection in
            guard var definition = try await connection.value(
                "SELECT definition FROM function_version WHERE function_name = \(name) AND version = \(version) FOR UPDATE", as: String.self
            ).flatMap(FunctionStoreRules.definition) else { return nil }
            definition.provisionedConcurrency = value
            definition.provisionedLastModified = at
            try await connection.run("""
                UPDATE function_version SET definition = \(ColumnJSON.encode(definition)) WHERE function_name = \(name) AND version = \(version)
                """)
            return definition
        }
    }
}

/// Resource-based policies.
extension PostgresStore {
    package func functionPolicy(_ functionName: String, qualifier: String?) async throws -> FunctionPolicy? {
        try await read { connection in
            try await connection.value("SELECT policy FROM function_policy WHERE function_name = \(functionName) AND qualifier = \(qualifier ?? "")",
                                       as: String.self).flatMap(FunctionStoreRules.functionPolicy)
        }
    }

    package func putFunctionPolicy(_ functionName: String, qualifier: String?, policy: FunctionPolicy, expectedRevision: String?) async throws {
        try await transaction(conflict: FunctionStoreRules.revisionMismatch) { connection in
            let current = try await connection.value(
                "SELECT policy FROM function_policy WHERE function_name = \(functionName) AND qualifier = \(qualifier ?? "") FOR UPDATE", as: String.self
            ).flatMap(FunctionStoreRules.functionPolicy)
            guard current?.revisionID == expectedRevision else { throw FunctionStoreRules.revisionMismatch }
            if policy.statements.isEmpty {
                try await connection.run("DELETE FROM function_policy WHERE function_name = \(functionName) AND qualifier = \(qualifier ?? "")")
            } else {
                try await connection.run("""
                    INSERT INTO function_policy (function_name, qualifier, policy) VALUES (\(functionName), \(qualifier ?? ""), \(ColumnJSON.encode(policy)))
                    ON CONFLICT (function_name, qualifier) DO UPDATE SET policy = excluded.policy
                    """)
            }
        }
    }
}
