import SpoolPostgres
import SpoolStorage
import SpoolTesting
import Testing

/// A fresh store on a database of its own, closed afterwards.
func withTestStore<T>(_ body: (PostgresStore) async throws -> T) async throws -> T {
    try await withTestDatabase { url in
        let store = try await PostgresStore.open(url: url)
        do {
            let result = try await body(store)
            await store.close()
            return result
        } catch {
            await store.close()
            throw error
        }
    }
}

/// The conformance suites of SpoolTesting, run against PostgreSQL exactly as against SQLite. One check at a time:
/// each creates a database of its own.
@Suite("PostgreSQL store conformance", .serialized)
struct PostgresConformanceTests {
    @Test("keeps every QueueStore promise", arguments: QueueStoreConformance.checks)
    func queues(_ check: QueueStoreConformance.Check) async throws {
        try await withTestStore { store in try await check.run(on: store) }
    }

    @Test("keeps every FunctionStore promise", arguments: FunctionStoreConformance.checks)
    func functions(_ check: FunctionStoreConformance.Check) async throws {
        try await withTestStore { store in try await check.run(on: store) }
    }

    @Test("keeps every InvocationStore promise", arguments: InvocationStoreConformance.checks)
    func invocations(_ check: InvocationStoreConformance.Check) async throws {
        try await withTestStore { store in try await check.run(on: store) }
    }

    @Test("keeps every MappingStore promise", arguments: MappingStoreConformance.checks)
    func mappings(_ check: MappingStoreConformance.Check) async throws {
        try await withTestStore { store in try await check.run(on: store) }
    }

    @Test("keeps every StreamStore promise", arguments: StreamStoreConformance.checks)
    func streams(_ check: StreamStoreConformance.Check) async throws {
        try await withTestStore { store in try await check.run(on: store) }
    }
}
