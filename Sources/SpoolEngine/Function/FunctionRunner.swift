import SpoolExecutor
import SpoolModel
import SpoolSignals
import Synchronization

/// Runs functions, for every caller: synchronous Invoke, the asynchronous dispatcher, queue pollers and stream
/// lanes all come here, and only here, to start an invocation.
///
/// The runner owns admission (reserved and account concurrency and this node's execution environments, decided
/// together by `Admission`), the executor call itself, and the wake-ups that start a waiting caller as soon as a
/// slot of its function frees. It tells an outcome the function produced from a run Spool cut off itself (a stop's
/// grace period ended, a mapping stopped, a lease lost): a cut-off run is never an attempt, a timeout or an error.
package final class FunctionRunner: Sendable {
    package let admission: Admission
    let executor: any FunctionExecutor
    /// The longest a cold start's init may take (`functions.initTimeoutSeconds`): leases cover it.
    package let initTimeout: Millis
    /// In a cluster: reserved concurrency counted in the shared store, and this node's share of the other limits.
    let cluster = Mutex<(concurrency: ClusterConcurrency, leaseMargin: Millis)?>(nil)
    let share = Mutex(ClusterShare.whole)
    /// Functions and published versions with provisioned concurrency, by environment key, whose environments follow
    /// this node's share.
    let provisioned = Mutex<[String: FunctionDefinition]>([:])

    /// - Parameters:
    ///   - environmentLimit: environments this node may run for process functions (`functions.maxEnvironments`).
    ///   - initTimeoutMillis: the executor's init timeout, which every lease on work for a function must outlast.
    package init(executor: any FunctionExecutor, accountLimit: Int, environmentLimit: Int = .max, initTimeoutMillis: Millis = 10_000) {
        self.executor = executor
        self.admission = Admission(accountLimit: accountLimit, environmentLimit: environmentLimit)
        self.initTimeout = initTimeoutMillis
    }

    /// A slot taken for one invocation: run it with `run`, or give it back with `release`.
    package struct Slot: Sendable {
        package let permit: Admission.Permit
        package let definition: FunctionDefinition
    }

    /// How a run ended.
    package enum RunResult: Sendable {
        /// The function ran to an outcome (success, function error, timeout, crash) or the executor failed to run it.
        case finished(InvocationOutcome)
        /// No environment was free after all (the executor's own check): nothing ran; wait for a slot and try again.
        case throttled
        /// Spool cut the run off or refused to start it because it is stopping: not an attempt, nothing to settle.
        case cutOff
    }

    // MARK: Admission

    /// A slot now, or why there is none and what to wait on. In a cluster, a function with reserved concurrency also
    /// needs one of its slots in the shared store.
    package func tryAdmit(_ definition: FunctionDefinition) async -> Result<Slot, Admission.Refused> {
        let seen = admission.generation(of: definition.name)
        switch admission.acquire(definition) {
        case .failure(let refused): return .failure(refused)
        case .success(var permit):
            guard let reserved = definition.reservedConcurrency, let (concurrency, margin) = cluster.withLock({ $0 }) else {
                return .success(Slot(permit: permit, definition: definition))
            }
            if let id = await concurrency.take(definition.name, limit: reserved, leaseMillis: leaseMillis(definition, margin: margin)) {
                permit.clusterSlot = id
                return .success(Slot(permit: permit, definition: definition))
            }
            admission.release(permit)
            return .failure(admission.refusedByCluster(definition.name, seen: seen))
        }
    }

    /// Joins the cluster's admission: reserved concurrency through `concurrency`, leases of its slots as long as events'.
    package func joinCluster(_ concurrency: ClusterConcurrency, leaseMargin: Millis) {
        cluster.withLock { $0 = (concurrency, leaseMargin) }
    }

    /// This node's part of the account's unreserved concurrency and of each function's provisioned concurrency, as
    /// the live nodes change.
    package func share(_ share: ClusterShare) async {
        let changed = self.share.withLock { current in
            defer { current = share }
            return current != share
        }
        admission.share(share)
        guard changed else { return }
        for definition in provisioned.withLock({ Array($0.values) }) {
            let local = shared(definition)
            // Admission knows functions; a version's environments are the executor's alone.
            if local.version == nil {
                admission.configure(local.name, reserved: local.reservedConcurrency, provisioned: local.provisionedConcurrency,
                                    process: local.executor == .process)
            }
            await executor.functionChanged(name: local.environmentKey, to: local)
        }
    }

    /// The definition as this node runs it: its share of the provisioned environments.
    func shared(_ definition: FunctionDefinition) -> FunctionDefinition {
        guard let provisioned = definition.provisionedConcurrency else { return definition }
        var local = definition
        local.provisionedConcurrency = share.withLock { $0 }.of(provisioned)
        return local
    }

    /// Gives a slot back: here, and in the cluster's store.
    private func giveBack(_ permit: Admission.Permit) {
        admission.release(permit)
        if let id = permit.clusterSlot, let (concurrency, _) = cluster.withLock({ $0 }) { concurrency.release(id, function: permit.name) }
    }

    /// A slot, waiting for one to free (woken by the release itself, not by looking again); `nil` when one of
    /// `alongside` (the caller's stop or new settings) fires after the generation seen, or the task is cancelled.
    package func admit(_ definition: FunctionDefinition, alongside: [(signal: WakeSignal, seen: UInt64)] = []) async -> Slot? {
        while true {
            let refused: Admission.Refused
            switch await tryAdmit(definition) {
            case .success(let slot): return slot
            case .failure(let reason): refused = reason
            }
            if Task.isCancelled || alongside.contains(where: { $0.signal.isClosed || $0.signal.generation != $0.seen }) { return nil }
            await WakeSignal.wait(any: [refused.wakeup] + alongside)
        }
    }

    /// Gives back a slot that no run used.
    package func release(_ slot: Slot) {
        giveBack(slot.permit)
    }

    // MARK: Running

    /// Runs one invocation in `slot` and gives the slot back. A run whose task was cancelled (Spool cut it off)
    /// reads as `cutOff` whatever the executor made of the cancellation.
    package func run(_ request: InvocationRequest, in slot: Slot) async -> RunResult {
        defer { giveBack(slot.permit) }
        guard !Task.isCancelled else { return .cutOff }
        let outcome = await executor.invoke(request)
        if Task.isCancelled { return .cutOff }
        switch outcome.status {
        case .systemFailure(.shuttingDown): return .cutOff
        case .systemFailure(.atCapacity): return .throttled
        default: return .finished(outcome)
        }
    }

    /// After `run` answered `throttled` (the executor had no environment although admission gave a slot: an executor
    /// with limits of its own, or a limit lowered under load): waits until a slot of the function's kind frees, or
    /// `throttleFallback` at most, since such a release may never come from a slot admission knows of.
    package func waitAfterThrottle(_ definition: FunctionDefinition, alongside: [(signal: WakeSignal, seen: UInt64)] = []) async {
        let signals = admission.signals(for: definition.name).map { (signal: $0, seen: $0.generation) }
        await WakeSignal.wait(any: signals + alongside, timeout: Self.throttleFallback)
    }

    /// The longest wait after an executor's own throttle.
    static let throttleFallback: Duration = .seconds(1)

    /// The lease work for `definition` needs so that no other claimer can take it while it may still run: a cold
    /// start's init, the function's timeout, and `margin` for settling.
    package func leaseMillis(_ definition: FunctionDefinition, margin: Millis) -> Millis {
        initTimeout + Millis(definition.timeoutSeconds) * 1_000 + margin
    }

    // MARK: Functions

    /// A function was created, changed or (`nil`) deleted: admission and the executor learn its settings.
    package func functionChanged(name: String, to definition: FunctionDefinition?) async {
        if let definition {
            remember(definition)
        } else {
            provisioned.withLock { _ = $0.removeValue(forKey: name) }
            admission.configure(name, reserved: nil, provisioned: nil, process: false)
        }
        await executor.functionChanged(name: name, to: definition.map(shared))
    }

    /// A published version was deleted: its environments (kept apart under the version's key) end.
    package func versionRemoved(key: String) async {
        provisioned.withLock { _ = $0.removeValue(forKey: key) }
        await executor.functionChanged(name: key, to: nil)
    }

    /// A published version's provisioned environments (its own setting and its aliases' shares, in
    /// `provisionedConcurrency`; `nil` for none): the executor keeps this node's share of them initialized.
    package func versionProvisioned(_ definition: FunctionDefinition) async {
        let key = definition.environmentKey
        let previous = provisioned.withLock { current in
            defer { current[key] = definition.provisionedConcurrency == nil ? nil : definition }
            return current[key]?.provisionedConcurrency
        }
        guard previous != definition.provisionedConcurrency else { return }
        await executor.functionChanged(name: key, to: shared(definition))
    }

    /// How many environments a version (by environment key) keeps initialized as far as this runner was told; `nil`
    /// for none.
    package func provisionedCount(of key: String) -> Int? {
        provisioned.withLock { $0[key]?.provisionedConcurrency }
    }

    /// Admission learns a stored function's settings at start-up, without touching the executor.
    package func remember(_ definition: FunctionDefinition) {
        provisioned.withLock { $0[definition.name] = definition.provisionedConcurrency == nil ? nil : definition }
        let local = shared(definition)
        admission.configure(local.name, reserved: local.reservedConcurrency, provisioned: local.provisionedConcurrency,
                            process: local.executor == .process)
    }

    /// The executor's view of a function's provisioned environments.
    /// In a cluster this node sees only its own part: the function's provisioned concurrency counts as allocated
    /// when this node's part is.
    package func provisionedReadiness(of name: String) async -> ProvisionedReadiness {
        var readiness = await executor.provisionedReadiness(of: name)
        guard let total = provisioned.withLock({ $0[name]?.provisionedConcurrency }), share.withLock({ $0.count }) > 1 else { return readiness }
        readiness.allocated = readiness.allocated >= readiness.requested ? total : readiness.allocated
        readiness.requested = total
        return readiness
    }
}
