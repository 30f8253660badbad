import ArgumentParser
import CSpoolSandbox
import Foundation
import Logging
import Metrics
import Prometheus
import SpoolServer

@main
struct Spool: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spool",
        abstract: "Durable, self-hosted AWS Lambda async queues and event sources, with SQS-compatible queues.",
        version: SpoolServer.version,
        subcommands: [Serve.self, StatusCommand.self, NodesCommand.self, FunctionsCommand.self, QueuesCommand.self, StreamsCommand.self, MappingsCommand.self,
                      DeadLettersCommand.self, LogsCommand.self, TuneCommand.self, BackupCommand.self, StoreCommand.self, BenchCommand.self]
    )
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the Spool service.")

    @Option(help: "Address to listen on (default 127.0.0.1; SPOOL_HOST).")
    var host: String?

    @Option(help: "Port to listen on (default 9070; SPOOL_PORT).")
    var port: Int?

    @Option(name: .customLong("http2-port"), help: "Also serve the APIs over cleartext HTTP/2 on this port (prior knowledge; SPOOL_HTTP2_PORT).")
    var http2Port: Int?

    @Option(name: .customLong("data-dir"), help: "Directory for the SQLite database and this node's own files (default ./spool-data; SPOOL_DATA_DIR).")
    var dataDir: String?

    @Option(help: "postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=…]: keep everything in PostgreSQL, shared by every node given it (SPOOL_DATABASE_URL).")
    var database: String?

    @Option(help: "JSON configuration file; see Config/spool.example.json.")
    var config: String?

    @Option(help: "full (default) or normal: how hard each commit works to survive power loss (SPOOL_DURABILITY).")
    var durability: String?

    @Option(name: .customLong("log-format"), help: "text (default) or json: one JSON object per log line (SPOOL_LOG_FORMAT).")
    var logFormat: String?

    @Flag(name: .customLong("allow-unsigned-remote"),
          help: "Accept unsigned requests on a non-loopback address when no credentials are configured (SPOOL_AUTH_ALLOW_UNSIGNED_REMOTE).")
    var allowUnsignedRemote = false

    @Flag(name: .customLong("bench-probe"), help: .hidden)
    var benchProbe = false

    func run() async throws {
        var flags: [String: String] = [:]
        flags["host"] = host
        flags["port"] = port.map(String.init)
        flags["http2Port"] = http2Port.map(String.init)
        flags["dataDir"] = dataDir
        flags["database"] = database
        flags["durability"] = durability
        flags["logFormat"] = logFormat
        if allowUnsignedRemote { flags["auth.allowUnsignedRemote"] = "true" }
        var settings: SpoolConfiguration
        do {
            settings = try await SpoolConfiguration.load(flags: flags, file: config)
            settings.sandboxHelper = Self.sandboxHelper()
        } catch {
            throw ValidationError("\(error)")
        }
        let format = SpoolLogHandler.Format(rawValue: settings.logFormat) ?? .text
        LoggingSystem.bootstrap { label in SpoolLogHandler(label: label, format: format) }
        // Before anything makes a metric: one made earlier would stay bound to the no-op backend.
        let metrics = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: metrics)
        // Durations and ages reach minutes and hours; batches from 1 to 10,000 records.
        let long: [Duration] = [.milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
                                .milliseconds(500), .seconds(1), .milliseconds(2_500), .seconds(5), .seconds(10), .seconds(30), .seconds(60),
                                .seconds(300), .seconds(900), .seconds(3_600), .seconds(21_600)]
        for name in ["spool_lambda_duration_seconds", "spool_lambda_async_event_age_seconds", "spool_lambda_ingest_to_start_seconds"] {
            factory.durationHistogramBuckets[name] = long
        }
        factory.valueHistogramBuckets["spool_lambda_mapping_batch_size"] = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000]
        MetricsSystem.bootstrap(factory)
        let server: SpoolServer
        do {
            server = try await SpoolServer(configuration: settings, benchProbe: benchProbe ? BenchProbe() : nil, metrics: metrics)
        } catch {
            FileHandle.standardError.write(Data("spool: \(error)\n".utf8))
            throw ExitCode(2)
        }
        try await server.run()
    }

    /// This executable, which handles `spool __sandbox …` before the Swift runtime starts (`CSpoolSandbox`).
    static func sandboxHelper() -> String? {
        guard spool_sandbox_linked() == 1 else { return nil }
        return try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    }
}
