import Foundation
import Hummingbird
import HummingbirdHTTP2
import Logging
import Prometheus
import ServiceLifecycle
import SpoolEngine
import SpoolExecutor
import SpoolHTTP
import SpoolModel
import SpoolPostgres
import SpoolSQLite
import SpoolSignals
import SpoolStorage
import UnixSignals

/// The composition root: opens the store (migrating it before anything listens), wires the engine
/// and the HTTP facades, and runs them as one ordered service group.
public struct SpoolServer: Sendable {
    /// The Spool release, reported by `/health` and `--version`.
    public static let version = "0.1.0"

    public let configuration: SpoolConfiguration
    /// The backend: SQLite in the data directory, or the PostgreSQL database the nodes of a cluster share.
    package let backend: StoreBackend
    /// Every storage protocol, as the engine sees the backend.
    package var store: any SpoolStores { backend.store }
    package let queues: QueueService
    /// The Kinesis capability.
    package let streams: StreamService
    package let functions: FunctionRegistry
    package let invoker: FunctionInvoker
    /// Asynchronous invocation: intake, dispatch, settings, dead letters and http destinations.
    package let asyncInvocations: AsyncInvocations
    package let dispatcher: AsyncDispatcher
    package let eventInvokeConfigs: EventInvokeConfigs
    package let deadLetters: DeadLetters
    /// Event source mappings: the API and the supervisor that runs their pollers.
    package let mappings: EventSourceMappings
    package let mappingSupervisor: MappingSupervisor
    /// With a PostgreSQL database: this node's heartbeat and mapping leases, and the wake-ups between nodes.
    package let cluster: ClusterCoordinator?
    let wakeups: PostgresWakeups?
    let deliverer: DestinationDeliverer
    /// The executor of functions run as child processes; its environments stop with the server.
    package let processExecutor: ProcessExecutor
    /// How the process executor isolates environments on this node.
    package let isolation: Isolation
    let inProcess: InProcessExecutor
    /// Every finished invocation with its log, when `logs.enabled`.
    package let journal: InvocationJournal?
    /// The operator's views (admin API, CLI, dashboard).
    package let operations: Operations
    /// The benchmark's no-op function and its report routes, when the server runs for `spool bench`.
    let benchProbe: BenchProbe?
    /// The registry `GET /metrics` serves, when the process bootstrapped swift-metrics with it.
    let metrics: PrometheusCollectorRegistry?
    /// Whether intake is open, as the intake monitor last measured it.
    let limits: IntakeLimits
    let logger: Logger

    /// Opens the store (the data directory's SQLite database, or the PostgreSQL `database`); fails if it belongs to a
    /// newer Spool.
    /// - Parameters:
    ///   - inProcessFunctions: Swift closures to run as functions of those names (embedding, tests).
    public init(configuration: SpoolConfiguration, inProcessFunctions: [String: InProcessExecutor.Handler] = [:],
                logger: Logger? = nil) async throws {
        try await self.init(configuration: configuration, inProcessFunctions: inProcessFunctions, benchProbe: nil, metrics: nil, logger: logger)
    }

