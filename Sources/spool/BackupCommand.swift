import ArgumentParser
import Foundation
import SpoolSQLite

/// `spool backup OUTPUT`: an online, consistent copy of the data directory's database.
struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy the database to a new file with SQLite's online backup API; the server may keep running."
    )

    @Option(name: .customLong("data-dir"), help: "The data directory (default ./spool-data; SPOOL_DATA_DIR).")
    var dataDir: String?

    @Argument(help: "The file to create; start a server on a copy by putting it in an empty data directory as spool.sqlite.")
    var output: String

    func run() throws {
        let directory = dataDir ?? ProcessInfo.processInfo.environment["SPOOL_DATA_DIR"] ?? "./spool-data"
        do {
            let pages = try SQLiteStore.backup(directory: directory, to: output)
            print("backed up \(directory) to \(output) (\(pages) pages)")
        } catch {
            throw ValidationError("\(error)")
        }
    }
}
