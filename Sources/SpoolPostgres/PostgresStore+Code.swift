import Foundation
import NIOCore
import PostgresNIO
import SpoolModel
import SpoolStorage

/// Deployment packages in the database, by digest, for every node to unpack.
extension PostgresStore: FunctionCodeStore {
    package func putCode(sha256: String, zip: Data) async throws {
        try await transaction { connection in
            try await connection.run("""
                INSERT INTO function_code (sha256, zip, stored_at) VALUES (\(sha256), \(ByteBuffer(bytes: zip)), \(WallClock().now()))
                ON CONFLICT (sha256) DO NOTHING
                """)
        }
    }

    package func code(sha256: String) async throws -> Data? {
        try await read { connection in
            try await connection.value("SELECT zip FROM function_code WHERE sha256 = \(sha256)", as: ByteBuffer.self).map { Data($0.readableBytesView) }
        }
    }

    package func dropCodeIfUnused(sha256: String) async throws {
        try await transaction { connection in
            try await connection.run("""
                DELETE FROM function_code WHERE sha256 = \(sha256)
                  AND NOT EXISTS (SELECT 1 FROM function WHERE definition::jsonb ->> 'codeSHA256' = \(sha256))
                  AND NOT EXISTS (SELECT 1 FROM function_version WHERE definition::jsonb ->> 'codeSHA256' = \(sha256))
                  AND NOT EXISTS (SELECT 1 FROM layer_version WHERE layer::jsonb ->> 'codeSHA256' = \(sha256))
                """)
        }
    }
}
