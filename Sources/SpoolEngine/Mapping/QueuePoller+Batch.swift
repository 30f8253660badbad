import Foundation
import NIOCore
import SpoolExecutor
import SpoolModel
import SpoolStorage

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
        var permit: ConcurrencyLimiter.Permit
    }

    /// Leases the next batch, or waits (for messages, a free slot, the end of a pause) and returns `nil`.
    /// A gatherer other than the primary one does not wait for messages: it goes back to waiting for a backlog.
    func nextBatch(primary: Bool = true) async -> Batch? {
        let seen = wakeups.generation(0)
        let (mapping, patterns, limit, pausedUntil) = state.withLock { state in
            (state.mapping, state.patterns, state.scaling.limit(maximumConcurrency: state.mapping.settings.maximumConcurrency), state.pausedUntil)
        }
        let now = registry.clock.now()
        if pausedUntil > now {
            await wait(on: nil, seen: seen, timeout: pausedUntil - now)
            return nil
        }
        guard let queue = await currentQueue(mapping) else {
            problem("the mapping's queue does not exist", ["source": "\(mapping.sourceARN)"])
            await pause(5_000)
            return nil
        }
        // The slot is taken before leasing, so that gatherers side by side never run more batches than allowed.
        let reserved = state.withLock { state in
            guard state.active < limit else { return false }
            state.active += 1
            return true
        }
        guard reserved else {
            await wait(on: nil, seen: seen, timeout: Self.idleWaitMillis)
            return nil
        }
        var held = true
        /// Gives the slot back when no batch came of it; before waiting, so that a wait holds no slot.
        func unreserve() {
            guard held else { return }
            held = false
            state.withLock { $0.active -= 1 }
            wakeups.signal(0)
        }
        defer { unreserve() }
        let definition: FunctionDefinition
        do {
            definition = try await registry.function(FunctionReference(name: mapping.functionName))
        } catch {
            problem("the mapping's function cannot be read", ["function": "\(mapping.functionName)", "error": "\(error)"])
            unreserve()
            await pause(1_000)
            return nil
        }
        guard let permit = try? registry.limiter.acquire(definition.name) else {
            // The function's reserved concurrency (or the account's) is in use: the messages wait in the queue.
            unreserve()
            await pause(definition.reservedConcurrency == 0 ? 1_000 : 50)
            return nil
        }
        do {
            let gathered = try await gather(queue: queue, mapping: mapping, patterns: patterns, definition: definition)
            guard case .batch(let items, let backlogged) = gathered else {
                noteBacklog(false)
                registry.limiter.release(permit)
                unreserve()
                if primary, case .idle(let queueSeen, let seen, let until) = gathered {
                    // Idle pollers hold no concurrency slot: synchronous invocations may use it meanwhile.
                    await wait(on: queues.signals, channel: queue.id, sourceSeen: queueSeen, seen: seen, timeout: max(1, until - registry.clock.now()))
                }
                return nil
            }
            rest.clearProblem()
            noteBacklog(backlogged)
            state.withLock { state in
                state.scaling.observe(backlogged: backlogged && state.active >= limit, now: registry.clock.now())
            }
            held = false
            return Batch(items: items, queue: queue, mapping: mapping, definition: definition, permit: permit)
        } catch {
            registry.limiter.release(permit)
            problem("cannot lease messages", ["error": "\(error)"])
            unreserve()
            await pause(1_000)
            return nil
        }
    }

    /// Leases messages until the batch is full, the payload limit is reached or the batching window closes;
    /// with no window, hands over what the queue has at once.
    private func gather(queue: QueueRecord, mapping: EventSourceMapping, patterns: [FilterPattern],
                        definition: FunctionDefinition) async throws -> Gathered {
        let settings = mapping.settings
        var assembly = BatchAssembly<Item>(batchSize: settings.batchSize, maximumBytes: MappingRules.maximumEventBytes,
                                           windowMillis: Millis(settings.maximumBatchingWindowSeconds) * 1_000)
        let lease = Self.leaseSeconds(queue: queue, settings: settings, timeoutSeconds: definition.timeoutSeconds)
        var overflow: [ReceiptHandle] = []
        var backlogged = false
        while true {
            let queueSeen = queues.signals.generation(queue.id)
            let seen = wakeups.generation(0)
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
            await wait(on: queues.signals, channel: queue.id, sourceSeen: queueSeen, seen: seen, timeout: max(1, min(until, deadline) - now))
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

    /// The lease taken on messages: the queue's visibility timeout, or — when the batching window and the
    /// function's timeout outlast it — window + timeout + 30 s, as Lambda extends it.
    static func leaseSeconds(queue: QueueRecord, settings: MappingSettings, timeoutSeconds: Int) -> Int {
        let visibility = queue.attributes.visibilityTimeout
        let needed = settings.maximumBatchingWindowSeconds + timeoutSeconds
        return min(43_200, needed > visibility ? needed + 30 : visibility)
    }

    /// Messages no filter matched are deleted, as Lambda does.
    private func deleteFiltered(_ receipts: [ReceiptHandle], queue: QueueRecord) async throws {
        _ = try await queues.store.deleteMessages(DeleteMessagesParams(queueID: queue.id, receipts: receipts, now: registry.clock.now()))
        SpoolMetrics.mappingRecords(state.withLock { $0.mapping }, receipts.count, disposition: "filtered")
        if queue.isFIFO { queues.signals.signal(queue.id) }
    }

    /// Runs one batch and settles it.
    func process(_ batch: Batch) async {
        defer {
            registry.limiter.release(batch.permit)
            state.withLock { $0.active -= 1 }
            wakeups.signal(0)
        }
        let event = SQSEventRecord.event(batch.items.map(\.json))
        let request = InvocationRequest(requestID: UUID().uuidString.lowercased(), function: batch.definition,
                                        invokedFunctionARN: batch.mapping.functionARN(registry.identity), payload: ByteBuffer(data: event), origin: .sqs,
                                        batchSize: batch.items.count)
        if let oldest = batch.items.map(\.message.sentAt).min(), batch.items.allSatisfy({ $0.message.receiveCount <= 1 }) {
            SpoolMetrics.ingestToStart(batch.mapping.functionName, origin: .sqs, millis: registry.clock.now() - oldest)
        }
        let outcome = await executor.invoke(request)
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
        case .systemFailure(.atCapacity), .systemFailure(.shuttingDown):
            // The function never ran: the messages go back at once and the receive does not count.
            do {
                try await queues.store.releaseMessages(DeleteMessagesParams(queueID: batch.queue.id, receipts: receipts, now: registry.clock.now()))
                queues.signals.signal(batch.queue.id)
            } catch {
                logger.error("cannot return a throttled batch; it comes back when its lease ends", metadata: ["error": "\(error)"])
            }
            state.withLock { $0.pausedUntil = registry.clock.now() + 200 }
        default:
            // The messages stay leased and come back after the visibility timeout; the queue's redrive policy
            // counts the receive.
            SpoolMetrics.mappingBatch(batch.mapping, size: size, result: "failed")
            SpoolMetrics.mappingRecords(batch.mapping, size, disposition: "failed")
            logger.debug("batch failed", metadata: ["status": "\(outcome.status)", "records": "\(receipts.count)"])
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
