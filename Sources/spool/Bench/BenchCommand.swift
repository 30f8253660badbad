import ArgumentParser
import Foundation
import SpoolServer

/// The scenarios of `spool bench`, in the order they run.
enum BenchScenario: String, CaseIterable, ExpressibleByArgument, Sendable {
    case httpBaseline = "http-baseline"
    case asyncIngest = "async-ingest"
    case asyncE2E = "async-e2e"
    case sqs
    case queueMapping = "queue-mapping"
    case streamMapping = "stream-mapping"
    case backlog
    case processExecutor = "process-executor"
    case idle
    case cluster

    var summary: String {
        switch self {
        case .httpBaseline: "GET /health, a no-op route on the same server stack: the ceiling for every other figure"
        case .asyncIngest: "Invoke with InvocationType Event: events accepted (stored and acknowledged) per second"
        case .asyncE2E: "events ingested and run by an in-process no-op function; ingest-to-start latency at half of peak"
        case .sqs: "SendMessageBatch, ReceiveMessage, DeleteMessageBatch round trips"
        case .queueMapping: "a pre-filled queue drained by an event source mapping into an in-process no-op function"
        case .streamMapping: "PutRecords of 500 to a 4-shard stream drained by an event source mapping"
        case .backlog: "the rate events are claimed and run with a small and a large backlog waiting"
        case .processExecutor: "cold start and warm invoke of a Python (awslambdaric) and a provided (bootstrap) function"
        case .idle: "20 queue and 5 stream mappings with nothing to do: the server's CPU and memory growth"
        case .cluster: "SQS round trips and async ingest spread over 1 and then --nodes servers sharing one PostgreSQL database (--database)"
        }
    }
}

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure Spool's throughput and latency on this machine.",
        discussion: """
        Starts a fresh `spool serve --bench-probe` per scenario (a temporary data directory on loopback) unless \
        --endpoint names one, drives it over HTTP with its own concurrent client, and prints one table per \
        scenario: throughput, latency percentiles, the server's peak RSS and CPU time, the durability setting.
        See docs/performance.md.
        """
    )

    @Option(name: .customLong("scenario"), parsing: .upToNextOption,
            help: "Scenarios to run (default: all): \(BenchScenario.allCases.map(\.rawValue).joined(separator: ", ")).")
    var scenarios: [BenchScenario] = []

    @Option(help: "Seconds each measured load lasts.")
    var duration: Double = 10

    @Option(help: "Concurrent client connections.")
    var connections: Int = 64

    @Option(name: .customLong("payload-bytes"), help: "Size of each event, message and record.")
    var payloadBytes: Int = 1_024

    @Option(name: .customLong("batch-size"), parsing: .upToNextOption,
            help: "Mapping batch sizes (default: 10 100 1000 for queue-mapping, 1000 for stream-mapping); sqs uses the first, up to 10.")
    var batchSizes: [Int] = []

    @Option(help: "Messages and records pre-filled for queue-mapping and stream-mapping, and events waiting in backlog's large run.")
    var records: Int = 1_000_000

    @Option(name: .customLong("idle-seconds"), help: "How long the idle scenario watches the server's memory (at least --duration).")
    var idleSeconds: Double = 60

    @Option(help: "A running `spool serve --bench-probe` to drive instead of starting one per scenario.")
    var endpoint: String?

    @Option(help: "Durability of the servers started for scenarios other than async-ingest (which runs both): full or normal.")
    var durability: String = "full"

    @Option(help: "Run the servers on PostgreSQL: each scenario gets a new empty database made beside this one (postgres://USER@HOST:PORT/DB), dropped after. Needed by the cluster scenario.")
    var database: String?

    @Option(help: "Servers in the cluster scenario's second run.")
    var nodes: Int = 3

    @Flag(help: "Write the report as JSON on standard output.")
    var json = false

    func validate() throws {
        guard duration > 0 else { throw ValidationError("--duration must be more than 0") }
        guard (1...4_096).contains(connections) else { throw ValidationError("--connections must be 1-4096") }
        guard (16...262_144).contains(payloadBytes) else { throw ValidationError("--payload-bytes must be 16-262144 (an async event's limit is 256 KiB)") }
        guard idleSeconds > 0 else { throw ValidationError("--idle-seconds must be more than 0") }
        guard records >= 100 else { throw ValidationError("--records must be at least 100") }
        guard batchSizes.allSatisfy({ (1...10_000).contains($0) }) else { throw ValidationError("--batch-size must be 1-10000") }
        guard ["full", "normal"].contains(durability) else { throw ValidationError("--durability must be full or normal") }
        guard (2...16).contains(nodes) else { throw ValidationError("--nodes must be 2-16") }
        if scenarios.contains(.cluster), database == nil { throw ValidationError("the cluster scenario needs --database") }
        if database != nil, endpoint != nil { throw ValidationError("--database applies to the servers bench starts, not to --endpoint") }
    }

    func run() async throws {
        let run = BenchRun(options: self)
        var reports: [ScenarioReport] = []
        // Every scenario, the cluster one only with a database to run it on.
        let all = BenchScenario.allCases.filter { $0 != .cluster || database != nil }
        for scenario in scenarios.isEmpty ? all : scenarios {
            if !json { FileHandle.standardError.write(Data("running \(scenario.rawValue)…\n".utf8)) }
            let report = try await run.run(scenario)
            reports.append(report)
            if !json { print(report.rendered() + "\n") }
        }
        if json {
            let report = BenchReport(
                version: SpoolServer.version, date: ISO8601DateFormatter().string(from: Date()), machine: Self.machine(),
                settings: ["duration": "\(duration)", "connections": "\(connections)", "payloadBytes": "\(payloadBytes)",
                           "records": "\(records)", "batchSizes": batchSizes.map(String.init).joined(separator: ","),
                           "endpoint": endpoint ?? "", "durability": database == nil ? durability : "postgresql",
                           "idleSeconds": "\(idleSeconds)", "nodes": "\(nodes)"],
                scenarios: reports
            )
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            FileHandle.standardOutput.write(try encoder.encode(report) + Data("\n".utf8))
        }
    }

    /// The CPU model and count, e.g. "2 × AMD EPYC 7B13".
    static func machine() -> String {
        let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = info.split(separator: "\n").first { $0.hasPrefix("model name") }?.split(separator: ":", maxSplits: 1).last?
            .trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
        return "\(ProcessInfo.processInfo.activeProcessorCount) × \(model), \(ProcessInfo.processInfo.physicalMemory / 1_073_741_824) GiB"
    }
}
