import SpoolModel

/// The outbox of invocation records POSTed to http(s) destinations, leased like events.
public protocol DestinationDeliveryStore: Sendable {
    /// Leases up to `limit` due http destination deliveries.
    func claimDeliveries(now: Millis, leaseUntil: Millis, limit: Int) async throws -> [DestinationDelivery]
    /// Finishes a delivery (`retryAt == nil`) or schedules its next try; stale leases change nothing.
    func settleDelivery(id: Int64, epoch: Int64, retryAt: Millis?, error: String?) async throws
    /// Gives a delivery up: it leaves the outbox and its record becomes a dead letter (`DestinationUnreachable`, the URL
    /// as destination, `error` as the last error), in one transaction; `false` for a stale lease.
    func abandonDelivery(_ delivery: DestinationDelivery, error: String, now: Millis) async throws -> Bool
    /// The earliest time a delivery is or becomes due.
    func earliestDelivery() async throws -> Millis?
}
