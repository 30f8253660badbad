import Foundation
import Logging
import Metrics
import SpoolExecutor
import SpoolModel
import SpoolSignals
import SpoolStorage
import Synchronization

/// Feeds one stream mapping's function: every shard (split into `ParallelizationFactor` lanes by partition
/// key) is read in order from its durable checkpoint, in batches handed to the function as the Kinesis event.
///
/// A lane settles each batch by advancing its checkpoint in the transaction that also writes what the batch
/// caused (the on-failure record, `LastProcessingResult`, the tumbling window's state). On a function error
/// the lane blocks and retries with back-off, bisecting the batch when asked, until the batch succeeds or the
/// retry or age limit gives it up to the on-failure destination. A crash loses nothing: lanes resume from the
/// checkpoint, so a batch in flight runs again (at least once).
final class StreamPoller: MappingPoller {
    let uuid: String
    let registry: FunctionRegistry
    let streams: StreamService
    let queues: QueueService
    let logger: Logger
    let rest: PollerRest
    let state: Mutex<State>
    let iteratorAge: Gauge
    /// The iterator age each lane last saw, seconds, by shard and lane, and each shard's gauge (made once, as the
    /// mapping's is).
    let iteratorAges = Mutex(IteratorAges())

    struct IteratorAges {
        var lanes: [Int: [Int: Double]] = [:]
        var gauges: [Int: Gauge] = [:]
    }
    let progress: MappingProgress
    /// Which shards this node runs (all of them alone; those it holds leases on in a cluster).
    let owners: MappingOwners
    /// Lanes running now, by shard.
    let lanesRunning = Mutex<[Int: Int]>([:])

    struct State {
        var mapping: EventSourceMapping
        var patterns: [FilterPattern]
        /// Bumped when lanes must be rebuilt (a new ParallelizationFactor, shards gained or given up).
        var layout = 0
        /// The shards the current lanes were started for (`nil`: all).
        var shards: Set<Int>?
    }

    static let idleWaitMillis: Millis = 60_000

    init(mapping: EventSourceMapping, registry: FunctionRegistry, streams: StreamService, queues: QueueService,
         progress: MappingProgress, owners: MappingOwners = MappingOwners(), logger: Logger) {
        self.uuid = mapping.uuid
        self.owners = owners
        self.progress = progress
        self.registry = registry
        self.streams = streams
        self.queues = queues
        var logger = logger
        logger[metadataKey: "mapping"] = "\(mapping.uuid)"
        self.logger = logger
        self.rest = PollerRest(logger: logger)
        self.iteratorAge = SpoolMetrics.iteratorAge(mapping)
        self.state = Mutex(State(mapping: mapping, patterns: mapping.settings.patterns(), shards: owners.shards(of: mapping.uuid)))
    }

    /// Whether a lane of `shard` is running here (a node giving the shard up waits until none is).
    func runsLane(of shard: Int) -> Bool {
        lanesRunning.withLock { ($0[shard] ?? 0) > 0 }
    }

    func laneStarted(_ shard: Int) {
        lanesRunning.withLock { $0[shard, default: 0] += 1 }
    }

    func laneEnded(_ shard: Int) {
        lanesRunning.withLock { lanes in
            lanes[shard, default: 1] -= 1
            if lanes[shard] == 0 { lanes[shard] = nil }
        }
    }

    /// Records what a lane saw: the shard's gauge takes its oldest lane, the mapping's its oldest shard.
    func recordIteratorAge(_ seconds: Double, shardIndex: Int, lane: Int) {
        let (gauge, shard, oldest) = iteratorAges.withLock { ages in
            ages.lanes[shardIndex, default: [:]][lane] = seconds
            let gauge = ages.gauges[shardIndex] ?? SpoolMetrics.shardIteratorAge(state.withLock { $0.mapping }, shardID: ShardMap.shardID(shardIndex))
            ages.gauges[shardIndex] = gauge
            return (gauge, ages.lanes[shardIndex]?.values.max() ?? 0, ages.lanes.values.compactMap { $0.values.max() }.max() ?? 0)
        }
        gauge.record(shard)
        iteratorAge.record(oldest)
    }

