import Foundation
import Logging
import SpoolModel
import SpoolStorage

/// The event source mapping API: validates requests as Lambda does, stores the mapping in its transitional
/// state, and hands the change to the `MappingSupervisor`, which applies it to the poller and settles it.
package final class EventSourceMappings: Sendable {
    let store: any MappingStore
    let registry: FunctionRegistry
    let queues: QueueService
    let streams: StreamService
    let supervisor: MappingSupervisor
    let logger = Logger(label: "spool.mappings")

    package init(store: any MappingStore, registry: FunctionRegistry, queues: QueueService, streams: StreamService, supervisor: MappingSupervisor) {
        self.store = store
        self.registry = registry
        self.queues = queues
        self.streams = streams
        self.supervisor = supervisor
    }

    var identity: AWSIdentity { registry.identity }

    /// The most mappings one List page returns, whatever `MaxItems` asks for.
    package static let pageLimit = 100

    /// CreateEventSourceMapping: `Creating` (or `Disabled` when `Enabled` is false) until the supervisor starts the poller.
    /// `identity`: the account acting in the region the request was signed for, whose function a bare name means.
    package func create(sourceARN: String?, functionName: String?, request: MappingRequest, in identity: AWSIdentity? = nil) async throws -> EventSourceMapping {
        guard let functionName else {
            throw SpoolError.validation(field: "functionName", value: "null", constraint: "Member must not be null")
        }
        let function = try await resolveFunction(functionName, identity ?? self.identity)
        guard let sourceARN, !sourceARN.isEmpty else { throw SpoolError(.invalidParameterValue, "Unrecognized event source.") }
        try checkSameRegion(sourceARN, function: function)
        let source: MappingSource
        if sourceARN.hasPrefix("arn:aws:kinesis:") {
            try await resolveStream(sourceARN)
            guard request.startingPosition != nil else {
                throw SpoolError(.invalidParameterValue, "StartingPosition is required for Kinesis event sources.")
            }
            if let timestamp = request.startingPositionTimestamp, Millis(timestamp * 1_000) > registry.clock.now() {
                throw SpoolError(.invalidParameterValue, "StartingPositionTimestamp cannot be in the future.")
            }
            source = .stream
        } else {
            let queue = try await resolveQueue(sourceARN)
            try await checkVisibility(queue, function: function)
            source = .queue(fifo: queue.isFIFO)
        }
        let settings = try MappingRules.apply(request, to: MappingSettings.defaults(for: source), source: source)
        try checkDestination(settings)
        let enabled = request.enabled ?? true
        let mapping = EventSourceMapping(
            uuid: UUID().uuidString.lowercased(), functionName: function.name, functionQualifier: function.qualifier,
            sourceARN: sourceARN, state: enabled ? .creating : .disabled, stateTransitionReason: source == .stream ? "User action" : "USER_INITIATED",
            settings: settings, enabled: enabled, lastModified: registry.clock.now()
        )
        let created = try await store.createMapping(mapping)
        supervisor.changed(created.uuid)
        return created
    }

    /// GetEventSourceMapping; with `identity`, only a mapping of a function of the region it acts in.
    package func get(_ uuid: String, in identity: AWSIdentity? = nil) async throws -> EventSourceMapping {
        guard let mapping = try await store.mapping(uuid: uuid), identity?.isInRegion(mapping.functionName) ?? true else { throw Self.notFound }
        return mapping
    }

    /// UpdateEventSourceMapping: `Enabling`, `Disabling` or `Updating` until the poller runs with the change.
    package func update(_ uuid: String, functionName: String?, request: MappingRequest, in identity: AWSIdentity? = nil) async throws -> EventSourceMapping {
        let current = try await get(uuid, in: identity)
        let function = try await functionName.asyncMap { try await self.resolveFunction($0, identity ?? self.identity) }
        if let function { try checkSameRegion(current.sourceARN, function: function) }
        // A mapping whose queue or function is gone can still be changed (disabled, above all); the visibility
        // rule applies while both exist. FIFO queue names end in `.fifo`.
        let source: MappingSource = current.isStream ? .stream : .queue(fifo: current.sourceARN.hasSuffix(".fifo"))
        if !current.isStream, let queue = try? await resolveQueue(current.sourceARN) {
            try await checkVisibility(queue, function: function ?? FunctionReference(name: current.functionName))
        }
        let settings = try MappingRules.apply(request, to: current.settings, source: source)
        try checkDestination(settings)
        if let factor = settings.stream?.parallelizationFactor, factor != current.settings.stream?.parallelizationFactor {
            // Window state and retries belong to the keys of a lane: a regrouping starts the new lanes without them.
            let open = try await streams.store.checkpoints(mappingUUID: uuid).filter { $0.windowStart != nil }
            if !open.isEmpty {
                logger.warning("a new ParallelizationFactor ends the open tumbling windows of the mapping; the new lanes start new windows", metadata: [
                    "mapping": "\(uuid)", "windows": "\(open.map { "\(ShardMap.shardID($0.shardIndex))/\($0.lane)" })",
                ])
            }
        }
        let updated = try await store.updateMapping(UpdateMappingParams(uuid: uuid, now: registry.clock.now()) { mapping in
            guard mapping.state != .deleting else {
                throw SpoolError(.resourceInUse, "Cannot update the event source mapping because it is being deleted.")
            }
            if let function {
                mapping.functionName = function.name
                mapping.functionQualifier = function.qualifier
            }
            mapping.settings = settings
            let enabled = request.enabled ?? mapping.enabled
            if enabled != mapping.enabled {
                mapping.state = enabled ? .enabling : .disabling
            } else {
                mapping.state = .updating
            }
            mapping.enabled = enabled
            mapping.stateTransitionReason = mapping.isStream ? "User action" : "USER_INITIATED"
        })
        guard let updated else { throw Self.notFound }
        supervisor.changed(uuid)
        return updated
    }

    /// DeleteEventSourceMapping: `Deleting` until the poller stopped and the mapping is gone.
    package func delete(_ uuid: String, in identity: AWSIdentity? = nil) async throws -> EventSourceMapping {
        if let identity { _ = try await get(uuid, in: identity) }
        let deleted = try await store.updateMapping(UpdateMappingParams(uuid: uuid, now: registry.clock.now()) { mapping in
            mapping.state = .deleting
            mapping.stateTransitionReason = mapping.isStream ? "User action" : "USER_INITIATED"
        })
        guard let deleted else { throw Self.notFound }
        supervisor.changed(uuid)
        return deleted
    }

    /// ListEventSourceMappings: one page (at most 100) of the mappings of the functions of the region `identity` acts
    /// in, and the marker of the next. Without `identity`, the operator's view: every region's, a function named as
    /// the operator's tools name it (`FunctionReference.parse(operatorName:)`).
    package func list(sourceARN: String?, functionName: String?, marker: String?, maxItems: Int, in identity: AWSIdentity? = nil) async throws
        -> (mappings: [EventSourceMapping], nextMarker: String?)
    {
        let function = try functionName.map { name in
            try identity.map { try FunctionReference.parse(name, identity: $0) } ?? FunctionReference.parse(operatorName: name, identity: self.identity)
        }?.name
        let limit = min(maxItems, Self.pageLimit)
        let page = try await RegionPage.read(limit: limit, after: marker, identity: identity, fetch: { after, count in
            try await store.listMappings(ListMappingsParams(functionName: function, sourceARN: sourceARN, afterUUID: after, limit: count))
        }, name: \.functionName, key: \.uuid)
        return (page.items, page.hasMore ? page.items.last?.uuid : nil)
    }

    static let notFound = SpoolError(.resourceNotFound, "The resource you requested does not exist.")

    /// Where a stream mapping stands in one shard lane.
    package struct ShardProgress: Sendable {
        package var shardID: String
        package var lane: Int
        /// The sequence number of the last record done, `nil` before the first.
        package var checkpoint: String?
        /// How old the next record to process is (0 when the lane is caught up): Lambda's `IteratorAge`.
        package var iteratorAgeMillis: Millis
        /// Records of the shard after the checkpoint (all lanes').
        package var recordsBehind: Int64
    }

    /// A stream mapping's checkpoints and iterator age per shard lane (the admin API's view).
    package func shardProgress(_ uuid: String) async throws -> (mapping: EventSourceMapping, shards: [ShardProgress]) {
        let mapping = try await get(uuid)
        guard mapping.isStream, let name = identity.streamName(fromSourceARN: mapping.sourceARN),
              let stream = try await streams.store.stream(named: name) else { return (mapping, []) }
        let now = registry.clock.now()
        let cutoff = stream.retentionCutoff(now: now)
        let extents = try await streams.store.shardExtents(streamID: stream.id, notBefore: cutoff)
        var shards: [ShardProgress] = []
        for row in try await streams.store.checkpoints(mappingUUID: uuid) where row.streamID == stream.id {
            let next = try await streams.store.readRecords(ReadRecordsParams(
                streamID: stream.id, shardIndex: row.shardIndex, afterPosition: row.position, limit: 1, maximumBytes: 1, notBefore: cutoff)).first
            // The checkpoint as the sequence number of its record (while that record is kept).
            let last = row.position < 0 ? nil : try await streams.store.readRecords(ReadRecordsParams(
                streamID: stream.id, shardIndex: row.shardIndex, afterPosition: row.position - 1, limit: 1, maximumBytes: 1, notBefore: 0)).first
            let done = last.flatMap { $0.position == row.position ? stream.sequenceNumber($0) : nil }
                ?? (row.position < 0 ? nil : stream.sequenceNumber(shardIndex: row.shardIndex, position: row.position, arrivalMillis: 0))
            let nextPosition = extents.first { $0.shardIndex == row.shardIndex }?.nextPosition ?? 0
            shards.append(ShardProgress(
                shardID: ShardMap.shardID(row.shardIndex), lane: row.lane, checkpoint: done,
                iteratorAgeMillis: next.map { max(0, now - $0.arrivalMillis) } ?? 0, recordsBehind: max(0, nextPosition - 1 - row.position)))
        }
        return (mapping, shards)
    }

    /// The function a mapping names; Lambda answers 400 `Function does not exist` rather than 404 here.
    func resolveFunction(_ name: String, _ identity: AWSIdentity) async throws -> FunctionReference {
        let reference = try FunctionReference.parse(name, identity: identity)
        do {
            _ = try await registry.function(reference)
        } catch let error as SpoolError where error.code == .resourceNotFound {
            throw SpoolError(.invalidParameterValue, "Function does not exist")
        }
        return reference
    }

    /// A mapping reads a queue or stream of its function's own region, as on Lambda.
    func checkSameRegion(_ sourceARN: String, function: FunctionReference) throws {
        let parts = sourceARN.split(separator: ":", omittingEmptySubsequences: false)
        let functionRegion = identity.region(of: function.name)
        guard parts.count >= 6, parts[0] == "arn", AWSIdentity.isRegionName(parts[3]), parts[3] != functionRegion else { return }
        throw SpoolError(.invalidParameterValue, "The event source \(sourceARN) is in \(parts[3]) and the function in \(functionRegion): an event source mapping's source must be in its function's region.")
    }

    /// Lambda refuses a queue whose visibility timeout is shorter than the function's timeout: a batch could
    /// come back while the function still works on it.
    func checkVisibility(_ queue: QueueRecord, function: FunctionReference) async throws {
        guard let timeout = try? await registry.function(FunctionReference(name: function.name)).timeoutSeconds else { return }
        let visibility = queue.attributes.visibilityTimeout
        guard visibility >= timeout else {
            throw SpoolError(.invalidParameterValue, "Queue visibility timeout: \(visibility) seconds is less than Function timeout: \(timeout) seconds")
        }
    }

    /// Checks that the Spool stream a Kinesis ARN names exists, and the consumer when it is a consumer's ARN.
    func resolveStream(_ arn: String) async throws {
        if identity.consumer(fromARN: arn) != nil {
            do {
                _ = try await streams.consumer(arn: arn, streamARN: nil, name: nil)
                return
            } catch let error as SpoolError where error.code == .resourceNotFound {
                throw SpoolError(.invalidParameterValue, "Stream consumer not found: \(arn)")
            }
        }
        guard let name = identity.streamName(fromARN: arn), try await streams.store.stream(named: name) != nil else {
            throw SpoolError(.invalidParameterValue, "Stream not found: \(arn)")
        }
    }

    /// A stream mapping's on-failure destination must be a Spool queue or stream of this account and region.
    func checkDestination(_ settings: MappingSettings) throws {
        guard let destination = settings.stream?.onFailureDestination else { return }
        if identity.queueName(fromARN: destination) != nil || identity.streamName(fromARN: destination) != nil { return }
        let parts = destination.split(separator: ":", omittingEmptySubsequences: false)
        if parts.count >= 6, parts[0] == "arn", ["sns", "s3", "kafka"].contains(parts[2]) {
            throw SpoolError.notSupportedYet("On-failure destinations of type \(parts[2])")
        }
        throw SpoolError(.invalidParameterValue, "The destination ARN \(destination) is invalid: Spool delivers to queues and streams of account \(identity.accountID).")
    }

    /// The Spool queue an SQS ARN names, with Lambda's errors for other sources.
    func resolveQueue(_ arn: String) async throws -> QueueRecord {
        let parts = arn.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count >= 6, parts[0] == "arn" else { throw SpoolError(.invalidParameterValue, "Unrecognized event source.") }
        switch parts[2] {
        case "sqs":
            guard let name = identity.queueName(fromARN: arn), let queue = try await queues.store.queue(named: name) else {
                throw SpoolError(.invalidParameterValue, """
                    Error occurred while ReceiveMessage. SQS Error Code: AWS.SimpleQueueService.NonExistentQueue. \
                    SQS Error Message: The specified queue does not exist.
                    """)
            }
            return queue
        case "dynamodb", "kafka", "mq", "rds":
            throw SpoolError.notSupportedYet("Event sources of type \(parts[2])")
        default:
            throw SpoolError(.invalidParameterValue, "Unrecognized event source.")
        }
    }
}

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let self else { return nil }
        return try await transform(self)
    }
}
