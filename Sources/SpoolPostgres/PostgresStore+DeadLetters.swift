import Foundation
import PostgresNIO
import SpoolModel
import SpoolStorage

/// Dead letters (listing with filters, replay as new events, purge) and the outbox of http(s) destination deliveries,
/// leased like events. A replay locks the letters it replays, so two operators replaying at once replay each once.
extension PostgresStore: DeadLetterStore, DestinationDeliveryStore {
    static let deadLetterColumns = """
        id, request_id, function_name, qualifier, payload, reason, attempts, last_error, enqueued_at, failed_at, replay_of, replayed_at,
        replay_request_id, destination
        """

    static func deadLetterConditions(_ filter: DeadLetterFilter, afterID: Int64) throws -> Conditions {
        var conditions = Conditions()
        try conditions.add("id > ?", afterID)
        if let name = filter.functionName { try conditions.add("function_name = ?", name) }
        if let reason = filter.reason { try conditions.add("reason = ?", reason.rawValue) }
        if let from = filter.failedFrom { try conditions.add("failed_at >= ?", from) }
        if let until = filter.failedUntil { try conditions.add("failed_at < ?", until) }
        if !filter.ids.isEmpty { try conditions.add("id = ANY(?)", filter.ids) }
        if !filter.includeReplayed { conditions.add("replayed_at IS NULL") }
        return conditions
    }

    static func deadLetter(_ row: PostgresRow) throws -> DeadLetter {
        let (id, requestID, function, qualifier, payload, reason, attempts, lastError, enqueuedAt, failedAt, replayOf, replayedAt,
             replayRequestID, destination) =
            try row.decode((Int64, String, String, String?, String, String, Int, String?, Int64, Int64, Int64?, Int64?, String?, String?).self)
        return DeadLetter(
            id: id, requestID: requestID, functionName: function, qualifier: qualifier, payload: payload,
            reason: FailureCondition(rawValue: reason) ?? .retriesExhausted, attempts: attempts,
            lastError: ColumnJSON.decode(InvocationFailure.self, lastError), enqueuedAt: enqueuedAt, failedAt: failedAt,
            replayOf: replayOf, replayedAt: replayedAt, replayRequestID: replayRequestID, destination: destination
        )
    }

    package func deadLetters(_ filter: DeadLetterFilter, afterID: Int64, limit: Int) async throws -> [DeadLetter] {
        try await read { connection in
            var conditions = try Self.deadLetterConditions(filter, afterID: afterID)
            let limit = try conditions.bind(limit)
            return try await connection.rows(conditions.query("SELECT \(Self.deadLetterColumns) FROM dead_letter", "ORDER BY id LIMIT \(limit)"))
                .map(Self.deadLetter)
        }
    }

    package func deadLetter(id: Int64) async throws -> DeadLetter? {
        try await read { connection in
            try await connection.first("SELECT \(unescaped: Self.deadLetterColumns) FROM dead_letter WHERE id = \(id)").map(Self.deadLetter)
        }
    }

    package func replayDeadLetters(_ params: ReplayDeadLettersParams) async throws -> ReplayChunk {
        try await transaction { connection in
            var conditions = try Self.deadLetterConditions(params.filter, afterID: params.afterID)
            let limit = try conditions.bind(params.limit)
            let letters = try await connection.rows(conditions.query(
                "SELECT \(Self.deadLetterColumns) FROM dead_letter", "ORDER BY id LIMIT \(limit) FOR UPDATE"
            )).map(Self.deadLetter)
            var chunk = ReplayChunk(examined: letters.count, replayed: 0, skipped: 0, lastID: letters.last?.id, functions: [])
            var functions = Set<String>()
            for letter in letters {
                guard let (requestID, effect, origin) = InvocationStoreRules.replay(of: letter, params) else {
                    chunk.skipped += 1
                    continue
                }
                var delivered = SettleOutcome(settled: true)
                try await Self.apply(effect, connection, now: params.now, origin: origin, outcome: &delivered)
                guard delivered.undelivered.isEmpty else {
                    chunk.skipped += 1
                    continue
                }
                try await connection.run("UPDATE dead_letter SET replayed_at = \(params.now), replay_request_id = \(requestID) WHERE id = \(letter.id)")
                chunk.replayed += 1
                functions.formUnion(delivered.functionsInvoked)
                chunk.queuesSent += delivered.queuesSent
                chunk.postsQueued += delivered.postsQueued
            }
            chunk.functions = functions.sorted()
            return chunk
        }
    }

    package func purgeDeadLetters(_ filter: DeadLetterFilter, afterID: Int64, limit: Int) async throws -> (count: Int, lastID: Int64?) {
        try await transaction { connection in
            var conditions = try Self.deadLetterConditions(filter, afterID: afterID)
            let limit = try conditions.bind(limit)
            let ids = try await connection.rows(conditions.query("SELECT id FROM dead_letter", "ORDER BY id LIMIT \(limit) FOR UPDATE"))
                .map { try $0.decode(Int64.self) }
            guard let last = ids.last else { return (0, nil) }
            try await connection.run("DELETE FROM dead_letter WHERE id = ANY(\(ids))")
            return (ids.count, last)
        }
    }

    // MARK: Destination deliveries

    package func claimDeliveries(now: Millis, leaseUntil: Millis, limit: Int) async throws -> [DestinationDelivery] {
        try await transaction { [epochFloor] connection in
            try await connection.rows("""
                WITH picked AS (
                    SELECT id FROM destination_delivery WHERE visible_at <= \(now) ORDER BY visible_at, id LIMIT \(limit) FOR UPDATE SKIP LOCKED)
                UPDATE destination_delivery d
                SET visible_at = \(leaseUntil), lease_epoch = GREATEST(d.lease_epoch + 1, \(epochFloor)), attempts = d.attempts + 1
                FROM picked WHERE d.id = picked.id
                RETURNING d.id, d.lease_epoch, d.url, d.body, d.created_at, d.attempts, d.function_name, d.request_id
                """).map { row in
                let (id, epoch, url, body, createdAt, attempts, function, requestID) =
                    try row.decode((Int64, Int64, String, String, Int64, Int, String?, String?).self)
                return DestinationDelivery(id: id, epoch: epoch, url: url, body: body, createdAt: createdAt, attempts: attempts,
                                           functionName: function, requestID: requestID)
            }.sorted { $0.id < $1.id }
        }
    }

    package func settleDelivery(id: Int64, epoch: Int64, retryAt: Millis?, error: String?) async throws {
        try await transaction { connection in
            if let retryAt {
                try await connection.run(
                    "UPDATE destination_delivery SET visible_at = \(retryAt), last_error = \(error) WHERE id = \(id) AND lease_epoch = \(epoch)"
                )
            } else {
                try await connection.run("DELETE FROM destination_delivery WHERE id = \(id) AND lease_epoch = \(epoch)")
            }
        }
    }

    package func abandonDelivery(_ delivery: DestinationDelivery, error: String, now: Millis) async throws -> Bool {
        try await transaction { connection in
            guard try await connection.count(
                "DELETE FROM destination_delivery WHERE id = \(delivery.id) AND lease_epoch = \(delivery.epoch) RETURNING 1"
            ) == 1 else { return false }
            try await Self.insertDeadLetter(connection, InvocationStoreRules.abandonedLetter(delivery, error: error, now: now))
            return true
        }
    }

    package func earliestDelivery() async throws -> Millis? {
        try await read { connection in try await connection.value("SELECT min(visible_at) FROM destination_delivery", as: Int64.self) }
    }
}
