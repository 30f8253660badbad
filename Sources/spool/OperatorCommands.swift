import ArgumentParser
import Foundation
import SpoolEngine
import SpoolExecutor
import SpoolModel
import SpoolStorage

typealias Connection = DeadLettersCommand.Connection

/// `spool status`: one screen of everything on a running server.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Functions, queues, streams, mappings, dead letters and throughput of a running server, on one screen.")

    @OptionGroup var connection: Connection

    func run() async throws {
        let status = try await connection.client.get("/spool/v1/status", as: OperationsReport.Status.self)
        if connection.json { return try Output.printJSON(status) }
        let throughput = status.throughput
        print("Spool at \(connection.client.endpoint), up \(Output.age(Double(status.now - status.startedAt) / 1000))")
        print("Invocations: \(throughput.lastMinute) in the last minute, \(throughput.lastHour) in the last hour "
              + "(\(throughput.errorsLastHour) errors, \(throughput.throttlesLastHour) throttles)")
        print("Dead letters: \(status.deadLetters.total) (\(status.deadLetters.notReplayed) not replayed)")
        if let isolation = status.isolation {
            print("Isolation: " + (isolation.mode == "sandbox" ? "sandbox per environment (cgroup \(isolation.cgroup ?? "?"))"
                                                                : "none, plain processes (\(isolation.reason ?? "no reason given"))"))
        }
        print("\nFUNCTIONS\n" + FunctionsCommand.table(status.functions))
        print("\nQUEUES\n" + QueuesCommand.table(status.queues, now: status.now))
        print("\nSTREAMS\n" + StreamsCommand.table(status.streams, now: status.now))
        print("\nMAPPINGS\n" + MappingsCommand.table(status.mappings))
    }
}

/// `spool nodes`: the nodes sharing the store.
struct NodesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nodes", abstract: "The Spool nodes sharing the store: id, address, version, last heartbeat, the mappings each runs.")

    @OptionGroup var connection: Connection

    func run() async throws {
        let view = try await connection.client.get("/spool/v1/nodes", as: OperationsReport.Nodes.self)
        if connection.json { return try Output.printJSON(view) }
        let now = Millis(Date().timeIntervalSince1970 * 1000)
        print("Backend: \(view.backend); answered by node \(view.node)")
        print(Output.table(header: ["NODE", "ADDRESS", "VERSION", "LIVE", "HEARTBEAT", "MAPPINGS"], rows: view.nodes.map { node in
            [node.id, node.address, node.version, node.live ? "yes" : "no", Output.age(Double(max(0, now - node.heartbeatAt)) / 1000) + " ago",
             node.owns.isEmpty ? "-" : node.owns.joined(separator: ",")]
        }))
    }
}

/// `spool functions list|show`.
struct FunctionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "functions", abstract: "List functions or show one with its recent invocations.",
                                                    subcommands: [List.self, Show.self], defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every function with its backlog, environments and last hour.")
        @OptionGroup var connection: Connection

        func run() async throws {
            let page = try await connection.client.get("/spool/v1/functions", as: [String: [OperationsReport.FunctionSummary]].self)
            if connection.json { return try Output.printJSON(page) }
            print(FunctionsCommand.table(page["functions"] ?? []))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One function: configuration, backlog, mappings and recent invocations.")
        @OptionGroup var connection: Connection
        @Argument(help: "The function's name or ARN.") var name: String
        @Option(help: "How many recent invocations (default 20).") var recent = 20

        func run() async throws {
            let detail = try await connection.client.get("/spool/v1/functions/\(Output.path(name))?recent=\(recent)",
                                                         as: OperationsReport.FunctionDetail.self)
            if connection.json { return try Output.printJSON(detail) }
            let function = detail.function
            print("""
                name:         \(function.name)
                executor:     \(function.executor)\(function.runtime.map { " (\($0), \(function.handler ?? "-"))" } ?? "")\(detail.webhookURL.map { " → \($0)" } ?? "")
                timeout:      \(function.timeoutSeconds) s, memory \(function.memorySizeMB) MB, reserved concurrency \(function.reservedConcurrency.map(String.init) ?? "none")
                source:       \(detail.source), code \(detail.codeSize) bytes, sha256 \(detail.codeSHA256)
                environment:  \(detail.environmentVariables.isEmpty ? "-" : detail.environmentVariables.joined(separator: ", "))
                async:        \(function.asyncQueued) queued, \(function.asyncRunning) running, oldest \(function.oldestEventAgeSeconds.map(Output.age) ?? "-")
                environments: \(function.idleEnvironments) idle, \(function.busyEnvironments) busy
                last hour:    \(function.invocationsLastHour) invocations, \(function.errorsLastHour) errors
                dead letters: \(function.deadLetters) (\(function.deadLettersNotReplayed) not replayed)
                """)
            if !detail.mappings.isEmpty { print("\nMAPPINGS\n" + MappingsCommand.table(detail.mappings)) }
            print("\nRECENT INVOCATIONS\n" + LogsCommand.table(detail.recentInvocations))
        }
    }

    static func table(_ functions: [OperationsReport.FunctionSummary]) -> String {
        Output.table(header: ["NAME", "EXECUTOR", "QUEUED", "RUNNING", "OLDEST", "ENVS", "1H INVOCATIONS", "1H ERRORS", "DEAD LETTERS"],
                     rows: functions.map { function in
                         [function.name, function.runtime ?? function.executor, String(function.asyncQueued), String(function.asyncRunning),
                          function.oldestEventAgeSeconds.map(Output.age) ?? "-", "\(function.busyEnvironments)/\(function.idleEnvironments + function.busyEnvironments)",
                          String(function.invocationsLastHour), String(function.errorsLastHour), String(function.deadLettersNotReplayed)]
                     })
    }
}