    /// The same, with what only the `spool` executable adds.
    /// - Parameters:
    ///   - benchProbe: adds the benchmark's no-op function `spool-bench-noop` and its `/spool/v1/bench` routes.
    ///   - metrics: the registry `GET /metrics` serves.
    package init(configuration: SpoolConfiguration, inProcessFunctions: [String: InProcessExecutor.Handler] = [:],
                 benchProbe: BenchProbe?, metrics: PrometheusCollectorRegistry?, logger: Logger? = nil) async throws {
        self.metrics = metrics
        var inProcessFunctions = inProcessFunctions
        inProcessFunctions.merge(benchProbe?.handlers ?? [:]) { mine, _ in mine }
        self.benchProbe = benchProbe
        self.limits = IntakeLimits(maxAsyncEvents: configuration.maxBacklog, maxQueueMessages: configuration.maxBacklog,
                                   maxStreamRecords: configuration.maxBacklog, maxResidentBytes: configuration.maxMemoryMB * 1_048_576)
        var logger = logger ?? Logger(label: "spool")
        logger.logLevel = configuration.logLevel
        self.configuration = configuration
        self.logger = logger
        self.backend = try await StoreBackend.open(configuration, logger: logger)
        let store = backend.store
        self.queues = QueueService(store: store, identity: configuration.identity, logger: logger)
        self.streams = StreamService(store: store, identity: configuration.identity, logger: logger)
        var settings = ProcessExecutorSettings()
        settings.pythonExecutable = configuration.python
        let node = await NodeInstallations.detect(node: configuration.node, mapped: configuration.nodeVersions)
        settings.node = node
        settings.runtimeDirectory = (configuration.dataDir as NSString).appendingPathComponent("runtime")
        let (sandbox, isolation) = await Sandbox.prepare(configuration.isolation, helper: configuration.sandboxHelper)
        if configuration.isolation == .sandbox, sandbox == nil {
            throw SpoolConfiguration.Invalid(key: "functions.isolation", reason: "is sandbox, but \(isolation.reason ?? "the sandbox is not available")")
        }
        if sandbox != nil {
            logger.info("execution environments run in a sandbox", metadata: ["isolation": "sandbox", "cgroup": "\(isolation.cgroup ?? "")"])
        } else {
            logger.warning("execution environments run as plain processes, without a sandbox", metadata: ["isolation": "none", "reason": "\(isolation.reason ?? "")"])
        }
        settings.sandbox = sandbox
        self.isolation = isolation
        settings.initTimeout = .seconds(configuration.initTimeoutSeconds)
        settings.idleTimeout = .seconds(configuration.idleTimeoutSeconds)
        settings.shutdownGrace = .milliseconds(configuration.shutdownGraceMs)
        settings.maxEnvironments = configuration.maxEnvironments
        settings.identity = configuration.identity
        settings.stateDirectory = (configuration.dataDir as NSString).appendingPathComponent("run")
        self.processExecutor = ProcessExecutor(settings: settings, logger: logger)
        self.inProcess = InProcessExecutor(handlers: inProcessFunctions)
        let journal = configuration.logsEnabled ? InvocationJournal(store: store, logger: logger) : nil
        self.journal = journal
        let activity = ActivityTracker()
        let executor = ObservedExecutor(ExecutorRouter(process: processExecutor, webhook: WebhookExecutor(logger: logger), inProcess: inProcess),
                                        journal: journal, activity: activity)
        let runner = FunctionRunner(executor: executor, accountLimit: configuration.concurrencyLimit, environmentLimit: configuration.maxEnvironments,
                                    initTimeoutMillis: Millis(configuration.initTimeoutSeconds) * 1_000)
        self.functions = FunctionRegistry(
            store: store, runner: runner,
            codeRoot: URL(fileURLWithPath: configuration.dataDir).appendingPathComponent("functions").standardizedFileURL.path,
            codeStore: backend.codeStore, identity: configuration.identity, node: node, sandboxed: sandbox != nil, logger: logger
        )
        self.invoker = FunctionInvoker(registry: functions, logger: logger)
        let asyncSettings = configuration.asyncSettings
        self.eventInvokeConfigs = EventInvokeConfigs(store: store, registry: functions, queues: queues)
        self.deliverer = DestinationDeliverer(store: store, policy: asyncSettings.retryPolicy, logger: logger)
        self.dispatcher = AsyncDispatcher(store: store, registry: functions, configs: eventInvokeConfigs,
                                          queueSignals: queues.signals, deliveryWakeups: deliverer.wakeups, settings: asyncSettings, logger: logger)
        self.asyncInvocations = AsyncInvocations(store: store, registry: functions, dispatcher: dispatcher, settings: asyncSettings)
        self.deadLetters = DeadLetters(store: store, dispatcher: dispatcher)
        let owners = MappingOwners()
        self.mappingSupervisor = MappingSupervisor(store: store, registry: functions, queues: queues, streams: streams,
                                                   shutdownGrace: asyncSettings.shutdownGrace, owners: owners, logger: logger)
        self.mappings = EventSourceMappings(store: store, registry: functions, queues: queues, streams: streams, supervisor: mappingSupervisor)
        if case .postgres(let shared) = backend {
            let cluster = ClusterCoordinator(store: shared, mappings: shared, streams: shared, supervisor: mappingSupervisor, owners: owners, nodeID: shared.nodeID,
                                             address: "\(configuration.host):\(configuration.port)", version: Self.version,
                                             invocationLeaseMargin: asyncSettings.leaseMargin,
                                             afterReleasingEvents: { [dispatcher] in try? await dispatcher.rescan() },
                                             onShare: { [runner] share in
                                                 await runner.share(share)
                                                 // The safety net for a lost wake-up: callers waiting for a slot look again.
                                                 runner.admission.wakeAll()
                                             }, logger: logger)
            let concurrency = ClusterConcurrency(store: shared, nodeID: shared.nodeID, logger: logger)
            runner.joinCluster(concurrency, leaseMargin: asyncSettings.leaseMargin)
            let wakeups = PostgresWakeups(store: shared, logger: logger)
            ClusterWakeups.wire(wakeups, queues: queues, streams: streams, functions: functions, dispatcher: dispatcher,
                                supervisor: mappingSupervisor, cluster: cluster, concurrency: concurrency)
            self.cluster = cluster
            self.wakeups = wakeups
        } else {
            self.cluster = nil
            self.wakeups = nil
        }
        self.operations = Operations(store: store, registry: functions, queues: queues, streams: streams, mappings: mappings,
                                     activity: activity, cluster: cluster, isolation: isolation,
                                     tuner: PowerTuner(registry: functions, invoker: invoker, logger: logger)) { [processExecutor] in
            await processExecutor.environmentCounts().mapValues { Operations.Environments(idle: $0.idle, busy: $0.busy) }
        }
    }

