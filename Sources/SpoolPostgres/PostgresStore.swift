import Foundation
import Logging
import PostgresNIO
import SpoolMigrations
import SpoolModel

/// The PostgreSQL backend, shared by every Spool node of a cluster: a `PostgresClient` pool, the schema migrated
/// (once, whichever nodes start together) before anything else, and this node's generation.
///
/// Every storage protocol is implemented here with the same promises as SQLite (the conformance suites of
/// SpoolTesting run against both); what differs is how concurrent nodes are kept apart, said at each part.
package final class PostgresStore: Sendable {
    package let url: PostgresURL
    /// This node's identity in the cluster (stable across its restarts: the server keeps it in its data directory). The
    /// leases it takes carry it, so that at start-up it releases its own and no other node's.
    package let nodeID: String
    let client: PostgresClient
    private let running: Task<Void, Never>
    /// This opening's generation (see `StoreGeneration`).
    package let generation: Int64
    /// The lowest lease epoch this opening issues: `generation << 32`. Every statement that takes a lease sets
    /// `lease_epoch = GREATEST(lease_epoch + 1, epochFloor)`.
    package var epochFloor: Int64 { StoreGeneration.epochFloor(generation) }

    private init(url: PostgresURL, nodeID: String, client: PostgresClient, running: Task<Void, Never>, generation: Int64) {
        self.url = url
        self.nodeID = nodeID
        self.client = client
        self.running = running
        self.generation = generation
    }

    /// Connects, migrates the schema under an advisory lock (nodes starting together migrate once; a schema with a
    /// migration this binary does not know is refused) and takes a new generation.
    package static func open(
        url text: String, nodeID: String = UUID().uuidString.lowercased(), logger: Logger = Logger(label: "spool.postgres")
    ) async throws -> PostgresStore {
        let url = try PostgresURL(text)
        let client = PostgresClient(configuration: url.clientConfiguration, backgroundLogger: logger)
        let running = Task { await client.run() }
        do {
            try await PostgresMigrations.migrate(client, url: url, logger: logger)
            let generation = try await takeGeneration(client, logger: logger)
            logger.info("store opened", metadata: ["database": "\(url.redacted)", "generation": "\(generation)"])
            return PostgresStore(url: url, nodeID: nodeID, client: client, running: running, generation: generation)
        } catch {
            running.cancel()
            await running.value
            throw error
        }
    }

    /// Creates an empty database next to the one `url` names (same server and user) and returns its URL: the
    /// benchmark's fresh store per run.
    package static func createDatabase(besides url: String, name: String) async throws -> String {
        var target = try PostgresURL(url)
        try await withAdmin(url) { client in _ = try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \"\(name)\"")) }
        target.database = name
        return target.text
    }

    /// Drops a database `createDatabase` made, closing what is still connected to it.
    package static func dropDatabase(besides url: String, name: String) async throws {
        try await withAdmin(url) { client in _ = try await client.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \"\(name)\" WITH (FORCE)")) }
    }

    private static func withAdmin(_ url: String, _ body: (PostgresClient) async throws -> Void) async throws {
        let client = PostgresClient(configuration: try PostgresURL(url).clientConfiguration)
        let running = Task { await client.run() }
        defer { running.cancel() }
        try await body(client)
    }

    /// The migrations recorded in the database, in order of identifier.
    package func appliedMigrations() async throws -> [String] {
        var identifiers: [String] = []
        for try await identifier in try await client.query("SELECT identifier FROM spool_migration ORDER BY identifier").decode(String.self) {
            identifiers.append(identifier)
        }
        return identifiers
    }

    /// Records a migration as applied without running anything (tests of the newer-schema refusal).
    package func recordMigration(_ identifier: String) async throws {
        _ = try await client.query("INSERT INTO spool_migration (identifier) VALUES (\(identifier))")
    }

    /// Stops the pool; later calls fail.
    package func close() async {
        running.cancel()
        await running.value
    }

    private static func takeGeneration(_ client: PostgresClient, logger: Logger) async throws -> Int64 {
        // `StoreGeneration.next(after:now:)`, in the statement that takes it, so that nodes opening together each get one.
        let lowest = StoreGeneration.lowest(at: WallClock().now())
        let rows = try await client.query("""
            UPDATE store_generation SET generation = GREATEST(generation + 1, \(lowest)) WHERE id = 1 RETURNING generation
            """, logger: logger)
        for try await generation in rows.decode(Int64.self) { return generation }
        throw PostgresStoreError.schema(reason: "store_generation has no row")
    }
}

