import Foundation
import GRDB
import Logging
import SpoolModel
import SpoolStorage

/// The SQLite backend: one WAL database, one group-committing writer, any number of readers.
package final class SQLiteStore: Sendable {
    /// The file backing the store.
    package let path: String
    /// The `synchronous` level the writer connection runs with.
    package let durability: SQLiteDurability
    let pool: DatabasePool
    let writer: GroupCommitWriter
    /// This opening's generation (see `StoreGeneration`), durable before the first lease.
    package let generation: Int64
    /// The backlog rows, kept as the writer inserts and deletes them.
    let backlogCounter: BacklogCounter
    /// The lowest lease epoch this opening issues: `generation << 32`. Every statement that takes a lease sets
    /// `lease_epoch = max(lease_epoch + 1, epochFloor)`.
    package var epochFloor: Int64 { StoreGeneration.epochFloor(generation) }

    /// Opens (creating if needed) the database at `path`, applies migrations and sets durability.
    /// - Throws: `SQLiteStoreError.newerDatabase` when a newer Spool wrote the file.
    package init(path: String, durability: SQLiteDurability = .full, logger: Logger = Logger(label: "spool.sqlite")) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.maximumReaderCount = 8
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA temp_store = MEMORY")
        }
        let pool = try DatabasePool(path: path, configuration: configuration)
        try SQLiteMigrations.migrate(pool, path: path)
        // GRDB sets synchronous=NORMAL on the writer of a WAL pool when it opens; set ours afterwards. The new
        // generation commits under synchronous=FULL whatever the setting: it must be on disk before any lease.
        self.generation = try pool.writeWithoutTransaction { db -> Int64 in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            var taken: Int64 = 0
            try db.inTransaction(.immediate) {
                let stored = try Int64.fetchOne(db, sql: "SELECT generation FROM store_generation WHERE id = 1") ?? 0
                taken = StoreGeneration.next(after: stored, now: WallClock().now())
                try db.execute(sql: "UPDATE store_generation SET generation = ? WHERE id = 1", arguments: [taken])
                return .commit
            }
            try db.execute(sql: "PRAGMA synchronous = \(durability.pragmaValue)")
            return taken
        }
        // The backlog, counted once here, then kept by the writer's changes.
        let counter = try pool.read { db in
            BacklogCounter(invocations: try Int.fetchOne(db, sql: "SELECT count(*) FROM invocation") ?? 0,
                           messages: try Int.fetchOne(db, sql: "SELECT count(*) FROM queue_message") ?? 0,
                           records: try Int.fetchOne(db, sql: "SELECT count(*) FROM stream_record") ?? 0)
        }
        pool.add(transactionObserver: counter, extent: .databaseLifetime)
        self.backlogCounter = counter
        self.path = path
        self.durability = durability
        self.pool = pool
        self.writer = GroupCommitWriter(pool: pool, fullDurability: durability == .full)
        logger.info("store opened", metadata: ["path": "\(path)", "synchronous": "\(durability.rawValue)"])
    }

    /// Opens the store in `directory` (created if missing) as `spool.sqlite`.
    package convenience init(directory: String, durability: SQLiteDurability = .full, logger: Logger = Logger(label: "spool.sqlite")) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // SQLite would open a database it cannot write and fail at the first write; say why at once instead.
        let file = (directory as NSString).appendingPathComponent("spool.sqlite")
        for path in [directory, file] where FileManager.default.fileExists(atPath: path) && access(path, W_OK) != 0 {
            throw SQLiteStoreError.notWritable(path: path, reason: String(cString: strerror(errno)))
        }
        try self.init(path: (directory as NSString).appendingPathComponent("spool.sqlite"), durability: durability, logger: logger)
    }

    /// The `synchronous` pragma as the writer connection reports it (0 off, 1 normal, 2 full), inside a
    /// durable write or, with `durable: false`, inside a lease-only group.
    package func writerSynchronousLevel(durable: Bool = true) async throws -> Int {
        try await writer.write(durable: durable) { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 }
    }

    /// The journal mode, `wal` for every Spool store.
    package func journalMode() async throws -> String {
        try await read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" }
    }

    /// Group transactions the writer has committed since the store opened.
    package func commitCount() async throws -> Int {
        writer.committedTransactions
    }

    /// The identifiers of the migrations applied to this database.
    package func appliedMigrations() async throws -> [String] {
        try await pool.read { db -> [String] in Array(try SQLiteMigrations.migrator.appliedIdentifiers(db)).sorted() }
    }

    /// Runs a write through the group committer, mapping unexpected errors to storage failures.
    /// - Parameter durable: `false` only for leases (see `GroupCommitWriter`).
    func write<T: Sendable>(durable: Bool = true, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await Self.asSpoolErrors { try await writer.write(durable: durable, body) }
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await Self.asSpoolErrors { try await pool.read(body) }
    }

    /// Lets `SpoolError`s (and `StreamStoreError`s, for the engine) through and wraps anything else (SQLite failures)
    /// as a storage failure.
    static func asSpoolErrors<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as SpoolError {
            throw error
        } catch let error as StreamStoreError {
            throw error
        } catch {
            throw SpoolError.storage(error)
        }
    }

    /// Closes the database; later calls fail.
    package func close() throws {
        try pool.close()
    }
}

extension SQLiteStore {
    /// Copies the database of the data directory `directory` to a new file `destination` with SQLite's online
    /// backup API: a consistent snapshot, taken while a server may be writing, that `spool serve` opens as it is.
    /// - Returns: the number of pages copied.
    @discardableResult
    package static func backup(directory: String, to destination: String) throws -> Int {
        let source = (directory as NSString).appendingPathComponent("spool.sqlite")
        guard FileManager.default.fileExists(atPath: source) else {
            throw SQLiteStoreError.backup(path: source, reason: "there is no Spool database there")
        }
        guard !FileManager.default.fileExists(atPath: destination) else {
            throw SQLiteStoreError.backup(path: destination, reason: "the file exists; choose a new name")
        }
        var configuration = Configuration()
        configuration.readonly = true
        let reader = try DatabasePool(path: source, configuration: configuration)
        let copy = try DatabaseQueue(path: destination)
        var pages = 0
        try reader.backup(to: copy) { progress in pages = progress.totalPageCount }
        try copy.close()
        try reader.close()
        return pages
    }
}