/// `spool queues list|show`.
struct QueuesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "queues", abstract: "List queues with their depth, or show one.",
                                                    subcommands: [List.self, Show.self], defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every queue: visible, in flight, delayed, oldest message.")
        @OptionGroup var connection: Connection

        func run() async throws {
            let page = try await connection.client.get("/spool/v1/queues", as: [String: [QueueDepth]].self)
            if connection.json { return try Output.printJSON(page) }
            print(QueuesCommand.table(page["queues"] ?? [], now: Int64(Date().timeIntervalSince1970 * 1000)))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One queue: depth, attributes and the mappings that read it.")
        @OptionGroup var connection: Connection
        @Argument(help: "The queue's name.") var name: String

        func run() async throws {
            let detail = try await connection.client.get("/spool/v1/queues/\(Output.path(name))", as: OperationsReport.QueueDetail.self)
            if connection.json { return try Output.printJSON(detail) }
            let depth = detail.depth
            print("name:        \(depth.queueName)\nvisible:     \(depth.visible)\nin flight:   \(depth.inFlight)\ndelayed:     \(depth.delayed)")
            print("oldest:      \(detail.oldestMessageAgeSeconds.map(Output.age) ?? "-")")
            print("\nATTRIBUTES\n" + Output.table(header: ["NAME", "VALUE"], rows: detail.attributes.sorted { $0.key < $1.key }.map { [$0.key, $0.value] }))
            if !detail.mappings.isEmpty { print("\nMAPPINGS\n" + MappingsCommand.table(detail.mappings)) }
        }
    }

    static func table(_ queues: [QueueDepth], now: Millis) -> String {
        Output.table(header: ["NAME", "VISIBLE", "IN FLIGHT", "DELAYED", "OLDEST"], rows: queues.map { queue in
            [queue.queueName, String(queue.visible), String(queue.inFlight), String(queue.delayed),
             queue.oldestSentAt.map { Output.age(Double(max(0, now - $0)) / 1000) } ?? "-"]
        })
    }
}

