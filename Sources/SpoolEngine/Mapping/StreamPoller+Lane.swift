import CoreMetrics
import Foundation
import Logging
import NIOCore
import NIOFoundationEssentialsCompat
import SpoolExecutor
import SpoolModel
import SpoolSignals
import SpoolStorage
import Synchronization

/// One lane of one shard: its checkpoint, its open tumbling window, its retry state.
struct StreamLane: Sendable {
    let stream: StreamInfo
    let shardIndex: Int
    let lane: Int
    let layout: Int
    var position: Int64
    let epoch: Int64
    var windowStart: Millis?
    var windowState: String?
    var retry = StreamRetryState()
    /// When the batching window of a batch still filling opened.
    var fillingSince: Millis?
    /// No attempt before this time (back-off after a failure).
    var notBefore: Millis = 0
    /// Whether the shard's parents (after a reshard) are done, so that its records may go: Lambda finishes a parent
    /// shard before it starts the children.
    var parentsDone: Bool

    init(poller: StreamPoller, stream: StreamInfo, checkpoint: StreamCheckpointRow, layout: Int) {
        self.stream = stream
        self.shardIndex = checkpoint.shardIndex
        self.lane = checkpoint.lane
        self.layout = layout
        self.position = checkpoint.position
        self.epoch = checkpoint.epoch
        self.windowStart = checkpoint.windowStart
        self.windowState = checkpoint.windowState
        self.retry = StreamRetryState(encoded: checkpoint.retryState)
        self.parentsDone = stream.shard(checkpoint.shardIndex)?.parents.isEmpty ?? true
    }

    var shardID: String { ShardMap.shardID(shardIndex) }
}

/// What a lane read: its records in order, and how far the scan got (records of other lanes or that no filter
/// matched, up to there, are done as soon as the lane's are).
struct LaneScan {
    var records: [StreamRecord]
    var scannedThrough: Int64
    /// The scan reached the end of the shard.
    var exhausted: Bool

    /// The checkpoint once the first `count` records are done.
    func end(after count: Int) -> Int64 {
        count >= records.count ? scannedThrough : records[count].position - 1
    }
}

extension StreamPoller {
    /// A tumbling window's state may reach 1 MB; a larger one ends the window early.
    static let maximumWindowStateBytes = 1_048_576
    /// How often a child shard's lane looks whether its parents are done.
    static let parentWaitMillis: Millis = 500

    /// Whether every lane of this mapping has passed every record of the lane's parent shards (or what is left of them
    /// has expired); the parents' lanes may run on other nodes, so their checkpoints are read from the store.
    func parentsFinished(_ lane: StreamLane) async throws -> Bool {
        guard let shard = lane.stream.shard(lane.shardIndex), !shard.parents.isEmpty else { return true }
        let rows = try await streams.store.checkpoints(mappingUUID: uuid).filter { $0.streamID == lane.stream.id }
        let cutoff = lane.stream.retentionCutoff(now: registry.clock.now())
        for parent in shard.parents.compactMap({ lane.stream.shard($0) }) {
            guard let end = parent.endPosition else { return false }
            for row in rows where row.shardIndex == parent.index && row.position < end {
                let left = try await streams.store.readRecords(ReadRecordsParams(
                    streamID: lane.stream.id, shardIndex: parent.index, afterPosition: row.position, limit: 1, maximumBytes: 1, notBefore: cutoff))
                if !left.isEmpty { return false }
            }
        }
        return true
    }

    func runLane(_ start: StreamLane) async {
        var lane = start
        while !isStopped && state.withLock({ $0.layout }) == lane.layout {
            do {
                try await step(&lane)
            } catch {
                problem("cannot read or settle a stream batch", ["error": "\(error)", "shard": "\(lane.shardID)"])
                await backOff()
            }
        }
    }

