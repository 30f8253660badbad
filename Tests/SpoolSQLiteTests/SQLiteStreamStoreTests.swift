import SpoolSQLite
import SpoolTesting
import Testing

@Suite("SQLite stream store")
struct SQLiteStreamStoreTests {
    @Test("keeps every StreamStore promise", arguments: StreamStoreConformance.checks)
    func conformance(_ check: StreamStoreConformance.Check) async throws {
        try await withTemporaryDirectory { directory in
            try await check.run(on: try SQLiteStore(directory: directory))
        }
    }
}
