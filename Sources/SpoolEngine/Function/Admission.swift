import SpoolExecutor
import SpoolModel
import SpoolSignals
import Synchronization

/// Decides whether one more invocation of a function may start now, against every limit at once: the
/// function's reserved concurrency, the account's concurrency limit, and the execution environments this node
/// may run (`functions.maxEnvironments`, for functions run as processes).
///
/// A function with reserved concurrency runs at most that many invocations at once; every other function shares
/// what the reservations leave of the account limit. A process function needs an environment per running
/// invocation, and its provisioned environments stay allocated while idle, so the environments in use are the sum
/// over functions of max(provisioned, running). Each limit has a wake-up that a released slot raises, so that a
/// caller waiting for a slot starts as soon as one frees, never by looking again on a timer.
package final class Admission: Sendable {
    /// Why no slot was given.
    package enum Refusal: Error, Sendable, Equatable {
        /// The function runs as many invocations as its reserved concurrency allows (or it is 0).
        case reservedConcurrency
        /// The unreserved part of the account's limit is in use.
        case accountConcurrency
        /// Every execution environment this node may run is busy or provisioned.
        case environments

        /// The throttle a synchronous caller gets, as Lambda words it.
        package var error: SpoolError {
            switch self {
            case .reservedConcurrency: .throttled("Rate Exceeded.", reason: "ReservedFunctionConcurrentInvocationLimitExceeded")
            case .accountConcurrency, .environments: .throttled("Rate Exceeded.", reason: "ConcurrentInvocationLimitExceeded")
            }
        }
    }

    /// No slot, why, and the wake-up that ends a wait for one: the signal a release of that kind raises, with the
    /// generation read under the same lock as the refusal, so that no release after it can be missed.
    package struct Refused: Error, Sendable {
        package let refusal: Refusal
        package let wakeup: (signal: WakeSignal, seen: UInt64)
    }

    /// One invocation's slot: which pools it came from, so that release gives it back there.
    package struct Permit: Sendable {
        package let name: String
        let reserved: Bool
        let process: Bool
        /// In a cluster, the function's slot in the shared store (reserved concurrency).
        var clusterSlot: Int64?
    }

    /// The account's concurrency limit (Lambda's default is 1,000).
    package let accountLimit: Int
    /// Environments this node may run at once for process functions.
    package let environmentLimit: Int

    private struct State {
        var inFlight: [String: Int] = [:]
        var unreservedInFlight = 0
        var reserved: [String: Int] = [:]
        var totalReserved = 0
        var provisioned: [String: Int] = [:]
        /// Σ max(provisioned, running) over process functions.
        var environmentsInUse = 0
        /// Running invocations of process functions.
        var processInFlight: [String: Int] = [:]
        var functionSignals: [String: WakeSignal] = [:]
        /// This node's part of the account's unreserved concurrency, in a cluster.
        var share = ClusterShare.whole

        mutating func signal(for name: String) -> WakeSignal {
            if let signal = functionSignals[name] { return signal }
            let signal = WakeSignal()
            functionSignals[name] = signal
            return signal
        }

        func environments(_ name: String, running: Int) -> Int {
            max(provisioned[name] ?? 0, running)
        }
    }

    private let state = Mutex(State())
    /// Raised when an unreserved slot of the account's limit is released.
    private let accountFreed = WakeSignal()
    /// Raised when an execution environment is released.
    private let environmentFreed = WakeSignal()

    package init(accountLimit: Int, environmentLimit: Int = .max) {
        self.accountLimit = accountLimit
        self.environmentLimit = environmentLimit
    }

    /// The part of the account limit that reservations may never take.
    package var unreservedMinimum: Int { min(FunctionLimits.unreservedConcurrencyMinimum, accountLimit / 10) }

    /// Records a function's concurrency settings (`nil` definition: it was deleted). A raised limit wakes its waiters.
    package func configure(_ name: String, reserved: Int?, provisioned: Int?, process: Bool) {
        let signal = state.withLock { state -> WakeSignal in
            state.totalReserved -= state.reserved[name] ?? 0
            state.reserved[name] = reserved
            state.totalReserved += reserved ?? 0
            let running = state.processInFlight[name] ?? 0
            let before = state.environments(name, running: running)
            state.provisioned[name] = process ? provisioned : nil
            state.environmentsInUse += state.environments(name, running: running) - before
            return state.signal(for: name)
        }
        signal.signal()
        accountFreed.signal()
        environmentFreed.signal()
    }

    /// A slot for one invocation of `definition`, or why there is none and what to wait on.
    package func acquire(_ definition: FunctionDefinition) -> Result<Permit, Refused> {
        let name = definition.name
        let process = definition.executor == .process
        return state.withLock { state in
            /// A release changes the state under this lock and raises its signal after, so a generation read here
            /// is older than any release the refusal did not see.
            func refused(_ refusal: Refusal) -> Result<Permit, Refused> {
                let signal = switch refusal {
                case .reservedConcurrency: state.signal(for: name)
                case .accountConcurrency: accountFreed
                case .environments: environmentFreed
                }
                return .failure(Refused(refusal: refusal, wakeup: (signal, signal.generation)))
            }
            let running = state.inFlight[name] ?? 0
            let reserved = state.reserved[name]
            if let reserved {
                guard running < reserved else { return refused(.reservedConcurrency) }
            } else {
                guard state.unreservedInFlight < state.share.of(accountLimit - state.totalReserved) else { return refused(.accountConcurrency) }
            }
            var grows = 0
            if process {
                let busy = state.processInFlight[name] ?? 0
                grows = state.environments(name, running: busy + 1) - state.environments(name, running: busy)
                guard state.environmentsInUse + grows <= environmentLimit else { return refused(.environments) }
                state.processInFlight[name] = busy + 1
                state.environmentsInUse += grows
            }
            if reserved == nil { state.unreservedInFlight += 1 }
            state.inFlight[name] = running + 1
            return .success(Permit(name: name, reserved: reserved != nil, process: process))
        }
    }

    /// In a cluster: this node's part of the account's unreserved concurrency. A larger part wakes its waiters.
    package func share(_ share: ClusterShare) {
        state.withLock { $0.share = share }
        accountFreed.signal()
    }

    /// A refusal because the cluster runs as many invocations of `name` as its reservation allows: waits for a slot of
    /// the function to free, here or (told through the cluster's wake-ups) on another node. `seen` was read before the
    /// store was asked.
    package func refusedByCluster(_ name: String, seen: UInt64) -> Refused {
        Refused(refusal: .reservedConcurrency, wakeup: (state.withLock { $0.signal(for: name) }, seen))
    }

    /// The generation of a function's wake-up, read before asking the cluster for a slot.
    package func generation(of name: String) -> UInt64 {
        state.withLock { $0.signal(for: name) }.generation
    }

    /// A slot of `name` freed elsewhere (another node): its waiters try again.
    package func wake(_ name: String) {
        state.withLock { $0.signal(for: name) }.signal()
    }

    /// Every function's waiters try again (the cluster's safety net for a lost wake-up).
    package func wakeAll() {
        for signal in state.withLock({ Array($0.functionSignals.values) }) { signal.signal() }
        accountFreed.signal()
    }

    /// Gives a slot back and wakes whoever waits for one of its kind.
    package func release(_ permit: Permit) {
        let signal = state.withLock { state -> WakeSignal in
            state.inFlight[permit.name, default: 1] -= 1
            if state.inFlight[permit.name] == 0 { state.inFlight[permit.name] = nil }
            if !permit.reserved { state.unreservedInFlight -= 1 }
            if permit.process {
                let busy = state.processInFlight[permit.name] ?? 1
                state.environmentsInUse -= state.environments(permit.name, running: busy) - state.environments(permit.name, running: busy - 1)
                state.processInFlight[permit.name] = busy > 1 ? busy - 1 : nil
            }
            return state.signal(for: permit.name)
        }
        signal.signal()
        if !permit.reserved { accountFreed.signal() }
        if permit.process { environmentFreed.signal() }
    }

    /// The wake-ups that tell a caller of `name` that a slot may have freed: its own, the account's and the environments'.
    package func signals(for name: String) -> [WakeSignal] {
        [state.withLock { $0.signal(for: name) }, accountFreed, environmentFreed]
    }

    /// Invocations of `name` running now.
    package func inFlight(_ name: String) -> Int {
        state.withLock { $0.inFlight[name] ?? 0 }
    }

    /// Execution environments in use (busy, or provisioned and kept).
    package var environmentsInUse: Int { state.withLock { $0.environmentsInUse } }
}