    /// One turn of a lane: read, then hand a batch to the function and settle it, or wait.
    private func step(_ lane: inout StreamLane) async throws {
        let streamSeen = streams.signals.generation(lane.stream.id)
        let seen = wakeups.generation
        let (mapping, patterns) = state.withLock { ($0.mapping, $0.patterns) }
        guard let settings = mapping.settings.stream else { return await backOff() }
        var now = registry.clock.now()
        if lane.notBefore > now {
            return await wait(on: nil, seen: seen, timeout: lane.notBefore - now)
        }
        if !lane.parentsDone {
            guard try await parentsFinished(lane) else { return await wait(on: nil, seen: seen, timeout: Self.parentWaitMillis) }
            lane.parentsDone = true
        }
        let want = lane.retry.nextBatchSize(batchSize: mapping.settings.batchSize)
        let scan = try await read(lane, want: want, factor: settings.parallelizationFactor, patterns: patterns)
        now = registry.clock.now()
        recordIteratorAge(scan.records.first.map { Double(max(0, now - $0.arrivalMillis)) / 1000 } ?? 0, shardIndex: lane.shardIndex, lane: lane.lane)

        // Records past the age limit are given up before the function sees them.
        let expired = settings.retryPolicy.expiredPrefix(arrivals: scan.records.map(\.arrivalMillis), now: now)
        if expired > 0 {
            let records = Array(scan.records.prefix(expired))
            try await discard(records, condition: .recordAgeExceeded, through: scan.end(after: expired), lane: &lane, mapping: mapping, settings: settings)
            return
        }

        let window = settings.tumblingWindowSeconds
        if window > 0, let start = lane.windowStart, (lane.windowState?.utf8.count ?? 0) > Self.maximumWindowStateBytes {
            // The state outgrew its limit: the window ends now, with a final invocation that says so.
            try await invoke([], scan: scan, lane: &lane, mapping: mapping, settings: settings,
                             window: KinesisEvent.Window(startMillis: start, endMillis: start + Millis(window) * 1_000, state: lane.windowState ?? "{}",
                                                         shardID: lane.shardID, isFinal: true, terminatedEarly: true))
            return
        }
        if scan.records.isEmpty {
            if scan.scannedThrough > lane.position {
                // Only other lanes' records, or records no filter matched: pass them.
                try await advance(&lane, to: scan.scannedThrough, window: .keep, result: nil)
                return
            }
            if window > 0, let start = lane.windowStart {
                let end = start + Millis(window) * 1_000
                if now >= end {
                    try await invoke([], scan: scan, lane: &lane, mapping: mapping, settings: settings,
                                     window: KinesisEvent.Window(startMillis: start, endMillis: end, state: lane.windowState ?? "{}",
                                                                 shardID: lane.shardID, isFinal: true))
                    return
                }
                return await wait(on: streams.signals.channel(lane.stream.id), sourceSeen: streamSeen, seen: seen, timeout: end - now)
            }
            return await wait(on: streams.signals.channel(lane.stream.id), sourceSeen: streamSeen, seen: seen, timeout: Self.idleWaitMillis)
        }

        // A batching window holds a batch that is not full open for more records.
        let batchingMillis = Millis(mapping.settings.maximumBatchingWindowSeconds) * 1_000
        if batchingMillis > 0 && scan.records.count < want && scan.exhausted {
            let since = lane.fillingSince ?? now
            lane.fillingSince = since
            if now < since + batchingMillis {
                return await wait(on: streams.signals.channel(lane.stream.id), sourceSeen: streamSeen, seen: seen, timeout: since + batchingMillis - now)
            }
        }
        lane.fillingSince = nil

        guard window > 0 else {
            try await invoke(Array(scan.records.prefix(want)), scan: scan, lane: &lane, mapping: mapping, settings: settings, window: nil)
            return
        }
        // Tumbling windows: a batch holds records of one window; the window's last invocation is marked final.
        let current = lane.windowStart ?? StreamCheckpoint.windowStart(scan.records[0].arrivalMillis, windowSeconds: window)
        let end = current + Millis(window) * 1_000
        let inWindow = scan.records.prefix { StreamCheckpoint.windowStart($0.arrivalMillis, windowSeconds: window) == current }
        let batch = Array(inWindow.prefix(want))
        let laterRecords = inWindow.count < scan.records.count
        let ended = now >= end || laterRecords
        // Final only when nothing more of the window can follow: a later record was read, or the shard was read to its end.
        let final = ended && batch.count == inWindow.count && (laterRecords || scan.exhausted)
        if !ended || batch.count > 0 || final {
            try await invoke(batch, scan: scan, lane: &lane, mapping: mapping, settings: settings,
                             window: KinesisEvent.Window(startMillis: current, endMillis: end, state: lane.windowState ?? "{}",
                                                         shardID: lane.shardID, isFinal: final))
        }
    }