/// `spool streams list|show`.
struct StreamsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "streams", abstract: "List streams with what they hold, or show one.",
                                                    subcommands: [List.self, Show.self], defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every stream: shards, records stored, oldest record.")
        @OptionGroup var connection: Connection

        func run() async throws {
            let page = try await connection.client.get("/spool/v1/streams", as: [String: [StreamDepth]].self)
            if connection.json { return try Output.printJSON(page) }
            print(StreamsCommand.table(page["streams"] ?? [], now: Int64(Date().timeIntervalSince1970 * 1000)))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One stream with its mappings' progress per shard.")
        @OptionGroup var connection: Connection
        @Argument(help: "The stream's name.") var name: String

        func run() async throws {
            let detail = try await connection.client.get("/spool/v1/streams/\(Output.path(name))", as: OperationsReport.StreamDetail.self)
            if connection.json { return try Output.printJSON(detail) }
            let depth = detail.depth
            print("name:       \(depth.streamName)\nmode:       \(detail.mode), \(depth.shardCount) shards, retention \(detail.retentionHours) h")
            print("records:    \(depth.records)")
            for mapping in detail.mappings {
                print("\nMAPPING \(mapping.mapping.uuid) → \(mapping.mapping.functionName) (\(mapping.mapping.state), last result \(mapping.mapping.lastProcessingResult))")
                print(MappingsCommand.shardTable(mapping.shards))
            }
        }
    }

    static func table(_ streams: [StreamDepth], now: Millis) -> String {
        Output.table(header: ["NAME", "SHARDS", "RECORDS", "OLDEST"], rows: streams.map { stream in
            [stream.streamName, String(stream.shardCount), String(stream.records),
             stream.oldestArrival.map { Output.age(Double(max(0, now - $0)) / 1000) } ?? "-"]
        })
    }
}

/// `spool mappings list|show|enable|disable`.
struct MappingsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mappings", abstract: "List, show, enable and disable event source mappings.",
                                                    subcommands: [List.self, Show.self, Enable.self, Disable.self], defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every mapping with its state and last result.")
        @OptionGroup var connection: Connection

        func run() async throws {
            let page = try await connection.client.get("/spool/v1/mappings", as: [String: [OperationsReport.MappingSummary]].self)
            if connection.json { return try Output.printJSON(page) }
            print(MappingsCommand.table(page["mappings"] ?? []))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One mapping: settings, shard progress and recent batches.")
        @OptionGroup var connection: Connection
        @Argument(help: "The mapping's UUID.") var uuid: String

        func run() async throws {
            let detail = try await connection.client.get("/spool/v1/mappings/\(Output.path(uuid))", as: OperationsReport.MappingDetail.self)
            if connection.json { return try Output.printJSON(detail) }
            let mapping = detail.mapping
            print("""
                uuid:         \(mapping.uuid)
                function:     \(mapping.functionName)
                source:       \(mapping.sourceARN)
                state:        \(mapping.state) (\(mapping.stateTransitionReason))
                last result:  \(mapping.lastProcessingResult)
                batch:        \(mapping.batchSize) records, window \(mapping.maximumBatchingWindowSeconds) s
                """)
            if !detail.functionResponseTypes.isEmpty { print("responses:    \(detail.functionResponseTypes.joined(separator: ", "))") }
            if !detail.filters.isEmpty { print("filters:      \(detail.filters.joined(separator: " | "))") }
            if let position = detail.startingPosition {
                print("stream:       from \(position), parallelization \(detail.parallelizationFactor ?? 1), retries \(detail.maximumRetryAttempts ?? -1), "
                      + "bisect \(detail.bisectBatchOnFunctionError ?? false), on failure \(detail.onFailureDestination ?? "-")")
                print("\nSHARDS\n" + MappingsCommand.shardTable(detail.shards))
            }
            print("\nRECENT BATCHES\n" + LogsCommand.table(detail.recentInvocations))
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enable a mapping (UpdateEventSourceMapping Enabled=true).")
        @OptionGroup var connection: Connection
        @Argument(help: "The mapping's UUID.") var uuid: String

        func run() async throws { try await MappingsCommand.set(uuid, "enable", connection) }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Disable a mapping: it stops polling; nothing is lost.")
        @OptionGroup var connection: Connection
        @Argument(help: "The mapping's UUID.") var uuid: String

        func run() async throws { try await MappingsCommand.set(uuid, "disable", connection) }
    }

    static func set(_ uuid: String, _ action: String, _ connection: Connection) async throws {
        let mapping = try await connection.client.post("/spool/v1/mappings/\(Output.path(uuid))/\(action)", as: OperationsReport.MappingSummary.self)
        if connection.json { return try Output.printJSON(mapping) }
        print("\(mapping.uuid): \(mapping.state)")
    }

    static func table(_ mappings: [OperationsReport.MappingSummary]) -> String {
        Output.table(header: ["UUID", "FUNCTION", "SOURCE", "STATE", "BATCH", "LAST RESULT"], rows: mappings.map { mapping in
            [mapping.uuid, mapping.functionName, "\(mapping.sourceType):\(mapping.sourceName)", mapping.state, String(mapping.batchSize),
             mapping.lastProcessingResult]
        })
    }

    static func shardTable(_ shards: [OperationsReport.Shard]) -> String {
        Output.table(header: ["SHARD", "LANE", "CHECKPOINT", "ITERATOR AGE", "BEHIND"], rows: shards.map { shard in
            [shard.shardId, String(shard.lane), shard.checkpointSequenceNumber ?? "-", Output.age(shard.iteratorAgeSeconds), String(shard.recordsBehind)]
        })
    }
}

