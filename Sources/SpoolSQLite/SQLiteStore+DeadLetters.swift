import Foundation
import GRDB
import SpoolModel
import SpoolStorage

/// Dead letters: listing with filters, replay as new events, purge. Each call is one short transaction.
extension SQLiteStore: DeadLetterStore, DestinationDeliveryStore {
    /// The WHERE clause and arguments of a filter, ids above `afterID`.
    static func deadLetterConditions(_ filter: DeadLetterFilter, afterID: Int64) -> (String, StatementArguments) {
        var clauses = ["id > ?"]
        var arguments: StatementArguments = [afterID]
        if let name = filter.functionName {
            clauses.append("function_name = ?")
            _ = arguments.append(contentsOf: [name])
        }
        if let reason = filter.reason {
            clauses.append("reason = ?")
            _ = arguments.append(contentsOf: [reason.rawValue])
        }
        if let from = filter.failedFrom {
            clauses.append("failed_at >= ?")
            _ = arguments.append(contentsOf: [from])
        }
        if let until = filter.failedUntil {
            clauses.append("failed_at < ?")
            _ = arguments.append(contentsOf: [until])
        }
        if !filter.ids.isEmpty {
            clauses.append("id IN (\(Array(repeating: "?", count: filter.ids.count).joined(separator: ", ")))")
            _ = arguments.append(contentsOf: StatementArguments(filter.ids))
        }
        if !filter.includeReplayed { clauses.append("replayed_at IS NULL") }
        return (clauses.joined(separator: " AND "), arguments)
    }

    package func deadLetters(_ filter: DeadLetterFilter, afterID: Int64, limit: Int) async throws -> [DeadLetter] {
        try await read { db in
            let (conditions, arguments) = Self.deadLetterConditions(filter, afterID: afterID)
            return try Row.fetchAll(db, sql: "SELECT * FROM dead_letter WHERE \(conditions) ORDER BY id LIMIT \(limit)", arguments: arguments)
                .map(Self.deadLetter)
        }
    }

    package func deadLetter(id: Int64) async throws -> DeadLetter? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM dead_letter WHERE id = ?", arguments: [id]).map(Self.deadLetter)
        }
    }

    package func replayDeadLetters(_ params: ReplayDeadLettersParams) async throws -> ReplayChunk {
        try await write { db in
            let (conditions, arguments) = Self.deadLetterConditions(params.filter, afterID: params.afterID)
            let letters = try Row.fetchAll(db, sql: "SELECT * FROM dead_letter WHERE \(conditions) ORDER BY id LIMIT \(params.limit)",
                                           arguments: arguments).map(Self.deadLetter)
            var chunk = ReplayChunk(examined: letters.count, replayed: 0, skipped: 0, lastID: letters.last?.id, functions: [])
            var functions = Set<String>()
            for letter in letters {
                guard let (requestID, effect, origin) = InvocationStoreRules.replay(of: letter, params) else {
                    chunk.skipped += 1
                    continue
                }
                var delivered = SettleOutcome(settled: true)
                try Self.apply(effect, db, now: params.now, origin: origin, outcome: &delivered)
                guard delivered.undelivered.isEmpty else {
                    chunk.skipped += 1
                    continue
                }
                try db.cachedStatement(sql: "UPDATE dead_letter SET replayed_at = ?, replay_request_id = ? WHERE id = ?")
                    .execute(arguments: [params.now, requestID, letter.id])
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
        try await write { db in
            let (conditions, arguments) = Self.deadLetterConditions(filter, afterID: afterID)
            let ids = try Int64.fetchAll(db, sql: "SELECT id FROM dead_letter WHERE \(conditions) ORDER BY id LIMIT \(limit)", arguments: arguments)
            guard let last = ids.last else { return (0, nil) }
            try db.execute(sql: "DELETE FROM dead_letter WHERE id IN (\(ids.map(String.init).joined(separator: ",")))")
            return (ids.count, last)
        }
    }

    static func deadLetter(_ row: Row) -> DeadLetter {
        DeadLetter(
            id: row["id"], requestID: row["request_id"], functionName: row["function_name"], qualifier: row["qualifier"],
            payload: row["payload"], reason: FailureCondition(rawValue: row["reason"]) ?? .retriesExhausted, attempts: row["attempts"],
            lastError: ColumnJSON.decode(InvocationFailure.self, row["last_error"]), enqueuedAt: row["enqueued_at"],
            failedAt: row["failed_at"], replayOf: row["replay_of"], replayedAt: row["replayed_at"], replayRequestID: row["replay_request_id"],
            destination: row["destination"]
        )
    }

    // MARK: Destination deliveries

    package func claimDeliveries(now: Millis, leaseUntil: Millis, limit: Int) async throws -> [DestinationDelivery] {
        try await write { db in
            try Row.fetchAll(db.cachedStatement(sql: """
                UPDATE destination_delivery SET visible_at = :leaseUntil, lease_epoch = max(lease_epoch + 1, :floor), attempts = attempts + 1
                WHERE id IN (SELECT id FROM destination_delivery WHERE visible_at <= :now ORDER BY visible_at, id LIMIT :limit)
                RETURNING id, lease_epoch, url, body, created_at, attempts, function_name, request_id
                """), arguments: ["leaseUntil": leaseUntil, "now": now, "limit": limit, "floor": self.epochFloor])
                .map { row in
                    DestinationDelivery(id: row["id"], epoch: row["lease_epoch"], url: row["url"], body: row["body"],
                                        createdAt: row["created_at"], attempts: row["attempts"], functionName: row["function_name"],
                                        requestID: row["request_id"])
                }
        }
    }

    package func settleDelivery(id: Int64, epoch: Int64, retryAt: Millis?, error: String?) async throws {
        try await write { db in
            if let retryAt {
                try db.execute(sql: "UPDATE destination_delivery SET visible_at = ?, last_error = ? WHERE id = ? AND lease_epoch = ?",
                               arguments: [retryAt, error, id, epoch])
            } else {
                try db.execute(sql: "DELETE FROM destination_delivery WHERE id = ? AND lease_epoch = ?", arguments: [id, epoch])
            }
        }
    }

    package func abandonDelivery(_ delivery: DestinationDelivery, error: String, now: Millis) async throws -> Bool {
        try await write { db in
            try db.execute(sql: "DELETE FROM destination_delivery WHERE id = ? AND lease_epoch = ?", arguments: [delivery.id, delivery.epoch])
            guard db.changesCount == 1 else { return false }
            try Self.insertDeadLetter(db, InvocationStoreRules.abandonedLetter(delivery, error: error, now: now))
            return true
        }
    }

    package func earliestDelivery() async throws -> Millis? {
        try await read { db in try Millis.fetchOne(db, sql: "SELECT min(visible_at) FROM destination_delivery") }
    }
}
