import PostgresNIO
import SpoolModel
import SpoolStorage

/// Layer versions. Publishing locks the layer's counter row, so two nodes publishing at once number one after the other.
extension PostgresStore: LayerStore {
    package func publishLayerVersion(_ layer: LayerVersion) async throws -> LayerVersion {
        try await transaction { connection in
            let number = try await connection.value("""
                INSERT INTO layer_version_counter (layer_name, last_version) VALUES (\(layer.layerName), 1)
                ON CONFLICT (layer_name) DO UPDATE SET last_version = layer_version_counter.last_version + 1
                RETURNING last_version
                """, as: Int.self) ?? 1
            var published = layer
            published.version = number
            try await connection.run("""
                INSERT INTO layer_version (layer_name, version, layer) VALUES (\(layer.layerName), \(number), \(ColumnJSON.encode(published)))
                """)
            return published
        }
    }

    package func layerVersion(_ name: String, version: Int) async throws -> LayerVersion? {
        try await read { connection in
            try await connection.value("SELECT layer FROM layer_version WHERE layer_name = \(name) AND version = \(version)", as: String.self)
                .flatMap(FunctionStoreRules.layer)
        }
    }

    package func layerVersions(_ name: String, before: Int?, limit: Int) async throws -> [LayerVersion] {
        try await read { connection in
            try await connection.rows("""
                SELECT layer FROM layer_version WHERE layer_name = \(name) AND version < \(before ?? Int(Int32.max)) ORDER BY version DESC LIMIT \(limit)
                """).compactMap { FunctionStoreRules.layer(try $0.decode(String.self)) }
        }
    }

    package func latestLayerVersions(after: String?, limit: Int) async throws -> [LayerVersion] {
        try await read { connection in
            try await connection.rows("""
                SELECT DISTINCT ON (layer_name) layer FROM layer_version WHERE layer_name > \(after ?? "")
                ORDER BY layer_name, version DESC LIMIT \(limit)
                """).compactMap { FunctionStoreRules.layer(try $0.decode(String.self)) }
        }
    }

    package func deleteLayerVersion(_ name: String, version: Int) async throws -> LayerVersion? {
        try await transaction { connection in
            try await connection.value("DELETE FROM layer_version WHERE layer_name = \(name) AND version = \(version) RETURNING layer", as: String.self)
                .flatMap(FunctionStoreRules.layer)
        }
    }

    package func setLayerPolicy(_ name: String, version: Int, statements: [LayerVersion.Statement], revisionID: String, expectedRevision: String?)
        async throws -> LayerVersion
    {
        try await transaction { connection in
            guard var layer = try await connection.value(
                "SELECT layer FROM layer_version WHERE layer_name = \(name) AND version = \(version) FOR UPDATE", as: String.self
            ).flatMap(FunctionStoreRules.layer) else {
                throw FunctionStoreRules.layerVersionNotFound(name, version)
            }
            if let expectedRevision, expectedRevision != layer.policyRevisionID { throw FunctionStoreRules.revisionMismatch }
            layer.statements = statements
            layer.policyRevisionID = revisionID
            try await connection.run("UPDATE layer_version SET layer = \(ColumnJSON.encode(layer)) WHERE layer_name = \(name) AND version = \(version)")
            return layer
        }
    }
}
