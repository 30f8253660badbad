import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import SpoolEngine
import SpoolHTTP
import SpoolModel
import SpoolSQLite

/// The composition root: opens the store (migrating it before anything listens), wires the engine
/// and the HTTP facades, and runs them as one ordered service group.
public struct SpoolServer: Sendable {
    /// The Spool release, reported by `/health` and `--version`.
    public static let version = "0.1.0"

    public let configuration: SpoolConfiguration
    public let store: SQLiteStore
    public let queues: QueueService
    let logger: Logger

    /// Opens the data directory; fails if the database belongs to a newer Spool.
    public init(configuration: SpoolConfiguration, logger: Logger? = nil) throws {
        var logger = logger ?? Logger(label: "spool")
        logger.logLevel = configuration.logLevel
        self.configuration = configuration
        self.logger = logger
        self.store = try SQLiteStore(directory: configuration.dataDir, durability: configuration.durability, logger: logger)
        self.queues = QueueService(store: store, identity: configuration.identity, logger: logger)
    }

    /// The HTTP application, for tests that drive the router in process.
    public func application(onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let router = SpoolRouter.build(
            queues: queues,
            health: .init(version: Self.version, durability: configuration.durability.rawValue),
            defaultBaseURL: "http://\(configuration.host):\(configuration.port)",
            logger: logger
        )
        let logger = logger
        return Application(
            router: router,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "Spool"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.notice("spool listening", metadata: ["address": "\(channel.localAddress?.description ?? "?")"])
                await onServerRunning(port)
            },
            logger: logger
        )
    }

    /// Runs until SIGTERM or SIGINT, then stops accepting, finishes what is in flight, and closes the store.
    public func run(onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: RetentionSweeper(store: store, interval: .seconds(configuration.retentionSweepSeconds), logger: logger)),
                    .init(service: MoveTaskRunner(queues: queues, chunkLimit: configuration.moveTaskChunk, logger: logger)),
                    .init(service: application(onServerRunning: onServerRunning)),
                    // Last, so it is told to shut down first: it ends long polls so that the HTTP server can drain.
                    .init(service: LongPollCloser(signals: queues.signals)),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
        try store.close()
        logger.notice("spool stopped")
    }
}

/// Ends every long poll when shutdown begins, so that in-flight ReceiveMessage calls answer at once.
struct LongPollCloser: Service {
    let signals: QueueSignals

    func run() async throws {
        try? await gracefulShutdown()
        signals.close()
    }
}
