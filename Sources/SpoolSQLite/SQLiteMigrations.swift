import GRDB
import SpoolMigrations
import SpoolModel

/// The forward-only schema migrations, embedded from `Migrations/SQLite/NNNN_name.sql`.
///
/// Each runs in its own transaction and is recorded by GRDB's migrator. A file once released is never
/// edited: a change is a new file, listed here.
enum SQLiteMigrations {
    /// Every migration in order, by identifier (the file name without `.sql`).
    static let all = SpoolMigrations.sqlite

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for migration in all {
            migrator.registerMigration(migration.identifier) { db in
                try db.execute(sql: migration.sql)
            }
        }
        return migrator
    }

    /// Applies pending migrations, refusing a database that a newer Spool has migrated further.
    static func migrate(_ pool: DatabasePool, path: String) throws {
        let migrator = migrator
        let superseded = try pool.read { db in try migrator.hasBeenSuperseded(db) }
        if superseded {
            let applied = try pool.read { db in try migrator.appliedIdentifiers(db) }
            let known = Set(all.map(\.identifier))
            let unknown = applied.filter { !known.contains($0) }.sorted()
            throw SQLiteStoreError.newerDatabase(path: path, unknownMigrations: unknown)
        }
        try migrator.migrate(pool)
    }
}

/// Failures opening a store, reported at start-up.
package enum SQLiteStoreError: Error, CustomStringConvertible {
    case newerDatabase(path: String, unknownMigrations: [String])
    /// The data directory or database is read-only (a read-only mount, missing permissions).
    case notWritable(path: String, reason: String)
    /// A backup could not be made.
    case backup(path: String, reason: String)

    package var description: String {
        switch self {
        case .newerDatabase(let path, let unknown):
            "The database \(path) was written by a newer version of Spool (unknown migrations: \(unknown.joined(separator: ", "))). Upgrade Spool to open it."
        case .notWritable(let path, let reason):
            "Spool cannot write to \(path) (\(reason)). The data directory must be writable: every acknowledged request is stored there."
        case .backup(let path, let reason):
            "Cannot back up to or from \(path): \(reason)."
        }
    }
}
