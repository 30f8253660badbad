import Foundation
import PostgresNIO
import SpoolModel
import SpoolStorage

/// Streams: shards of append-only records, read by position; mapping checkpoints settled with their effects. A put
/// reserves its positions on the shard row, which it holds until it commits, so positions are committed in order
/// whichever node puts; arrival times never go back within a shard, whatever the nodes' clocks say.
extension PostgresStore: StreamStore {
    static let streamColumns = "id, name, shard_count, retention_hours, mode, created_at, tags"

    /// A stream from its row (`streamColumns`), with its shards.
    static func streamInfo(_ connection: PostgresConnection, _ row: PostgresRow) async throws -> StreamInfo {
        let (id, name, shardCount, retention, mode, createdAt, tags) = try row.decode((Int64, String, Int, Int, String, Int64, String).self)
        return StreamInfo(id: id, name: name, shardCount: shardCount, retentionHours: retention, mode: mode, createdAt: createdAt,
                          tags: ColumnJSON.decode([String: String].self, tags) ?? [:],
                          shards: try await shards(connection, streamID: id, stream: (createdAt, shardCount)))
    }

    static func shards(_ connection: PostgresConnection, streamID: Int64, stream: (createdAt: Millis, shardCount: Int)) async throws -> [ShardInfo] {
        try await connection.rows("""
            SELECT shard_index, hash_start, hash_end, parent_index, adjacent_parent_index, created_at, closed_at, next_position
            FROM stream_shard WHERE stream_id = \(streamID) ORDER BY shard_index
            """).map { row in
            let (index, start, end, parent, adjacent, created, closed, next) =
                try row.decode((Int, String?, String?, Int?, Int?, Int64?, Int64?, Int64).self)
            return ShardInfo.stored(index: index, hashStart: start, hashEnd: end, parent: parent, adjacentParent: adjacent, createdAt: created,
                                    closedAt: closed, nextPosition: next, stream: stream)
        }
    }

    /// Every shard index of a stream, open and closed.
    static func shardIndices(_ connection: PostgresConnection, streamID: Int64) async throws -> [Int] {
        try await connection.rows("SELECT shard_index FROM stream_shard WHERE stream_id = \(streamID) ORDER BY shard_index").map { try $0.decode(Int.self) }
    }

    static let checkpointColumns = "stream_id, shard_index, lane, position, epoch, window_start, window_state, retry_state"

    static func checkpoint(_ row: PostgresRow) throws -> StreamCheckpointRow {
        let (streamID, shard, lane, position, epoch, windowStart, windowState, retryState) =
            try row.decode((Int64, Int, Int, Int64, Int64, Int64?, String?, String?).self)
        return StreamCheckpointRow(streamID: streamID, shardIndex: shard, lane: lane, position: position, epoch: epoch,
                                   windowStart: windowStart, windowState: windowState, retryState: retryState)
    }

    package func createStream(_ params: CreateStreamParams) async throws -> StreamInfo {
        let inUse = SpoolError(.resourceInUse, "Stream \(params.name) already exists.")
        return try await transaction(conflict: inUse) { connection in
            guard let id = try await connection.value("""
                INSERT INTO stream (name, shard_count, retention_hours, mode, tags, created_at)
                VALUES (\(params.name), \(params.shardCount), \(StreamLimits.defaultRetentionHours), \(params.mode), \(ColumnJSON.encode(params.tags)), \(params.now))
                RETURNING id
                """, as: Int64.self) else { throw inUse }
            try await connection.run("""
                INSERT INTO stream_shard (stream_id, shard_index) SELECT \(id), i FROM generate_series(0, \(params.shardCount - 1)) AS i
                """)
            return StreamInfo(id: id, name: params.name, shardCount: params.shardCount, retentionHours: StreamLimits.defaultRetentionHours,
                              mode: params.mode, createdAt: params.now, tags: params.tags)
        }
    }

