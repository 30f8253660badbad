import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import SpoolModel
import SpoolSignals
import SpoolStorage

/// POSTs invocation records to `http(s)://` destinations from the delivery outbox.
///
/// A 2xx answer delivers the record; anything else is retried with the throttle back-off (1 s growing to
/// 5 min) until the record is as old as the longest event age (6 hours), when it is dropped with an error
/// in the log. Deliveries are leased like events, so a crash re-sends rather than loses.
package struct DestinationDeliverer: Service {
    let store: any DestinationDeliveryStore
    let policy: AsyncRetryPolicy
    let client: HTTPClient
    let clock: any SpoolClock
    package let wakeups: WakeSignal
    let logger: Logger

    /// How long one POST may take.
    static let requestTimeout: Int64 = 30
    /// Deliveries sent at once.
    static let batch = 16

    package init(store: any DestinationDeliveryStore, policy: AsyncRetryPolicy, client: HTTPClient = .shared, clock: any SpoolClock = WallClock(),
                wakeups: WakeSignal = WakeSignal(), logger: Logger = Logger(label: "spool.destinations")) {
        self.store = store
        self.policy = policy
        self.client = client
        self.clock = clock
        self.wakeups = wakeups
        self.logger = logger
    }

    /// Wakes the deliverer after a settle wrote to the outbox.
    package func notify() { wakeups.signal() }

    package func run() async throws {
        await withGracefulShutdownHandler {
            // Also ends on cancellation (another service failed): the wait would return at once and spin.
            while !wakeups.isClosed && !Task.isCancelled {
                let seen = wakeups.generation
                let now = clock.now()
                let leaseUntil = now + (Self.requestTimeout + 30) * 1_000
                let due = (try? await store.claimDeliveries(now: now, leaseUntil: leaseUntil, limit: Self.batch)) ?? []
                await withDiscardingTaskGroup { group in
                    for delivery in due { group.addTask { await deliver(delivery) } }
                }
                if due.count == Self.batch { continue }
                let next = (try? await store.earliestDelivery()).flatMap { $0 } ?? (now + 30_000)
                await wakeups.wait(seen: seen, timeout: .milliseconds(max(next - clock.now(), 1)))
            }
        } onGracefulShutdown: {
            wakeups.close()
        }
    }

    private func deliver(_ delivery: DestinationDelivery) async {
        var request = HTTPClientRequest(url: delivery.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: delivery.body))
        var problem: String
        do {
            let response = try await client.execute(request, timeout: .seconds(Self.requestTimeout))
            _ = try? await response.body.collect(upTo: 1_048_576)
            if (200..<300).contains(Int(response.status.code)) {
                try? await store.settleDelivery(id: delivery.id, epoch: delivery.epoch, retryAt: nil, error: nil)
                return
            }
            problem = "HTTP \(response.status.code)"
        } catch {
            problem = "\(error)"
        }
        let now = clock.now()
        let retryAt = now + policy.jittered(policy.throttleDelay(occurrence: delivery.attempts), unit: Double.random(in: 0..<1))
        if retryAt - delivery.createdAt > Millis(AsyncLimits.defaultEventAgeSeconds) * 1_000 {
            logger.error("destination delivery abandoned after retrying for the maximum event age",
                         metadata: ["url": "\(delivery.url)", "attempts": "\(delivery.attempts)", "error": "\(problem)"])
            try? await store.settleDelivery(id: delivery.id, epoch: delivery.epoch, retryAt: nil, error: nil)
        } else {
            logger.warning("destination delivery failed; retrying", metadata: ["url": "\(delivery.url)", "error": "\(problem)"])
            try? await store.settleDelivery(id: delivery.id, epoch: delivery.epoch, retryAt: retryAt, error: problem)
        }
    }
}