/// `spool logs FUNCTION [--follow]`: what a function printed, per invocation, from the journal.
struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs", abstract: "Print a function's logs (START … END, REPORT per invocation); --follow keeps printing new ones.")

    @OptionGroup var connection: Connection
    @Argument(help: "The function's name or ARN.") var function: String
    @Flag(name: .shortAndLong, help: "Keep printing new invocations' logs until interrupted.") var follow = false
    @Option(help: "How many of the latest invocations to print first (default 20).") var limit = 20
    @Option(name: .customLong("request-id"), help: "Only this invocation's log.") var requestID: String?
    @Option(help: "With --follow, seconds between polls (default 1).") var interval = 1.0

    func validate() throws {
        guard (1...1_000).contains(limit) else { throw ValidationError("--limit must be from 1 to 1000") }
        guard interval >= 0.1 else { throw ValidationError("--interval must be at least 0.1") }
    }

    func run() async throws {
        let base = "/spool/v1/functions/\(Output.path(function))/logs?"
        let filter = requestID.map { "&requestId=\(Output.path($0))" } ?? ""
        let latest = try await connection.client.get(base + "limit=\(limit)" + filter, as: [String: [JournalEntry]].self)["invocations"] ?? []
        var last = latest.first?.id ?? 0
        for entry in latest.reversed() { try print(entry) }
        guard follow else { return }
        if last == 0 {
            // Nothing yet: follow from the newest record of any function, so that older ones are not replayed.
            last = try await connection.client.get("/spool/v1/invocations?limit=1", as: [String: [JournalEntry]].self)["invocations"]?.first?.id ?? 0
        }
        while !Task.isCancelled {
            try await Task.sleep(for: .milliseconds(Int(interval * 1000)))
            let page = try await connection.client.get(base + "after=\(last)&limit=1000" + filter, as: [String: [JournalEntry]].self)["invocations"] ?? []
            for entry in page { try print(entry) }
            last = page.last?.id ?? last
        }
    }

    func print(_ entry: JournalEntry) throws {
        // Written straight to the descriptor, unbuffered: followers read a pipe as lines arrive (`spool logs -f | grep …`).
        if connection.json {
            FileHandle.standardOutput.write(try JSONEncoder.compact.encode(entry) + Data("\n".utf8))
        } else {
            FileHandle.standardOutput.write(Data((entry.log ?? "").utf8))
        }
    }

    static func table(_ entries: [JournalEntry]) -> String {
        Output.table(header: ["TIME", "REQUEST ID", "ORIGIN", "RECORDS", "OUTCOME", "DURATION", "COLD START", "ERROR"], rows: entries.map { entry in
            [Output.time(entry.startedAt), entry.requestID, entry.origin.rawValue, String(entry.batchSize), entry.outcome.rawValue, String(format: "%.1f ms", entry.durationMs),
             entry.initDurationMs.map { String(format: "%.0f ms", $0) } ?? "-", entry.errorType ?? ""]
        })
    }
}

extension JSONEncoder {
    static var compact: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}

extension Output {
    static func printJSON(_ value: some Encodable) throws {
        print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    /// A name as one path segment.
    static func path(_ text: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "/:?#")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    /// `850ms`, `42s`, `5m 3s`, `2h 10m`, `3d 4h`.
    static func age(_ seconds: Double) -> String {
        if seconds < 1 { return "\(Int(seconds * 1000))ms" }
        let total = Int(seconds)
        if total < 60 { return "\(total)s" }
        if total < 3_600 { return "\(total / 60)m \(total % 60)s" }
        if total < 86_400 { return "\(total / 3_600)h \(total % 3_600 / 60)m" }
        return "\(total / 86_400)d \(total % 86_400 / 3_600)h"
    }

    static func time(_ millis: Millis) -> String {
        Date(timeIntervalSince1970: Double(millis) / 1000).formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }
}