    /// Reads the lane's next records: those of its partition keys that a filter matches (all when there are no
    /// filters), up to `want` and 6 MB of event.
    private func read(_ lane: StreamLane, want: Int, factor: Int, patterns: [FilterPattern]) async throws -> LaneScan {
        var scan = LaneScan(records: [], scannedThrough: lane.position, exhausted: false)
        var bytes = 0
        let cutoff = lane.stream.retentionCutoff(now: registry.clock.now())
        for _ in 0..<16 {
            let limit = min(10_000, factor == 1 && patterns.isEmpty ? want - scan.records.count : max(100, (want - scan.records.count) * factor))
            let chunk = try await streams.store.readRecords(ReadRecordsParams(
                streamID: lane.stream.id, shardIndex: lane.shardIndex, afterPosition: scan.scannedThrough, limit: limit,
                maximumBytes: MappingRules.maximumEventBytes, notBefore: cutoff))
            for record in chunk {
                if factor > 1 && StreamCheckpoint.lane(partitionKey: record.partitionKey, factor: factor) != lane.lane {
                    scan.scannedThrough = record.position
                    continue
                }
                if !patterns.isEmpty && !patterns.contains(where: { $0.matches(Self.filterValue(record, stream: lane.stream)) }) {
                    scan.scannedThrough = record.position
                    continue
                }
                // base64 grows data by a third; the rest of a record's JSON is about 500 bytes.
                let size = (record.data.count + 2) / 3 * 4 + record.partitionKey.utf8.count + 500
                if !scan.records.isEmpty && bytes + size > MappingRules.maximumEventBytes { return scan }
                bytes += size
                scan.records.append(record)
                scan.scannedThrough = record.position
                if scan.records.count == want { return scan }
            }
            if chunk.count < limit {
                scan.exhausted = true
                return scan
            }
        }
        return scan
    }

    /// A record as filters see it: its Kinesis metadata, with `data` parsed when it is a JSON object.
    static func filterValue(_ record: StreamRecord, stream: StreamInfo) -> [String: FilterValue] {
        var fields: [String: FilterValue] = [
            "partitionKey": .string(record.partitionKey),
            "sequenceNumber": .string(stream.sequenceNumber(record)),
            "kinesisSchemaVersion": .string("1.0"),
        ]
        if let text = String(data: record.data, encoding: .utf8), let value = FilterValue.parse(text), case .object = value {
            fields["data"] = value
        } else {
            fields["data"] = .string(record.data.base64EncodedString())
        }
        return fields
    }

