import Foundation
import NIOCore
import PostgresNIO
import SpoolStorage

/// The PostgreSQL side of `spool store copy`: tables read in primary-key order (text keys in byte order, as SQLite sorts
/// them), rows written back with each value bound as its column's type.
extension PostgresStore: StoreDumping {
    /// Bookkeeping that is the store's own (and the packages, copied as functions' code).
    static let notCopied: Set<String> = [
        "spool_migration", "store_generation", "backlog_count", "cluster_node", "work_lease", "concurrency_slot", "function_code",
    ]

    /// Each column's type, by table.
    func columnTypes() async throws -> [String: [(name: String, type: String)]] {
        try await read { connection in
            var tables: [String: [(String, String)]] = [:]
            for row in try await connection.rows("""
                SELECT table_name::text, column_name::text, data_type::text FROM information_schema.columns
                WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position
                """) {
                let (table, column, type) = try row.decode((String, String, String).self)
                tables[table, default: []].append((column, type))
            }
            return tables
        }
    }

    package func dumpTables() async throws -> [DumpTable] {
        let types = try await columnTypes()
        return try await read { connection in
            var keys: [String: [String]] = [:]
            for row in try await connection.rows("""
                SELECT c.relname::text, a.attname::text FROM pg_index i
                JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, position) ON true
                JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
                WHERE i.indisprimary AND n.nspname = current_schema() ORDER BY c.relname, k.position
                """) {
                let (table, column) = try row.decode((String, String).self)
                keys[table, default: []].append(column)
            }
            var references: [String: [(target: String, column: String)]] = [:]
            for row in try await connection.rows("""
                SELECT source.relname::text, target.relname::text, a.attname::text FROM pg_constraint f
                JOIN pg_class source ON source.oid = f.conrelid JOIN pg_class target ON target.oid = f.confrelid
                JOIN pg_attribute a ON a.attrelid = f.conrelid AND a.attnum = f.conkey[1]
                JOIN pg_namespace n ON n.oid = source.relnamespace
                WHERE f.contype = 'f' AND n.nspname = current_schema()
                """) {
                let (source, target, column) = try row.decode((String, String, String).self)
                references[source, default: []].append((target, column))
            }
            return types.keys.sorted().filter { !Self.notCopied.contains($0) }.map { name in
                let foreign = references[name] ?? []
                return DumpTable(
                    name: name, columns: types[name]!.map(\.name), primaryKey: keys[name] ?? types[name]!.map(\.name),
                    references: Array(Set(foreign.map(\.target)).subtracting([name])).sorted(),
                    selfReferences: foreign.filter { $0.target == name }.map(\.column)
                )
            }
        }
    }

    package func dumpRows(_ table: DumpTable, columns: [String], offset: Int, limit: Int) async throws -> [[DumpValue]] {
        let types = Dictionary(uniqueKeysWithValues: (try await columnTypes()[table.name] ?? []).map { ($0.name, $0.type) })
        return try await read { connection in
            let order = table.primaryKey.map { types[$0] == "text" ? "\(Self.quote($0)) COLLATE \"C\"" : Self.quote($0) }.joined(separator: ", ")
            let sql = "SELECT \(columns.map(Self.quote).joined(separator: ", ")) FROM \(Self.quote(table.name)) ORDER BY \(order) LIMIT \(limit) OFFSET \(offset)"
            return try await connection.rows(PostgresQuery(unsafeSQL: sql)).map { row in
                let cells = row.makeRandomAccess()
                return try columns.indices.map { index in try Self.dumpValue(cells[index], type: types[columns[index]] ?? "text") }
            }
        }
    }

    static func dumpValue(_ cell: PostgresCell, type: String) throws -> DumpValue {
        if cell.bytes == nil { return .null }
        switch type {
        case "boolean": return .integer(try cell.decode(Bool.self) ? 1 : 0)
        case "bigint", "integer", "smallint": return .integer(try cell.decode(Int64.self))
        case "double precision", "real", "numeric": return .real(try cell.decode(Double.self))
        case "bytea": return .blob(Array(try cell.decode(ByteBuffer.self).readableBytesView))
        default: return .text(try cell.decode(String.self))
        }
    }

    package func isEmptyForLoad() async throws -> Bool {
        let tables = try await dumpTables()
        return try await read { connection in
            for table in tables where try await connection.first(PostgresQuery(unsafeSQL: "SELECT 1 FROM \(Self.quote(table.name)) LIMIT 1")) != nil {
                return false
            }
            return true
        }
    }

