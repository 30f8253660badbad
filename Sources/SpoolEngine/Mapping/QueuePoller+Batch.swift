import Foundation
import Logging
import NIOCore
import NIOFoundationEssentialsCompat
import SpoolExecutor
import SpoolModel
import SpoolSignals
import SpoolStorage
import Synchronization

/// Assembling a batch and settling what the function made of it.
extension QueuePoller {
    /// One leased message and its record in the event.
    struct Item: Sendable {
        var message: ReceivedMessage
        var json: Data
    }

    /// A batch ready for the function, with the concurrency slot it runs in.
    struct Batch: Sendable {
        var items: [Item]
        var queue: QueueRecord
        var mapping: EventSourceMapping
        var definition: FunctionDefinition
        var slot: FunctionRunner.Slot
    }

    /// Leases the next batch, or waits (for messages, a free slot, a stop or new settings) and returns `nil`.
    /// A gatherer other than the primary one does not wait for messages: it goes back to waiting for a backlog.
    func nextBatch(primary: Bool = true) async -> Batch? {
        let seen = wakeups.generation
        let ended = batchEnded.generation
        let (mapping, patterns, limit) = state.withLock { state in
            (state.mapping, state.patterns, state.scaling.limit(maximumConcurrency: state.mapping.settings.maximumConcurrency))
        }
        guard let queue = await currentQueue(mapping) else {
            problem("the mapping's queue does not exist", ["source": "\(mapping.sourceARN)"])
            await backOff()
            return nil
        }
        // The place under the mapping's concurrency is taken before leasing, so that gatherers side by side never
        // run more batches than allowed; without one, wait for a batch to end.
        let reserved = state.withLock { state in
            guard state.active < limit else { return false }
            state.active += 1
            return true
        }
        guard reserved else {
            await WakeSignal.wait(any: [(wakeups, seen), (batchEnded, ended)])
            return nil
        }
        var held = true
        /// Gives the place back when no batch came of it; before waiting, so that a wait holds no place.
        func unreserve() {
            guard held else { return }
            held = false
            state.withLock { $0.active -= 1 }
            batchEnded.signal()
        }
        defer { unreserve() }
        let definition: FunctionDefinition
        do {
            // A mapping on a version or an alias runs that version (through an alias, the one its weights pick per batch).
            definition = try await registry.invocationTarget(FunctionReference(name: mapping.functionName, qualifier: mapping.functionQualifier))
        } catch {
            problem("the mapping's function cannot be read", ["function": "\(mapping.functionName)", "error": "\(error)"])
            unreserve()
            await backOff()
            return nil
        }
        // No slot (reserved concurrency in use or 0, the account's limit, the environments): the messages wait in
        // the queue and the poller waits for a slot of the function to free.
        guard let slot = await runner.admit(definition, alongside: [(wakeups, seen)]) else { return nil }
        do {
            let gathered = try await gather(queue: queue, mapping: mapping, patterns: patterns, definition: definition)
            guard case .batch(let items, let backlogged) = gathered else {
                noteBacklog(false)
                runner.release(slot)
                unreserve()
                if primary, case .idle(let queueSeen, let seen, let until) = gathered {
                    // Idle pollers hold no slot: synchronous invocations may use it meanwhile.
                    await wait(on: queues.signals.channel(queue.id), sourceSeen: queueSeen, seen: seen, timeout: max(1, until - registry.clock.now()))
                }
                return nil
            }
            rest.clearProblem()
            noteBacklog(backlogged)
            state.withLock { state in
                state.scaling.observe(backlogged: backlogged && state.active >= limit, now: registry.clock.now())
            }
            held = false
            return Batch(items: items, queue: queue, mapping: mapping, definition: definition, slot: slot)
        } catch {
            runner.release(slot)
            problem("cannot lease messages", ["error": "\(error)"])
            unreserve()
            await backOff()
            return nil
        }
    }

    var runner: FunctionRunner { registry.runner }

