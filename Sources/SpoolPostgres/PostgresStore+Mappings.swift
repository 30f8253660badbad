import PostgresNIO
import SpoolModel
import SpoolStorage

/// Event source mappings, one row each. The one-mapping-per-source-and-function rule is checked under a transaction
/// lock on the source, so two nodes creating the same mapping at once cannot both succeed.
extension PostgresStore: MappingStore {
    static let mappingColumns = """
        uuid, function_name, function_qualifier, source_arn, state, state_reason, enabled, batch_size, window_seconds, response_types,
        filters, maximum_concurrency, stream_settings, last_modified, last_result
        """

    static func mapping(_ row: PostgresRow) throws -> EventSourceMapping {
        let (uuid, function, qualifier, source, state, reason, enabled, batchSize, window, responseTypes, filters, maximumConcurrency,
             streamSettings, lastModified, lastResult) =
            try row.decode((String, String, String?, String, String, String, Bool, Int, Int, String, String, Int?, String?, Int64, String).self)
        return MappingStoreRules.mapping(
            uuid: uuid, functionName: function, functionQualifier: qualifier, sourceARN: source, state: state, stateReason: reason,
            enabled: enabled, batchSize: batchSize, windowSeconds: window, responseTypes: responseTypes, filters: filters,
            maximumConcurrency: maximumConcurrency, streamSettings: streamSettings, lastModified: lastModified, lastResult: lastResult
        )
    }

    /// One mapping per source and function, as Lambda allows; the conflict names the mapping that exists.
    static func refuseDuplicate(_ connection: PostgresConnection, of mapping: EventSourceMapping) async throws {
        try await connection.run("SELECT pg_advisory_xact_lock(hashtextextended(\(mapping.sourceARN), 0))")
        guard let existing = try await connection.value("""
            SELECT uuid FROM event_source_mapping WHERE function_name = \(mapping.functionName) AND source_arn = \(mapping.sourceARN)
              AND uuid <> \(mapping.uuid)
            """, as: String.self) else { return }
        throw MappingStoreRules.duplicate(mapping, existing: existing)
    }

    package func createMapping(_ mapping: EventSourceMapping) async throws -> EventSourceMapping {
        try await transaction { connection in
            try await Self.refuseDuplicate(connection, of: mapping)
            let settings = mapping.settings
            try await connection.run("""
                INSERT INTO event_source_mapping (uuid, function_name, function_qualifier, source_arn, state, state_reason, enabled, batch_size,
                  window_seconds, response_types, filters, maximum_concurrency, stream_settings, created_at, last_modified)
                VALUES (\(mapping.uuid), \(mapping.functionName), \(mapping.functionQualifier), \(mapping.sourceARN), \(mapping.state.rawValue),
                  \(mapping.stateTransitionReason), \(mapping.enabled), \(settings.batchSize), \(settings.maximumBatchingWindowSeconds),
                  \(ColumnJSON.encode(settings.functionResponseTypes)), \(ColumnJSON.encode(settings.filters)), \(settings.maximumConcurrency),
                  \(settings.stream.map { ColumnJSON.encode($0) }), \(mapping.lastModified), \(mapping.lastModified))
                """)
            if let stream = settings.stream {
                // The starting position is resolved now, so that LATEST means the records put after this call.
                guard let row = try await connection.first(
                    "SELECT id FROM stream WHERE name = \(MappingStoreRules.streamName(mapping.sourceARN)) AND deleted_at IS NULL"
                ) else {
                    throw SpoolError(.invalidParameterValue, "Stream not found: \(mapping.sourceARN)")
                }
                let streamID = try row.decode(Int64.self)
                try await Self.replaceCheckpoints(connection, mappingUUID: mapping.uuid, rows: try await Self.initialCheckpoints(
                    connection, streamID: streamID, settings: stream))
            }
            return mapping
        }
    }