    package func loadRows(_ table: DumpTable, columns: [String], rows: [[DumpValue]]) async throws {
        guard !rows.isEmpty else { return }
        let types = Dictionary(uniqueKeysWithValues: (try await columnTypes()[table.name] ?? []).map { ($0.name, $0.type) })
        // At most 30,000 values per statement (the protocol allows 65,535 placeholders).
        let perStatement = max(1, 30_000 / max(columns.count, 1))
        try await transaction { connection in
            for start in stride(from: 0, to: rows.count, by: perStatement) {
                var binds = PostgresBindings()
                var tuples: [String] = []
                for row in rows[start..<min(start + perStatement, rows.count)] {
                    var placeholders: [String] = []
                    for (index, value) in row.enumerated() {
                        try Self.bind(value, type: types[columns[index]] ?? "text", into: &binds)
                        placeholders.append("$\(binds.count)")
                    }
                    tuples.append("(" + placeholders.joined(separator: ", ") + ")")
                }
                let sql = "INSERT INTO \(Self.quote(table.name)) (\(columns.map(Self.quote).joined(separator: ", "))) OVERRIDING SYSTEM VALUE VALUES "
                    + tuples.joined(separator: ", ")
                try await connection.run(PostgresQuery(unsafeSQL: sql, binds: binds))
            }
        }
    }

    package func setColumn(_ table: DumpTable, column: String, values: [(key: [DumpValue], value: DumpValue)]) async throws {
        guard !values.isEmpty else { return }
        let types = Dictionary(uniqueKeysWithValues: (try await columnTypes()[table.name] ?? []).map { ($0.name, $0.type) })
        try await transaction { connection in
            for (key, value) in values {
                var binds = PostgresBindings()
                try Self.bind(value, type: types[column] ?? "text", into: &binds)
                var filters: [String] = []
                for (index, part) in key.enumerated() {
                    try Self.bind(part, type: types[table.primaryKey[index]] ?? "text", into: &binds)
                    filters.append("\(Self.quote(table.primaryKey[index])) = $\(binds.count)")
                }
                try await connection.run(PostgresQuery(
                    unsafeSQL: "UPDATE \(Self.quote(table.name)) SET \(Self.quote(column)) = $1 WHERE \(filters.joined(separator: " AND "))", binds: binds))
            }
        }
    }

    package func finishLoad() async throws {
        try await transaction { connection in
            // Identities continue after the copied ids.
            for row in try await connection.rows("""
                SELECT table_name::text, column_name::text FROM information_schema.columns
                WHERE table_schema = current_schema() AND is_identity = 'YES'
                """) {
                let (table, column) = try row.decode((String, String).self)
                try await connection.run(PostgresQuery(unsafeSQL: """
                    SELECT setval(pg_get_serial_sequence('\(table)', '\(column)'), GREATEST((SELECT max(\(Self.quote(column))) FROM \(Self.quote(table))), 1))
                    """))
            }
            // Columns only this backend keeps.
            try await connection.run("UPDATE function SET code_size = COALESCE((definition::jsonb ->> 'codeSize')::bigint, 0)")
            try await connection.run("""
                UPDATE stream_shard s SET last_arrival = COALESCE((SELECT max(r.arrival_at) FROM stream_record r
                  WHERE r.stream_id = s.stream_id AND r.shard_index = s.shard_index), 0)
                """)
        }
    }

    static func bind(_ value: DumpValue, type: String, into binds: inout PostgresBindings) throws {
        switch (value, type) {
        case (.null, _): binds.appendNull()
        case (.integer(let integer), "boolean"): binds.append(integer != 0)
        case (.integer(let integer), "integer"), (.integer(let integer), "smallint"): binds.append(Int32(truncatingIfNeeded: integer))
        case (.integer(let integer), "double precision"): binds.append(Double(integer))
        case (.integer(let integer), _): binds.append(integer)
        case (.real(let real), _): binds.append(real)
        case (.text(let text), _): binds.append(text)
        case (.blob(let bytes), "text"): binds.append(String(decoding: bytes, as: UTF8.self))
        case (.blob(let bytes), _): binds.append(ByteBuffer(bytes: bytes))
        }
    }

    static func quote(_ name: String) -> String { "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
}