    /// Leases messages until the batch is full, the payload limit is reached or the batching window closes;
    /// with no window, hands over what the queue has at once.
    private func gather(queue: QueueRecord, mapping: EventSourceMapping, patterns: [FilterPattern],
                        definition: FunctionDefinition) async throws -> Gathered {
        let settings = mapping.settings
        var assembly = BatchAssembly<Item>(batchSize: settings.batchSize, maximumBytes: MappingRules.maximumEventBytes,
                                           windowMillis: Millis(settings.maximumBatchingWindowSeconds) * 1_000)
        let lease = Self.leaseSeconds(queue: queue, settings: settings, timeoutSeconds: definition.timeoutSeconds,
                                      initSeconds: Int((runner.initTimeout + 999) / 1_000))
        var overflow: [ReceiptHandle] = []
        var backlogged = false
        while true {
            let queueSeen = queues.signals.generation(queue.id)
            let seen = wakeups.generation
            // Learn the records' size from the first chunk before leasing thousands that might not fit.
            let estimate = assembly.isEmpty ? 0 : assembly.bytes / assembly.elements.count
            let chunk = estimate == 0 ? min(assembly.remaining, 100)
                : min(assembly.remaining, max(1, (assembly.maximumBytes - assembly.bytes) / estimate + 1))
            let outcome = try await queues.store.receiveMessages(ReceiveMessagesParams(
                queueID: queue.id, maxMessages: chunk, visibilityTimeout: lease, identity: registry.identity, now: registry.clock.now()))
            for target in outcome.redrivenTo { queues.signals.signal(target) }
            var filtered: [ReceiptHandle] = []
            let now = registry.clock.now()
            for message in outcome.messages {
                let record = SQSEventRecord(message, queueARN: mapping.sourceARN, identity: registry.identity)
                let json = record.json()
                if !patterns.isEmpty {
                    let value = record.filterValue(json: json)
                    if !patterns.contains(where: { $0.matches(value) }) {
                        filtered.append(message.receipt)
                        continue
                    }
                }
                if !assembly.add(Item(message: message, json: json), bytes: json.count, now: now) { overflow.append(message.receipt) }
            }
            if !filtered.isEmpty { try await deleteFiltered(filtered, queue: queue) }
            let full = outcome.messages.count == chunk
            backlogged = full
            if assembly.isReady(now: now) || !overflow.isEmpty || isStopped { break }
            if full { continue }
            if !assembly.isEmpty && settings.maximumBatchingWindowSeconds == 0 { break }
            // The queue has nothing more now: wait for a send or the next message becoming visible, and for
            // no longer than the window when a batch is open.
            var until = now + Self.idleWaitMillis
            if let visible = try await queues.store.nextVisibleAt(queueID: queue.id, now: now) { until = min(until, visible) }
            guard let deadline = assembly.deadline else {
                state.withLock { $0.scaling.idle(now: now) }
                return .idle(queueSeen: queueSeen, seen: seen, until: until)
            }
            await wait(on: queues.signals.channel(queue.id), sourceSeen: queueSeen, seen: seen, timeout: max(1, min(until, deadline) - now))
            if isStopped { break }
        }
        if isStopped {
            // Stopped while gathering: the messages go back untouched rather than to a mapping being disabled.
            overflow += assembly.elements.map(\.message.receipt)
            try await release(overflow, queue: queue)
            return .stopped
        }
        try await release(overflow, queue: queue)
        return .batch(assembly.elements, backlogged: backlogged || !overflow.isEmpty)
    }

    /// What gathering came to.
    enum Gathered {
        case batch([Item], backlogged: Bool)
        /// Nothing to lease: wait for the queue (generations seen before the last look) until `until`.
        case idle(queueSeen: UInt64, seen: UInt64, until: Millis)
        case stopped
    }

    /// Returns leased messages to the queue without counting the receive.
    private func release(_ receipts: [ReceiptHandle], queue: QueueRecord) async throws {
        guard !receipts.isEmpty else { return }
        try await queues.store.releaseMessages(DeleteMessagesParams(queueID: queue.id, receipts: receipts, now: registry.clock.now()))
        queues.signals.signal(queue.id)
    }

    /// The lease taken on messages: the queue's visibility timeout, as the user set it, while it covers the batching
    /// window and the function's timeout; otherwise it is extended to cover the whole run (window, a cold start's
    /// init, the function's timeout) + 30 s, so that the messages cannot be received again while the batch may run.
    static func leaseSeconds(queue: QueueRecord, settings: MappingSettings, timeoutSeconds: Int, initSeconds: Int) -> Int {
        let visibility = queue.attributes.visibilityTimeout
        let window = settings.maximumBatchingWindowSeconds
        guard window + timeoutSeconds > visibility else { return visibility }
        return min(43_200, window + initSeconds + timeoutSeconds + 30)
    }

