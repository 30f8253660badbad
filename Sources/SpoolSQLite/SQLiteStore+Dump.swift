import Foundation
import GRDB
import SpoolStorage

/// The SQLite side of `spool store copy`: tables read in primary-key order, rows written back as they are.
extension SQLiteStore: StoreDumping {
    /// Bookkeeping that is the store's own.
    static let notCopied: Set<String> = ["grdb_migrations", "sqlite_sequence", "store_generation", "backlog_count"]

    package func dumpTables() async throws -> [DumpTable] {
        try await read { db in
            let names = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            return try names.filter { !Self.notCopied.contains($0) }.map { name in
                let info = try Row.fetchAll(db, sql: "SELECT name, pk FROM pragma_table_info(?) ORDER BY cid", arguments: [name])
                let columns = info.map { $0["name"] as String }
                let key = info.filter { ($0["pk"] as Int) > 0 }.sorted { ($0["pk"] as Int) < ($1["pk"] as Int) }.map { $0["name"] as String }
                let foreign = try Row.fetchAll(db, sql: "SELECT \"table\" AS target, \"from\" AS source FROM pragma_foreign_key_list(?)", arguments: [name])
                return DumpTable(
                    name: name, columns: columns, primaryKey: key.isEmpty ? ["rowid"] : key,
                    references: Array(Set(foreign.map { $0["target"] as String }).subtracting([name])).sorted(),
                    selfReferences: foreign.filter { ($0["target"] as String) == name }.map { $0["source"] as String }
                )
            }
        }
    }

    package func dumpRows(_ table: DumpTable, columns: [String], offset: Int, limit: Int) async throws -> [[DumpValue]] {
        try await read { db in
            let sql = "SELECT \(Self.quoted(columns)) FROM \(Self.quote(table.name)) ORDER BY \(Self.quoted(table.primaryKey)) LIMIT ? OFFSET ?"
            return try Row.fetchAll(db, sql: sql, arguments: [limit, offset]).map { row in
                (0..<columns.count).map { index -> DumpValue in
                    switch row[index] as DatabaseValue? {
                    case .none: return .null
                    case .some(let value):
                        switch value.storage {
                        case .null: return .null
                        case .int64(let integer): return .integer(integer)
                        case .double(let real): return .real(real)
                        case .string(let text): return .text(text)
                        case .blob(let data): return .blob(Array(data))
                        }
                    }
                }
            }
        }
    }

    package func isEmptyForLoad() async throws -> Bool {
        let tables = try await dumpTables()
        return try await read { db in
            try tables.allSatisfy { table in try Int.fetchOne(db, sql: "SELECT count(*) FROM \(Self.quote(table.name))") == 0 }
        }
    }

    package func loadRows(_ table: DumpTable, columns: [String], rows: [[DumpValue]]) async throws {
        guard !rows.isEmpty else { return }
        try await write { db in
            let sql = "INSERT INTO \(Self.quote(table.name)) (\(Self.quoted(columns))) VALUES (\(Array(repeating: "?", count: columns.count).joined(separator: ", ")))"
            let statement = try db.makeStatement(sql: sql)
            for row in rows {
                try statement.execute(arguments: StatementArguments(row.map(Self.databaseValue)))
            }
        }
    }

    package func setColumn(_ table: DumpTable, column: String, values: [(key: [DumpValue], value: DumpValue)]) async throws {
        guard !values.isEmpty else { return }
        try await write { db in
            let filter = table.primaryKey.map { "\(Self.quote($0)) = ?" }.joined(separator: " AND ")
            let statement = try db.makeStatement(sql: "UPDATE \(Self.quote(table.name)) SET \(Self.quote(column)) = ? WHERE \(filter)")
            for (key, value) in values {
                try statement.execute(arguments: StatementArguments(([value] + key).map(Self.databaseValue)))
            }
        }
    }

    package func finishLoad() async throws {
        // The backlog counts SQLite keeps in memory are read from the tables when the store opens next.
    }

    static func databaseValue(_ value: DumpValue) -> DatabaseValue {
        switch value {
        case .null: .null
        case .integer(let integer): integer.databaseValue
        case .real(let real): real.databaseValue
        case .text(let text): text.databaseValue
        case .blob(let bytes): Data(bytes).databaseValue
        }
    }

    static func quote(_ name: String) -> String { "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
    static func quoted(_ names: [String]) -> String { names.map(quote).joined(separator: ", ") }
}