    /// Hands a batch to the function and settles what came back.
    private func invoke(_ records: [StreamRecord], scan: LaneScan, lane: inout StreamLane, mapping: EventSourceMapping,
                        settings: StreamMappingSettings, window: KinesisEvent.Window?) async throws {
        let seen = wakeups.generation
        let definition: FunctionDefinition
        do {
            // A mapping on a version or an alias runs that version (through an alias, the one its weights pick per batch).
            definition = try await registry.invocationTarget(FunctionReference(name: mapping.functionName, qualifier: mapping.functionQualifier))
        } catch {
            problem("the mapping's function cannot be read", ["function": "\(mapping.functionName)", "error": "\(error)"])
            return await backOff()
        }
        // No slot: the lane waits for one of the function's to free (or for a stop or new settings), then reads again.
        let runner = registry.runner
        guard let slot = await runner.admit(definition, alongside: [(wakeups, seen)]) else { return }
        // A mapping through a consumer (enhanced fan-out) delivers the stream's ARN, as Lambda does.
        let arn = registry.identity.streamARN(lane.stream.name)
        let texts = records.map { record in
            KinesisEvent.record(record, sequenceNumber: lane.stream.sequenceNumber(record), streamARN: arn, roleARN: definition.role,
                                region: registry.identity.region(of: lane.stream.name))
        }
        let event = KinesisEvent.event(texts, window: window, streamARN: arn)
        let request = InvocationRequest(requestID: UUID().uuidString.lowercased(), function: definition,
                                        invokedFunctionARN: mapping.functionARN(registry.identity), payload: ByteBuffer(data: event), origin: .kinesis,
                                        batchSize: records.count)
        if let first = records.first, lane.retry.invokeCount == 0 {
            SpoolMetrics.ingestToStart(mapping.functionName, origin: .kinesis, millis: registry.clock.now() - first.arrivalMillis)
        }
        let outcome: InvocationOutcome
        switch await runner.run(request, in: slot) {
        case .finished(let finished):
            outcome = finished
        case .throttled:
            // No environment after all: nothing ran and no retry is used; read again once a slot frees.
            await runner.waitAfterThrottle(definition, alongside: [(wakeups, seen)])
            return
        case .cutOff:
            // Spool cut the batch off (a stop, the mapping stopped): no retry used, the checkpoint stays, the batch is
            // read again from it.
            return
        }
        lane.retry.invoked()
        rest.clearProblem()
        let count = records.count
        let end = scan.end(after: count)

        var failedFrom: Int?
        /// `Unhandled` when the function failed; `nil` when it answered (a partial or malformed `batchItemFailures`
        /// answer is not a function error: on AWS the on-failure record's `responseContext` then has no `functionError`).
        var functionError: String?
        var windowChange = SettleStreamBatchParams.WindowChange.keep
        /// On partial success the window stays open with the new state, even after a final invocation: its
        /// failed records come back in it.
        var partialWindowChange = SettleStreamBatchParams.WindowChange.keep
        switch outcome.status {
        case .success:
            let response = Data(buffer: outcome.payload)
            if let window {
                guard let state = Self.windowState(response) else {
                    logger.warning("a tumbling-window response has no state object; the batch failed")
                    failedFrom = 0
                    break
                }
                windowChange = window.isFinal ? .close : .open(start: window.startMillis, state: state)
                partialWindowChange = .open(start: window.startMillis, state: state)
            }
            if mapping.settings.reportsBatchItemFailures && count > 0 {
                let numbers = Dictionary(uniqueKeysWithValues: records.enumerated().map { (lane.stream.sequenceNumber($1), $0) })
                switch BatchResponse.parse(response, identifiers: Set(numbers.keys)) {
                case .succeeded: break
                case .partial(let failed): failedFrom = failed.compactMap { numbers[$0] }.min() ?? 0
                case .failed(let reason):
                    logger.warning("the batch response is malformed; the whole batch failed", metadata: ["reason": "\(reason)"])
                    failedFrom = 0
                }
            }
        case .functionError, .timedOut:
            failedFrom = 0
            functionError = "Unhandled"
        case .systemFailure:
            problem("the function could not be run", ["status": "\(outcome.status)"])
            lane.notBefore = registry.clock.now() + rest.nextBackoff()
            return
        }

        guard let failedFrom else {
            try await advance(&lane, to: end, window: windowChange, result: MappingResult.ok, retry: lane.retry.advancing(by: count))
            SpoolMetrics.mappingBatch(mapping, size: count, result: "success")
            SpoolMetrics.mappingRecords(mapping, count, disposition: "processed")
            return
        }
        SpoolMetrics.mappingBatch(mapping, size: count, result: failedFrom > 0 ? "partial" : "failed")
        if failedFrom > 0 {
            // Partial success: the checkpoint moves to just before the lowest failed record.
            try await advance(&lane, to: StreamCheckpoint.beforeFailure(lowestFailedPosition: records[failedFrom].position, current: lane.position),
                              window: partialWindowChange, result: MappingResult.functionFailed, retry: lane.retry.advancingPartially(by: failedFrom))
            SpoolMetrics.mappingRecords(mapping, failedFrom, disposition: "processed")
        }
        let failing = Array(records[failedFrom...])
        var failed = lane.retry
        switch failed.failed(count: failing.count, policy: settings.retryPolicy) {
        case .retry, .bisected:
            // Settled in place: the retry (or the split) is stored with the checkpoint, and survives a restart.
            try await advance(&lane, to: lane.position, window: .keep, result: MappingResult.functionFailed, retry: failed)
            lane.notBefore = registry.clock.now() + lane.retry.backoffMillis
        case .discard:
            if failing.isEmpty {
                // A final window invocation that kept failing: the window is closed without its state.
                try await advance(&lane, to: lane.position, window: .close, result: MappingResult.functionFailed, retry: failed.advancing(by: 1))
                return
            }
            lane.retry = failed
            try await discard(failing, condition: .retryAttemptsExhausted, through: scan.end(after: count), lane: &lane,
                              mapping: mapping, settings: settings, functionError: functionError)
        }
    }