    func update(_ mapping: EventSourceMapping) {
        let shards = owners.shards(of: mapping.uuid)
        state.withLock { state in
            if state.mapping.settings.stream?.parallelizationFactor != mapping.settings.stream?.parallelizationFactor { state.layout += 1 }
            if state.shards != shards {
                state.shards = shards
                state.layout += 1
            }
            state.mapping = mapping
            state.patterns = mapping.settings.patterns()
        }
        wakeups.signal()
    }


    var streamName: String {
        let arn = state.withLock { $0.mapping.sourceARN }
        return registry.identity.streamName(fromSourceARN: arn) ?? arn
    }

    func run() async {
        logger.debug("stream poller started")
        while !isStopped {
            let (layout, shards) = state.withLock { ($0.layout, $0.shards) }
            guard let stream = try? await streams.store.stream(named: streamName) else {
                problem("the mapping's stream does not exist", ["stream": "\(streamName)"])
                await backOff()
                continue
            }
            let rows: [StreamCheckpointRow]
            do {
                rows = try await checkpoints(for: stream, shards: shards)
            } catch {
                problem("cannot read the mapping's checkpoints", ["error": "\(error)"])
                await backOff()
                continue
            }
            if rows.isEmpty {
                await backOff()
                continue
            }
            iteratorAges.withLock { $0.lanes = [:] }  // a new grouping: the old lanes' ages no longer apply
            await withDiscardingTaskGroup { group in
                group.addTask { await self.watchShards(of: stream, layout: layout) }
                for row in rows {
                    self.laneStarted(row.shardIndex)
                    group.addTask {
                        await self.runLane(StreamLane(poller: self, stream: stream, checkpoint: row, layout: layout))
                        self.laneEnded(row.shardIndex)
                    }
                }
            }
        }
        logger.debug("stream poller stopped")
    }

    /// How often a running mapping looks for shards a reshard added.
    static let shardWatchMillis: Millis = 1_000

    /// Starts the lanes again when a reshard has changed the stream's shards (the reshard gave the mapping
    /// checkpoints at the start of each new shard).
    func watchShards(of stream: StreamInfo, layout: Int) async {
        while !isStopped && state.withLock({ $0.layout }) == layout {
            let seen = wakeups.generation
            if let current = try? await streams.store.stream(named: stream.name), current.id == stream.id, current.shards.count != stream.shards.count {
                state.withLock { state in
                    if state.layout == layout { state.layout += 1 }
                }
                wakeups.signal()
                return
            }
            await wait(on: nil, seen: seen, timeout: Self.shardWatchMillis)
        }
    }

    /// The mapping's checkpoints for this stream, taken for the lanes about to start (a new epoch fences every
    /// earlier lane); when there are none for it (the stream was created again under the mapping's name), every
    /// shard starts at the mapping's starting position.
    /// In a cluster, only the lanes of the shards this node owns are taken, and the other nodes' lanes keep their epochs.
    func checkpoints(for stream: StreamInfo, shards: Set<Int>?) async throws -> [StreamCheckpointRow] {
        if let shards, shards.isEmpty { return [] }
        let rows = try await streams.store.takeCheckpoints(mappingUUID: uuid, shards: shards)
        if !rows.isEmpty && rows.allSatisfy({ $0.streamID == stream.id }) { return rows }
        let settings = state.withLock { $0.mapping.settings.stream } ?? StreamMappingSettings()
        let started = try await streams.store.startCheckpoints(mappingUUID: uuid, streamID: stream.id, settings: settings)
        return started.filter { shards?.contains($0.shardIndex) ?? true }
    }
}
