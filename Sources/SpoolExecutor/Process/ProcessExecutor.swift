import Foundation
import Logging
import ServiceLifecycle
import SpoolModel

/// Runs functions as child processes speaking the Lambda Runtime API, keeping environments warm
/// between invocations.
///
/// Each invocation takes an idle environment of the function's current revision, or starts one (a cold
/// start). One invocation runs per environment at a time; environments idle longer than the idle
/// timeout are shut down, as are all of them when the service stops. Provisioned concurrency keeps that
/// many environments initialized ahead of time and never reclaims them.
public actor ProcessExecutor: FunctionExecutor, Service {
    let settings: ProcessExecutorSettings
    let logger: Logger
    var idle: [String: [ExecutionEnvironment]] = [:]
    var busy: [ObjectIdentifier: ExecutionEnvironment] = [:]
    var provisionedTargets: [String: FunctionDefinition] = [:]
    var provisionedFailures: [String: String] = [:]
    var starting: [String: Int] = [:]
    /// The revision each function is at, as far as this executor has been told; environments of any
    /// other revision (or of a deleted function) are shut down when they come back from an invocation.
    var revisions: [String: String] = [:]
    var nextID = 0
    var stopping = false

    /// - Note: ends environments a previous, killed run left behind in `settings.stateDirectory`.
    public init(settings: ProcessExecutorSettings, logger: Logger = Logger(label: "spool.process")) {
        self.settings = settings
        self.logger = logger
        OrphanGuard(directory: settings.stateDirectory).reap(logger: logger)
    }

    // MARK: FunctionExecutor

    public func invoke(_ request: InvocationRequest) async -> InvocationOutcome {
        await invoke(request, waitForLogs: true)
    }

    /// Runs an invocation; `waitForLogs` lets the function's last lines reach the log before it is closed.
    public func invoke(_ request: InvocationRequest, waitForLogs: Bool) async -> InvocationOutcome {
        guard !stopping else {
            return .error(.systemFailure(.shuttingDown), type: "Runtime.Shutdown", message: "RequestId: \(request.requestID) Error: Spool is shutting down")
        }
        let environment = await acquire(request.function)
        if await !environment.isIdle {
            switch await environment.initialize() {
            case .ready:
                break
            case .failed(let status, _, let payload):
                await discard(environment)
                // A failed init is retried at the next invocation, on a fresh environment.
                var outcome = InvocationOutcome(status: status, payload: payload)
                var log = InvocationLog(requestID: request.requestID)
                for line in await environment.initLines { log.append(line) }
                outcome.log = log.finished(durationMs: 0, memorySizeMB: request.function.memorySizeMB, maxMemoryUsedMB: nil, initDurationMs: nil)
                return outcome
            }
        }
        let outcome = await environment.invoke(request, waitForLogs: waitForLogs)
        await release(environment)
        return outcome
    }

    public func functionChanged(name: String, to definition: FunctionDefinition?) async {
        revisions[name] = definition?.revisionID
        var retire = idle.removeValue(forKey: name) ?? []
        if let definition {
            // Environments of the current revision stay; the rest go.
            let (keep, stale) = await partition(retire, revision: definition.revisionID)
            retire = stale
            if !keep.isEmpty { idle[name] = keep }
        }
        for environment in retire { Task { await environment.shutdown(reason: "SPINDOWN") } }
        if let definition, let count = definition.provisionedConcurrency, count > 0, definition.executor == .process {
            provisionedTargets[name] = definition
            await reconcileProvisioned(name)
        } else {
            provisionedTargets[name] = nil
            provisionedFailures[name] = nil
            let extra = idle[name]?.filter(\.provisioned) ?? []
            idle[name]?.removeAll(where: \.provisioned)
            for environment in extra { Task { await environment.shutdown(reason: "SPINDOWN") } }
        }
    }

    public func provisionedReadiness(of name: String) async -> ProvisionedReadiness {
        let requested = provisionedTargets[name]?.provisionedConcurrency ?? 0
        let idleCount = idle[name]?.filter(\.provisioned).count ?? 0
        let busyCount = busy.values.filter { $0.provisioned && $0.function.name == name }.count
        return ProvisionedReadiness(requested: requested, allocated: idleCount + busyCount, available: idleCount,
                                    failureReason: provisionedFailures[name])
    }

    /// The number of live environments of a function (idle and busy), for tests and the admin API.
    public func environmentCount(of name: String) -> Int {
        (idle[name]?.count ?? 0) + busy.values.filter { $0.function.name == name }.count
    }

    // MARK: Service

    /// Reclaims idle environments until shutdown, then shuts every environment down.
    public func run() async throws {
        let tick = min(Duration.seconds(1), settings.idleTimeout / 2)
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            try? await Task.sleep(for: tick)
            await reclaimIdle()
        }
        await shutdownAll()
    }

    /// Shuts every environment down (SIGTERM, then SIGKILL after the grace period) and refuses new invocations.
    public func shutdownAll() async {
        stopping = true
        let all = idle.values.flatMap { $0 } + Array(busy.values)
        idle = [:]
        busy = [:]
        await withTaskGroup(of: Void.self) { group in
            for environment in all { group.addTask { await environment.shutdown(reason: "SPINDOWN") } }
        }
        logger.debug("process executor stopped", metadata: ["environments": "\(all.count)"])
    }

    // MARK: Pool

    func acquire(_ function: FunctionDefinition) async -> ExecutionEnvironment {
        if revisions[function.name] == nil { revisions[function.name] = function.revisionID }
        var candidates = idle[function.name] ?? []
        // Provisioned environments first: they are why provisioned concurrency exists.
        candidates.sort { $0.provisioned && !$1.provisioned }
        while !candidates.isEmpty {
            let environment = candidates.removeFirst()
            if environment.function.revisionID == function.revisionID, await environment.isIdle {
                idle[function.name] = candidates
                busy[ObjectIdentifier(environment)] = environment
                return environment
            }
            Task { await environment.shutdown(reason: "SPINDOWN") }
        }
        idle[function.name] = []
        await makeRoom()
        let environment = makeEnvironment(function, provisioned: false)
        busy[ObjectIdentifier(environment)] = environment
        return environment
    }

    func release(_ environment: ExecutionEnvironment) async {
        busy[ObjectIdentifier(environment)] = nil
        let name = environment.function.name
        guard !stopping, await environment.isIdle, revisions[name] == environment.function.revisionID else {
            Task { await environment.shutdown(reason: "SPINDOWN") }
            await reconcileProvisioned(name)
            return
        }
        idle[name, default: []].append(environment)
        if environment.provisioned { return }
        await reconcileProvisioned(name)
    }

    func discard(_ environment: ExecutionEnvironment) async {
        busy[ObjectIdentifier(environment)] = nil
        await environment.shutdown(reason: "FAILURE")
    }

    func makeEnvironment(_ function: FunctionDefinition, provisioned: Bool) -> ExecutionEnvironment {
        nextID += 1
        return ExecutionEnvironment(id: nextID, function: function, provisioned: provisioned, settings: settings, logger: logger)
    }

    /// Keeps the number of live environments under the limit by shutting down the longest-idle one.
    func makeRoom() async {
        let live = idle.values.reduce(0) { $0 + $1.count } + busy.count
        guard live >= settings.maxEnvironments else { return }
        var oldest: (name: String, index: Int, since: ContinuousClock.Instant)?
        for (name, environments) in idle {
            for (index, environment) in environments.enumerated() where !environment.provisioned {
                let since = await environment.idleSince
                if oldest == nil || since < oldest!.since { oldest = (name, index, since) }
            }
        }
        guard let oldest else { return }
        let environment = idle[oldest.name]!.remove(at: oldest.index)
        Task { await environment.shutdown(reason: "SPINDOWN") }
    }

    func reclaimIdle() async {
        let now = ContinuousClock.now
        for (name, environments) in idle {
            var keep: [ExecutionEnvironment] = []
            for environment in environments {
                let alive = await environment.isAlive
                let since = await environment.idleSince
                if alive, environment.provisioned || now - since < settings.idleTimeout {
                    keep.append(environment)
                } else {
                    Task { await environment.shutdown(reason: "SPINDOWN") }
                }
            }
            idle[name] = keep
        }
        for name in provisionedTargets.keys { await reconcileProvisioned(name) }
    }

    /// Starts or stops provisioned environments until their number matches the function's setting.
    func reconcileProvisioned(_ name: String) async {
        guard !stopping, let definition = provisionedTargets[name], let target = definition.provisionedConcurrency else { return }
        let have = (idle[name]?.filter(\.provisioned).count ?? 0) + busy.values.filter { $0.provisioned && $0.function.name == name }.count
            + (starting[name] ?? 0)
        if have > target {
            var surplus = have - target
            idle[name]?.removeAll { environment in
                guard surplus > 0, environment.provisioned else { return false }
                surplus -= 1
                Task { await environment.shutdown(reason: "SPINDOWN") }
                return true
            }
            return
        }
        for _ in 0..<max(0, target - have) {
            let environment = makeEnvironment(definition, provisioned: true)
            starting[name, default: 0] += 1
            Task {
                let result = await environment.initialize()
                await self.provisioned(environment, result: result)
            }
        }
    }

    func provisioned(_ environment: ExecutionEnvironment, result: ExecutionEnvironment.InitResult) async {
        let name = environment.function.name
        starting[name, default: 1] -= 1
        switch result {
        case .ready:
            guard !stopping, provisionedTargets[name]?.revisionID == environment.function.revisionID else {
                await environment.shutdown(reason: "SPINDOWN")
                return
            }
            provisionedFailures[name] = nil
            idle[name, default: []].append(environment)
        case .failed(_, let type, _):
            provisionedFailures[name] = "FUNCTION_ERROR_INIT_FAILURE: \(type)"
            provisionedTargets[name] = nil
            logger.warning("provisioned environment failed to initialize", metadata: ["function": "\(name)", "error": "\(type)"])
        }
    }

    func partition(_ environments: [ExecutionEnvironment], revision: String) async -> ([ExecutionEnvironment], [ExecutionEnvironment]) {
        var keep: [ExecutionEnvironment] = []
        var stale: [ExecutionEnvironment] = []
        for environment in environments {
            if environment.function.revisionID == revision, await environment.isAlive { keep.append(environment) } else { stale.append(environment) }
        }
        return (keep, stale)
    }
}
