import Foundation
import SpoolModel
import SpoolSQLite
import SpoolStorage
import SpoolTesting
import Testing

@Suite("SQLite invocation store")
struct SQLiteInvocationStoreTests {
    static func withStore(_ body: (SQLiteStore, String) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spool-inv-store-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await body(try SQLiteStore(directory: directory), directory)
    }

    @Test("keeps every InvocationStore promise", arguments: InvocationStoreConformance.checks)
    func conformance(_ check: InvocationStoreConformance.Check) async throws {
        try await Self.withStore { store, _ in try await check.run(on: store) }
    }

    @Test("the claim searches the invocation_claim index")
    func claimPlan() async throws {
        try await Self.withStore { store, _ in
            let plan = try await store.invocationClaimPlan().joined(separator: "\n")
            #expect(plan.contains("USING INDEX invocation_claim") || plan.contains("USING COVERING INDEX invocation_claim"), "plan: \(plan)")
            #expect(!plan.contains("TEMP B-TREE"), "plan: \(plan)")
        }
    }

    @Test("accepted events survive closing and reopening the database")
    func durable() async throws {
        try await Self.withStore { store, directory in
            _ = try await store.enqueueInvocations(EnqueueInvocationsParams(
                invocations: [NewInvocation(requestID: "kept", functionName: "fn", qualifier: nil, payload: "{\"k\":1}")], now: 10))
            try store.close()
            let reopened = try SQLiteStore(directory: directory)
            let claimed = try await reopened.claimInvocations(ClaimInvocationsParams(functionName: "fn", limit: 10, leaseUntil: 1_000, now: 20))
            #expect(claimed.map(\.requestID) == ["kept"])
        }
    }
}

extension SQLiteInvocationStoreTests {
    @Test("the schema's CHECK constraints list exactly the Swift state and reason values")
    func checksMirrorEnums() async throws {
        try await Self.withStore { store, _ in
            let invocation = try await store.tableSQL("invocation")
            #expect(invocation.contains("CHECK (state IN (\(InvocationState.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", "))))"))
            let deadLetter = try await store.tableSQL("dead_letter")
            #expect(deadLetter.contains("CHECK (reason IN (\(FailureCondition.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", "))))"))
        }
    }
}

@Suite("SQLite mapping store")
struct SQLiteMappingStoreTests {
    @Test("keeps every MappingStore promise", arguments: MappingStoreConformance.checks)
    func conformance(_ check: MappingStoreConformance.Check) async throws {
        try await SQLiteInvocationStoreTests.withStore { store, _ in try await check.run(on: store) }
    }
}
