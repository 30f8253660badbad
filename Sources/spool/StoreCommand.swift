import ArgumentParser
import Foundation
import Logging
import SpoolServer

/// `spool store copy --from SOURCE --to TARGET`: moves a store between SQLite and PostgreSQL.
struct StoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store", abstract: "Move a store between SQLite and PostgreSQL.", subcommands: [Copy.self])

    struct Copy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: """
            Copy everything a store holds (queues and messages, functions and their code, events, dead letters, streams, \
            mappings and checkpoints, the journal) into an empty store, then check the copy table by table. Stop the \
            servers on the source first: what they accept during the copy is not in it.
            """)

        @Option(help: "The store to copy: a data directory (SQLite) or a postgres:// URL.")
        var from: String

        @Option(help: "The empty store to fill: a data directory (SQLite, made if missing) or a postgres:// URL.")
        var to: String

        func run() async throws {
            var logger = Logger(label: "spool.store-copy")
            logger.logLevel = .error
            do {
                let summary = try await SpoolServer.copyStore(from: from, to: to, logger: logger)
                for (table, rows) in summary.tables where rows > 0 { print("\(table): \(rows) rows") }
                print("copied \(summary.tables.reduce(0) { $0 + $1.rows }) rows in \(summary.tables.count) tables and the code of "
                      + "\(summary.functionsWithCode) functions from \(redacted(from)) to \(redacted(to)); every table checked")
            } catch {
                throw ValidationError("\(error)")
            }
        }

        func redacted(_ location: String) -> String {
            guard location.contains("://"), let url = URLComponents(string: location), url.password != nil else { return location }
            var copy = url
            copy.password = "***"
            return copy.string ?? location
        }
    }
}
