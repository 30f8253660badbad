import Foundation
import NIOCore
import SpoolEngine
import SpoolExecutor
import SpoolModel
import SpoolSQLite
import SpoolSignals
import SpoolStorage
import SpoolTesting
import Synchronization
import Testing

/// A door a test opens once; everyone waiting at it goes through, and later arrivals do not wait.
final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))
    /// How many have reached the gate so far.
    let arrivals = Mutex(0)
    private let arrived: (stream: AsyncStream<Void>, continuation: AsyncStream<Void>.Continuation) = AsyncStream.makeStream()

    /// Counts an arrival without waiting at the gate.
    func arrive() {
        arrivals.withLock { $0 += 1 }
        arrived.continuation.yield()
    }

    func wait() async {
        arrive()
        await withCheckedContinuation { continuation in
            let open = state.withLock { state in
                if !state.open { state.waiters.append(continuation) }
                return state.open
            }
            if open { continuation.resume() }
        }
    }

    func open() {
        let waiters = state.withLock { state in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once `count` arrivals in all reached the gate.
    func arrivals(_ count: Int) async {
        var iterator = arrived.stream.makeAsyncIterator()
        while arrivals.withLock({ $0 }) < count { _ = await iterator.next() }
    }
}

extension AsyncDispatcherTests {
    @Test("a slot freed by a synchronous invocation starts the async event waiting for it, woken by the release, not by polling")
    func syncReleaseWakesTheDispatcher() async throws {
        let gate = Gate()
        let asyncRan = Gate()
        try await withDispatcher(functions: ["one": { payload, _ in
            if String(buffer: payload).contains("sync") { await gate.wait() } else { await asyncRan.wait() }
            return payload
        }], reserved: ["one": 1]) { harness in
            asyncRan.open()
            let invoker = FunctionInvoker(registry: harness.registry)
            let sync = Task {
                try await invoker.invoke(.init(function: FunctionReference(name: "one"), payload: ByteBuffer(string: #""sync""#),
                                               clientContext: nil, requestID: "sync"))
            }
            await gate.arrivals(1)
            _ = try await harness.enqueue("one")
            // The event waits for the slot the synchronous invocation holds. A dispatcher that looked again on a timer
            // would run a round every 50 ms; one woken by releases runs none while nothing is released.
            let rounds = harness.dispatcher.rounds
            try await Task.sleep(for: .milliseconds(600))
            #expect(harness.dispatcher.rounds - rounds <= 2)
            #expect(asyncRan.arrivals.withLock { $0 } == 0)
            gate.open()
            #expect(try await sync.value.outcome.status == .success)
            await asyncRan.arrivals(1)
            let record = try harness.record(try await harness.receive("ok", count: 1)[0])
            #expect((record["requestContext"] as? [String: Any])?["approximateInvokeCount"] as? Int == 1)
        }
    }

    @Test("a function error of the runtime itself (Runtime.ExitError) uses an attempt and reaches the failure destination")
    func runtimeCrashUsesAnAttempt() async throws {
        let executor = ScriptedExecutor(.crash)
        try await withDispatcher(functions: [:], executor: executor, crashing: ["crash"]) { harness in
            _ = try await harness.configs.put(FunctionReference(name: "crash"), EventInvokeSettings(
                maximumRetryAttempts: 0, destinationsGiven: true, onFailure: "arn:aws:sqs:us-east-1:000000000000:failed"))
            _ = try await harness.enqueue("crash")
            let record = try harness.record(try await harness.receive("failed", count: 1)[0])
            let context = try #require(record["requestContext"] as? [String: Any])
            #expect(context["condition"] as? String == "RetriesExhausted")
            #expect(context["approximateInvokeCount"] as? Int == 1)
            #expect((record["responseContext"] as? [String: Any])?["functionError"] as? String == "Unhandled")
        }
    }
}

extension AsyncDispatcherTests {
    @Test("an event's lease covers a cold start's init: with an init timeout above 60 s, a slow start never runs the event twice at once")
    func leaseCoversInit() async throws {
        let executor = ScriptedExecutor(.delay(.milliseconds(2_500)))
        // Function timeout 1 s, lease margin 0.1 s: a lease of timeout + margin would end 1.1 s into the 2.5 s start.
        try await withDispatcher(functions: [:], executor: executor, crashing: ["slow"], timeoutSeconds: 1, leaseMargin: 100,
                                 initTimeoutMillis: 61_000) { harness in
            _ = try await harness.enqueue("slow")
            let record = try harness.record(try await harness.receive("ok", count: 1)[0])
            #expect((record["requestContext"] as? [String: Any])?["approximateInvokeCount"] as? Int == 1)
            #expect(executor.requests.count == 1)
        }
    }

    @Test("a hand-off that arrives after the stop began never starts: it is released, uncounted, for the next start")
    func handOffAfterStop() async throws {
        let started = Gate()
        let handed = Mutex<(ClaimedInvocation, FunctionRunner.Slot)?>(nil)
        try await withDispatcher(functions: ["late": { payload, _ in started.arrive(); return payload }], afterStop: { harness in
            let (invocation, slot) = try #require(handed.withLock { $0 })
            await harness.dispatcher.handOff(invocation, slot: slot)
            let again = try await harness.store.claimInvocations(ClaimInvocationsParams(
                functionName: "late", limit: 10, leaseUntil: WallClock().now() + 60_000, now: WallClock().now()))
            #expect(again.count == 1 && again.first?.invokeCount == 1)
            #expect(started.arrivals.withLock { $0 } == 0)
        }) { harness in
            try #require(await harness.dispatcher.progress.until(timeout: .seconds(10)) { harness.dispatcher.takesHandOffs })
            let definition = try await harness.registry.function(FunctionReference(name: "late"))
            let now = WallClock().now()
            let slot = try #require(await harness.dispatcher.reserveDirect(definition, now: now))
            var event = NewInvocation(requestID: "late-1", functionName: "late", qualifier: nil, payload: "{}")
            event.leaseUntil = now + 600_000
            let stored = try await harness.store.enqueueInvocations(EnqueueInvocationsParams(invocations: [event], now: now))[0]
            handed.withLock { $0 = (stored.claimed!, slot) }
        }
    }
}

extension QueueMappingTests {
    @Test("a stream batch cut off by the stop is neither retried nor given up: the checkpoint stays and nothing reaches the destination")
    func streamCutOffIsNotAFailure() async throws {
        let gate = Gate()
        let uuid = Mutex("")
        let before = Mutex<Int64?>(nil)
        try await withMappings(functions: ["blocks": { _, _ in
            gate.arrive()
            try await Task.sleep(for: .seconds(3_600))
            return ByteBuffer(string: "{}")
        }], queues: ["failures": [:]], shutdownGrace: .milliseconds(200), afterStop: { harness in
            // The stop's grace period ended with the batch running: it was cancelled, and that is not a failure.
            let checkpoints = try await harness.store.checkpoints(mappingUUID: uuid.withLock { $0 })
            #expect(checkpoints.count == 1 && checkpoints[0].position == before.withLock { $0 })
            #expect(try await harness.counts("failures") == QueueCounts(visible: 0, inFlight: 0, delayed: 0))
        }) { harness in
            try await harness.streams.createStream(name: "s", shardCount: 1, mode: nil)
            let stream = try await harness.streams.stream(name: "s", arn: nil)
            var request = MappingRequest()
            request.startingPosition = "TRIM_HORIZON"
            request.maximumRetryAttempts = 0
            request.destinationConfigGiven = true
            request.onFailureDestination = "arn:aws:sqs:us-east-1:000000000000:failures"
            let mapping = try await harness.mappings.create(sourceARN: "arn:aws:kinesis:us-east-1:000000000000:stream/s", functionName: "blocks", request: request)
            _ = try await harness.streams.put([.init(data: Data("r1".utf8), partitionKey: "k", explicitHashKey: nil)], into: stream, field: "Records")
            uuid.withLock { $0 = mapping.uuid }
            await gate.arrivals(1)
            let started = try await harness.store.checkpoints(mappingUUID: mapping.uuid)
            before.withLock { $0 = started.first?.position }
        }
    }
}