    package func stream(named name: String) async throws -> StreamInfo? {
        try await read { connection in
            guard let row = try await connection.first("SELECT \(unescaped: Self.streamColumns) FROM stream WHERE name = \(name) AND deleted_at IS NULL")
            else { return nil }
            return try await Self.streamInfo(connection, row)
        }
    }

    package func listStreams(after: String?, limit: Int) async throws -> [StreamInfo] {
        try await read { connection in
            var streams: [StreamInfo] = []
            for row in try await connection.rows("""
                SELECT \(unescaped: Self.streamColumns) FROM stream WHERE deleted_at IS NULL AND name > \(after ?? "") ORDER BY name LIMIT \(limit)
                """) {
                streams.append(try await Self.streamInfo(connection, row))
            }
            return streams
        }
    }

    package func deleteStream(name: String, now: Millis) async throws -> Bool {
        try await transaction { connection in
            try await connection.count("UPDATE stream SET deleted_at = \(now) WHERE name = \(name) AND deleted_at IS NULL RETURNING 1") == 1
        }
    }

    package func setStreamRetention(name: String, hours: Int) async throws {
        try await transaction { connection in
            try await connection.run("UPDATE stream SET retention_hours = \(hours) WHERE name = \(name) AND deleted_at IS NULL")
        }
    }

    package func tagStream(name: String, tags: [String: String], account: String) async throws {
        try await transaction { connection in
            guard let row = try await connection.first("SELECT id, tags FROM stream WHERE name = \(name) AND deleted_at IS NULL FOR UPDATE") else {
                throw SpoolError(.resourceNotFound, "Stream \(name) under account \(account) not found.")
            }
            let (id, text) = try row.decode((Int64, String).self)
            let existing = ColumnJSON.decode([String: String].self, text) ?? [:]
            try StreamTags.validate(tags, existing: existing, stream: name, account: account)
            try await connection.run("UPDATE stream SET tags = \(ColumnJSON.encode(existing.merging(tags) { $1 })) WHERE id = \(id)")
        }
    }

    package func untagStream(name: String, keys: [String]) async throws {
        try await transaction { connection in
            guard let row = try await connection.first("SELECT id, tags FROM stream WHERE name = \(name) AND deleted_at IS NULL FOR UPDATE") else {
                return
            }
            let (id, text) = try row.decode((Int64, String).self)
            var tags = ColumnJSON.decode([String: String].self, text) ?? [:]
            for key in keys { tags.removeValue(forKey: key) }
            try await connection.run("UPDATE stream SET tags = \(ColumnJSON.encode(tags)) WHERE id = \(id)")
        }
    }

    package func putRecords(_ params: PutRecordsParams) async throws -> [Int64] {
        try await transaction { connection in try await Self.append(connection, streamID: params.streamID, records: params.records, now: params.now) }
    }

