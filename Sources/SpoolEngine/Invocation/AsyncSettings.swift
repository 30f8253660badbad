import SpoolModel

/// The tunables of asynchronous invocation, from the `async` section of the configuration.
package struct AsyncSettings: Sendable {
    /// Retry delays: n × `functionErrorBase` after function errors, 1 s doubling to 5 min after throttles.
    package var retryPolicy: AsyncRetryPolicy
    /// How long an `Idempotency-Key` is remembered.
    package var idempotencyWindow: Millis
    /// Events of one function claimed per dispatch round; the fairness quantum across functions.
    package var claimBatch: Int
    /// Added to a function's timeout to make the lease of a running event.
    package var leaseMargin: Millis
    /// How long a stop waits for running events to finish; what is still running then is cut off and released,
    /// so that it runs again (without using an attempt) at the next start.
    package var shutdownGrace: Duration

    package init(retryPolicy: AsyncRetryPolicy = AsyncRetryPolicy(), idempotencyWindow: Millis = 3_600_000, claimBatch: Int = 10,
                leaseMargin: Millis = 60_000, shutdownGrace: Duration = .seconds(30)) {
        self.shutdownGrace = shutdownGrace
        self.retryPolicy = retryPolicy
        self.idempotencyWindow = idempotencyWindow
        self.claimBatch = claimBatch
        self.leaseMargin = leaseMargin
    }
}
