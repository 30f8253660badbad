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
/// A 2xx answer delivers the record (and only then is it counted delivered); anything else is retried with the
/// throttle back-off (1 s growing to 5 min) until the record is as old as the longest event age (6 hours), when it
/// leaves the outbox as a dead letter (`DestinationUnreachable`, the URL as its destination, the last problem as its
/// error), listed and replayable like any other. Deliveries are leased like events, so a crash re-sends rather than loses.
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
    /// How long a record is retried before it becomes a dead letter: the longest event age.
    let maximumAge: Millis

    package init(store: any DestinationDeliveryStore, policy: AsyncRetryPolicy, client: HTTPClient = .shared, clock: any SpoolClock = WallClock(),
                wakeups: WakeSignal = WakeSignal(), maximumAge: Millis = Millis(AsyncLimits.defaultEventAgeSeconds) * 1_000,
                logger: Logger = Logger(label: "spool.destinations")) {
        self.maximumAge = maximumAge
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
                if await deliverDue() == Self.batch { continue }
                let next = (try? await store.earliestDelivery()).flatMap { $0 } ?? (now + 30_000)
                await wakeups.wait(seen: seen, timeout: .milliseconds(max(next - clock.now(), 1)))
            }
        } onGracefulShutdown: {
            wakeups.close()
        }
    }

    /// Sends the deliveries due now (one batch), each to its end: delivered, retried later, or given up as a dead
    /// letter. Returns how many it leased.
    @discardableResult
    package func deliverDue() async -> Int {
        let now = clock.now()
        let leaseUntil = now + (Self.requestTimeout + 30) * 1_000
        let due = (try? await store.claimDeliveries(now: now, leaseUntil: leaseUntil, limit: Self.batch)) ?? []
        await withDiscardingTaskGroup { group in
            for delivery in due { group.addTask { await deliver(delivery) } }
        }
        return due.count
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
                SpoolMetrics.destinationDelivery(delivery.functionName ?? "", failed: false)
                return
            }
            problem = "HTTP \(response.status.code)"
        } catch {
            problem = "\(error)"
        }
        let now = clock.now()
        let retryAt = now + policy.jittered(policy.throttleDelay(occurrence: delivery.attempts), unit: Double.random(in: 0..<1))
        if retryAt - delivery.createdAt > maximumAge {
            logger.error("destination delivery given up after retrying for the maximum event age; the record is kept as a dead letter",
                         metadata: ["url": "\(delivery.url)", "attempts": "\(delivery.attempts)", "error": "\(problem)"])
            do {
                if try await store.abandonDelivery(delivery, error: problem, now: now) {
                    SpoolMetrics.destinationDelivery(delivery.functionName ?? "", failed: true)
                }
            } catch {
                logger.error("cannot keep the undelivered record; it is tried again", metadata: ["error": "\(error)"])
            }
        } else {
            logger.warning("destination delivery failed; retrying", metadata: ["url": "\(delivery.url)", "error": "\(problem)"])
            try? await store.settleDelivery(id: delivery.id, epoch: delivery.epoch, retryAt: retryAt, error: problem)
        }
    }
}
