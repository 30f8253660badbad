/// When asynchronous events are retried, as AWS documents it.
///
/// A function error or timeout waits n × `functionErrorBase` before the n-th retry (1 and 2 minutes by
/// default). A throttle or system failure waits `throttleBase` × 2^(k-1) for its k-th consecutive
/// occurrence, at most `throttleMax` (1 s growing to 5 min). Each delay gets up to `jitter` of itself added.
public struct AsyncRetryPolicy: Sendable, Equatable {
    public var functionErrorBase: Millis
    public var throttleBase: Millis
    public var throttleMax: Millis
    /// The fraction of a delay added at most as random jitter (0.1 = up to 10 % later).
    public var jitter: Double

    public init(functionErrorBase: Millis = 60_000, throttleBase: Millis = 1_000, throttleMax: Millis = 300_000, jitter: Double = 0.1) {
        self.functionErrorBase = functionErrorBase
        self.throttleBase = throttleBase
        self.throttleMax = throttleMax
        self.jitter = jitter
    }

    /// The wait before retry number `retry` (1-based) after a function error, before jitter.
    public func functionErrorDelay(retry: Int) -> Millis {
        functionErrorBase * Millis(max(retry, 1))
    }

    /// The wait after the `occurrence`-th (1-based) throttle or system failure in a row, before jitter.
    public func throttleDelay(occurrence: Int) -> Millis {
        let exponent = min(max(occurrence, 1) - 1, 40)
        let (delay, overflow) = throttleBase.multipliedReportingOverflow(by: Millis(1) << Millis(exponent))
        return overflow ? throttleMax : min(delay, throttleMax)
    }

    /// `delay` with jitter added; `unit` is a random value in 0..<1, injected so tests are exact.
    public func jittered(_ delay: Millis, unit: Double) -> Millis {
        delay + Millis((Double(delay) * jitter * min(max(unit, 0), 1)).rounded(.down))
    }
}
