import Foundation
import Logging
import SpoolModel
import SpoolPostgres
import SpoolStorage
import Testing

/// Membership, work leases, shared deployment packages and wake-ups, through two stores opened on one database (two
/// nodes).
@Suite("PostgreSQL cluster membership, leases, code and wake-ups", .serialized)
struct PostgresClusterMembershipTests {
    @Test("heartbeats make nodes live; a node whose heartbeat is older than the lease time is not live; a leave removes it")
    func membership() async throws {
        try await withTwoNodes { a, b in
            _ = try await a.heartbeat(node: "node-a", address: "127.0.0.1:1", version: "1", ttl: 10_000)
            let nodes = try await b.heartbeat(node: "node-b", address: "127.0.0.1:2", version: "1", ttl: 10_000)
            #expect(nodes.map(\.id) == ["node-a", "node-b"])
            #expect(nodes.allSatisfy { $0.live })
            #expect(nodes.first?.address == "127.0.0.1:1")
            try await Task.sleep(for: .milliseconds(300))
            // With a lease time shorter than the time since node-a's heartbeat, node-a is no longer live.
            let later = try await b.heartbeat(node: "node-b", address: "127.0.0.1:2", version: "1", ttl: 200)
            #expect(later.first { $0.id == "node-a" }?.live == false)
            #expect(later.first { $0.id == "node-b" }?.live == true)
            try await a.leave(node: "node-a")
            #expect(try await b.clusterNodes(ttl: 10_000).map(\.id) == ["node-b"])
        }
    }

    @Test("a lease held unexpired by one node is refused to another; it is taken once it ends, with a higher epoch")
    func leases() async throws {
        try await withTwoNodes { a, b in
            let first = try await a.acquireLeases(node: "node-a", units: ["m1", "m2"], ttl: 400)
            #expect(first.map(\.unit) == ["m1", "m2"])
            #expect(try await b.acquireLeases(node: "node-b", units: ["m1", "m2", "m3"], ttl: 10_000).map(\.unit) == ["m3"])
            // Renewing keeps the epoch.
            let renewed = try await a.acquireLeases(node: "node-a", units: ["m1"], ttl: 400)
            #expect(renewed.first?.epoch == first.first?.epoch)
            try await Task.sleep(for: .milliseconds(600))
            let taken = try await b.acquireLeases(node: "node-b", units: ["m1", "m2"], ttl: 10_000)
            #expect(taken.map(\.unit) == ["m1", "m2"])
            #expect(taken.first!.epoch > first.first!.epoch)
            // The node that lost them cannot renew them.
            #expect(try await a.acquireLeases(node: "node-a", units: ["m1"], ttl: 10_000).isEmpty)
            let owns = try await b.heartbeat(node: "node-b", address: "b", version: "1", ttl: 10_000).first { $0.id == "node-b" }?.owns
            #expect(owns == ["m1", "m2", "m3"])
        }
    }

    @Test("a released lease is taken at once by another node; a leave releases every lease of the node")
    func release() async throws {
        try await withTwoNodes { a, b in
            let held = try await a.acquireLeases(node: "node-a", units: ["m1", "m2"], ttl: 60_000)
            try await a.releaseLeases(node: "node-a", units: ["m1"])
            let taken = try await b.acquireLeases(node: "node-b", units: ["m1", "m2"], ttl: 60_000)
            #expect(taken.map(\.unit) == ["m1"])
            #expect(taken.first!.epoch > held.first!.epoch)
            _ = try await a.heartbeat(node: "node-a", address: "a", version: "1", ttl: 60_000)
            try await a.leave(node: "node-a")
            #expect(try await b.acquireLeases(node: "node-b", units: ["m2"], ttl: 60_000).map(\.unit) == ["m2"])
            #expect(try await b.workLeases().allSatisfy { $0.node == "node-b" })
        }
    }

    @Test("two nodes racing for the same units never both hold one")
    func racing() async throws {
        try await withTwoNodes { a, b in
            let units = (0..<50).map { "unit-\($0)" }
            async let fromA = a.acquireLeases(node: "node-a", units: units, ttl: 60_000)
            async let fromB = b.acquireLeases(node: "node-b", units: units, ttl: 60_000)
            let (heldA, heldB) = try await (fromA, fromB)
            #expect(Set(heldA.map(\.unit)).isDisjoint(with: heldB.map(\.unit)))
            #expect(heldA.count + heldB.count == units.count)
        }
    }

