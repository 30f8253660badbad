import SpoolExecutor
import SpoolModel
import SpoolSignals

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

    /// A slot now, or why there is none and what to wait on.
    package func tryAdmit(_ definition: FunctionDefinition) -> Result<Slot, Admission.Refused> {
        admission.acquire(definition).map { Slot(permit: $0, definition: definition) }
    }

    /// A slot, waiting for one to free (woken by the release itself, not by looking again); `nil` when one of
    /// `alongside` (the caller's stop or new settings) fires after the generation seen, or the task is cancelled.
    package func admit(_ definition: FunctionDefinition, alongside: [(signal: WakeSignal, seen: UInt64)] = []) async -> Slot? {
        while true {
            let refused: Admission.Refused
            switch tryAdmit(definition) {
            case .success(let slot): return slot
            case .failure(let reason): refused = reason
            }
            if Task.isCancelled || alongside.contains(where: { $0.signal.isClosed || $0.signal.generation != $0.seen }) { return nil }
            await WakeSignal.wait(any: [refused.wakeup] + alongside)
        }
    }

    /// Gives back a slot that no run used.
    package func release(_ slot: Slot) {
        admission.release(slot.permit)
    }

    // MARK: Running

    /// Runs one invocation in `slot` and gives the slot back. A run whose task was cancelled (Spool cut it off)
    /// reads as `cutOff` whatever the executor made of the cancellation.
    package func run(_ request: InvocationRequest, in slot: Slot) async -> RunResult {
        defer { admission.release(slot.permit) }
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
            admission.configure(name, reserved: nil, provisioned: nil, process: false)
        }
        await executor.functionChanged(name: name, to: definition)
    }

    /// Admission learns a stored function's settings at start-up, without touching the executor.
    package func remember(_ definition: FunctionDefinition) {
        admission.configure(definition.name, reserved: definition.reservedConcurrency, provisioned: definition.provisionedConcurrency,
                            process: definition.executor == .process)
    }

    /// The executor's view of a function's provisioned environments.
    package func provisionedReadiness(of name: String) async -> ProvisionedReadiness {
        await executor.provisionedReadiness(of: name)
    }
}
