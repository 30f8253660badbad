import Foundation
import GRDB
import SpoolModel
import SpoolStorage

/// Event source mappings, one row each.
extension SQLiteStore: MappingStore {
    package func createMapping(_ mapping: EventSourceMapping) async throws -> EventSourceMapping {
        try await write { db in
            try Self.refuseDuplicate(db, of: mapping)
            try db.execute(sql: """
                INSERT INTO event_source_mapping (uuid, function_name, function_qualifier, source_arn, state, state_reason, enabled,
                  batch_size, window_seconds, response_types, filters, maximum_concurrency, stream_settings, created_at, last_modified)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: Self.columns(mapping) + [mapping.lastModified, mapping.lastModified])
            if let stream = mapping.settings.stream {
                // The starting position is resolved now, so that LATEST means the records put after this call.
                guard let row = try Row.fetchOne(db, sql: "SELECT id FROM stream WHERE name = ? AND deleted_at IS NULL",
                                                 arguments: [Self.streamName(mapping.sourceARN)]) else {
                    throw SpoolError(.invalidParameterValue, "Stream not found: \(mapping.sourceARN)")
                }
                try Self.replaceCheckpoints(db, mappingUUID: mapping.uuid, rows: try Self.initialCheckpoints(
                    db, streamID: row["id"], settings: stream))
            }
            return mapping
        }
    }

    package func mapping(uuid: String) async throws -> EventSourceMapping? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM event_source_mapping WHERE uuid = ?", arguments: [uuid]).map(Self.mapping)
        }
    }

    package func listMappings(_ params: ListMappingsParams) async throws -> [EventSourceMapping] {
        try await read { db in
            var clauses = ["uuid > ?"]
            var arguments: StatementArguments = [params.afterUUID ?? ""]
            if let function = params.functionName {
                clauses.append("function_name = ?")
                _ = arguments.append(contentsOf: [function])
            }
            if let source = params.sourceARN {
                clauses.append("source_arn = ?")
                _ = arguments.append(contentsOf: [source])
            }
            _ = arguments.append(contentsOf: [params.limit])
            return try Row.fetchAll(
                db, sql: "SELECT * FROM event_source_mapping WHERE \(clauses.joined(separator: " AND ")) ORDER BY uuid LIMIT ?",
                arguments: arguments
            ).map(Self.mapping)
        }
    }

    package func updateMapping(_ params: UpdateMappingParams) async throws -> EventSourceMapping? {
        try await write { db in
            guard var mapping = try Row.fetchOne(db, sql: "SELECT * FROM event_source_mapping WHERE uuid = ?", arguments: [params.uuid])
                .map(Self.mapping)
            else { return nil }
            let before = mapping
            try params.change(&mapping)
            if mapping.functionName != before.functionName { try Self.refuseDuplicate(db, of: mapping) }
            mapping.lastModified = params.now
            try db.execute(sql: """
                UPDATE event_source_mapping SET function_name = ?2, function_qualifier = ?3, source_arn = ?4, state = ?5, state_reason = ?6,
                  enabled = ?7, batch_size = ?8, window_seconds = ?9, response_types = ?10, filters = ?11, maximum_concurrency = ?12,
                  stream_settings = ?13, last_modified = ?14
                WHERE uuid = ?1
                """, arguments: Self.columns(mapping) + [mapping.lastModified])
            if let factor = mapping.settings.stream?.parallelizationFactor, factor != before.settings.stream?.parallelizationFactor {
                try Self.regroupLanes(db, mappingUUID: mapping.uuid, factor: factor)
            }
            if mapping.state == .deleting {
                try db.execute(sql: "DELETE FROM stream_checkpoint WHERE mapping_uuid = ?", arguments: [mapping.uuid])
            }
            return mapping
        }
    }

    package func settleMapping(uuid: String, from: MappingState, to: MappingState, now: Millis) async throws -> Bool {
        try await write { db in
            try db.execute(sql: "UPDATE event_source_mapping SET state = ? WHERE uuid = ? AND state = ?",
                           arguments: [to.rawValue, uuid, from.rawValue])
            return db.changesCount == 1
        }
    }

    package func removeMapping(uuid: String) async throws {
        try await write { db in
            try db.execute(sql: "DELETE FROM event_source_mapping WHERE uuid = ? AND state = 'Deleting'", arguments: [uuid])
            if db.changesCount == 1 { try db.execute(sql: "DELETE FROM stream_checkpoint WHERE mapping_uuid = ?", arguments: [uuid]) }
        }
    }

    /// A new ParallelizationFactor regroups partition keys into lanes (see `MappingStoreRules.regrouped`).
    static func regroupLanes(_ db: Database, mappingUUID: String, factor: Int) throws {
        let shards = try Row.fetchAll(db, sql: """
            SELECT stream_id, shard_index, min(position) AS position, max(epoch) AS epoch FROM stream_checkpoint
            WHERE mapping_uuid = ? GROUP BY shard_index
            """, arguments: [mappingUUID]).map { row -> (streamID: Int64, shardIndex: Int, position: Int64, epoch: Int64) in
            (row["stream_id"], row["shard_index"], row["position"], row["epoch"])
        }
        try replaceCheckpoints(db, mappingUUID: mappingUUID, rows: MappingStoreRules.regrouped(shards, factor: factor))
    }

    static func streamName(_ arn: String) -> String { MappingStoreRules.streamName(arn) }

    /// One mapping per source and function, as Lambda allows; the conflict names the mapping that exists.
    static func refuseDuplicate(_ db: Database, of mapping: EventSourceMapping) throws {
        guard let existing = try String.fetchOne(
            db, sql: "SELECT uuid FROM event_source_mapping WHERE function_name = ? AND source_arn = ? AND uuid != ?",
            arguments: [mapping.functionName, mapping.sourceARN, mapping.uuid]
        ) else { return }
        throw MappingStoreRules.duplicate(mapping, existing: existing)
    }

    /// The columns from `uuid` to `stream_settings`, in table order.
    static func columns(_ mapping: EventSourceMapping) -> StatementArguments {
        let settings = mapping.settings
        return [
            mapping.uuid, mapping.functionName, mapping.functionQualifier, mapping.sourceARN, mapping.state.rawValue,
            mapping.stateTransitionReason, mapping.enabled, settings.batchSize, settings.maximumBatchingWindowSeconds,
            ColumnJSON.encode(settings.functionResponseTypes), ColumnJSON.encode(settings.filters), settings.maximumConcurrency,
            settings.stream.map { ColumnJSON.encode($0) },
        ]
    }

    static func mapping(_ row: Row) -> EventSourceMapping {
        MappingStoreRules.mapping(
            uuid: row["uuid"], functionName: row["function_name"], functionQualifier: row["function_qualifier"], sourceARN: row["source_arn"],
            state: row["state"], stateReason: row["state_reason"], enabled: row["enabled"], batchSize: row["batch_size"],
            windowSeconds: row["window_seconds"], responseTypes: row["response_types"], filters: row["filters"],
            maximumConcurrency: row["maximum_concurrency"], streamSettings: row["stream_settings"], lastModified: row["last_modified"],
            lastResult: row["last_result"]
        )
    }
}
