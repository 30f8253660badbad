import ArgumentParser
import Foundation
import SpoolModel
import SpoolSQLite

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
        let files = FileManager.default
        if let existing = try? files.contentsOfDirectory(atPath: output), !existing.isEmpty {
            throw ValidationError("\(output) exists and is not empty; a backup goes into a new directory")
        }
        do {
            try files.createDirectory(atPath: output, withIntermediateDirectories: true)
            let database = (output as NSString).appendingPathComponent("spool.sqlite")
            let pages = try SQLiteStore.backup(directory: directory, to: database)
            // The code of API functions is immutable per revision: copied after the database, every revision the
            // copy names is there unless an update deleted it in between, which the check below reports.
            let code = (directory as NSString).appendingPathComponent("functions")
            let copiedCode = (output as NSString).appendingPathComponent("functions")
            if files.fileExists(atPath: code) { try files.copyItem(atPath: code, toPath: copiedCode) }
            let copy = try SQLiteStore(path: database)
            let functions = try await copy.listFunctions(after: nil, limit: 1_000_000)
            try copy.close()
            let missing = functions.filter { function in
                guard function.source == .api, let stored = function.codeDirectory else { return false }
                let revision = ((copiedCode as NSString).appendingPathComponent(function.name) as NSString)
                    .appendingPathComponent((stored as NSString).lastPathComponent)
                return !files.fileExists(atPath: revision)
            }
            guard missing.isEmpty else {
                throw ValidationError("the code of \(missing.map(\.name).joined(separator: ", ")) changed during the backup; run it again")
            }
            print("backed up \(directory) to \(output): database \(pages) pages, code of \(functions.filter { $0.source == .api }.count) functions")
        } catch let error as ValidationError {
            throw error
        } catch {
            throw ValidationError("\(error)")
        }
    }
}
