import SpoolModel
import SpoolStorage

/// The promises every `QueueStore` backend keeps, as checks to run against a fresh store each.
///
/// A backend is done when every check passes. Time is driven by a `TestClock`, so expiry, leases
/// and rate limits are checked without sleeping.
public enum QueueStoreConformance {
    /// One named check.
    public struct Check: Sendable, CustomStringConvertible {
        public let name: String
        let body: @Sendable (Fixture) async throws -> Void

        public var description: String { name }

        /// Runs the check against `store`, which must be empty.
        public func run(on store: any QueueStore) async throws {
            try await body(Fixture(store: store, clock: TestClock()))
        }
    }

    /// What a check works with.
    struct Fixture: Sendable {
        let store: any QueueStore
        let clock: TestClock
        let identity = AWSIdentity()

        func create(_ name: String, _ attributes: [String: String] = [:]) async throws -> QueueRecord {
            try await store.createQueue(CreateQueueParams(name: name, attributes: attributes, tags: [:], identity: identity, now: clock.now()))
        }

        @discardableResult
        func send(_ queue: QueueRecord, _ bodies: [String], group: String? = nil, dedup: String? = nil, delay: Int? = nil) async throws -> [SentMessage] {
            let messages = bodies.map { OutgoingMessage(body: $0, delaySeconds: delay, groupID: group, deduplicationID: dedup ?? (group == nil ? nil : $0)) }
            return try await store.sendMessages(SendMessagesParams(queueID: queue.id, messages: messages, now: clock.now()))
        }

        func receive(_ queue: QueueRecord, max: Int = 10, visibility: Int? = nil) async throws -> [ReceivedMessage] {
            try await store.receiveMessages(ReceiveMessagesParams(queueID: queue.id, maxMessages: max, visibilityTimeout: visibility, identity: identity, now: clock.now())).messages
        }

        func delete(_ queue: QueueRecord, _ receipts: [ReceiptHandle]) async throws {
            _ = try await store.deleteMessages(DeleteMessagesParams(queueID: queue.id, receipts: receipts, now: clock.now()))
        }

        /// Runs the retention sweep in batches until a batch removes nothing; returns the total removed.
        func sweepAll(batchSize: Int) async throws -> Int {
            var removed = 0
            while true {
                let batch = try await store.pruneExpiredMessages(now: clock.now(), limit: batchSize)
                removed += batch
                if batch == 0 { return removed }
            }
        }

        func counts(_ queue: QueueRecord) async throws -> QueueCounts {
            try await store.counts(queueID: queue.id, now: clock.now())
        }
    }

    /// Every check, in a stable order.
    public static var checks: [Check] {
        lifecycleChecks + deletionChecks + messageChecks + fifoChecks + attemptChecks + redriveChecks
    }

    static func check(_ name: String, _ body: @escaping @Sendable (Fixture) async throws -> Void) -> Check {
        Check(name: name, body: body)
    }
}