/// Failures opening a PostgreSQL store, reported at start-up.
package enum PostgresStoreError: Error, CustomStringConvertible {
    case newerDatabase(url: String, unknownMigrations: [String])
    case schema(reason: String)

    package var description: String {
        switch self {
        case .newerDatabase(let url, let unknown):
            "The database \(url) was migrated by a newer version of Spool (unknown migrations: \(unknown.joined(separator: ", "))). Upgrade Spool to open it."
        case .schema(let reason):
            "The database's Spool schema is not as expected: \(reason)."
        }
    }
}

/// The forward-only migrations of `Migrations/PostgreSQL/`, applied under one advisory lock.
enum PostgresMigrations {
    /// Any 64-bit key shared by every Spool node: "Spool" in ASCII.
    static let lockKey: Int64 = 0x53_70_6F_6F_6C

    static func migrate(_ client: PostgresClient, url: PostgresURL, logger: Logger) async throws {
        try await client.withConnection { connection in
            _ = try await connection.query("SELECT pg_advisory_lock(\(lockKey))", logger: logger)
            do {
                try await apply(connection, url: url, logger: logger)
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(lockKey))", logger: logger)
                throw error
            }
            _ = try await connection.query("SELECT pg_advisory_unlock(\(lockKey))", logger: logger)
        }
    }

    /// The statements of a migration file: `--` comments dropped, split at each `;` that ends a line outside a
    /// dollar-quoted (`$$`) function body (Spool's migration files keep to that; the extended protocol takes one
    /// statement at a time).
    static func statements(of sql: String) -> [String] {
        var statements: [String] = []
        var current = ""
        var inBody = false
        for raw in sql.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = inBody ? raw : (raw.range(of: "--").map { raw[..<$0.lowerBound] } ?? raw)
            current += line + "\n"
            if line.components(separatedBy: "$$").count % 2 == 0 { inBody.toggle() }
            if !inBody, line.trimmingCharacters(in: .whitespaces).hasSuffix(";") {
                let statement = current.trimmingCharacters(in: .whitespacesAndNewlines).dropLast()
                if !statement.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { statements.append(String(statement)) }
                current = ""
            }
        }
        let rest = current.trimmingCharacters(in: .whitespacesAndNewlines)
        if !rest.isEmpty { statements.append(rest) }
        return statements
    }

    private static func apply(_ connection: PostgresConnection, url: PostgresURL, logger: Logger) async throws {
        _ = try await connection.query("""
            CREATE TABLE IF NOT EXISTS spool_migration (identifier TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())
            """, logger: logger)
        var applied = Set<String>()
        for try await identifier in try await connection.query("SELECT identifier FROM spool_migration", logger: logger).decode(String.self) {
            applied.insert(identifier)
        }
        let known = SpoolMigrations.postgres.map(\.identifier)
        let unknown = applied.subtracting(known).sorted()
        guard unknown.isEmpty else { throw PostgresStoreError.newerDatabase(url: url.redacted, unknownMigrations: unknown) }
        for migration in SpoolMigrations.postgres where !applied.contains(migration.identifier) {
            // One transaction each: the migration's statements and its record commit together.
            _ = try await connection.query("BEGIN", logger: logger)
            do {
                for statement in statements(of: migration.sql) {
                    _ = try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                _ = try await connection.query("INSERT INTO spool_migration (identifier) VALUES (\(migration.identifier))", logger: logger)
                _ = try await connection.query("COMMIT", logger: logger)
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
            logger.notice("migration applied", metadata: ["migration": "\(migration.identifier)"])
        }
    }
}
