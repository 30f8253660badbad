/// Where an accepted asynchronous event is. The `invocation.state` CHECK lists the same values; a
/// finished event has no state because its row is deleted by the settle that finishes it.
public enum InvocationState: String, Sendable, CaseIterable {
    /// Waiting to run at its `visible_at`. Moved in by enqueue, by a retry, and by the start-up release of
    /// leases left by a dead server; moved out by a claim.
    case queued
    /// Claimed under a lease until `visible_at`. Moved in by a claim; moved out by its settle (retry or
    /// finish), or claimed again by anyone once the lease ends.
    case running
}
