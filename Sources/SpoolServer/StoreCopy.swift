import Crypto
import Foundation
import Logging
import SpoolEngine
import SpoolModel
import SpoolPostgres
import SpoolSQLite
import SpoolStorage

/// `spool store copy`: moves everything a store holds — queues and messages, functions and their code, asynchronous
/// events, dead letters, streams and records, mappings and checkpoints, the journal — from a SQLite data directory
/// into an empty PostgreSQL database, or back, then checks the copy table by table.
package enum StoreCopy {
    /// What was copied.
    package struct Summary: Sendable {
        package var tables: [(name: String, rows: Int)] = []
        package var functionsWithCode = 0
    }

    package struct Failure: Error, CustomStringConvertible {
        package let description: String
    }

    /// One side of a copy: a data directory, or a database URL.
    enum Side {
        case sqlite(SQLiteStore, directory: String)
        case postgres(PostgresStore)

        static func open(_ location: String, logger: Logger) async throws -> Side {
            if location.hasPrefix("postgres://") || location.hasPrefix("postgresql://") {
                return .postgres(try await PostgresStore.open(url: location, nodeID: "spool-store-copy", logger: logger))
            }
            return .sqlite(try SQLiteStore(directory: location, logger: logger), directory: location)
        }

        var store: any StoreDumping & FunctionStore {
            switch self {
            case .sqlite(let store, _): store
            case .postgres(let store): store
            }
        }

        func close() async {
            switch self {
            case .sqlite(let store, _): try? store.close()
            case .postgres(let store): await store.close()
            }
        }
    }

    static let page = 5_000

    package static func copy(from source: String, to target: String, logger: Logger) async throws -> Summary {
        let from = try await Side.open(source, logger: logger)
        defer { Task { await from.close() } }
        let to = try await Side.open(target, logger: logger)
        defer { Task { await to.close() } }
        guard try await to.store.isEmptyForLoad() else {
            throw Failure(description: "\(target) already holds records: a copy goes only into an empty store")
        }
        let sourceTables = try await from.store.dumpTables()
        let targetTables = Dictionary(uniqueKeysWithValues: try await to.store.dumpTables().map { ($0.name, $0) })
        var summary = Summary()
        for table in try ordered(sourceTables) {
            guard let destination = targetTables[table.name] else {
                if try await !from.store.dumpRows(table, columns: table.columns, offset: 0, limit: 1).isEmpty {
                    throw Failure(description: "\(target) has no table \(table.name) for the rows of \(source)")
                }
                continue
            }
            let columns = table.columns.filter(destination.columns.contains)
            let rows = try await copyRows(table, columns: columns, from: from.store, to: to.store, into: destination)
            summary.tables.append((table.name, rows))
        }
        try await to.store.finishLoad()
        summary.functionsWithCode = try await copyCode(from: from, to: to)
        try await copyLayers(from: from, to: to)
        try await verify(sourceTables, targetTables: targetTables, from: from.store, to: to.store)
        return summary
    }

    /// Tables in an order that loads what rows refer to first.
    static func ordered(_ tables: [DumpTable]) throws -> [DumpTable] {
        var done: Set<String> = []
        var left = tables
        var order: [DumpTable] = []
        while !left.isEmpty {
            let names = Set(left.map(\.name))
            guard let index = left.firstIndex(where: { $0.references.allSatisfy { done.contains($0) || !names.contains($0) } }) else {
                throw Failure(description: "tables refer to one another in a cycle: \(left.map(\.name))")
            }
            let table = left.remove(at: index)
            order.append(table)
            done.insert(table.name)
        }
        return order
    }

    static func copyRows(_ table: DumpTable, columns: [String], from: any StoreDumping, to: any StoreDumping, into destination: DumpTable) async throws -> Int {
        var offset = 0
        var later: [String: [(key: [DumpValue], value: DumpValue)]] = [:]
        let keyIndexes = table.primaryKey.compactMap { columns.firstIndex(of: $0) }
        while true {
            var rows = try await from.dumpRows(table, columns: columns, offset: offset, limit: page)
            // A column referring to rows of the same table is set once all of them are in.
            for column in destination.selfReferences {
                guard let index = columns.firstIndex(of: column), keyIndexes.count == table.primaryKey.count else { continue }
                for position in rows.indices where rows[position][index] != .null {
                    later[column, default: []].append((keyIndexes.map { rows[position][$0] }, rows[position][index]))
                    rows[position][index] = .null
                }
            }
            try await to.loadRows(destination, columns: columns, rows: rows)
            offset += rows.count
            if rows.count < page { break }
        }
        for (column, values) in later { try await to.setColumn(destination, column: column, values: values) }
        return offset
    }

    /// Deployment packages: from a data directory's `functions/` into the database's `function_code`, or back; the
    /// packages of published versions too, which may differ from `$LATEST`'s.
    static func copyCode(from: Side, to: Side) async throws -> Int {
        var copied = 0
        var after: String?
        while true {
            let page = try await to.store.listFunctions(after: after, limit: 500)
            var packages: [FunctionDefinition] = []
            for function in page {
                packages.append(function)
                packages += try await to.store.functionVersions(function.name, after: nil, limit: 100_000)
                    .filter { version in version.codeSHA256 != function.codeSHA256 }
            }
            for function in packages where function.source == .api && !function.codeSHA256.isEmpty {
                guard let stored = function.codeDirectory else { continue }
                try await transferPackage("functions/\(function.name)/\((stored as NSString).lastPathComponent)", sha256: function.codeSHA256,
                                          what: "the code of \(function.name)", from: from, to: to)
                copied += 1
            }
            guard let last = page.last, page.count == 500 else { break }
            after = last.name
        }
        return copied
    }

    /// Layer contents, as function code: from `DATA/layers/NAME/VERSION.zip` into `function_code`, or back. Every version
    /// a function still uses is copied, deleted ones included (they keep running for those functions).
    static func copyLayers(from: Side, to: Side) async throws {
        var wanted: [String: FunctionLayer] = [:]
        var after: String?
        while true {
            let page = try await to.store.latestLayerVersions(after: after, limit: 500)
            for newest in page {
                for layer in try await to.store.layerVersions(newest.layerName, before: nil, limit: 100_000) {
                    wanted["\(layer.layerName):\(layer.version)"] = FunctionLayer(layerName: layer.layerName, version: layer.version,
                                                                                 codeSize: layer.codeSize, codeSHA256: layer.codeSHA256)
                }
            }
            guard let last = page.last, page.count == 500 else { break }
            after = last.layerName
        }
        after = nil
        while true {
            let page = try await to.store.listFunctions(after: after, limit: 500)
            for function in page {
                let versions = try await to.store.functionVersions(function.name, after: nil, limit: 100_000)
                for layer in ([function] + versions).flatMap({ $0.layers ?? [] }) { wanted["\(layer.layerName):\(layer.version)"] = layer }
            }
            guard let last = page.last, page.count == 500 else { break }
            after = last.name
        }
        for layer in wanted.values {
            try await transferPackage("layers/\(layer.layerName)/\(layer.version)", sha256: layer.codeSHA256,
                                      what: "the content of layer \(layer.layerName):\(layer.version)", from: from, to: to)
        }
    }

    /// One package (a zip and its unpacked folder, `relative` to a data directory; by its SHA-256 in the database) from
    /// one side to the other, checked against its digest.
    static func transferPackage(_ relative: String, sha256: String, what: String, from: Side, to: Side) async throws {
        let zip: Data
        switch from {
        case .sqlite(_, let directory):
            let path = (directory as NSString).appendingPathComponent(relative + ".zip")
            guard let data = FileManager.default.contents(atPath: path) else { throw Failure(description: "\(what) is missing from \(path)") }
            zip = data
        case .postgres(let store):
            guard let data = try await store.code(sha256: sha256) else { throw Failure(description: "\(what) (\(sha256)) is not in the database") }
            zip = data
        }
        guard CodePackage.digest(zip) == sha256 else { throw Failure(description: "\(what) does not match its CodeSha256") }
        switch to {
        case .sqlite(_, let directory):
            let target = URL(fileURLWithPath: directory).appendingPathComponent(relative).standardizedFileURL.path
            try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try CodePackage.restore(zip: zip, into: target)
        case .postgres(let store):
            try await store.putCode(sha256: sha256, zip: zip)
        }
    }

    /// Every copied table holds the same rows on both sides: compared by a digest over the rows in key order.
    static func verify(_ tables: [DumpTable], targetTables: [String: DumpTable], from: any StoreDumping, to: any StoreDumping) async throws {
        for table in tables {
            guard let destination = targetTables[table.name] else { continue }
            let columns = table.columns.filter(destination.columns.contains)
            let (sourceRows, sourceDigest) = try await digest(table, columns: columns, of: from)
            let (targetRows, targetDigest) = try await digest(destination, columns: columns, of: to)
            guard sourceRows == targetRows, sourceDigest == targetDigest else {
                throw Failure(description: "check failed for \(table.name): \(sourceRows) rows copied as \(targetRows), contents differ: \(sourceDigest != targetDigest)")
            }
        }
    }

    static func digest(_ table: DumpTable, columns: [String], of store: any StoreDumping) async throws -> (Int, String) {
        var hasher = SHA256()
        var offset = 0
        while true {
            let rows = try await store.dumpRows(table, columns: columns, offset: offset, limit: page)
            for row in rows { for value in row { value.append(to: &hasher) } }
            offset += rows.count
            if rows.count < page { break }
        }
        return (offset, Data(hasher.finalize()).base64EncodedString())
    }
}

