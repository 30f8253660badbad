import Foundation
import SpoolModel
import SpoolSQLite

extension SpoolServer {
    /// What `backup` copied.
    public struct BackupSummary: Sendable {
        /// Pages of the database copied.
        public var pages: Int
        /// API functions whose code was copied.
        public var functions: Int
    }

    /// Why a backup was refused or failed, in words for the operator.
    public struct BackupFailure: Error, CustomStringConvertible {
        public var description: String
    }

    /// An online, consistent copy of the data directory `directory` into `output` (new or empty) that a server can
    /// start from: the database through the store's online backup, then the functions' code (checked against the copy)
    /// and the layers' contents.
    public static func backup(dataDir directory: String, to output: String) async throws -> BackupSummary {
        let files = FileManager.default
        if let existing = try? files.contentsOfDirectory(atPath: output), !existing.isEmpty {
            throw BackupFailure(description: "\(output) exists and is not empty; a backup goes into a new directory")
        }
        try files.createDirectory(atPath: output, withIntermediateDirectories: true)
        let database = (output as NSString).appendingPathComponent("spool.sqlite")
        let pages = try SQLiteStore.backup(directory: directory, to: database)
        // The code of API functions is immutable per revision: copied after the database, every revision the
        // copy names is there unless an update deleted it in between, which the check below reports.
        let code = (directory as NSString).appendingPathComponent("functions")
        let copiedCode = (output as NSString).appendingPathComponent("functions")
        if files.fileExists(atPath: code) { try files.copyItem(atPath: code, toPath: copiedCode) }
        // Layer contents never change once published.
        let layers = (directory as NSString).appendingPathComponent("layers")
        if files.fileExists(atPath: layers) {
            try files.copyItem(atPath: layers, toPath: (output as NSString).appendingPathComponent("layers"))
        }
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
            throw BackupFailure(description: "the code of \(missing.map(\.name).joined(separator: ", ")) changed during the backup; run it again")
        }
        return BackupSummary(pages: pages, functions: functions.filter { $0.source == .api }.count)
    }
}
