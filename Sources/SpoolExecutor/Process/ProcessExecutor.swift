import Foundation
import Logging
import ServiceLifecycle
import SpoolModel

/// Runs functions as child processes speaking the Lambda Runtime API, keeping environments warm
/// between invocations. Environments are kept per function and version (`FunctionDefinition.environmentKey`): a
/// published version runs apart from `$LATEST`, and the "name" this executor is told of is that key.
///
/// Each invocation takes an idle environment of the function's current revision, or starts one (a cold
/// start). One invocation runs per environment at a time; environments idle longer than the idle
/// timeout are shut down, as are all of them when the service stops. Provisioned concurrency keeps that
/// many environments initialized ahead of time and never reclaims them.
///
/// The pool is changed only between suspension points: an environment is taken out of the idle list
/// before anything awaits, so two invocations can never be handed the same environment.
package actor ProcessExecutor: FunctionExecutor, Service {
    struct Idle {
        let environment: ExecutionEnvironment
        let since: ContinuousClock.Instant
    }

    let settings: ProcessExecutorSettings
    let logger: Logger
    var idle: [String: [Idle]] = [:]
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
    package init(settings: ProcessExecutorSettings, logger: Logger = Logger(label: "spool.process")) {
        self.settings = settings
        self.logger = logger
        OrphanGuard(directory: settings.stateDirectory).reap(logger: logger)
    }

    // MARK: FunctionExecutor

    package func invoke(_ request: InvocationRequest) async -> InvocationOutcome {
        await invoke(request, waitForLogs: request.logTail)
    }

    /// Runs an invocation; `waitForLogs` lets the function's last lines reach the log before it is closed.
    package func invoke(_ request: InvocationRequest, waitForLogs: Bool) async -> InvocationOutcome {
        while true {
            guard !stopping else {
                return .error(.systemFailure(.shuttingDown), type: "Runtime.Shutdown", message: "RequestId: \(request.requestID) Error: Spool is shutting down")
            }
            guard let (environment, fresh) = acquire(request.function) else {
                return .error(.systemFailure(.atCapacity), type: "Spool.AtCapacity",
                              message: "RequestId: \(request.requestID) Error: all \(settings.maxEnvironments) execution environments are busy")
            }
            if fresh {
                if case .failed(let status, _, let payload) = await environment.initialize() {
                    busy[ObjectIdentifier(environment)] = nil
                    // A failed init is retried at the next invocation, on a fresh environment.
                    var log = InvocationLog(requestID: request.requestID, version: request.function.versionName)
                    for line in environment.output.initLines { log.append(line) }
                    var outcome = InvocationOutcome(status: status, payload: payload)
                    outcome.log = log.finished(durationMs: 0, memorySizeMB: request.function.memorySizeMB, maxMemoryUsedMB: nil, initDurationMs: nil)
                    return outcome
                }
            }
            // A cancelled caller (a stop whose grace period ended) ends the environment, which ends the invocation.
            let invoked = await withTaskCancellationHandler {
                await environment.invoke(request, waitForLogs: waitForLogs)
            } onCancel: {
                Task { await environment.shutdown(reason: "SPINDOWN") }
            }
            guard let outcome = invoked else {
                // It died while idle; nothing was handed to it. Try another.
                busy[ObjectIdentifier(environment)] = nil
                retire(environment, reason: "FAILURE")
                continue
            }
            release(environment)
            return outcome
        }
    }

    package func functionChanged(name: String, to definition: FunctionDefinition?) async {
        revisions[name] = definition?.revisionID
        let entries = idle.removeValue(forKey: name) ?? []
        let keep = entries.filter { definition != nil && $0.environment.function.revisionID == definition!.revisionID && $0.environment.isUsable }
        for entry in entries where !keep.contains(where: { $0.environment === entry.environment }) { retire(entry.environment) }
        if !keep.isEmpty { idle[name] = keep }
        if let definition, let count = definition.provisionedConcurrency, count > 0, definition.executor == .process {
            provisionedTargets[name] = definition
            reconcileProvisioned(name)
        } else {
            provisionedTargets[name] = nil
            provisionedFailures[name] = nil
            let extra = idle[name]?.filter(\.environment.provisioned) ?? []
            idle[name]?.removeAll(where: \.environment.provisioned)
            for entry in extra { retire(entry.environment) }
        }
    }

    package func provisionedReadiness(of name: String) async -> ProvisionedReadiness {
        let requested = provisionedTargets[name]?.provisionedConcurrency ?? 0
        let idleCount = idle[name]?.filter(\.environment.provisioned).count ?? 0
        let busyCount = busy.values.filter { $0.provisioned && $0.function.environmentKey == name }.count
        return ProvisionedReadiness(requested: requested, allocated: idleCount + busyCount, available: idleCount,
                                    failureReason: provisionedFailures[name])
    }

    /// The number of live environments of a function (idle and busy), for tests and the admin API.
    package func environmentCount(of name: String) -> Int {
        (idle[name]?.count ?? 0) + busy.values.filter { $0.function.environmentKey == name }.count
    }

    /// Live environments per function: idle ones and busy ones.
    package func environmentCounts() -> [String: (idle: Int, busy: Int)] {
        var counts: [String: (idle: Int, busy: Int)] = [:]
        for (name, list) in idle where !list.isEmpty { counts[name, default: (0, 0)].idle += list.count }
        for environment in busy.values { counts[environment.function.environmentKey, default: (0, 0)].busy += 1 }
        return counts
    }

    // MARK: Service

    /// Reclaims idle environments until shutdown, then shuts every environment down.
    package func run() async throws {
        let tick = min(Duration.seconds(1), settings.idleTimeout / 2)
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            try? await Task.sleep(for: tick)
            reclaimIdle()
        }
        await shutdownAll()
    }

    /// Shuts every environment down (SIGTERM, then SIGKILL after the grace period) and refuses new invocations.
    package func shutdownAll() async {
        stopping = true
        let all = idle.values.flatMap { $0.map(\.environment) } + Array(busy.values)
        idle = [:]
        busy = [:]
        await withTaskGroup(of: Void.self) { group in
            for environment in all { group.addTask { await environment.shutdown(reason: "SPINDOWN") } }
        }
        settings.sandbox?.cgroups.removeAll()
        logger.debug("process executor stopped", metadata: ["environments": "\(all.count)"])
    }

    // MARK: Pool

    /// An idle environment of the function's revision (provisioned ones first), or a new one to initialize;
    /// `nil` when `maxEnvironments` are alive and none of them is idle.
    func acquire(_ function: FunctionDefinition) -> (ExecutionEnvironment, fresh: Bool)? {
        if revisions[function.environmentKey] == nil { revisions[function.environmentKey] = function.revisionID }
        var candidates = idle.removeValue(forKey: function.environmentKey) ?? []
        var chosen: ExecutionEnvironment?
        for preferProvisioned in [true, false] where chosen == nil {
            if let index = candidates.firstIndex(where: { $0.environment.provisioned == preferProvisioned
                && $0.environment.isUsable && $0.environment.function.revisionID == function.revisionID }) {
                chosen = candidates.remove(at: index).environment
            }
        }
        // Dead and stale environments found on the way are dropped now.
        let (keep, drop) = (candidates.filter { $0.environment.isUsable && $0.environment.function.revisionID == function.revisionID },
                            candidates.filter { !$0.environment.isUsable || $0.environment.function.revisionID != function.revisionID })
        for entry in drop { retire(entry.environment) }
        if !keep.isEmpty { idle[function.environmentKey] = keep }
        if let chosen {
            busy[ObjectIdentifier(chosen)] = chosen
            return (chosen, false)
        }
        guard makeRoom() else { return nil }
        let environment = makeEnvironment(function, provisioned: false)
        busy[ObjectIdentifier(environment)] = environment
        return (environment, true)
    }

    func release(_ environment: ExecutionEnvironment) {
        busy[ObjectIdentifier(environment)] = nil
        let name = environment.function.environmentKey
        guard !stopping, environment.isUsable, revisions[name] == environment.function.revisionID else {
            retire(environment)
            reconcileProvisioned(name)
            return
        }
        idle[name, default: []].append(Idle(environment: environment, since: .now))
        if !environment.provisioned { reconcileProvisioned(name) }
    }

    func retire(_ environment: ExecutionEnvironment, reason: String = "SPINDOWN") {
        Task { await environment.shutdown(reason: reason) }
    }

    func makeEnvironment(_ function: FunctionDefinition, provisioned: Bool) -> ExecutionEnvironment {
        nextID += 1
        return ExecutionEnvironment(id: nextID, function: function, provisioned: provisioned, settings: settings, logger: logger)
    }

    /// Keeps the number of live environments under the limit by shutting down the longest-idle one;
    /// false when every live environment is busy (or provisioned) and there is no room.
    func makeRoom() -> Bool {
        let live = idle.values.reduce(0) { $0 + $1.count } + busy.count + starting.values.reduce(0, +)
        guard live >= settings.maxEnvironments else { return true }
        var oldest: (name: String, index: Int, since: ContinuousClock.Instant)?
        for (name, entries) in idle {
            for (index, entry) in entries.enumerated() where !entry.environment.provisioned {
                if oldest == nil || entry.since < oldest!.since { oldest = (name, index, entry.since) }
            }
        }
        guard let oldest else { return false }
        retire(idle[oldest.name]!.remove(at: oldest.index).environment)
        return true
    }

    func reclaimIdle() {
        let now = ContinuousClock.now
        for (name, entries) in idle {
            let expired = entries.filter { !$0.environment.isUsable || (!$0.environment.provisioned && now - $0.since >= settings.idleTimeout) }
            guard !expired.isEmpty else { continue }
            idle[name] = entries.filter { entry in !expired.contains { $0.environment === entry.environment } }
            for entry in expired { retire(entry.environment) }
        }
        for name in provisionedTargets.keys { reconcileProvisioned(name) }
    }

    /// Starts or stops provisioned environments until their number matches the function's setting.
    func reconcileProvisioned(_ name: String) {
        guard !stopping, let definition = provisionedTargets[name], let target = definition.provisionedConcurrency else { return }
        let have = (idle[name]?.filter(\.environment.provisioned).count ?? 0)
            + busy.values.filter { $0.provisioned && $0.function.environmentKey == name }.count + (starting[name] ?? 0)
        if have > target {
            var surplus = have - target
            idle[name]?.removeAll { entry in
                guard surplus > 0, entry.environment.provisioned else { return false }
                surplus -= 1
                retire(entry.environment)
                return true
            }
            return
        }
        for _ in 0..<max(0, target - have) {
            guard makeRoom() else {
                provisionedFailures[name] = "Not enough execution environments: functions.maxEnvironments is \(settings.maxEnvironments)."
                return
            }
            let environment = makeEnvironment(definition, provisioned: true)
            starting[name, default: 0] += 1
            Task {
                let result = await environment.initialize()
                await self.provisioned(environment, result: result)
            }
        }
    }

    func provisioned(_ environment: ExecutionEnvironment, result: ExecutionEnvironment.InitResult) async {
        let name = environment.function.environmentKey
        starting[name, default: 1] -= 1
        switch result {
        case .ready:
            guard !stopping, provisionedTargets[name]?.revisionID == environment.function.revisionID else {
                retire(environment)
                return
            }
            provisionedFailures[name] = nil
            idle[name, default: []].append(Idle(environment: environment, since: .now))
        case .failed(_, let type, _):
            provisionedFailures[name] = "FUNCTION_ERROR_INIT_FAILURE: \(type)"
            provisionedTargets[name] = nil
            logger.warning("provisioned environment failed to initialize", metadata: ["function": "\(name)", "error": "\(type)"])
        }
    }
}