    /// Appends records inside a transaction: each shard's positions (and arrival time) are reserved in one statement,
    /// shards in index order so that two puts never wait on each other in a cycle; the records go in one statement.
    static func append(_ connection: PostgresConnection, streamID: Int64, records: [NewStreamRecord], now: Millis) async throws -> [Int64] {
        var counts: [Int: Int64] = [:]
        for record in records { counts[record.shardIndex, default: 0] += 1 }
        var next: [Int: Int64] = [:]
        var arrival: [Int: Int64] = [:]
        for (shard, count) in counts.sorted(by: { $0.key < $1.key }) {
            guard let row = try await connection.first("""
                UPDATE stream_shard SET next_position = next_position + \(count), last_arrival = GREATEST(last_arrival, \(now))
                WHERE stream_id = \(streamID) AND shard_index = \(shard) AND closed_at IS NULL
                  AND EXISTS (SELECT 1 FROM stream WHERE id = \(streamID) AND deleted_at IS NULL)
                RETURNING next_position - \(count), last_arrival
                """) else {
                // A reshard closed the shard since the caller routed the record: it routes again on the stream as it is now.
                if try await connection.value("SELECT true FROM stream WHERE id = \(streamID) AND deleted_at IS NULL", as: Bool.self) == true {
                    throw StreamStoreError.shardClosed
                }
                throw SpoolError(.resourceNotFound, "The stream does not exist.")
            }
            (next[shard], arrival[shard]) = try row.decode((Int64, Int64).self)
        }
        var positions: [Int64] = []
        var shards: [Int] = []
        var keys: [String] = []
        var data: [ByteBuffer] = []
        var arrivals: [Int64] = []
        positions.reserveCapacity(records.count)
        for record in records {
            let position = next[record.shardIndex]!
            next[record.shardIndex] = position + 1
            positions.append(position)
            shards.append(record.shardIndex)
            keys.append(record.partitionKey)
            data.append(ByteBuffer(bytes: record.data))
            arrivals.append(arrival[record.shardIndex]!)
        }
        try await connection.run("""
            INSERT INTO stream_record (stream_id, shard_index, position, partition_key, data, arrival_at)
            SELECT \(streamID), * FROM unnest(\(shards)::INTEGER[], \(positions)::BIGINT[], \(keys)::TEXT[], \(data)::BYTEA[], \(arrivals)::BIGINT[])
            """)
        return positions
    }

    package func readRecords(_ params: ReadRecordsParams) async throws -> [StreamRecord] {
        try await read { connection in
            let rows = try await connection.query("""
                SELECT position, partition_key, data, arrival_at FROM stream_record
                WHERE stream_id = \(params.streamID) AND shard_index = \(params.shardIndex) AND position > \(params.afterPosition)
                  AND arrival_at >= \(params.notBefore)
                ORDER BY position LIMIT \(params.limit)
                """, logger: statementLogger)
            var records: [StreamRecord] = []
            var bytes = 0
            for try await row in rows {
                let (position, key, data, arrival) = try row.decode((Int64, String, ByteBuffer, Int64).self)
                bytes += data.readableBytes + key.utf8.count
                if !records.isEmpty && bytes > params.maximumBytes { break }
                records.append(StreamRecord(shardIndex: params.shardIndex, position: position, partitionKey: key,
                                            data: Data(data.readableBytesView), arrivalMillis: arrival))
            }
            return records
        }
    }

    package func shardExtents(streamID: Int64, notBefore: Millis) async throws -> [ShardExtent] {
        try await read { connection in
            try await connection.rows("""
                SELECT sh.shard_index, sh.next_position,
                  (SELECT position FROM stream_record r WHERE r.stream_id = sh.stream_id AND r.shard_index = sh.shard_index AND r.arrival_at >= \(notBefore)
                   ORDER BY position LIMIT 1),
                  (SELECT arrival_at FROM stream_record r WHERE r.stream_id = sh.stream_id AND r.shard_index = sh.shard_index ORDER BY position DESC LIMIT 1)
                FROM stream_shard sh WHERE sh.stream_id = \(streamID) ORDER BY sh.shard_index
                """).map { row in
                let (shard, next, first, last) = try row.decode((Int, Int64, Int64?, Int64?).self)
                return ShardExtent(shardIndex: shard, firstPosition: first, nextPosition: next, lastArrival: last)
            }
        }
    }

    package func position(before timestamp: Millis, streamID: Int64, shardIndex: Int) async throws -> Int64 {
        try await read { connection in try await Self.position(connection, before: timestamp, streamID: streamID, shardIndex: shardIndex) }
    }

    /// Arrival times grow with positions, so the first record at or after the time is found by walking the shard in
    /// order; -1 when every record is at or after it.
    static func position(_ connection: PostgresConnection, before timestamp: Millis, streamID: Int64, shardIndex: Int) async throws -> Int64 {
        if let first = try await connection.value("""
            SELECT position FROM stream_record WHERE stream_id = \(streamID) AND shard_index = \(shardIndex) AND arrival_at >= \(timestamp)
            ORDER BY position LIMIT 1
            """, as: Int64.self) {
            return first - 1
        }
        return try await connection.value(
            "SELECT next_position FROM stream_shard WHERE stream_id = \(streamID) AND shard_index = \(shardIndex)", as: Int64.self
        ).map { $0 - 1 } ?? -1
    }