    package func mapping(uuid: String) async throws -> EventSourceMapping? {
        try await read { connection in
            try await connection.first("SELECT \(unescaped: Self.mappingColumns) FROM event_source_mapping WHERE uuid = \(uuid)").map(Self.mapping)
        }
    }

    package func listMappings(_ params: ListMappingsParams) async throws -> [EventSourceMapping] {
        try await read { connection in
            var conditions = Conditions()
            try conditions.add("uuid > ?", params.afterUUID ?? "")
            if let function = params.functionName { try conditions.add("function_name = ?", function) }
            if let source = params.sourceARN { try conditions.add("source_arn = ?", source) }
            let limit = try conditions.bind(params.limit)
            return try await connection.rows(conditions.query("SELECT \(Self.mappingColumns) FROM event_source_mapping", "ORDER BY uuid LIMIT \(limit)"))
                .map(Self.mapping)
        }
    }

    package func updateMapping(_ params: UpdateMappingParams) async throws -> EventSourceMapping? {
        try await transaction { connection in
            guard var mapping = try await connection.first(
                "SELECT \(unescaped: Self.mappingColumns) FROM event_source_mapping WHERE uuid = \(params.uuid) FOR UPDATE"
            ).map(Self.mapping) else { return nil }
            let before = mapping
            try params.change(&mapping)
            if mapping.functionName != before.functionName { try await Self.refuseDuplicate(connection, of: mapping) }
            mapping.lastModified = params.now
            let settings = mapping.settings
            try await connection.run("""
                UPDATE event_source_mapping SET function_name = \(mapping.functionName), function_qualifier = \(mapping.functionQualifier),
                  source_arn = \(mapping.sourceARN), state = \(mapping.state.rawValue), state_reason = \(mapping.stateTransitionReason),
                  enabled = \(mapping.enabled), batch_size = \(settings.batchSize), window_seconds = \(settings.maximumBatchingWindowSeconds),
                  response_types = \(ColumnJSON.encode(settings.functionResponseTypes)), filters = \(ColumnJSON.encode(settings.filters)),
                  maximum_concurrency = \(settings.maximumConcurrency), stream_settings = \(settings.stream.map { ColumnJSON.encode($0) }),
                  last_modified = \(mapping.lastModified)
                WHERE uuid = \(mapping.uuid)
                """)
            if let factor = settings.stream?.parallelizationFactor, factor != before.settings.stream?.parallelizationFactor {
                let shards = try await connection.rows("""
                    SELECT min(stream_id), shard_index, min(position), max(epoch) FROM stream_checkpoint
                    WHERE mapping_uuid = \(mapping.uuid) GROUP BY shard_index ORDER BY shard_index
                    """).map { row -> (streamID: Int64, shardIndex: Int, position: Int64, epoch: Int64) in
                    let (stream, shard, position, epoch) = try row.decode((Int64, Int, Int64, Int64).self)
                    return (stream, shard, position, epoch)
                }
                try await Self.replaceCheckpoints(connection, mappingUUID: mapping.uuid, rows: MappingStoreRules.regrouped(shards, factor: factor))
            }
            if mapping.state == .deleting {
                try await connection.run("DELETE FROM stream_checkpoint WHERE mapping_uuid = \(mapping.uuid)")
            }
            return mapping
        }
    }

    package func settleMapping(uuid: String, from: MappingState, to: MappingState, now: Millis) async throws -> Bool {
        try await transaction { connection in
            try await connection.count(
                "UPDATE event_source_mapping SET state = \(to.rawValue) WHERE uuid = \(uuid) AND state = \(from.rawValue) RETURNING 1"
            ) == 1
        }
    }

    package func removeMapping(uuid: String) async throws {
        try await transaction { connection in
            if try await connection.count("DELETE FROM event_source_mapping WHERE uuid = \(uuid) AND state = 'Deleting' RETURNING 1") == 1 {
                try await connection.run("DELETE FROM stream_checkpoint WHERE mapping_uuid = \(uuid)")
            }
        }
    }
}
