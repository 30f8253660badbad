import Foundation
import GRDB
import SpoolModel
import SpoolStorage

/// Streams: shards of append-only records, read by position; mapping checkpoints settled with their effects.
extension SQLiteStore: StreamStore {
    package func createStream(_ params: CreateStreamParams) async throws -> StreamInfo {
        try await write { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM stream WHERE name = ? AND deleted_at IS NULL", arguments: [params.name]) == true {
                throw SpoolError(.resourceInUse, "Stream \(params.name) already exists.")
            }
            try db.execute(sql: """
                INSERT INTO stream (name, shard_count, retention_hours, mode, tags, created_at) VALUES (?, ?, ?, ?, ?, ?)
                """, arguments: [params.name, params.shardCount, StreamLimits.defaultRetentionHours, params.mode, ColumnJSON.encode(params.tags), params.now])
            let id = db.lastInsertedRowID
            for index in 0..<params.shardCount {
                try db.execute(sql: "INSERT INTO stream_shard (stream_id, shard_index) VALUES (?, ?)", arguments: [id, index])
            }
            return StreamInfo(id: id, name: params.name, shardCount: params.shardCount, retentionHours: StreamLimits.defaultRetentionHours,
                              mode: params.mode, createdAt: params.now, tags: params.tags)  // its shards: the creation split, open and empty
        }
    }

    package func stream(named name: String) async throws -> StreamInfo? {
        try await read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM stream WHERE name = ? AND deleted_at IS NULL"), arguments: [name])
                .map { try Self.streamInfo(db, $0) }
        }
    }

    package func listStreams(after: String?, limit: Int) async throws -> [StreamInfo] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM stream WHERE deleted_at IS NULL AND name > ? ORDER BY name LIMIT ?",
                             arguments: [after ?? "", limit]).map { try Self.streamInfo(db, $0) }
        }
    }

    package func deleteStream(name: String, now: Millis) async throws -> Bool {
        try await write { db in
            try db.execute(sql: "UPDATE stream SET deleted_at = ? WHERE name = ? AND deleted_at IS NULL", arguments: [now, name])
            return db.changesCount == 1
        }
    }

    package func setStreamRetention(name: String, hours: Int) async throws {
        try await write { db in
            try db.execute(sql: "UPDATE stream SET retention_hours = ? WHERE name = ? AND deleted_at IS NULL", arguments: [hours, name])
        }
    }

    package func tagStream(name: String, tags: [String: String], account: String) async throws {
        try await write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT id, tags FROM stream WHERE name = ? AND deleted_at IS NULL", arguments: [name]) else {
                throw SpoolError(.resourceNotFound, "Stream \(name) under account \(account) not found.")
            }
            let existing = ColumnJSON.decode([String: String].self, row["tags"]) ?? [:]
            try StreamTags.validate(tags, existing: existing, stream: name, account: account)
            try db.execute(sql: "UPDATE stream SET tags = ? WHERE id = ?",
                           arguments: [ColumnJSON.encode(existing.merging(tags) { $1 }), row["id"] as Int64])
        }
    }

    package func untagStream(name: String, keys: [String]) async throws {
        try await write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT id, tags FROM stream WHERE name = ? AND deleted_at IS NULL", arguments: [name]) else {
                return
            }
            var tags = ColumnJSON.decode([String: String].self, row["tags"]) ?? [:]
            for key in keys { tags.removeValue(forKey: key) }
            try db.execute(sql: "UPDATE stream SET tags = ? WHERE id = ?", arguments: [ColumnJSON.encode(tags), row["id"] as Int64])
        }
    }

    package func putRecords(_ params: PutRecordsParams) async throws -> [Int64] {
        try await write { db in try Self.append(db, streamID: params.streamID, records: params.records, now: params.now) }
    }

    /// Appends records inside a transaction: each shard's positions are reserved in one statement.
    static func append(_ db: Database, streamID: Int64, records: [NewStreamRecord], now: Millis) throws -> [Int64] {
        var counts: [Int: Int64] = [:]
        for record in records { counts[record.shardIndex, default: 0] += 1 }
        var next: [Int: Int64] = [:]
        for (shard, count) in counts {
            guard let first = try Int64.fetchOne(
                db.cachedStatement(sql: """
                    UPDATE stream_shard SET next_position = next_position + ?
                    WHERE stream_id = ? AND shard_index = ? AND closed_at IS NULL AND EXISTS (SELECT 1 FROM stream WHERE id = ? AND deleted_at IS NULL)
                    RETURNING next_position - ?
                    """),
                arguments: [count, streamID, shard, streamID, count]
            ) else {
                // A reshard closed the shard since the caller routed the record: it routes again on the stream as it is now.
                if try Bool.fetchOne(db, sql: "SELECT 1 FROM stream WHERE id = ? AND deleted_at IS NULL", arguments: [streamID]) == true {
                    throw StreamStoreError.shardClosed
                }
                throw SpoolError(.resourceNotFound, "The stream does not exist.")
            }
            next[shard] = first
        }
        let insert = try db.cachedStatement(sql: """
            INSERT INTO stream_record (stream_id, shard_index, position, partition_key, data, arrival_at) VALUES (?, ?, ?, ?, ?, ?)
            """)
        var positions: [Int64] = []
        positions.reserveCapacity(records.count)
        for record in records {
            let position = next[record.shardIndex]!
            next[record.shardIndex] = position + 1
            try insert.execute(arguments: [streamID, record.shardIndex, position, record.partitionKey, record.data, now])
            positions.append(position)
        }
        return positions
    }

    package func readRecords(_ params: ReadRecordsParams) async throws -> [StreamRecord] {
        try await read { db in
            let rows = try Row.fetchCursor(
                db.cachedStatement(sql: """
                    SELECT position, partition_key, data, arrival_at FROM stream_record
                    WHERE stream_id = ? AND shard_index = ? AND position > ? AND arrival_at >= ?
                    ORDER BY position LIMIT ?
                    """),
                arguments: [params.streamID, params.shardIndex, params.afterPosition, params.notBefore, params.limit]
            )
            var records: [StreamRecord] = []
            var bytes = 0
            while let row = try rows.next() {
                let data: Data = row[2]
                let key: String = row[1]
                bytes += data.count + key.utf8.count
                if !records.isEmpty && bytes > params.maximumBytes { break }
                records.append(StreamRecord(shardIndex: params.shardIndex, position: row[0], partitionKey: key, data: data, arrivalMillis: row[3]))
            }
            return records
        }
    }

    package func shardExtents(streamID: Int64, notBefore: Millis) async throws -> [ShardExtent] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT shard_index, next_position FROM stream_shard WHERE stream_id = ? ORDER BY shard_index",
                             arguments: [streamID]).map { row in
                let shard: Int = row[0]
                let first = try Int64.fetchOne(db.cachedStatement(sql: """
                    SELECT position FROM stream_record WHERE stream_id = ? AND shard_index = ? AND arrival_at >= ? ORDER BY position LIMIT 1
                    """), arguments: [streamID, shard, notBefore])
                let last = try Millis.fetchOne(db.cachedStatement(sql: """
                    SELECT arrival_at FROM stream_record WHERE stream_id = ? AND shard_index = ? ORDER BY position DESC LIMIT 1
                    """), arguments: [streamID, shard])
                return ShardExtent(shardIndex: shard, firstPosition: first, nextPosition: row[1], lastArrival: last)
            }
        }
    }

    package func position(before timestamp: Millis, streamID: Int64, shardIndex: Int) async throws -> Int64 {
        try await read { db in try Self.position(db, before: timestamp, streamID: streamID, shardIndex: shardIndex) }
    }

    /// Arrival times grow with positions (one writer stamps them), so the first record at or after the time is
    /// found by walking the shard in order; -1 when every record is at or after it.
    static func position(_ db: Database, before timestamp: Millis, streamID: Int64, shardIndex: Int) throws -> Int64 {
        let first = try Int64.fetchOne(db.cachedStatement(sql: """
            SELECT position FROM stream_record WHERE stream_id = ? AND shard_index = ? AND arrival_at >= ? ORDER BY position LIMIT 1
            """), arguments: [streamID, shardIndex, timestamp])
        if let first { return first - 1 }
        return try Int64.fetchOne(db.cachedStatement(sql: "SELECT next_position FROM stream_shard WHERE stream_id = ? AND shard_index = ?"),
                                  arguments: [streamID, shardIndex]).map { $0 - 1 } ?? -1
    }

    package func checkpoints(mappingUUID: String) async throws -> [StreamCheckpointRow] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM stream_checkpoint WHERE mapping_uuid = ? ORDER BY shard_index, lane",
                             arguments: [mappingUUID]).map(Self.checkpoint)
        }
    }

    package func takeCheckpoints(mappingUUID: String, shards: Set<Int>?) async throws -> [StreamCheckpointRow] {
        // Like a claim, no fsync of its own: the generation's floor fences lanes across a lost commit.
        try await write(durable: false) { [floor = epochFloor] db in
            let rows = try Row.fetchAll(db, sql: """
                UPDATE stream_checkpoint SET epoch = max(epoch + 1, ?)
                WHERE mapping_uuid = ? AND (? IS NULL OR shard_index IN (SELECT value FROM json_each(?)))
                RETURNING *
                """, arguments: [floor, mappingUUID, shards == nil ? nil : 1, shards.map { ColumnJSON.encode($0.sorted()) }])
            return rows.map(Self.checkpoint).sorted { ($0.shardIndex, $0.lane) < ($1.shardIndex, $1.lane) }
        }
    }

    package func startCheckpoints(mappingUUID: String, streamID: Int64, settings: StreamMappingSettings) async throws -> [StreamCheckpointRow] {
        try await write { [floor = epochFloor] db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM stream WHERE id = ? AND deleted_at IS NULL", arguments: [streamID]) == true,
                  try Bool.fetchOne(db, sql: "SELECT 1 FROM event_source_mapping WHERE uuid = ? AND state != 'Deleting'", arguments: [mappingUUID]) == true
            else { return [] }
            let rows = try Self.initialCheckpoints(db, streamID: streamID, settings: settings).map { row in
                var row = row
                row.epoch = floor
                return row
            }
            try Self.replaceCheckpoints(db, mappingUUID: mappingUUID, rows: rows)
            return rows
        }
    }

    static func replaceCheckpoints(_ db: Database, mappingUUID: String, rows: [StreamCheckpointRow]) throws {
        try db.execute(sql: "DELETE FROM stream_checkpoint WHERE mapping_uuid = ?", arguments: [mappingUUID])
        for row in rows {
            try db.execute(sql: """
                INSERT INTO stream_checkpoint (mapping_uuid, stream_id, shard_index, lane, position, epoch, window_start, window_state)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [mappingUUID, row.streamID, row.shardIndex, row.lane, row.position, row.epoch, row.windowStart, row.windowState])
        }
    }

    package func settleStreamBatch(_ params: SettleStreamBatchParams) async throws -> SettleOutcome {
        try await write { db in
            var assignments = "position = :new, retry_state = :retry"
            var arguments: [String: (any DatabaseValueConvertible)?] = [
                "new": params.newPosition, "uuid": params.mappingUUID, "shard": params.shardIndex, "lane": params.lane,
                "expected": params.expectedPosition, "epoch": params.expectedEpoch, "retry": params.retryState,
            ]
            switch params.window {
            case .keep: break
            case .open(let start, let state):
                assignments += ", window_start = :start, window_state = :state"
                arguments["start"] = start
                arguments["state"] = state
            case .close:
                assignments += ", window_start = NULL, window_state = NULL"
            }
            try db.execute(sql: """
                UPDATE stream_checkpoint SET \(assignments)
                WHERE mapping_uuid = :uuid AND shard_index = :shard AND lane = :lane AND position = :expected AND epoch = :epoch
                """, arguments: StatementArguments(arguments))
            guard db.changesCount == 1 else { return SettleOutcome(settled: false) }
            if let result = params.result {
                try db.cachedStatement(sql: "UPDATE event_source_mapping SET last_result = ? WHERE uuid = ? AND last_result != ?")
                    .execute(arguments: [result, params.mappingUUID, result])
            }
            var outcome = SettleOutcome(settled: true)
            for effect in params.effects { try Self.apply(effect, db, now: params.now, origin: params.origin, outcome: &outcome) }
            return outcome
        }
    }

    package func trimStreams(now: Millis, limit: Int) async throws -> Int {
        try await write { db in
            var removed = 0
            for row in try Row.fetchAll(db, sql: "SELECT id, retention_hours, deleted_at FROM stream") {
                guard removed < limit else { break }
                let id: Int64 = row["id"]
                let deleted = (row["deleted_at"] as Millis?) != nil
                let cutoff = deleted ? Millis.max : now - (row["retention_hours"] as Millis) * 3_600_000
                for shard in try Self.shardIndices(db, streamID: id) where removed < limit {
                    try db.cachedStatement(sql: """
                        DELETE FROM stream_record WHERE id IN (
                          SELECT id FROM stream_record WHERE stream_id = ? AND shard_index = ? ORDER BY position LIMIT ?
                        ) AND arrival_at < ?
                        """).execute(arguments: [id, shard, limit - removed, cutoff])
                    removed += db.changesCount
                }
                if deleted, try Bool.fetchOne(db, sql: "SELECT 1 FROM stream_record WHERE stream_id = ? LIMIT 1", arguments: [id]) != true {
                    try db.execute(sql: "DELETE FROM stream_shard WHERE stream_id = ?", arguments: [id])
                    try db.execute(sql: "DELETE FROM stream_consumer WHERE stream_id = ?", arguments: [id])
                    try db.execute(sql: "DELETE FROM stream_resource_policy WHERE stream_id = ?", arguments: [id])
                    try db.execute(sql: "DELETE FROM stream WHERE id = ?", arguments: [id])
                }
            }
            return removed
        }
    }

    /// A stream from its row, with its shards.
    static func streamInfo(_ db: Database, _ row: Row) throws -> StreamInfo {
        let id: Int64 = row["id"]
        let createdAt: Millis = row["created_at"]
        let shardCount: Int = row["shard_count"]
        return StreamInfo(id: id, name: row["name"], shardCount: shardCount, retentionHours: row["retention_hours"],
                          mode: row["mode"], createdAt: createdAt, tags: ColumnJSON.decode([String: String].self, row["tags"]) ?? [:],
                          shards: try shards(db, streamID: id, stream: (createdAt, shardCount)))
    }

    static func shards(_ db: Database, streamID: Int64, stream: (createdAt: Millis, shardCount: Int)) throws -> [ShardInfo] {
        try Row.fetchAll(db.cachedStatement(sql: """
            SELECT shard_index, hash_start, hash_end, parent_index, adjacent_parent_index, created_at, closed_at, next_position
            FROM stream_shard WHERE stream_id = ? ORDER BY shard_index
            """), arguments: [streamID]).map { row in
            ShardInfo.stored(index: row[0], hashStart: row[1], hashEnd: row[2], parent: row[3], adjacentParent: row[4], createdAt: row[5],
                             closedAt: row[6], nextPosition: row[7], stream: stream)
        }
    }

    /// Every shard index of a stream, open and closed.
    static func shardIndices(_ db: Database, streamID: Int64) throws -> [Int] {
        try Int.fetchAll(db.cachedStatement(sql: "SELECT shard_index FROM stream_shard WHERE stream_id = ? ORDER BY shard_index"), arguments: [streamID])
    }

    static func checkpoint(_ row: Row) -> StreamCheckpointRow {
        StreamCheckpointRow(streamID: row["stream_id"], shardIndex: row["shard_index"], lane: row["lane"], position: row["position"],
                            epoch: row["epoch"], windowStart: row["window_start"], windowState: row["window_state"], retryState: row["retry_state"])
    }

    /// The first checkpoints of a stream mapping: every shard and lane at the mapping's starting position.
    static func initialCheckpoints(_ db: Database, streamID: Int64, settings: StreamMappingSettings) throws -> [StreamCheckpointRow] {
        var rows: [StreamCheckpointRow] = []
        for shard in try shardIndices(db, streamID: streamID) {
            let position: Int64
            switch settings.startingPosition {
            case .trimHorizon: position = -1
            case .latest:
                position = try Self.position(db, before: .max, streamID: streamID, shardIndex: shard)
            case .atTimestamp:
                position = try Self.position(db, before: settings.startingPositionTimestamp ?? 0, streamID: streamID, shardIndex: shard)
            }
            for lane in 0..<settings.parallelizationFactor {
                rows.append(StreamCheckpointRow(streamID: streamID, shardIndex: shard, lane: lane, position: position))
            }
        }
        return rows
    }

    package func setStreamResourcePolicy(streamID: Int64, policy: String?) async throws {
        try await write { db in
            if let policy {
                try db.execute(sql: """
                    INSERT INTO stream_resource_policy (stream_id, policy) VALUES (?, ?)
                    ON CONFLICT (stream_id) DO UPDATE SET policy = excluded.policy
                    """, arguments: [streamID, policy])
            } else {
                try db.execute(sql: "DELETE FROM stream_resource_policy WHERE stream_id = ?", arguments: [streamID])
            }
        }
    }

    package func streamResourcePolicy(streamID: Int64) async throws -> String? {
        try await read { db in try String.fetchOne(db, sql: "SELECT policy FROM stream_resource_policy WHERE stream_id = ?", arguments: [streamID]) }
    }

    package func registerStreamConsumer(streamID: Int64, name: String, now: Millis, limit: Int) async throws -> ConsumerRegistration {
        try await write { db in
            let names = try String.fetchAll(db, sql: "SELECT name FROM stream_consumer WHERE stream_id = ?", arguments: [streamID])
            if names.contains(name) { return .nameInUse }
            if names.count >= limit { return .limitReached }
            try db.execute(sql: "INSERT INTO stream_consumer (stream_id, name, created_at) VALUES (?, ?, ?)", arguments: [streamID, name, now])
            return .registered(StreamConsumer(streamID: streamID, name: name, createdAt: now))
        }
    }

    package func streamConsumers(streamID: Int64) async throws -> [StreamConsumer] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT name, created_at FROM stream_consumer WHERE stream_id = ? ORDER BY name", arguments: [streamID]).map {
                StreamConsumer(streamID: streamID, name: $0["name"], createdAt: $0["created_at"])
            }
        }
    }

    package func deregisterStreamConsumer(streamID: Int64, name: String) async throws -> Bool {
        try await write { db in
            try db.execute(sql: "DELETE FROM stream_consumer WHERE stream_id = ? AND name = ?", arguments: [streamID, name])
            return db.changesCount == 1
        }
    }

    package func reshard(_ params: ReshardParams) async throws -> ReshardOutcome {
        try await write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT shard_count, created_at FROM stream WHERE id = ? AND deleted_at IS NULL",
                                             arguments: [params.streamID]) else {
                throw SpoolError(.resourceNotFound, "The stream does not exist.")
            }
            let current = try Self.shards(db, streamID: params.streamID, stream: (row["created_at"], row["shard_count"]))
            if let refusal = params.refusal(current: current) { return refusal }
            // The first reshard writes down the creation split's ranges, which `shard_count` no longer gives.
            for shard in current {
                let range = shard.storedRange
                try db.execute(sql: "UPDATE stream_shard SET hash_start = ?, hash_end = ? WHERE stream_id = ? AND shard_index = ? AND hash_start IS NULL",
                               arguments: [range.start, range.end, params.streamID, shard.index])
            }
            for index in params.closing {
                try db.execute(sql: "UPDATE stream_shard SET closed_at = ? WHERE stream_id = ? AND shard_index = ?",
                               arguments: [params.now, params.streamID, index])
            }
            for shard in params.creating {
                let range = shard.hashRange.storedText
                try db.execute(sql: """
                    INSERT INTO stream_shard (stream_id, shard_index, hash_start, hash_end, parent_index, adjacent_parent_index, created_at, closed_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [params.streamID, shard.index, range.start, range.end, shard.parent, shard.adjacentParent, params.now,
                                     shard.closed ? params.now : nil])
            }
            try db.execute(sql: "UPDATE stream SET shard_count = ? WHERE id = ?",
                           arguments: [params.openCount(after: current), params.streamID])
            // Every mapping of the stream reads the new shards from their start, with as many lanes as it has.
            let mappings = try Row.fetchAll(db, sql: """
                SELECT mapping_uuid, max(lane) + 1 AS lanes FROM stream_checkpoint WHERE stream_id = ? GROUP BY mapping_uuid
                """, arguments: [params.streamID])
            for mapping in mappings {
                for shard in params.creating {
                    for lane in 0..<(mapping["lanes"] as Int) {
                        try db.execute(sql: """
                            INSERT OR IGNORE INTO stream_checkpoint (mapping_uuid, stream_id, shard_index, lane, position) VALUES (?, ?, ?, ?, -1)
                            """, arguments: [mapping["mapping_uuid"] as String, params.streamID, shard.index, lane])
                    }
                }
            }
            return .done
        }
    }
}