    @Test("a package stored through one node is read through the other by its digest, and dropped only when no function uses it")
    func code() async throws {
        try await withTwoNodes { a, b in
            let zip = Data("PK-not-really-a-zip".utf8)
            try await a.putCode(sha256: "digest-1", zip: zip)
            try await b.putCode(sha256: "digest-1", zip: zip)  // the same package again keeps one copy
            #expect(try await b.code(sha256: "digest-1") == zip)
            #expect(try await b.code(sha256: "digest-2") == nil)
            let function = FunctionDefinition(name: "uses-it", executor: .process, codeSHA256: "digest-1", revisionID: "r1", lastModified: 1)
            _ = try await a.createFunction(function)
            try await b.dropCodeIfUnused(sha256: "digest-1")
            #expect(try await a.code(sha256: "digest-1") == zip, "a function still uses it")
            _ = try await a.deleteFunction(named: "uses-it")
            try await b.dropCodeIfUnused(sha256: "digest-1")
            #expect(try await a.code(sha256: "digest-1") == nil)
        }
    }

    @Test("topics one node publishes reach the other node, never the publisher itself")
    func wakeups() async throws {
        try await withTwoNodes { a, b in
            let busA = PostgresWakeups(store: a, logger: .init(label: "a"))
            let busB = PostgresWakeups(store: b, logger: .init(label: "b"))
            let atA = Locked<[String]>([]), atB = Locked<[String]>([])
            busA.onReceive { topics in atA.withLock { $0 += topics } }
            busB.onReceive { topics in atB.withLock { $0 += topics } }
            let running = Task {
                await withDiscardingTaskGroup { group in
                    group.addTask { try? await busA.run() }
                    group.addTask { try? await busB.run() }
                }
            }
            defer { running.cancel() }
            // Listening starts asynchronously: publish until the first topic arrives, then check the rest.
            let deadline = ContinuousClock.now + .seconds(10)
            while atB.withLock({ $0.isEmpty }) && ContinuousClock.now < deadline {
                busA.publish("q:1")
                try await Task.sleep(for: .milliseconds(50))
            }
            for id in 2...200 { busA.publish("q:\(id)") }
            busB.publish("f:5:orders")
            while (atB.withLock { !$0.contains("q:200") } || atA.withLock { $0.isEmpty }) && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            let receivedB = Set(atB.withLock { $0 })
            #expect(receivedB.isSuperset(of: (1...200).map { "q:\($0)" }))
            #expect(!receivedB.contains("f:5:orders"), "a node does not hear itself")
            #expect(atA.withLock { $0 } == ["f:5:orders"])
        }
    }
}

@Suite("PostgreSQL cluster-wide reserved concurrency", .serialized)
struct PostgresClusterConcurrencyTests {
    @Test("nodes taking slots of a function at once never hold more than its reservation; released and expired slots free up")
    func slots() async throws {
        try await withTwoNodes { a, b in
            let now: Millis = 1_000_000
            let taken = try await withThrowingTaskGroup(of: Int64?.self) { group in
                for index in 0..<20 {
                    let store = index.isMultiple(of: 2) ? a : b
                    group.addTask {
                        try await store.takeConcurrencySlot(function: "orders", limit: 3, node: store.nodeID, now: now, expiresAt: now + 60_000)
                    }
                }
                var taken: [Int64] = []
                for try await id in group { if let id { taken.append(id) } }
                return taken
            }
            #expect(taken.count == 3)
            #expect(try await a.takeConcurrencySlot(function: "other", limit: 1, node: "node-a", now: now, expiresAt: now + 60_000) != nil,
                    "another function's reservation is its own")
            try await b.releaseConcurrencySlot(id: taken[0])
            #expect(try await a.takeConcurrencySlot(function: "orders", limit: 3, node: "node-a", now: now, expiresAt: now + 1_000) != nil)
            #expect(try await a.takeConcurrencySlot(function: "orders", limit: 3, node: "node-a", now: now, expiresAt: now + 1_000) == nil)
            // Past their expiry, slots no longer count: node-b takes one at 61 s for a 10-s run and a 60-s margin.
            #expect(try await b.takeConcurrencySlot(function: "orders", limit: 1, node: "node-b", now: now + 61_000, expiresAt: now + 131_000) != nil)
            // A dead node's slots go once its invocations cannot be running any more (the lease less its margin passed).
            _ = try await a.releaseInvocationLeases(ofNodes: ["node-b"], margin: 60_000, now: now + 65_000)
            #expect(try await a.takeConcurrencySlot(function: "orders", limit: 1, node: "node-a", now: now + 65_000, expiresAt: now + 200_000) == nil,
                    "node-b's run could still be going at 65 s")
            _ = try await a.releaseInvocationLeases(ofNodes: ["node-b"], margin: 60_000, now: now + 72_000)
            #expect(try await a.takeConcurrencySlot(function: "orders", limit: 1, node: "node-a", now: now + 72_000, expiresAt: now + 200_000) != nil)
        }
    }
}
