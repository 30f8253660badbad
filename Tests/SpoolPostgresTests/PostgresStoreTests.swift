import Foundation
import Logging
import PostgresNIO
import SpoolMigrations
import SpoolModel
import SpoolPostgres
import Testing

/// A database of its own on the test PostgreSQL (`SPOOL_TEST_DATABASE_URL`, which `bash Tests/run.sh` sets after
/// starting a throwaway cluster), dropped afterwards.
func withTestDatabase<T>(_ body: (String) async throws -> T) async throws -> T {
    guard let admin = ProcessInfo.processInfo.environment["SPOOL_TEST_DATABASE_URL"] else {
        Issue.record("SPOOL_TEST_DATABASE_URL is not set: run the tests with `bash Tests/run.sh`, which starts a throwaway PostgreSQL")
        throw CancellationError()
    }
    let url = try PostgresURL(admin)
    let name = "spool_test_\(UUID().uuidString.prefix(8).lowercased())"
    let client = PostgresClient(configuration: url.clientConfiguration)
    let running = Task { await client.run() }
    defer { running.cancel() }
    _ = try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"))
    var own = url
    own.database = name
    let text = "postgres://\(own.user)\(own.password.map { ":\($0)" } ?? "")@\(own.host):\(own.port)/\(name)?sslmode=\(own.sslMode.rawValue)"
    do {
        let result = try await body(text)
        _ = try await client.query(PostgresQuery(unsafeSQL: "DROP DATABASE \(name) WITH (FORCE)"))
        return result
    } catch {
        _ = try? await client.query(PostgresQuery(unsafeSQL: "DROP DATABASE \(name) WITH (FORCE)"))
        throw error
    }
}

@Suite("PostgreSQL store: connection, migrations, generations")
struct PostgresStoreTests {
    @Test("a database URL is read as the database setting takes it, and a wrong one is refused with the reason")
    func urls() throws {
        let url = try PostgresURL("postgres://spool:s%40cret@db.internal:6432/events?sslmode=require")
        #expect(url == PostgresURL(host: "db.internal", port: 6432, user: "spool", password: "s@cret", database: "events", sslMode: .require))
        #expect(url.redacted == "postgres://spool:***@db.internal:6432/events?sslmode=require")
        #expect(try PostgresURL("postgresql://u@h/d").port == 5432)
        #expect(try PostgresURL("postgresql://u@h/d").sslMode == .prefer)
        for bad in ["mysql://u@h/d", "postgres://h/d", "postgres://u@h/", "postgres://u@h/d?sslmode=verify-full", "postgres://u@h/d?timeout=3"] {
            #expect(throws: SpoolError.self, "\(bad)") { try PostgresURL(bad) }
        }
    }

    @Test("nodes starting together migrate once, each with a generation of its own")
    func migrateOnce() async throws {
        try await withTestDatabase { url in
            let stores = try await withThrowingTaskGroup(of: PostgresStore.self) { group in
                for _ in 0..<4 { group.addTask { try await PostgresStore.open(url: url) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(Set(stores.map(\.generation)).count == 4, "four openings, four generations")
            let probe = try await PostgresStore.open(url: url)
            let applied = try await probe.appliedMigrations()
            #expect(applied == SpoolMigrations.postgres.map(\.identifier), "each migration once")
            for store in stores + [probe] { await store.close() }
        }
    }

    @Test("a schema a newer Spool migrated is refused with a clear message")
    func newerSchemaRefused() async throws {
        try await withTestDatabase { url in
            let store = try await PostgresStore.open(url: url)
            try await store.recordMigration("9999_from_the_future")
            await store.close()
            do {
                _ = try await PostgresStore.open(url: url)
                Issue.record("a newer schema was opened")
            } catch let error as PostgresStoreError {
                #expect("\(error)".contains("newer version of Spool") && "\(error)".contains("9999_from_the_future"))
                #expect(!"\(error)".contains("password"))
            }
        }
    }
}