    /// The `state` member of a tumbling-window response, as JSON; `nil` when it is missing.
    static func windowState(_ response: Data) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: response) as? [String: Any], let state = object["state"],
              !(state is NSNull), let data = try? JSONSerialization.data(withJSONObject: state, options: [.fragmentsAllowed, .sortedKeys])
        else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    /// Gives records up: the on-failure record goes to the destination and the checkpoint passes them, together.
    private func discard(_ records: [StreamRecord], condition: StreamFailureRecord.Condition, through end: Int64, lane: inout StreamLane,
                         mapping: EventSourceMapping, settings: StreamMappingSettings, functionError: String? = nil) async throws {
        guard let first = records.first, let last = records.last else { return }
        let record = StreamFailureRecord(
            requestID: UUID().uuidString.lowercased(), functionARN: mapping.functionARN(registry.identity), condition: condition,
            approximateInvokeCount: lane.retry.invokeCount, functionError: functionError, timestamp: registry.clock.now(),
            shardID: lane.shardID, startSequenceNumber: lane.stream.sequenceNumber(first), endSequenceNumber: lane.stream.sequenceNumber(last),
            firstArrival: first.arrivalMillis, lastArrival: last.arrivalMillis, batchSize: records.count, streamARN: registry.identity.streamARN(lane.stream.name))
        var effects: [InvocationEffect] = []
        if let destination = settings.onFailureDestination {
            let body = record.json()
            if let queue = registry.identity.queueName(fromARN: destination) {
                effects.append(.sendMessage(queueName: queue, message: OutgoingMessage(body: body)))
            } else if let stream = registry.identity.streamName(fromARN: destination) {
                effects.append(.putRecord(streamName: stream, partitionKey: record.requestID, data: Data(body.utf8)))
            }
        }
        logger.warning("stream records given up", metadata: [
            "condition": "\(condition.rawValue)", "shard": "\(lane.shardID)", "records": "\(records.count)",
            "first": "\(record.startSequenceNumber)", "destination": "\(settings.onFailureDestination ?? "none")",
        ])
        // An on-failure destination that is gone keeps the record as a dead letter of the mapping's function.
        let origin = EffectOrigin(requestID: record.requestID, functionName: mapping.functionName, qualifier: mapping.functionQualifier,
                                  attempts: lane.retry.invokeCount, enqueuedAt: first.arrivalMillis)
        let outcome = try await settle(&lane, to: end, window: .keep, result: MappingResult.functionFailed, effects: effects, origin: origin,
                                       retry: lane.retry.advancing(by: max(1, records.count)))
        if !outcome.undelivered.isEmpty {
            SpoolMetrics.destinationDelivery(mapping.functionName, failed: true)
            logger.error("the on-failure record could not be delivered; it is kept as a dead letter (DestinationUnreachable)",
                         metadata: ["problems": "\(outcome.undelivered)"])
        }
        SpoolMetrics.mappingRecords(mapping, records.count, disposition: "discarded")
    }

    private func advance(_ lane: inout StreamLane, to position: Int64, window: SettleStreamBatchParams.WindowChange, result: String?,
                         retry: StreamRetryState? = nil) async throws {
        _ = try await settle(&lane, to: position, window: window, result: result, effects: [], retry: retry)
    }

    /// Writes the lane's new checkpoint (and window, result, effects) in one transaction. When the stored
    /// checkpoint is not where the lane thought (the mapping was deleted or regrouped), the lane stops.
    @discardableResult
    private func settle(_ lane: inout StreamLane, to position: Int64, window: SettleStreamBatchParams.WindowChange, result: String?,
                        effects: [InvocationEffect], origin: EffectOrigin? = nil, retry: StreamRetryState? = nil) async throws -> SettleOutcome {
        let retry = retry ?? lane.retry
        let outcome = try await streams.store.settleStreamBatch(SettleStreamBatchParams(
            mappingUUID: uuid, shardIndex: lane.shardIndex, lane: lane.lane, expectedPosition: lane.position, expectedEpoch: lane.epoch, newPosition: position,
            window: window, retryState: retry.encoded, result: result, effects: effects, origin: origin, now: registry.clock.now()))
        guard outcome.settled else {
            state.withLock { $0.layout += 1 }
            return outcome
        }
        lane.position = position
        lane.retry = retry
        switch window {
        case .keep: break
        case .open(let start, let text):
            lane.windowStart = start
            lane.windowState = text
        case .close:
            lane.windowStart = nil
            lane.windowState = nil
        }
        for queue in outcome.queuesSent { queues.signals.signal(queue) }
        for stream in outcome.streamsPut { streams.signals.signal(stream) }
        progress.batchSettled()
        return outcome
    }
}
