import Foundation
import GRDB
import SpoolModel
import SpoolStorage

/// Layer versions.
extension SQLiteStore: LayerStore {
    package func publishLayerVersion(_ layer: LayerVersion) async throws -> LayerVersion {
        try await write { db in
            let number = (try Int.fetchOne(db, sql: "SELECT last_version FROM layer_version_counter WHERE layer_name = ?",
                                           arguments: [layer.layerName]) ?? 0) + 1
            var published = layer
            published.version = number
            try db.execute(sql: "INSERT INTO layer_version (layer_name, version, layer) VALUES (?, ?, ?)",
                           arguments: [layer.layerName, number, ColumnJSON.encode(published)])
            try db.execute(sql: """
                INSERT INTO layer_version_counter (layer_name, last_version) VALUES (?, ?)
                ON CONFLICT (layer_name) DO UPDATE SET last_version = excluded.last_version
                """, arguments: [layer.layerName, number])
            return published
        }
    }

    package func layerVersion(_ name: String, version: Int) async throws -> LayerVersion? {
        try await read { db in
            try String.fetchOne(db, sql: "SELECT layer FROM layer_version WHERE layer_name = ? AND version = ?", arguments: [name, version])
                .flatMap(FunctionStoreRules.layer)
        }
    }

    package func layerVersions(_ name: String, before: Int?, limit: Int) async throws -> [LayerVersion] {
        try await read { db in
            try String.fetchAll(db, sql: "SELECT layer FROM layer_version WHERE layer_name = ? AND version < ? ORDER BY version DESC LIMIT ?",
                                arguments: [name, before ?? Int.max, limit]).compactMap(FunctionStoreRules.layer)
        }
    }

    package func latestLayerVersions(after: String?, limit: Int) async throws -> [LayerVersion] {
        try await read { db in
            try String.fetchAll(db, sql: """
                SELECT layer FROM layer_version AS l
                WHERE layer_name > ? AND version = (SELECT MAX(version) FROM layer_version WHERE layer_name = l.layer_name)
                ORDER BY layer_name LIMIT ?
                """, arguments: [after ?? "", limit]).compactMap(FunctionStoreRules.layer)
        }
    }

    package func deleteLayerVersion(_ name: String, version: Int) async throws -> LayerVersion? {
        try await write { db in
            let existing = try String.fetchOne(db, sql: "SELECT layer FROM layer_version WHERE layer_name = ? AND version = ?",
                                               arguments: [name, version]).flatMap(FunctionStoreRules.layer)
            try db.execute(sql: "DELETE FROM layer_version WHERE layer_name = ? AND version = ?", arguments: [name, version])
            return existing
        }
    }

    package func setLayerPolicy(_ name: String, version: Int, statements: [LayerVersion.Statement], revisionID: String, expectedRevision: String?)
        async throws -> LayerVersion
    {
        try await write { db in
            guard var layer = try String.fetchOne(db, sql: "SELECT layer FROM layer_version WHERE layer_name = ? AND version = ?",
                                                  arguments: [name, version]).flatMap(FunctionStoreRules.layer) else {
                throw FunctionStoreRules.layerVersionNotFound(name, version)
            }
            if let expectedRevision, expectedRevision != layer.policyRevisionID { throw FunctionStoreRules.revisionMismatch }
            layer.statements = statements
            layer.policyRevisionID = revisionID
            try db.execute(sql: "UPDATE layer_version SET layer = ? WHERE layer_name = ? AND version = ?",
                           arguments: [ColumnJSON.encode(layer), name, version])
            return layer
        }
    }
}