    /// Messages no filter matched are deleted, as Lambda does.
    private func deleteFiltered(_ receipts: [ReceiptHandle], queue: QueueRecord) async throws {
        _ = try await queues.store.deleteMessages(DeleteMessagesParams(queueID: queue.id, receipts: receipts, now: registry.clock.now()))
        SpoolMetrics.mappingRecords(state.withLock { $0.mapping }, receipts.count, disposition: "filtered")
        if queue.isFIFO { queues.signals.signal(queue.id) }
        progress.batchSettled()
    }

    /// Runs one batch and settles it.
    func process(_ batch: Batch) async {
        defer {
            state.withLock { $0.active -= 1 }
            batchEnded.signal()
            progress.batchSettled()
        }
        let event = SQSEventRecord.event(batch.items.map(\.json))
        let request = InvocationRequest(requestID: UUID().uuidString.lowercased(), function: batch.definition,
                                        invokedFunctionARN: batch.mapping.functionARN(registry.identity), payload: ByteBuffer(data: event), origin: .sqs,
                                        batchSize: batch.items.count)
        if let oldest = batch.items.map(\.message.sentAt).min(), batch.items.allSatisfy({ $0.message.receiveCount <= 1 }) {
            SpoolMetrics.ingestToStart(batch.mapping.functionName, origin: .sqs, millis: registry.clock.now() - oldest)
        }
        let outcome: InvocationOutcome
        switch await runner.run(request, in: batch.slot) {
        case .finished(let finished):
            outcome = finished
        case .throttled:
            // The executor had no environment after all: the messages go back unreceived, and this batch's place
            // is held until a slot frees, so that the poller does not lease them again at once.
            await returnUnprocessed(batch)
            await runner.waitAfterThrottle(batch.definition, alongside: [(wakeups, wakeups.generation)])
            return
        case .cutOff:
            // Spool cut the batch off (a stop, a mapping stopped): not a failure; the messages are visible again at once.
            await returnUnprocessed(batch)
            return
        }
        let size = batch.items.count
        let receipts = batch.items.map(\.message.receipt)
        switch outcome.status {
        case .success:
            guard batch.mapping.settings.reportsBatchItemFailures else {
                SpoolMetrics.mappingBatch(batch.mapping, size: size, result: "success")
                await delete(receipts, queue: batch.queue)
                return
            }
            let identifiers = Set(batch.items.map(\.message.messageID))
            switch BatchResponse.parse(Data(buffer: outcome.payload), identifiers: identifiers) {
            case .succeeded:
                SpoolMetrics.mappingBatch(batch.mapping, size: size, result: "success")
                await delete(receipts, queue: batch.queue)
            case .partial(let failed):
                SpoolMetrics.mappingBatch(batch.mapping, size: size, result: "partial")
                SpoolMetrics.mappingRecords(batch.mapping, failed.count, disposition: "failed")
                await delete(batch.items.filter { !failed.contains($0.message.messageID) }.map(\.message.receipt), queue: batch.queue)
            case .failed(let reason):
                SpoolMetrics.mappingBatch(batch.mapping, size: size, result: "failed")
                SpoolMetrics.mappingRecords(batch.mapping, size, disposition: "failed")
                logger.warning("the batch response is malformed; the whole batch failed", metadata: ["reason": "\(reason)"])
            }
        default:
            // The messages stay leased and come back after the visibility timeout; the queue's redrive policy
            // counts the receive.
            SpoolMetrics.mappingBatch(batch.mapping, size: size, result: "failed")
            SpoolMetrics.mappingRecords(batch.mapping, size, disposition: "failed")
            logger.debug("batch failed", metadata: ["status": "\(outcome.status)", "records": "\(receipts.count)"])
        }
    }

    /// Gives a batch that did not run back to the queue: visible at once, its receive not counted.
    private func returnUnprocessed(_ batch: Batch) async {
        do {
            try await release(batch.items.map(\.message.receipt), queue: batch.queue)
        } catch {
            logger.error("cannot return a batch that did not run; it comes back when its lease ends", metadata: ["error": "\(error)"])
        }
    }

    private func delete(_ receipts: [ReceiptHandle], queue: QueueRecord) async {
        guard !receipts.isEmpty else { return }
        do {
            _ = try await queues.store.deleteMessages(DeleteMessagesParams(queueID: queue.id, receipts: receipts, now: registry.clock.now()))
            SpoolMetrics.mappingRecords(state.withLock { $0.mapping }, receipts.count, disposition: "processed")
            if queue.isFIFO { queues.signals.signal(queue.id) }
        } catch {
            logger.error("cannot delete a processed batch; it runs again when its lease ends", metadata: ["error": "\(error)"])
        }
    }
}
