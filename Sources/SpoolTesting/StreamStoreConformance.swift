import Foundation
import SpoolModel
import SpoolStorage

/// The promises every `StreamStore` backend keeps (with the `MappingStore` whose stream mappings own checkpoints),
/// as checks to run against a fresh store each.
public enum StreamStoreConformance {
    public typealias Store = any StreamStore & MappingStore

    public struct Check: Sendable, CustomStringConvertible {
        public let name: String
        let body: @Sendable (Store) async throws -> Void

        public var description: String { name }

        public func run(on store: Store) async throws {
            try await body(store)
        }
    }

    static func records(_ shard: Int, _ values: [String]) -> [NewStreamRecord] {
        values.map { NewStreamRecord(shardIndex: shard, partitionKey: "k-\($0)", data: Data($0.utf8)) }
    }

    static func read(_ store: Store, _ stream: StreamInfo, shard: Int, after: Int64 = -1, limit: Int = 100, notBefore: Millis = 0) async throws -> [String] {
        try await store.readRecords(ReadRecordsParams(streamID: stream.id, shardIndex: shard, afterPosition: after, limit: limit,
                                                      maximumBytes: 1_000_000, notBefore: notBefore))
            .map { String(decoding: $0.data, as: UTF8.self) }
    }

    static func streamMapping(_ uuid: String, stream: String, settings: StreamMappingSettings) -> EventSourceMapping {
        EventSourceMapping(uuid: uuid, functionName: "f-\(uuid)", functionQualifier: nil, sourceARN: "arn:aws:kinesis:us-east-1:000000000000:stream/\(stream)",
                           state: .creating, stateTransitionReason: "User action", settings: MappingSettings(batchSize: 100, stream: settings),
                           enabled: true, lastModified: 1_000)
    }

