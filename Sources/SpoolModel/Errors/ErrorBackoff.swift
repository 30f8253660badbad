/// How long a long-running part (a mapping's poller, the asynchronous dispatcher) waits before trying again after
/// consecutive failures of its store or its source (a queue or function that does not exist, a write that failed):
/// doubling from `base` to `maximum`, with up to 20 % jitter so that many pollers failing together do not retry
/// together. Capacity never waits here: a caller without a slot waits for the release of one.
public struct ErrorBackoff: Sendable, Equatable {
    public var base: Millis
    public var maximum: Millis

    public init(base: Millis = 500, maximum: Millis = 30_000) {
        self.base = base
        self.maximum = maximum
    }

    /// The wait after the `failures`-th consecutive failure (1 or more); `unit` is a random number in [0, 1).
    public func delay(failures: Int, unit: Double) -> Millis {
        let exponent = min(max(failures, 1) - 1, 30)
        let plain = min(maximum, base << Millis(exponent))
        return plain + Millis(Double(plain) * 0.2 * unit)
    }
}
