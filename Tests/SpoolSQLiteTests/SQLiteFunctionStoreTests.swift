import Foundation
import SpoolModel
import SpoolSQLite
import SpoolTesting
import Testing

@Suite("SQLite function store")
struct SQLiteFunctionStoreTests {
    @Test("keeps every FunctionStore promise", arguments: FunctionStoreConformance.checks)
    func conformance(_ check: FunctionStoreConformance.Check) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spool-fn-store-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteStore(directory: directory)
        try await check.run(on: store)
    }

    @Test("functions survive closing and reopening the database")
    func durable() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spool-fn-store-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try SQLiteStore(directory: directory)
        _ = try await FunctionStoreConformance.checks[0].run(on: first)
        try first.close()
        let second = try SQLiteStore(directory: directory)
        #expect(try await second.function(named: "alpha")?.codeSize == 42)
    }
}
