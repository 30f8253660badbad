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

    @Argument(help: "The directory to create (it must not exist or be empty); `spool serve --data-dir OUTPUT` starts from it.")
    var output: String

    func run() async throws {
        let directory = dataDir ?? ProcessInfo.processInfo.environment["SPOOL_DATA_DIR"] ?? "./spool-data"
        do {
            let summary = try await SpoolServer.backup(dataDir: directory, to: output)
            print("backed up \(directory) to \(output): database \(summary.pages) pages, code of \(summary.functions) functions")
        } catch {
            throw ValidationError("\(error)")
        }
    }
}
