import ArgumentParser
import Foundation
import SpoolServer

/// `spool backup OUTPUT`: an online, consistent copy of a data directory that a server can start from.
struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy a data directory (the database through SQLite's online backup API, and the functions' code) while the server may keep running."
    )

    @Option(name: .customLong("data-dir"), help: "The data directory (default ./spool-data; SPOOL_DATA_DIR).")
    var dataDir: String?

    @Option(help: "A PostgreSQL store's URL (or SPOOL_DATABASE_URL): refused, with what to use instead.")
    var database: String?

    @Argument(help: "The directory to create (it must not exist or be empty); `spool serve --data-dir OUTPUT` starts from it.")
    var output: String

    func run() async throws {
        let directory = dataDir ?? ProcessInfo.processInfo.environment["SPOOL_DATA_DIR"] ?? "./spool-data"
        if let database = database ?? ProcessInfo.processInfo.environment["SPOOL_DATABASE_URL"], !database.isEmpty {
            throw ValidationError("""
                spool backup copies a SQLite data directory; this store is PostgreSQL. Back it up with PostgreSQL's own tools: \
                pg_dump --format=custom --file=spool.dump '<database URL>' (restore with pg_restore into an empty database), \
                or your base backups and WAL archiving, or your managed service's snapshots. Every record, functions' code \
                included, is in the database; a node's data directory holds only what it rebuilds (see docs/cluster.md).
                """)
        }
        do {
            let summary = try await SpoolServer.backup(dataDir: directory, to: output)
            print("backed up \(directory) to \(output): database \(summary.pages) pages, code of \(summary.functions) functions")
        } catch {
            throw ValidationError("\(error)")
        }
    }
}