    package func checkpoints(mappingUUID: String) async throws -> [StreamCheckpointRow] {
        try await read { connection in
            try await connection.rows("""
                SELECT \(unescaped: Self.checkpointColumns) FROM stream_checkpoint WHERE mapping_uuid = \(mappingUUID) ORDER BY shard_index, lane
                """).map(Self.checkpoint)
        }
    }

    package func takeCheckpoints(mappingUUID: String, shards: Set<Int>?) async throws -> [StreamCheckpointRow] {
        try await transaction { [epochFloor] connection in
            try await connection.rows("""
                UPDATE stream_checkpoint SET epoch = GREATEST(epoch + 1, \(epochFloor))
                WHERE mapping_uuid = \(mappingUUID) AND (\(shards == nil) OR shard_index = ANY(\(shards.map { $0.sorted() } ?? [])::int[]))
                RETURNING \(unescaped: Self.checkpointColumns)
                """).map(Self.checkpoint).sorted { ($0.shardIndex, $0.lane) < ($1.shardIndex, $1.lane) }
        }
    }

    package func startCheckpoints(mappingUUID: String, streamID: Int64, settings: StreamMappingSettings) async throws -> [StreamCheckpointRow] {
        try await transaction { [epochFloor] connection in
            guard try await connection.value("SELECT true FROM stream WHERE id = \(streamID) AND deleted_at IS NULL", as: Bool.self) == true,
                  try await connection.value(
                    "SELECT true FROM event_source_mapping WHERE uuid = \(mappingUUID) AND state <> 'Deleting' FOR UPDATE", as: Bool.self
                  ) == true
            else { return [] }
            let rows = try await Self.initialCheckpoints(connection, streamID: streamID, settings: settings).map { row in
                var row = row
                row.epoch = epochFloor
                return row
            }
            try await Self.replaceCheckpoints(connection, mappingUUID: mappingUUID, rows: rows)
            return rows
        }
    }

    static func replaceCheckpoints(_ connection: PostgresConnection, mappingUUID: String, rows: [StreamCheckpointRow]) async throws {
        try await connection.run("DELETE FROM stream_checkpoint WHERE mapping_uuid = \(mappingUUID)")
        for row in rows {
            try await connection.run("""
                INSERT INTO stream_checkpoint (mapping_uuid, stream_id, shard_index, lane, position, epoch, window_start, window_state)
                VALUES (\(mappingUUID), \(row.streamID), \(row.shardIndex), \(row.lane), \(row.position), \(row.epoch), \(row.windowStart), \(row.windowState))
                """)
        }
    }

    /// The first checkpoints of a stream mapping: every shard and lane at the mapping's starting position.
    static func initialCheckpoints(_ connection: PostgresConnection, streamID: Int64, settings: StreamMappingSettings) async throws -> [StreamCheckpointRow] {
        var rows: [StreamCheckpointRow] = []
        for shard in try await shardIndices(connection, streamID: streamID) {
            let position: Int64
            switch settings.startingPosition {
            case .trimHorizon: position = -1
            case .latest: position = try await Self.position(connection, before: .max, streamID: streamID, shardIndex: shard)
            case .atTimestamp:
                position = try await Self.position(connection, before: settings.startingPositionTimestamp ?? 0, streamID: streamID, shardIndex: shard)
            }
            for lane in 0..<settings.parallelizationFactor {
                rows.append(StreamCheckpointRow(streamID: streamID, shardIndex: shard, lane: lane, position: position))
            }
        }
        return rows
    }