extension DumpValue {
    /// A canonical encoding: the same row gives the same bytes whichever backend it was read from.
    func append(to hasher: inout SHA256) {
        func bytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] { withUnsafeBytes(of: value.bigEndian, Array.init) }
        switch self {
        case .null: hasher.update(data: [0])
        case .integer(let value): hasher.update(data: [1] + bytes(value))
        case .real(let value): hasher.update(data: [2] + bytes(value.bitPattern))
        case .text(let value): hasher.update(data: [3] + bytes(UInt64(value.utf8.count)) + Array(value.utf8))
        case .blob(let value): hasher.update(data: [4] + bytes(UInt64(value.count)) + value)
        }
    }
}

extension SpoolServer {
    /// `spool store copy`: see `StoreCopy`.
    public static func copyStore(from source: String, to target: String, logger: Logger) async throws -> (tables: [(name: String, rows: Int)], functionsWithCode: Int) {
        let summary = try await StoreCopy.copy(from: source, to: target, logger: logger)
        return (summary.tables, summary.functionsWithCode)
    }
}

extension SpoolServer {
    /// A new empty PostgreSQL database beside the one `url` names, for a benchmark run; returns its URL.
    public static func createScratchDatabase(besides url: String, name: String) async throws -> String {
        try await PostgresStore.createDatabase(besides: url, name: name)
    }

    /// Drops a database `createScratchDatabase` made.
    public static func dropScratchDatabase(besides url: String, name: String) async throws {
        try await PostgresStore.dropDatabase(besides: url, name: name)
    }
}
