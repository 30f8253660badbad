import SpoolModel

/// Durable storage of asynchronous events: the queue they wait in, their leases, and everything settling
/// one causes (destination records, dead-letter messages, dead letters), written in one transaction. Their
/// configurations, dead letters and http deliveries are aggregates of their own (`EventInvokeConfigStore`,
/// `DeadLetterStore`, `DestinationDeliveryStore`).
public protocol InvocationStore: Sendable {
    /// Stores accepted events in one transaction. An event whose idempotency key was seen within its
    /// window stores nothing and reports the first request's id.
    func enqueueInvocations(_ params: EnqueueInvocationsParams) async throws -> [EnqueuedInvocation]
    /// Leases up to `limit` visible events of one function under a new epoch, counting an invocation for each.
    func claimInvocations(_ params: ClaimInvocationsParams) async throws -> [ClaimedInvocation]
    /// Settles a leased event and applies its effects in the same transaction; nothing happens if the
    /// lease (id, epoch) is stale.
    func settleInvocation(_ params: SettleInvocationParams) async throws -> SettleOutcome
    /// Ends every lease still held (the server that held them is gone: called once at start-up), so that
    /// events cut off by a crash run again at once. Their invocation counts stay as they were; returns how many.
    func releaseInvocationLeases(now: Millis) async throws -> Int
    /// The earliest time at which an event of `function` is or becomes claimable, if it has any.
    func earliestInvocation(function: String) async throws -> Millis?
    /// The functions that have events waiting or running, in name order.
    func functionsWithInvocations() async throws -> [String]
    /// Events of a function waiting or running, and the oldest one's enqueue time.
    func invocationBacklog(function: String) async throws -> (count: Int, oldestEnqueuedAt: Millis?)
    /// Forgets idempotency keys whose window ended, at most `limit` of them.
    func pruneIdempotencyKeys(now: Millis, limit: Int) async throws -> Int
}
