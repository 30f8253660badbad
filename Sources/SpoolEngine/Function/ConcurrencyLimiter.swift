import SpoolModel
import Synchronization

/// Enforces reserved concurrency per function and the account's concurrency limit, as Lambda does.
///
/// A function with reserved concurrency runs at most that many invocations at once; every other
/// function shares what the reservations leave of the account limit. An invocation over its limit is
/// throttled with `TooManyRequestsException` and the reason Lambda gives.
public final class ConcurrencyLimiter: Sendable {
    /// The account's concurrency limit (Lambda's default is 1,000).
    public let accountLimit: Int

    private struct State {
        var inFlight: [String: Int] = [:]
        var unreservedInFlight = 0
        var reserved: [String: Int] = [:]
        var totalReserved = 0
    }

    private let state = Mutex(State())

    public init(accountLimit: Int) {
        self.accountLimit = accountLimit
    }

    /// The part of the account limit that reservations may never take.
    public var unreservedMinimum: Int { min(FunctionLimits.unreservedConcurrencyMinimum, accountLimit / 10) }

    /// Records a function's reserved concurrency (`nil` to remove it).
    public func setReserved(_ value: Int?, for name: String) {
        state.withLock { state in
            state.totalReserved -= state.reserved[name] ?? 0
            state.reserved[name] = value
            state.totalReserved += value ?? 0
        }
    }

    /// A slot for one invocation of `name`, or a throttle.
    public func acquire(_ name: String) throws(SpoolError) -> Permit {
        let result: Result<Permit, SpoolError> = state.withLock { state in
            let running = state.inFlight[name] ?? 0
            let reserved = state.reserved[name]
            if let reserved {
                guard running < reserved else {
                    return .failure(.throttled("Rate Exceeded.", reason: "ReservedFunctionConcurrentInvocationLimitExceeded"))
                }
            } else {
                guard state.unreservedInFlight < accountLimit - state.totalReserved else {
                    return .failure(.throttled("Rate Exceeded.", reason: "ConcurrentInvocationLimitExceeded"))
                }
                state.unreservedInFlight += 1
            }
            state.inFlight[name] = running + 1
            // Which pool the slot came from is decided here, under the same lock, so that release gives it back there.
            return .success(Permit(name: name, reserved: reserved != nil))
        }
        return try result.get()
    }

    /// Gives a slot back.
    public func release(_ permit: Permit) {
        state.withLock { state in
            state.inFlight[permit.name, default: 1] -= 1
            if state.inFlight[permit.name] == 0 { state.inFlight[permit.name] = nil }
            if !permit.reserved { state.unreservedInFlight -= 1 }
        }
    }

    /// Invocations of `name` running now.
    public func inFlight(_ name: String) -> Int {
        state.withLock { $0.inFlight[name] ?? 0 }
    }

    /// One invocation's slot.
    public struct Permit: Sendable {
        let name: String
        let reserved: Bool
    }
}
