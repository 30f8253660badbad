import SpoolExecutor
import SpoolModel
import SpoolStorage

/// The operator's views across every resource, for the admin API (and through it the CLI and the
/// dashboard): one overview, and a page per function, queue, stream and mapping.
package struct Operations: Sendable {
    /// Live environments of one function.
    package struct Environments: Sendable {
        package var idle: Int
        package var busy: Int

        package init(idle: Int, busy: Int) {
            self.idle = idle
            self.busy = busy
        }
    }

    let store: any OverviewStore & InvocationJournalStore
    let registry: FunctionRegistry
    let queues: QueueService
    let streams: StreamService
    let mappings: EventSourceMappings
    let environments: @Sendable () async -> [String: Environments]
    /// The last hour's invocations per function and minute.
    package let activity: ActivityTracker
    let startedAt: Millis
    /// This node's part in a cluster; `nil` alone on SQLite.
    let cluster: ClusterCoordinator?
    /// How this node's environments are isolated.
    let isolation: Isolation?
    /// Memory tuning (`spool tune`), and the last result per function.
    package let tuner: PowerTuner?

    package init(store: any OverviewStore & InvocationJournalStore, registry: FunctionRegistry, queues: QueueService, streams: StreamService,
                mappings: EventSourceMappings, activity: ActivityTracker, cluster: ClusterCoordinator? = nil, isolation: Isolation? = nil,
                tuner: PowerTuner? = nil, environments: @escaping @Sendable () async -> [String: Environments]) {
        self.activity = activity
        self.tuner = tuner
        self.isolation = isolation
        self.cluster = cluster
        self.store = store
        self.registry = registry
        self.queues = queues
        self.streams = streams
        self.mappings = mappings
        self.environments = environments
        self.startedAt = registry.clock.now()
    }

    /// The most functions, mappings or journal records one view reads.
    static let pageLimit = 10_000

    // MARK: Tuning

    /// `spool tune`: tunes the function's memory (see `PowerTuner`).
    package func tune(_ name: String, _ request: PowerTuner.Request) async throws -> PowerTuning {
        guard let tuner else { throw SpoolError.notSupportedYet("Memory tuning on this server") }
        return try await tuner.tune(FunctionReference.parse(operatorName: name, identity: registry.identity), request)
    }

    /// The last tuning of a function this node ran.
    package func lastTuning(_ name: String) async throws -> PowerTuning {
        let definition = try await registry.function(FunctionReference.parse(operatorName: name, identity: registry.identity))
        guard let result = tuner?.last(definition.name) else {
            throw SpoolError(.resourceNotFound, "Function \(AWSIdentity.plainName(definition.name)) has not been tuned since this node started.")
        }
        return result
    }

    // MARK: Overview

    package func status() async throws -> OperationsReport.Status {
        let now = registry.clock.now()
        let activity = activity.activity(since: now - ActivityTracker.windowMs)
        let deadLetters = try await store.deadLetterCounts()
        let functions = try await summaries(of: try await allFunctions(), now: now, activity: activity, deadLetters: deadLetters)
        let perMinute = Self.points(activity, from: now - ActivityTracker.windowMs, to: now)
        return OperationsReport.Status(
            now: now, startedAt: startedAt, functions: functions, queues: try await queueDepths(),
            streams: try await streamDepths(), mappings: try await allMappings().map(Self.summary),
            deadLetters: .init(total: deadLetters.reduce(0) { $0 + $1.total }, notReplayed: deadLetters.reduce(0) { $0 + $1.notReplayed }),
            throughput: .init(lastMinute: activity.filter { $0.start >= now - 60_000 }.reduce(0) { $0 + $1.invocations },
                              lastHour: activity.reduce(0) { $0 + $1.invocations }, errorsLastHour: activity.reduce(0) { $0 + $1.errors },
                              throttlesLastHour: activity.reduce(0) { $0 + $1.throttles }, perMinute: perMinute),
            isolation: isolation)
    }

    /// The nodes view: every node sharing the store (id, address, version, last heartbeat, the mappings it runs). Alone
    /// on SQLite, the one node, which runs every enabled mapping.
    package func nodes(version: String, address: String) async throws -> OperationsReport.Nodes {
        guard let cluster else {
            let now = registry.clock.now()
            let running = try await allMappings().filter { $0.enabled && $0.state != .deleting }.map(\.uuid).sorted()
            return OperationsReport.Nodes(backend: "sqlite", node: "local", leaseTimeMs: nil, nodes: [
                ClusterNode(id: "local", address: address, version: version, startedAt: startedAt, heartbeatAt: now, live: true, owns: running),
            ])
        }
        return OperationsReport.Nodes(backend: "postgres", node: cluster.nodeID, leaseTimeMs: cluster.leaseTime, nodes: try await cluster.nodes())
    }

    /// Minute points from `from` to `to`, zero where nothing ran, all functions together.
    package static func points(_ buckets: [ActivityBucket], from: Millis, to: Millis, bucketMs: Millis = 60_000) -> [OperationsReport.ActivityPoint] {
        var byStart: [Millis: OperationsReport.ActivityPoint] = [:]
        for bucket in buckets {
            var point = byStart[bucket.start] ?? .init(start: bucket.start, invocations: 0, errors: 0, throttles: 0, averageDurationMs: 0)
            let total = point.averageDurationMs * Double(point.invocations) + bucket.totalDurationMs
            point.invocations += bucket.invocations
            point.errors += bucket.errors
            point.throttles += bucket.throttles
            point.averageDurationMs = point.invocations == 0 ? 0 : total / Double(point.invocations)
            byStart[bucket.start] = point
        }
        var points: [OperationsReport.ActivityPoint] = []
        var start = (from / bucketMs + 1) * bucketMs
        while start <= to {
            points.append(byStart[start] ?? .init(start: start, invocations: 0, errors: 0, throttles: 0, averageDurationMs: 0))
            start += bucketMs
        }
        return points
    }

    // MARK: Functions

    package func functionSummaries() async throws -> [OperationsReport.FunctionSummary] {
        let now = registry.clock.now()
        return try await summaries(of: try await allFunctions(), now: now, activity: activity.activity(since: now - ActivityTracker.windowMs),
                                   deadLetters: try await store.deadLetterCounts())
    }

    func allFunctions() async throws -> [FunctionDefinition] {
        try await registry.list(in: nil, marker: nil, maxItems: Self.pageLimit).functions
    }

    /// Backlog, dead letters, environments and the last hour of each of `definitions`.
    func summaries(of definitions: [FunctionDefinition], now: Millis, activity: [ActivityBucket],
                   deadLetters counts: [DeadLetterCount]) async throws -> [OperationsReport.FunctionSummary] {
        let backlogs = Dictionary(try await store.asyncBacklogs(now: now).map { ($0.functionName, $0) }) { first, _ in first }
        let deadLetters = Dictionary(counts.map { ($0.functionName, $0) }) { first, _ in first }
        let environments = await environments()
        var invocations: [String: (Int, Int)] = [:]
        for bucket in activity {
            invocations[bucket.functionName, default: (0, 0)].0 += bucket.invocations
            invocations[bucket.functionName, default: (0, 0)].1 += bucket.errors
        }
        return definitions.map { definition in
            let backlog = backlogs[definition.name]
            let dead = deadLetters[definition.name]
            let live = environments[definition.name]
            return OperationsReport.FunctionSummary(
                name: definition.name, executor: definition.executor.rawValue, runtime: definition.runtime, handler: definition.handler,
                timeoutSeconds: definition.timeoutSeconds, memorySizeMB: definition.memorySizeMB, reservedConcurrency: definition.reservedConcurrency,
                asyncQueued: backlog?.queued ?? 0, asyncRunning: backlog?.running ?? 0,
                oldestEventAgeSeconds: backlog?.oldestEnqueuedAt.map { Double(max(0, now - $0)) / 1000 },
                deadLetters: dead?.total ?? 0, deadLettersNotReplayed: dead?.notReplayed ?? 0,
                idleEnvironments: live?.idle ?? 0, busyEnvironments: live?.busy ?? 0,
                invocationsLastHour: invocations[definition.name]?.0 ?? 0, errorsLastHour: invocations[definition.name]?.1 ?? 0)
        }
    }

    package func function(_ name: String, recent: Int = 50) async throws -> OperationsReport.FunctionDetail {
        let definition = try await registry.function(FunctionReference.parse(operatorName: name, identity: registry.identity))
        let now = registry.clock.now()
        let activity = activity.activity(since: now - ActivityTracker.windowMs).filter { $0.functionName == definition.name }
        let summary = try await summaries(of: [definition], now: now, activity: activity, deadLetters: try await store.deadLetterCounts())[0]
        let mappings = try await mappings.list(sourceARN: nil, functionName: definition.name, marker: nil, maxItems: Self.pageLimit).mappings
        return OperationsReport.FunctionDetail(
            function: summary, description: definition.description, role: definition.role, source: definition.source.rawValue,
            webhookURL: definition.webhookURL, codeSHA256: definition.codeSHA256, codeSize: definition.codeSize,
            lastModified: definition.lastModified, environmentVariables: definition.environment.keys.sorted(),
            mappings: mappings.map(Self.summary), activity: Self.points(activity, from: now - ActivityTracker.windowMs, to: now),
            recentInvocations: try await store.invocationRecords(.init(functionName: definition.name, limit: recent, includeLog: false)))
    }

    /// Journal records (with their logs): newest first, or after `afterID` oldest first to follow a log.
    /// A deleted function's records stay readable until retention ends them, as a log group outlives its function;
    /// a name that neither exists nor has records is not found.
    package func invocations(_ query: JournalQuery) async throws -> [JournalEntry] {
        var query = query
        query.limit = min(max(1, query.limit), 1_000)
        guard let name = query.functionName else { return try await store.invocationRecords(query) }
        let reference = try FunctionReference.parse(operatorName: name, identity: registry.identity)
        query.functionName = reference.name
        let records = try await store.invocationRecords(query)
        if records.isEmpty { _ = try await registry.function(reference) }
        return records
    }

    // MARK: Queues and streams

    package func queueDepths() async throws -> [QueueDepth] {
        try await store.queueDepths(now: registry.clock.now())
    }

    package func streamDepths() async throws -> [StreamDepth] {
        try await store.streamDepths()
    }

    package func queue(_ name: String) async throws -> OperationsReport.QueueDetail {
        let record = try await queues.queue(named: name)
        let now = registry.clock.now()
        guard let depth = try await store.queueDepths(now: now).first(where: { $0.queueName == record.name }) else { throw SpoolError.queueDoesNotExist() }
        let arn = registry.identity.queueARN(record.name)
        return OperationsReport.QueueDetail(
            depth: depth, oldestMessageAgeSeconds: depth.oldestSentAt.map { Double(max(0, now - $0)) / 1000 },
            attributes: try await queues.attributes(name: record.name, requested: ["All"]),
            mappings: try await allMappings().filter { $0.sourceARN == arn }.map(Self.summary))
    }

    package func stream(_ name: String) async throws -> OperationsReport.StreamDetail {
        let info = try await streams.stream(name: name, arn: nil)
        guard let depth = try await store.streamDepths().first(where: { $0.streamName == info.name }) else {
            throw SpoolError(.resourceNotFound, "Stream \(name) under account \(registry.identity.accountID) not found.")
        }
        let arn = registry.identity.streamARN(info.name)
        var details: [OperationsReport.MappingDetail] = []
        for mapping in try await allMappings() where mapping.sourceARN == arn { details.append(try await self.mapping(mapping.uuid)) }
        return OperationsReport.StreamDetail(depth: depth, retentionHours: info.retentionHours, mode: info.mode, mappings: details)
    }

    // MARK: Mappings

    package func allMappings() async throws -> [EventSourceMapping] {
        try await mappings.list(sourceARN: nil, functionName: nil, marker: nil, maxItems: Self.pageLimit).mappings
    }

    package func mappingSummaries() async throws -> [OperationsReport.MappingSummary] {
        try await allMappings().map(Self.summary)
    }

    package func mapping(_ uuid: String) async throws -> OperationsReport.MappingDetail {
        let (mapping, shards) = try await mappings.shardProgress(uuid)
        let settings = mapping.settings
        let origin: JournalEntry.Origin = mapping.isStream ? .kinesis : .sqs
        let recent = try await store.invocationRecords(.init(functionName: mapping.functionName, limit: 200, includeLog: false))
            .filter { $0.origin == origin }.prefix(20)
        return OperationsReport.MappingDetail(
            mapping: Self.summary(mapping), functionResponseTypes: settings.functionResponseTypes, filters: settings.filters,
            maximumConcurrency: settings.maximumConcurrency, startingPosition: settings.stream?.startingPosition.rawValue,
            parallelizationFactor: settings.stream?.parallelizationFactor, bisectBatchOnFunctionError: settings.stream?.bisectBatchOnFunctionError,
            maximumRetryAttempts: settings.stream?.maximumRetryAttempts, maximumRecordAgeSeconds: settings.stream?.maximumRecordAgeSeconds,
            onFailureDestination: settings.stream?.onFailureDestination,
            shards: shards.map { .init(shardId: $0.shardID, lane: $0.lane, checkpointSequenceNumber: $0.checkpoint,
                                       iteratorAgeSeconds: Double($0.iteratorAgeMillis) / 1000, recordsBehind: $0.recordsBehind) },
            recentInvocations: Array(recent))
    }

    /// Enables or disables a mapping, as `UpdateEventSourceMapping` with only `Enabled` does.
    package func setMapping(_ uuid: String, enabled: Bool) async throws -> OperationsReport.MappingSummary {
        var request = MappingRequest()
        request.enabled = enabled
        request.given = ["Enabled"]
        return Self.summary(try await mappings.update(uuid, functionName: nil, request: request))
    }

    static func summary(_ mapping: EventSourceMapping) -> OperationsReport.MappingSummary {
        OperationsReport.MappingSummary(
            uuid: mapping.uuid, functionName: mapping.functionName, sourceARN: mapping.sourceARN, sourceType: mapping.isStream ? "kinesis" : "sqs",
            sourceName: String(mapping.sourceARN.split(separator: mapping.isStream ? "/" : ":").last ?? ""),
            state: mapping.state.rawValue, stateTransitionReason: mapping.stateTransitionReason, enabled: mapping.enabled,
            batchSize: mapping.settings.batchSize, maximumBatchingWindowSeconds: mapping.settings.maximumBatchingWindowSeconds,
            lastProcessingResult: mapping.lastProcessingResult, lastModified: mapping.lastModified)
    }
}