    /// Loads stored functions and applies the ones declared in the configuration file and by the embedding program.
    /// A function declared by an earlier start but no longer in the file (or no longer embedded) is deleted.
    public func prepareFunctions() async throws {
        let now = WallClock().now()
        var declared: [FunctionDefinition] = []
        for entry in configuration.declaredFunctions {
            declared.append(try entry.definition(identity: configuration.identity, baseDirectory: configuration.configurationDirectory, now: now))
        }
        for name in inProcess.functionNames.sorted() {
            declared.append(FunctionDefinition(name: name, executor: .inProcess, source: .embedded, timeoutSeconds: 900,
                                               revisionID: UUID().uuidString.lowercased(), lastModified: now))
        }
        let stale = try await functions.start(keeping: Set(declared.map(\.name)))
        if !stale.isEmpty { logger.notice("removed functions no longer declared", metadata: ["functions": "\(stale)"]) }
        for definition in declared { try await functions.declare(definition) }
    }

    /// Every route of the service.
    func router() -> Router<SpoolRequestContext> {
        let router = SpoolRouter.build(
            queues: queues,
            streams: streams,
            lambda: .init(registry: functions, invoker: invoker, asyncInvocations: asyncInvocations, eventInvokeConfigs: eventInvokeConfigs,
                          deadLetters: deadLetters, mappings: mappings, operations: operations),
            // With a PostgreSQL database, what makes a write durable is the database's commit.
            health: .init(version: Self.version, durability: configuration.database == nil ? configuration.durability.rawValue : "postgresql"),
            defaultBaseURL: "http://\(configuration.host):\(configuration.port)",
            verifier: configuration.credentials.isEmpty ? nil : SigV4Verifier(secrets: configuration.credentials),
            limits: limits,
            metrics: metrics.map { registry in
                let gauges = ResourceGauges(registry: registry, operations: operations)
                return SpoolRouter.Metrics(registry: registry, refresh: { await gauges.refresh() })
            },
            logger: logger
        )
        benchProbe?.addRoutes(to: router)
        return router
    }

    /// The same routes over cleartext HTTP/2 on `http2Port` (prior knowledge), for clients that speak only HTTP/2
    /// (the AWS SDK for Java's async clients, the KCL's SubscribeToShard).
    func http2Application(router: Router<SpoolRequestContext>, port: Int) -> some ApplicationProtocol {
        let logger = logger
        return Application(
            router: router,
            server: .plaintextHTTP2(),
            configuration: .init(address: .hostname(configuration.host, port: port), serverName: "Spool"),
            onServerRunning: { channel in
                logger.notice("spool listening for HTTP/2 (prior knowledge)", metadata: ["address": "\(channel.localAddress?.description ?? "?")"])
            },
            logger: logger
        )
    }

    /// The HTTP application, for tests that drive the router in process.
    public func application(onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        application(router: router(), onServerRunning: onServerRunning)
    }