    package func settleStreamBatch(_ params: SettleStreamBatchParams) async throws -> SettleOutcome {
        try await transaction { connection in
            let window: PostgresQuery = switch params.window {
            case .keep: "window_start = window_start"
            case .open(let start, let state): "window_start = \(start), window_state = \(state)"
            case .close: "window_start = NULL, window_state = NULL"
            }
            var binds = window.binds
            try binds.append(params.newPosition)
            try binds.append(params.retryState)
            try binds.append(params.mappingUUID)
            try binds.append(params.shardIndex)
            try binds.append(params.lane)
            try binds.append(params.expectedPosition)
            try binds.append(params.expectedEpoch)
            let n = window.binds.count
            let changed = try await connection.count(PostgresQuery(unsafeSQL: """
                UPDATE stream_checkpoint SET \(window.sql), position = $\(n + 1), retry_state = $\(n + 2)
                WHERE mapping_uuid = $\(n + 3) AND shard_index = $\(n + 4) AND lane = $\(n + 5) AND position = $\(n + 6) AND epoch = $\(n + 7)
                RETURNING 1
                """, binds: binds))
            guard changed == 1 else { return SettleOutcome(settled: false) }
            if let result = params.result {
                try await connection.run(
                    "UPDATE event_source_mapping SET last_result = \(result) WHERE uuid = \(params.mappingUUID) AND last_result <> \(result)"
                )
            }
            var outcome = SettleOutcome(settled: true)
            for effect in params.effects { try await Self.apply(effect, connection, now: params.now, origin: params.origin, outcome: &outcome) }
            return outcome
        }
    }

    package func trimStreams(now: Millis, limit: Int) async throws -> Int {
        try await transaction { connection in
            var removed = 0
            for row in try await connection.rows("SELECT id, retention_hours, deleted_at FROM stream") {
                guard removed < limit else { break }
                let (id, retention, deletedAt) = try row.decode((Int64, Int64, Int64?).self)
                let cutoff = deletedAt != nil ? Millis.max : now - retention * 3_600_000
                for shard in try await Self.shardIndices(connection, streamID: id) where removed < limit {
                    removed += try await connection.count("""
                        DELETE FROM stream_record WHERE id IN (
                          SELECT id FROM stream_record WHERE stream_id = \(id) AND shard_index = \(shard) ORDER BY position LIMIT \(limit - removed)
                          FOR UPDATE SKIP LOCKED
                        ) AND arrival_at < \(cutoff)
                        RETURNING 1
                        """)
                }
                if deletedAt != nil, try await connection.value("SELECT true FROM stream_record WHERE stream_id = \(id) LIMIT 1", as: Bool.self) != true {
                    try await connection.run("DELETE FROM stream_shard WHERE stream_id = \(id)")
                    try await connection.run("DELETE FROM stream_consumer WHERE stream_id = \(id)")
                    try await connection.run("DELETE FROM stream_resource_policy WHERE stream_id = \(id)")
                    try await connection.run("DELETE FROM stream WHERE id = \(id)")
                }
            }
            return removed
        }
    }

    package func setStreamResourcePolicy(streamID: Int64, policy: String?) async throws {
        try await transaction { connection in
            if let policy {
                try await connection.run("""
                    INSERT INTO stream_resource_policy (stream_id, policy) VALUES (\(streamID), \(policy))
                    ON CONFLICT (stream_id) DO UPDATE SET policy = EXCLUDED.policy
                    """)
            } else {
                try await connection.run("DELETE FROM stream_resource_policy WHERE stream_id = \(streamID)")
            }
        }
    }

    package func streamResourcePolicy(streamID: Int64) async throws -> String? {
        try await read { connection in
            try await connection.value("SELECT policy FROM stream_resource_policy WHERE stream_id = \(streamID)", as: String.self)
        }
    }