    public static var checks: [Check] {
        [
            Check(name: "streams are created once per name, listed, deleted, and the name reused") { store in
                let first = try await store.createStream(CreateStreamParams(name: "s", shardCount: 3, mode: "PROVISIONED", now: 5_000))
                try expect(first.shardCount == 3 && first.retentionHours == 24 && first.createdAt == 5_000, "created \(first)")
                try expect(try await store.stream(named: "s") == first, "reads back")
                do {
                    _ = try await store.createStream(CreateStreamParams(name: "s", shardCount: 1, mode: "PROVISIONED", now: 6_000))
                    try expect(false, "a second stream of the name was created")
                } catch let error as SpoolError {
                    try expect(error.code == .resourceInUse, "error \(error)")
                }
                _ = try await store.createStream(CreateStreamParams(name: "t", shardCount: 1, mode: "ON_DEMAND", now: 6_000))
                try expect(try await store.listStreams(after: nil, limit: 10).map(\.name) == ["s", "t"], "listed by name")
                try expect(try await store.listStreams(after: "s", limit: 10).map(\.name) == ["t"], "after a name")
                try await store.tagStream(name: "t", tags: ["a": "1", "b": "2"], account: "0")
                try await store.untagStream(name: "t", keys: ["a"])
                try expect(try await store.stream(named: "t")?.tags == ["b": "2"], "tags added and removed")
                do {
                    try await store.tagStream(name: "t", tags: Dictionary(uniqueKeysWithValues: (0..<50).map { ("k\($0)", "v") }), account: "0")
                    try expect(false, "a 51st tag was stored")
                } catch let error as SpoolError {
                    try expect(error.code == .invalidArgument, "error \(error)")
                }
                try expect(try await store.stream(named: "t")?.tags == ["b": "2"], "a refused tagging changes nothing")
                try expect(try await store.deleteStream(name: "s", now: 7_000), "deleted")
                try expect(try await store.stream(named: "s") == nil, "gone")
                try expect(try await !store.deleteStream(name: "s", now: 7_000), "deleting twice finds nothing")
                let again = try await store.createStream(CreateStreamParams(name: "s", shardCount: 1, mode: "PROVISIONED", now: 8_000))
                try expect(again.id != first.id, "a new stream")
                try expect(try await read(store, again, shard: 0).isEmpty, "and an empty one")
            },
            Check(name: "consumers are registered once per name up to the limit, listed by name, deregistered, and swept with their stream") { store in
                let stream = try await store.createStream(CreateStreamParams(name: "s", shardCount: 1, mode: "PROVISIONED", now: 1_000))
                let other = try await store.createStream(CreateStreamParams(name: "o", shardCount: 1, mode: "PROVISIONED", now: 1_000))
                let first = try await store.registerStreamConsumer(streamID: stream.id, name: "b", now: 2_000, limit: 2)
                try expect(first == .registered(StreamConsumer(streamID: stream.id, name: "b", createdAt: 2_000)), "registered: \(first)")
                try expect(try await store.registerStreamConsumer(streamID: stream.id, name: "b", now: 3_000, limit: 2) == .nameInUse, "a name once")
                _ = try await store.registerStreamConsumer(streamID: stream.id, name: "a", now: 3_000, limit: 2)
                try expect(try await store.registerStreamConsumer(streamID: stream.id, name: "c", now: 3_000, limit: 2) == .limitReached, "the limit")
                _ = try await store.registerStreamConsumer(streamID: other.id, name: "a", now: 3_000, limit: 2)
                try expect(try await store.streamConsumers(streamID: stream.id).map(\.name) == ["a", "b"], "listed by name, per stream")
                try expect(try await store.deregisterStreamConsumer(streamID: stream.id, name: "a"), "deregistered")
                try expect(try await !store.deregisterStreamConsumer(streamID: stream.id, name: "a"), "deregistering twice finds nothing")
                try expect(try await store.streamConsumers(streamID: stream.id).map(\.name) == ["b"], "one left")
                _ = try await store.deleteStream(name: "s", now: 4_000)
                while try await store.trimStreams(now: 5_000, limit: 100) > 0 {}
                try expect(try await store.streamConsumers(streamID: stream.id).isEmpty, "swept with the stream")
                try expect(try await store.streamConsumers(streamID: other.id).map(\.name) == ["a"], "another stream's stay")
            },
            Check(name: "a reshard closes shards, creates their children, refuses records for closed shards and gives mappings the new shards") { store in
                let stream = try await store.createStream(CreateStreamParams(name: "s", shardCount: 2, mode: "PROVISIONED", now: 1_000))
                _ = try await store.putRecords(PutRecordsParams(streamID: stream.id, records: records(0, ["a", "b"]), now: 2_000))
                _ = try await store.createMapping(streamMapping("m", stream: "s", settings: StreamMappingSettings(startingPosition: .trimHorizon, parallelizationFactor: 2)))
                let range = stream.shards[0].hashRange
                let middle = range.lowerBound + (range.upperBound - range.lowerBound) / 2
                let split = ReshardParams(streamID: stream.id, shardTotal: 2, closing: [0], creating: [
                    NewShard(index: 2, hashRange: range.lowerBound...middle, parent: 0),
                    NewShard(index: 3, hashRange: (middle + 1)...range.upperBound, parent: 0),
                ], now: 3_000)
                try expect(try await store.reshard(split) == .done, "split")
                try expect(try await store.reshard(split) == .stale, "a plan for an earlier shard set is stale")
                let after = try await store.stream(named: "s")!
                try expect(after.shardCount == 3 && after.shards.map(\.index) == [0, 1, 2, 3], "open count and every shard: \(after.shards)")
                try expect(after.shards[0].closedAt == 3_000 && after.shards[0].endPosition == 1, "the parent closed after its two records")
                try expect(after.shards[1].hashRange == stream.shards[1].hashRange && after.shards[1].isOpen, "the other shard as it was")
                try expect(after.shards[2].parent == 0 && after.shards[2].hashRange == range.lowerBound...middle && after.shards[2].createdAt == 3_000,
                           "a child: \(after.shards[2])")
                do {
                    _ = try await store.putRecords(PutRecordsParams(streamID: stream.id, records: records(0, ["c"]), now: 4_000))
                    try expect(false, "a closed shard took a record")
                } catch StreamStoreError.shardClosed {}
                _ = try await store.putRecords(PutRecordsParams(streamID: stream.id, records: records(2, ["c"]), now: 4_000))
                let parentRecords = try await read(store, after, shard: 0)
                let childRecords = try await read(store, after, shard: 2)
                try expect(parentRecords == ["a", "b"] && childRecords == ["c"], "records where they went")
                let rows = try await store.checkpoints(mappingUUID: "m")
                try expect(rows.filter { $0.shardIndex >= 2 }.map { "\($0.shardIndex)/\($0.lane)@\($0.position)" } == ["2/0@-1", "2/1@-1", "3/0@-1", "3/1@-1"],
                           "the mapping reads the children from their start, in both lanes: \(rows)")
                let merge = ReshardParams(streamID: stream.id, shardTotal: 4, closing: [0, 3], creating: [
                    NewShard(index: 4, hashRange: 0...1, parent: 0, adjacentParent: 3)], now: 5_000)
                try expect(try await store.reshard(merge) == .notOpen(0), "a closed shard cannot close again")
                try expect(try await store.stream(named: "s")?.shards.count == 4, "and nothing changed")
            },
            Check(name: "records take increasing positions per shard in request order and read back in order") { store in
                let stream = try await store.createStream(CreateStreamParams(name: "s", shardCount: 2, mode: "PROVISIONED", now: 0))
                let mixed = records(0, ["a", "b"]) + records(1, ["x"]) + records(0, ["c"])
                try expect(try await store.putRecords(PutRecordsParams(streamID: stream.id, records: mixed, now: 10)) == [0, 1, 0, 2], "positions")
                try expect(try await store.putRecords(PutRecordsParams(streamID: stream.id, records: records(0, ["d"]), now: 20)) == [3], "continues")
                try expect(try await read(store, stream, shard: 0) == ["a", "b", "c", "d"], "shard 0 in order")
                try expect(try await read(store, stream, shard: 1) == ["x"], "shard 1")
                try expect(try await read(store, stream, shard: 0, after: 1, limit: 1) == ["c"], "after a position, limited")
                try expect(try await read(store, stream, shard: 0, notBefore: 15) == ["d"], "expired records are not read")
                let extents = try await store.shardExtents(streamID: stream.id, notBefore: 0)
                try expect(extents.map(\.nextPosition) == [4, 1] && extents[0].firstPosition == 0 && extents[0].lastArrival == 20, "extents \(extents)")
                try expect(try await store.position(before: 15, streamID: stream.id, shardIndex: 0) == 2, "the last record before a time")
                try expect(try await store.position(before: 5, streamID: stream.id, shardIndex: 0) == -1, "none before")
                try expect(try await store.position(before: 99, streamID: stream.id, shardIndex: 0) == 3, "all before")
                _ = try await store.deleteStream(name: "s", now: 30)
                do {
                    _ = try await store.putRecords(PutRecordsParams(streamID: stream.id, records: records(0, ["late"]), now: 40))
                    try expect(false, "a deleted stream took a record")
                } catch let error as SpoolError {
                    try expect(error.code == .resourceNotFound, "error \(error)")
                }
            },
            Check(name: "a stream mapping starts at its starting position and settles only from where it read") { store in
                let stream = try await store.createStream(CreateStreamParams(name: "s", shardCount: 2, mode: "PROVISIONED", now: 0))
                _ = try await store.putRecords(PutRecordsParams(streamID: stream.id, records: records(0, ["a", "b", "c"]), now: 10))
                _ = try await store.createMapping(streamMapping("latest", stream: "s", settings: StreamMappingSettings(startingPosition: .latest)))
                _ = try await store.createMapping(streamMapping("horizon", stream: "s", settings: StreamMappingSettings(startingPosition: .trimHorizon, parallelizationFactor: 2)))
                try expect(try await store.checkpoints(mappingUUID: "latest").map(\.position) == [2, -1], "LATEST: after the last record of each shard")
                let horizon = try await store.checkpoints(mappingUUID: "horizon")
                try expect(horizon.map { [$0.shardIndex, $0.lane, Int($0.position)] } == [[0, 0, -1], [0, 1, -1], [1, 0, -1], [1, 1, -1]], "\(horizon)")

                let settled = try await store.settleStreamBatch(SettleStreamBatchParams(
                    mappingUUID: "horizon", shardIndex: 0, lane: 1, expectedPosition: -1, newPosition: 1, window: .open(start: 0, state: #"{"n":2}"#),
                    result: MappingResult.ok, effects: [.putRecord(streamName: "s", partitionKey: "p", data: Data("failure".utf8))], now: 50))
                try expect(settled.settled && settled.streamsPut == [stream.id], "settled with its effect")
                let row = try await store.checkpoints(mappingUUID: "horizon").first { $0.shardIndex == 0 && $0.lane == 1 }
                try expect(row?.position == 1 && row?.windowStart == 0 && row?.windowState == #"{"n":2}"#, "advanced: \(String(describing: row))")
                try expect(try await store.mapping(uuid: "horizon")?.lastProcessingResult == MappingResult.ok, "result recorded")
                let shards = try await store.shardExtents(streamID: stream.id, notBefore: 0)
                try expect(shards.map(\.nextPosition).reduce(0, +) == 4, "the effect's record was appended in the same transaction")

                let stale = try await store.settleStreamBatch(SettleStreamBatchParams(
                    mappingUUID: "horizon", shardIndex: 0, lane: 1, expectedPosition: -1, newPosition: 2, result: nil,
                    effects: [.putRecord(streamName: "s", partitionKey: "p", data: Data("dup".utf8))], now: 60))
                try expect(!stale.settled, "a settle from a stale position is refused")
                try expect(try await store.shardExtents(streamID: stream.id, notBefore: 0).map(\.nextPosition).reduce(0, +) == 4, "and its effects with it")
                _ = try await store.settleStreamBatch(SettleStreamBatchParams(
                    mappingUUID: "horizon", shardIndex: 0, lane: 1, expectedPosition: 1, newPosition: 1, window: .close, result: nil, now: 70))
                let closed = try await store.checkpoints(mappingUUID: "horizon").first { $0.shardIndex == 0 && $0.lane == 1 }
                try expect(closed?.windowStart == nil && closed?.windowState == nil, "window closed")
            },
            Check(name: "taking a mapping's lanes gives each a new epoch: a lane taken before can no longer settle") { store in
                _ = try await store.createStream(CreateStreamParams(name: "s", shardCount: 2, mode: "PROVISIONED", now: 0))
                _ = try await store.createMapping(streamMapping("m", stream: "s", settings: StreamMappingSettings(startingPosition: .trimHorizon)))
                let first = try await store.takeCheckpoints(mappingUUID: "m")
                try expect(first.map(\.shardIndex) == [0, 1], "every lane, in order: \(first)")
                let second = try await store.takeCheckpoints(mappingUUID: "m")
                try expect(zip(first, second).allSatisfy { $1.epoch > $0.epoch && $1.position == $0.position }, "new epochs: \(first) \(second)")
                let old = try await store.settleStreamBatch(SettleStreamBatchParams(
                    mappingUUID: "m", shardIndex: 0, lane: 0, expectedPosition: -1, expectedEpoch: first[0].epoch, newPosition: 3, result: nil, now: 1))
                try expect(!old.settled, "the earlier lane is fenced")
                let current = try await store.settleStreamBatch(SettleStreamBatchParams(
                    mappingUUID: "m", shardIndex: 0, lane: 0, expectedPosition: -1, expectedEpoch: second[0].epoch, newPosition: 3, result: nil, now: 1))
                try expect(current.settled, "the lane taken last settles")
                try expect(try await store.takeCheckpoints(mappingUUID: "none").isEmpty, "no lanes for an unknown mapping")
                // Taking some shards' lanes leaves the others' epochs alone (a node of a cluster takes the shards it owns).
                let third = try await store.takeCheckpoints(mappingUUID: "m", shards: [1])
                try expect(third.map(\.shardIndex) == [1] && third[0].epoch > second[1].epoch, "shard 1 only: \(third)")
                let after = try await store.checkpoints(mappingUUID: "m")
                try expect(after.first { $0.shardIndex == 0 }?.epoch == second[0].epoch, "shard 0 keeps its epoch: \(after)")
                try expect(try await store.takeCheckpoints(mappingUUID: "m", shards: []).isEmpty, "no shards, no lanes")
            },
            Check(name: "a new ParallelizationFactor regroups lanes at the slowest lane's position; deleting a mapping drops them") { store in
                _ = try await store.createStream(CreateStreamParams(name: "s", shardCount: 1, mode: "PROVISIONED", now: 0))
                _ = try await store.createMapping(streamMapping("m", stream: "s", settings: StreamMappingSettings(startingPosition: .trimHorizon, parallelizationFactor: 2)))
                _ = try await store.settleStreamBatch(SettleStreamBatchParams(mappingUUID: "m", shardIndex: 0, lane: 0, expectedPosition: -1,
                                                                              newPosition: 7, result: nil, now: 1))
                _ = try await store.settleStreamBatch(SettleStreamBatchParams(mappingUUID: "m", shardIndex: 0, lane: 1, expectedPosition: -1,
                                                                              newPosition: 4, result: nil, now: 1))
                _ = try await store.updateMapping(UpdateMappingParams(uuid: "m", now: 2) { $0.settings.stream?.parallelizationFactor = 3 })
                let rows = try await store.checkpoints(mappingUUID: "m")
                try expect(rows.map(\.lane) == [0, 1, 2] && rows.allSatisfy { $0.position == 4 && $0.epoch == 1 }, "regrouped: \(rows)")
                let old = try await store.settleStreamBatch(SettleStreamBatchParams(mappingUUID: "m", shardIndex: 0, lane: 1, expectedPosition: 4,
                                                                                    newPosition: 9, result: nil, now: 2))
                try expect(!old.settled, "a lane of the old grouping cannot settle on the new one")
                try expect(try await store.mapping(uuid: "m")?.settings.stream?.parallelizationFactor == 3, "settings stored")
                _ = try await store.updateMapping(UpdateMappingParams(uuid: "m", now: 3) { $0.state = .deleting })
                try expect(try await store.checkpoints(mappingUUID: "m").isEmpty, "checkpoints go with the mapping")
            },
            Check(name: "trimming removes expired records, then the records and row of a deleted stream") { store in
                let kept = try await store.createStream(CreateStreamParams(name: "kept", shardCount: 1, mode: "PROVISIONED", now: 0))
                let gone = try await store.createStream(CreateStreamParams(name: "gone", shardCount: 2, mode: "PROVISIONED", now: 0))
                let hour: Millis = 3_600_000
                _ = try await store.putRecords(PutRecordsParams(streamID: kept.id, records: records(0, ["old"]), now: 0))
                _ = try await store.putRecords(PutRecordsParams(streamID: kept.id, records: records(0, ["new"]), now: 23 * hour))
                _ = try await store.putRecords(PutRecordsParams(streamID: gone.id, records: records(0, ["a"]) + records(1, ["b"]), now: 23 * hour))
                _ = try await store.deleteStream(name: "gone", now: 23 * hour)
                var removed = 0
                while true {
                    let count = try await store.trimStreams(now: 25 * hour, limit: 1)
                    removed += count
                    if count == 0 { break }
                }
                try expect(removed == 3, "removed \(removed)")
                try expect(try await read(store, kept, shard: 0) == ["new"], "the young record stays")
                _ = try await store.createStream(CreateStreamParams(name: "gone", shardCount: 1, mode: "PROVISIONED", now: 26 * hour))
                try expect(try await store.listStreams(after: nil, limit: 10).map(\.name) == ["gone", "kept"], "the name is free")
            },
        ]
    }

    static func expect(_ condition: Bool, _ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) throws {
        try require(condition, message(), file: file, line: line)
    }
}