    /// The HTTP/1.1 application on `port`, serving `router` (which the HTTP/2 port shares: one set of handlers, so that
    /// what they keep, such as SubscribeToShard's last subscriptions, holds for the node).
    func application(router: Router<SpoolRequestContext>, onServerRunning: @escaping @Sendable (Int) async -> Void) -> some ApplicationProtocol {
        let logger = logger
        return Application(
            router: router,
            server: .http1(configuration: .init(additionalChannelHandlers: [MalformedRequestHandler()])),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "Spool"),
            onServerRunning: { [credentials = configuration.credentials, cluster, host = configuration.host] channel in
                let port = channel.localAddress?.port ?? 0
                cluster?.listening(on: "\(host):\(port)")
                logger.notice("spool listening", metadata: ["address": "\(channel.localAddress?.description ?? "?")"])
                if credentials.isEmpty {
                    logger.warning("no credentials configured: unsigned requests are accepted (set SPOOL_AUTH_CREDENTIALS=KEYID:SECRET to require SigV4)")
                } else {
                    logger.notice("requests must be signed (SigV4)", metadata: ["keys": "\(credentials.keys.sorted().joined(separator: ","))"])
                }
                await onServerRunning(port)
            },
            logger: logger
        )
    }

    /// Runs until SIGTERM or SIGINT, then stops accepting, finishes what is in flight, and closes the store.
    public func run(onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        try await prepareFunctions()
        // The overview's last hour, from the journal, so that a restart does not blank the charts.
        try await operations.activity.seed(from: store, now: WallClock().now())
        let monitor = IntakeMonitor(store: store, limits: limits, interval: .milliseconds(configuration.limitsCheckIntervalMs), logger: logger)
        // Measured once before listening, so that a server restarted over its limits refuses from its first request.
        await monitor.measure()
        // First, so that it stops last: it stores the journal records of the invocations the others finish while stopping.
        let journalServices: [ServiceGroupConfiguration.ServiceConfiguration] = journal.map { [.init(service: $0)] } ?? []
        // In a cluster: the wake-ups first (they stop last), then the coordinator, which stops after the mapping
        // supervisor (later in the list) has stopped every poller, and then releases this node's leases.
        var clusterServices: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let wakeups { clusterServices.append(.init(service: wakeups)) }
        if let cluster {
            clusterServices.append(.init(service: cluster))
            clusterServices.append(.init(service: DispatcherRescan(dispatcher: dispatcher, logger: logger)))
        }
        let router = router()
        let group = ServiceGroup(
            configuration: .init(
                services: journalServices + clusterServices + [
                    .init(service: monitor),
                    .init(service: RetentionSweeper(store: store, interval: .seconds(configuration.retentionSweepSeconds),
                                                    journalRetention: Millis(configuration.logsRetentionHours) * 3_600_000,
                                                    journalLimit: configuration.logsMaxRecords, logger: logger)),
                    .init(service: MoveTaskRunner(queues: queues, chunkLimit: configuration.moveTaskChunk, logger: logger)),
                    // Before the HTTP server: it stops after the server drained, so running invocations finish first.
                    .init(service: processExecutor),
                    // After the executor, so it stops first: it stops claiming and lets running events finish and settle.
                    .init(service: dispatcher),
                    // Like the dispatcher: stops leasing messages and lets running batches finish and settle.
                    .init(service: mappingSupervisor),
                    .init(service: deliverer),
                    .init(service: application(router: router, onServerRunning: onServerRunning)),
                ] + (configuration.http2Port.map { [.init(service: http2Application(router: router, port: $0))] } ?? []) + [
                    // Last, so it is told to shut down first: it ends long polls and streamed answers so that the HTTP server can drain.
                    .init(service: LongPollCloser(signals: queues.signals, streaming: streams.streamingEnds)),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
        try await backend.close()
        logger.notice("spool stopped")
    }
}

/// Ends every long poll and streamed answer when shutdown begins, so that in-flight ReceiveMessage calls answer at once
/// and SubscribeToShard streams end.
struct LongPollCloser: Service {
    let signals: QueueSignals
    let streaming: WakeSignal

    func run() async throws {
        try? await gracefulShutdown()
        signals.close()
        streaming.close()
    }
}

/// In a cluster, the engine's wake-ups go to the other nodes too, and theirs come here: `q:ID` a queue, `s:ID` a stream
/// (ids are the database's, the same on every node), `f:MILLIS:NAME` a function's event due then, `m:UUID` a mapping
/// changed through another node, `c:NAME` a function changed or deleted through another node, `r:NAME` a slot of a
/// function's reserved concurrency released.
enum ClusterWakeups {
    static func wire(_ wakeups: PostgresWakeups, queues: QueueService, streams: StreamService, functions: FunctionRegistry,
                     dispatcher: AsyncDispatcher, supervisor: MappingSupervisor, cluster: ClusterCoordinator,
                     concurrency: ClusterConcurrency) {
        functions.relay { wakeups.publish("c:\($0)") }
        concurrency.relay { wakeups.publish("r:\($0)") }
        queues.signals.relay { wakeups.publish("q:\($0)") }
        streams.signals.relay { wakeups.publish("s:\($0)") }
        dispatcher.relay { name, at in wakeups.publish("f:\(at):\(name)") }
        supervisor.relay { wakeups.publish("m:\($0)") }
        wakeups.onReceive { topics in
            for topic in topics {
                let parts = topic.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
                guard parts.count >= 2 else { continue }
                switch parts[0] {
                case "q": if let id = Int64(parts[1]) { queues.signals.signalLocally(id) }
                case "s": if let id = Int64(parts[1]) { streams.signals.signalLocally(id) }
                case "f": if parts.count == 3, let at = Int64(parts[1]) { dispatcher.notifyLocally(function: String(parts[2]), visibleAt: at) }
                case "r": functions.runner.admission.wake(String(parts[1]))
                case "c":
                    let name = String(parts[1])
                    Task { await functions.changedElsewhere(name) }
                case "m":
                    supervisor.notify(String(parts[1]))
                    cluster.poke()
                default: continue
                }
            }
        }
    }
}

/// In a cluster, the dispatcher reads which functions have events every few seconds: events accepted by a node that
/// died, or left by one whose leases ended, are found no other way (a node's wake-ups tell only what it stored).
struct DispatcherRescan: Service {
    let dispatcher: AsyncDispatcher
    let logger: Logger
    static let interval = Duration.seconds(5)

    func run() async throws {
        // Ends quietly at shutdown: a service that throws would cut the others' shutdown short.
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: Self.interval)
                do {
                    try await dispatcher.rescan()
                } catch {
                    logger.debug("cannot rescan functions with events", metadata: ["error": "\(error)"])
                }
            }
        }
    }
}

