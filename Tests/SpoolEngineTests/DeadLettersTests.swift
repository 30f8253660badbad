import Foundation
import SpoolEngine
import SpoolExecutor
import SpoolModel
import SpoolSignals
import SpoolSQLite
import SpoolStorage
import Synchronization
import Testing

@Suite("Dead letters: replay and purge at scale")
struct DeadLettersTests {
    /// A store holding `count` dead letters of `function`, made the way the dispatcher makes them.
    static func withDeadLetters(_ count: Int, function: String = "fn", _ body: (SQLiteStore, DeadLetters) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spool-dead-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteStore(directory: directory, durability: .normal)
        let executor = InProcessExecutor(handlers: [function: { payload, _ in payload }])
        let registry = FunctionRegistry(store: store, runner: FunctionRunner(executor: executor, accountLimit: 10),
                                        codeRoot: directory + "/functions", identity: AWSIdentity())
        try await registry.declare(FunctionDefinition(name: function, executor: .inProcess, source: .embedded, revisionID: "r", lastModified: 1))
        let invocations = (0..<count).map { NewInvocation(requestID: "req-\($0)", functionName: function, qualifier: nil, payload: "{\"n\":\($0)}") }
        _ = try await store.enqueueInvocations(EnqueueInvocationsParams(invocations: invocations, now: 1_000))
        let claimed = try await store.claimInvocations(ClaimInvocationsParams(functionName: function, limit: count, leaseUntil: 100_000, now: 1_000))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for invocation in claimed {
                group.addTask {
                    let letter = DeadLetter(id: 0, requestID: invocation.requestID, functionName: function, qualifier: nil, payload: invocation.payload,
                                            reason: .retriesExhausted, attempts: 3, lastError: nil, enqueuedAt: 1_000, failedAt: 2_000)
                    _ = try await store.settleInvocation(SettleInvocationParams(id: invocation.id, epoch: invocation.epoch, transition: .finish,
                                                                                effects: [.deadLetter(letter)], now: 2_000))
                }
            }
            try await group.waitForAll()
        }
        let queues = QueueService(store: store, identity: AWSIdentity())
        let configs = EventInvokeConfigs(store: store, registry: registry, queues: queues)
        let dispatcher = AsyncDispatcher(store: store, registry: registry, configs: configs, queueSignals: queues.signals,
                                         deliveryWakeups: WakeSignal(), settings: AsyncSettings())
        try await body(store, DeadLetters(store: store, dispatcher: dispatcher))
    }

    @Test("replaying 1,200 dead letters is one operation in chunks of 500, reporting progress after each")
    func replayInChunks() async throws {
        try await Self.withDeadLetters(1_200) { store, deadLetters in
            let reports = Mutex<[DeadLetters.Progress]>([])
            let total = try await deadLetters.replay(DeadLetterFilter(functionName: "fn"), force: false) { progress in
                reports.withLock { $0.append(progress) }
            }
            #expect(total.replayed == 1_200 && total.skipped == 0 && total.done)
            #expect(reports.withLock { $0.map(\.replayed) } == [500, 1_000, 1_200])
            #expect(try await store.invocationBacklog(function: "fn").count == 1_200)
            let again = try await deadLetters.replay(DeadLetterFilter(functionName: "fn"), force: false)
            #expect(again.replayed == 0 && again.skipped == 1_200)
        }
    }

    @Test("purging by filter removes exactly the matching dead letters")
    func purge() async throws {
        try await Self.withDeadLetters(700) { store, deadLetters in
            let some = try await store.deadLetters(DeadLetterFilter(), afterID: 0, limit: 3).map(\.id)
            let partial = try await deadLetters.purge(DeadLetterFilter(ids: some))
            #expect(partial.purged == 3)
            let all = try await deadLetters.purge(DeadLetterFilter(functionName: "fn", reason: .retriesExhausted))
            #expect(all.purged == 697)
            #expect(try await store.deadLetters(DeadLetterFilter(), afterID: 0, limit: 10).isEmpty)
        }
    }
}
