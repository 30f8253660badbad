import SpoolModel

/// Durable storage of asynchronous events: the queue they wait in, their leases, and everything settling
/// one causes (destination records, dead-letter messages, dead letters), written in one transaction.
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

    /// The event-invoke configuration of a function and qualifier, or `nil`.
    func eventInvokeConfig(function: String, qualifier: String) async throws -> EventInvokeConfig?
    /// Stores a configuration, replacing any earlier one of the same function and qualifier.
    func putEventInvokeConfig(_ config: EventInvokeConfig) async throws
    /// Removes a configuration; `false` if there was none.
    func deleteEventInvokeConfig(function: String, qualifier: String) async throws -> Bool
    /// Every configuration of a function, by qualifier.
    func eventInvokeConfigs(function: String) async throws -> [EventInvokeConfig]

    /// Dead letters matching `filter` with ids above `afterID`, oldest first.
    func deadLetters(_ filter: DeadLetterFilter, afterID: Int64, limit: Int) async throws -> [DeadLetter]
    /// One dead letter.
    func deadLetter(id: Int64) async throws -> DeadLetter?
    /// Replays up to `limit` matching dead letters with ids above `afterID` in one transaction: each becomes
    /// a new event (attempts reset, linked to its dead letter) and is marked replayed.
    func replayDeadLetters(_ params: ReplayDeadLettersParams) async throws -> ReplayChunk
    /// Deletes up to `limit` matching dead letters with ids above `afterID`; returns how many and the last id.
    func purgeDeadLetters(_ filter: DeadLetterFilter, afterID: Int64, limit: Int) async throws -> (count: Int, lastID: Int64?)

    /// Leases up to `limit` due http destination deliveries.
    func claimDeliveries(now: Millis, leaseUntil: Millis, limit: Int) async throws -> [DestinationDelivery]
    /// Finishes a delivery (`retryAt == nil`) or schedules its next try; stale leases change nothing.
    func settleDelivery(id: Int64, epoch: Int64, retryAt: Millis?, error: String?) async throws
    /// The earliest time a delivery is or becomes due.
    func earliestDelivery() async throws -> Millis?
}