    package func registerStreamConsumer(streamID: Int64, name: String, now: Millis, limit: Int) async throws -> ConsumerRegistration {
        try await transaction { connection in
            // The stream's row serializes registrations, so that two nodes cannot pass the limit together.
            try await connection.run("SELECT id FROM stream WHERE id = \(streamID) FOR UPDATE")
            let names = try await connection.rows("SELECT name FROM stream_consumer WHERE stream_id = \(streamID)").map { try $0.decode(String.self) }
            if names.contains(name) { return .nameInUse }
            if names.count >= limit { return .limitReached }
            try await connection.run("INSERT INTO stream_consumer (stream_id, name, created_at) VALUES (\(streamID), \(name), \(now))")
            return .registered(StreamConsumer(streamID: streamID, name: name, createdAt: now))
        }
    }

    package func streamConsumers(streamID: Int64) async throws -> [StreamConsumer] {
        try await read { connection in
            try await connection.rows("SELECT name, created_at FROM stream_consumer WHERE stream_id = \(streamID) ORDER BY name").map {
                let (name, createdAt) = try $0.decode((String, Int64).self)
                return StreamConsumer(streamID: streamID, name: name, createdAt: createdAt)
            }
        }
    }

    package func deregisterStreamConsumer(streamID: Int64, name: String) async throws -> Bool {
        try await transaction { connection in
            try await connection.count("DELETE FROM stream_consumer WHERE stream_id = \(streamID) AND name = \(name) RETURNING 1") == 1
        }
    }

    package func reshard(_ params: ReshardParams) async throws -> ReshardOutcome {
        try await transaction { connection in
            // The stream's row serializes reshards (and waits for the puts holding its shards' rows).
            guard let row = try await connection.first(
                "SELECT shard_count, created_at FROM stream WHERE id = \(params.streamID) AND deleted_at IS NULL FOR UPDATE"
            ) else { throw SpoolError(.resourceNotFound, "The stream does not exist.") }
            let (shardCount, createdAt) = try row.decode((Int, Int64).self)
            let current = try await Self.shards(connection, streamID: params.streamID, stream: (createdAt, shardCount))
            if let refusal = params.refusal(current: current) { return refusal }
            // The first reshard writes down the creation split's ranges, which `shard_count` no longer gives.
            for shard in current {
                let range = shard.storedRange
                try await connection.run("""
                    UPDATE stream_shard SET hash_start = \(range.start), hash_end = \(range.end)
                    WHERE stream_id = \(params.streamID) AND shard_index = \(shard.index) AND hash_start IS NULL
                    """)
            }
            for index in params.closing {
                try await connection.run("UPDATE stream_shard SET closed_at = \(params.now) WHERE stream_id = \(params.streamID) AND shard_index = \(index)")
            }
            for shard in params.creating {
                let range = shard.hashRange.storedText
                let closedAt: Int64? = shard.closed ? params.now : nil
                try await connection.run("""
                    INSERT INTO stream_shard (stream_id, shard_index, hash_start, hash_end, parent_index, adjacent_parent_index, created_at, closed_at)
                    VALUES (\(params.streamID), \(shard.index), \(range.start), \(range.end), \(shard.parent), \(shard.adjacentParent), \(params.now), \(closedAt))
                    """)
            }
            try await connection.run(
                "UPDATE stream SET shard_count = \(params.openCount(after: current)) WHERE id = \(params.streamID)")
            // Every mapping of the stream reads the new shards from their start, with as many lanes as it has.
            let mappings = try await connection.rows("""
                SELECT mapping_uuid, max(lane) + 1 FROM stream_checkpoint WHERE stream_id = \(params.streamID) GROUP BY mapping_uuid
                """).map { try $0.decode((String, Int).self) }
            for (mapping, lanes) in mappings {
                for shard in params.creating {
                    for lane in 0..<lanes {
                        try await connection.run("""
                            INSERT INTO stream_checkpoint (mapping_uuid, stream_id, shard_index, lane, position)
                            VALUES (\(mapping), \(params.streamID), \(shard.index), \(lane), -1) ON CONFLICT DO NOTHING
                            """)
                    }
                }
            }
            return .done
        }
    }
}