/// Which backend a server runs on. Only here is a backend named; the engine sees `SpoolStores`.
package enum StoreBackend: Sendable {
    case sqlite(SQLiteStore)
    case postgres(PostgresStore)

    package var store: any SpoolStores {
        switch self {
        case .sqlite(let store): store
        case .postgres(let store): store
        }
    }

    /// SQLite in the data directory, or, with `database`, the shared PostgreSQL database under this node's id (kept in
    /// the data directory, so that a node that starts again is the same node).
    static func open(_ configuration: SpoolConfiguration, logger: Logger) async throws -> StoreBackend {
        guard let database = configuration.database else {
            return .sqlite(try SQLiteStore(directory: configuration.dataDir, durability: configuration.durability, logger: logger))
        }
        let node = try NodeIdentity.load(dataDir: configuration.dataDir)
        return .postgres(try await PostgresStore.open(url: database, nodeID: node, logger: logger))
    }

    /// Where deployment packages are shared: the database in a cluster; alone, nowhere but the data directory.
    var codeStore: (any FunctionCodeStore)? {
        if case .postgres(let store) = self { return store }
        return nil
    }

    func close() async throws {
        switch self {
        case .sqlite(let store): try store.close()
        case .postgres(let store): await store.close()
        }
    }
}

/// A node's identity in a cluster: made once, kept in `node-id` in its data directory.
enum NodeIdentity {
    static func load(dataDir: String) throws -> String {
        let files = FileManager.default
        try files.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        let path = (dataDir as NSString).appendingPathComponent("node-id")
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            let id = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if !id.isEmpty { return id }
        }
        let id = UUID().uuidString.lowercased()
        try (id + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return id
    }
}
