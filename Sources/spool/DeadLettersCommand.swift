import ArgumentParser
import Foundation
import SpoolEngine
import SpoolHTTP

/// `spool dead-letters …`: asynchronous events that finally failed, on a running server.
struct DeadLettersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead-letters",
        abstract: "List, inspect, replay and purge the asynchronous events that finally failed.",
        subcommands: [List.self, Show.self, Replay.self, Purge.self]
    )

    /// Where the server is, and how to print.
    struct Connection: ParsableArguments {
        @Option(help: "The Spool server (default http://127.0.0.1:9070; SPOOL_ENDPOINT).")
        var endpoint: String?

        @Flag(help: "Print JSON instead of a table.")
        var json = false

        @Option(help: "Sign with this profile of ~/.aws/credentials (default: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, then AWS_PROFILE or default).")
        var profile: String?

        @Option(help: "The region requests are signed for (default: AWS_REGION, AWS_DEFAULT_REGION, SPOOL_REGION, us-east-1).")
        var region: String?

        func validate() throws {
            if let profile, AdminClient.Signer.fromEnvironment(profile: profile) == nil {
                throw ValidationError("no credentials for profile '\(profile)' in the aws credentials file")
            }
        }

        var client: AdminClient {
            let base = endpoint ?? ProcessInfo.processInfo.environment["SPOOL_ENDPOINT"] ?? "http://127.0.0.1:9070"
            var signer = AdminClient.Signer.fromEnvironment(profile: profile)
            if let region { signer?.region = region }
            return AdminClient(endpoint: base.hasSuffix("/") ? String(base.dropLast()) : base, signer: signer)
        }
    }

    /// Which dead letters a command means.
    struct Filters: ParsableArguments {
        @Option(help: "Only this function's dead letters.")
        var function: String?

        @Option(help: "Only this reason: RetriesExhausted, EventAgeExceeded, ZeroReservedConcurrency, FunctionDeleted or DestinationUnreachable.")
        var reason: String?

        @Option(help: "Failed at or after this time: ISO 8601 (2026-11-27T10:00:00Z), Unix milliseconds, or an age such as 30m, 2h, 7d.")
        var from: String?

        @Option(help: "Failed before this time (same forms as --from).")
        var until: String?

        @Option(name: .customLong("id"), help: "Only these dead letters (repeatable).")
        var ids: [Int64] = []

        @Flag(help: "Leave out dead letters already replayed.")
        var notReplayed = false

        var isEmpty: Bool { function == nil && reason == nil && from == nil && until == nil && ids.isEmpty && !notReplayed }

        func input(force: Bool? = nil) throws -> AdminWire.FilterInput {
            AdminWire.FilterInput(function: function, reason: reason, from: try from.map { try Self.time($0, "--from") },
                                  until: try until.map { try Self.time($0, "--until") }, ids: ids.isEmpty ? nil : ids, force: force,
                                  notReplayed: notReplayed ? true : nil)
        }

        func query() throws -> [(String, String)] {
            let input = try input()
            var items: [(String, String)] = []
            if let function = input.function { items.append(("function", function)) }
            if let reason = input.reason { items.append(("reason", reason)) }
            if let from = input.from { items.append(("from", String(from))) }
            if let until = input.until { items.append(("until", String(until))) }
            for id in ids { items.append(("id", String(id))) }
            if notReplayed { items.append(("notReplayed", "true")) }
            return items
        }

        /// Unix milliseconds from an ISO 8601 time, a number of milliseconds, or an age (`90s`, `30m`, `2h`, `7d`) before now.
        static func time(_ text: String, _ option: String) throws -> Int64 {
            if let millis = Int64(text) { return millis }
            let units: [Character: Double] = ["s": 1, "m": 60, "h": 3_600, "d": 86_400]
            if let unit = text.last.flatMap({ units[$0] }), let amount = Double(text.dropLast()) {
                return Int64((Date().timeIntervalSince1970 - amount * unit) * 1000)
            }
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            if let date = formatter.date(from: text) { return Int64(date.timeIntervalSince1970 * 1000) }
            formatter.formatOptions = [.withInternetDateTime]
            if let date = formatter.date(from: text) { return Int64(date.timeIntervalSince1970 * 1000) }
            throw ValidationError("\(option) must be an ISO 8601 time, Unix milliseconds or an age such as 30m; not '\(text)'")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List dead letters, oldest first.")

        @OptionGroup var connection: Connection
        @OptionGroup var filters: Filters

        @Option(help: "At most this many (default 100; 0 for all).")
        var limit = 100

        func run() async throws {
            var letters: [AdminWire.DeadLetterOutput] = []
            var after: Int64 = 0
            while true {
                let pageSize = limit == 0 ? 1_000 : min(limit - letters.count, 1_000)
                let query = try filters.query() + [("after", String(after)), ("limit", String(pageSize))]
                let page = try await connection.client.get("/spool/v1/dead-letters?" + Self.encode(query), as: AdminWire.DeadLetterPage.self)
                letters += page.deadLetters
                guard let next = page.nextAfter, limit == 0 || letters.count < limit else { break }
                after = next
            }
            if connection.json {
                print(String(decoding: try Output.encoder.encode(letters), as: UTF8.self))
                return
            }
            let rows = letters.map { letter in
                [String(letter.id), letter.function, letter.reason, String(letter.attempts), letter.failedAt,
                 letter.replayedAt == nil ? "-" : "yes", String((letter.lastError?.errorMessage ?? "").prefix(60))]
            }
            print(Output.table(header: ["ID", "FUNCTION", "REASON", "ATTEMPTS", "FAILED AT", "REPLAYED", "LAST ERROR"], rows: rows))
        }

        static func encode(_ items: [(String, String)]) -> String {
            var allowed = CharacterSet.urlQueryAllowed
            allowed.remove(charactersIn: "&=+:/")
            return items.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0.1)" }.joined(separator: "&")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one dead letter with its payload and last error.")

        @OptionGroup var connection: Connection

        @Argument(help: "The dead letter's id.")
        var id: Int64

        func run() async throws {
            let letter = try await connection.client.get("/spool/v1/dead-letters/\(id)", as: AdminWire.DeadLetterOutput.self)
            if connection.json {
                print(String(decoding: try Output.encoder.encode(letter), as: UTF8.self))
                return
            }
            var lines = [
                "id:           \(letter.id)", "function:     \(letter.function)\(letter.qualifier.map { ":" + $0 } ?? "")",
                "request id:   \(letter.requestId)", "reason:       \(letter.reason)", "attempts:     \(letter.attempts)",
                "enqueued at:  \(letter.enqueuedAt)", "failed at:    \(letter.failedAt)",
            ]
            if let error = letter.lastError { lines.append("last error:   \(error.errorType): \(error.errorMessage)") }
            if let destination = letter.destination { lines.append("destination:  \(destination) (replay delivers the record there)") }
            if let replayOf = letter.replayOf { lines.append("replay of:    \(replayOf)") }
            if let replayedAt = letter.replayedAt { lines.append("replayed at:  \(replayedAt) as \(letter.replayRequestId ?? "?")") }
            lines.append("payload:\n\(Output.pretty(letter.payload))")
            print(lines.joined(separator: "\n"))
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replay dead letters as new asynchronous invocations (attempts reset), in one streamed operation.")

        @OptionGroup var connection: Connection
        @OptionGroup var filters: Filters

        @Flag(help: "Replay dead letters that were replayed before, too.")
        var force = false

        func run() async throws {
            let final = try await Output.follow(connection, path: "/spool/v1/dead-letters/replay", body: try filters.input(force: force)) { progress in
                "replayed \(progress.replayed), skipped \(progress.skipped) of \(progress.examined) examined"
            }
            if !connection.json, final.skipped > 0 {
                print("skipped dead letters were replayed before (use --force) or their function no longer exists")
            }
        }
    }

    struct Purge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete dead letters for good.")

        @OptionGroup var connection: Connection
        @OptionGroup var filters: Filters

        @Flag(help: "Required to purge every dead letter when no filter is given.")
        var all = false

        func validate() throws {
            if filters.isEmpty, !all { throw ValidationError("give a filter, or --all to purge every dead letter") }
        }

        func run() async throws {
            try await Output.follow(connection, path: "/spool/v1/dead-letters/purge", body: try filters.input()) { progress in
                "purged \(progress.purged)"
            }
        }
    }
}

/// Printing for the operator subcommands.
enum Output {
    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// Runs a streamed operation, printing each progress line (JSON lines with `--json`), and returns the last.
    @discardableResult
    static func follow(_ connection: DeadLettersCommand.Connection, path: String, body: some Encodable,
                       describe: (DeadLetters.Progress) -> String) async throws -> DeadLetters.Progress {
        var last = DeadLetters.Progress()
        try await connection.client.stream(path, body: body) { line in
            last = try JSONDecoder().decode(DeadLetters.Progress.self, from: line)
            print(connection.json ? String(decoding: line, as: UTF8.self) : (last.done ? "done: " : "… ") + describe(last))
        }
        return last
    }

    static func table(header: [String], rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    static func pretty(_ json: String) -> String {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8), options: [.fragmentsAllowed]),
              let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .fragmentsAllowed])
        else { return json }
        return String(decoding: data, as: UTF8.self)
    }
}
