import Foundation
import GRDB
import SpoolModel
import SpoolStorage

/// Asynchronous events: enqueue (with idempotency keys), claim under a lease, settle with effects.
extension SQLiteStore: InvocationStore {
    static let invocationColumns = """
        id, lease_epoch, request_id, function_name, qualifier, payload, enqueued_at, invoke_count, function_errors,
        system_retries, last_error, replay_of
        """

    /// The claim: one statement, served by `invocation_claim` (function_name = ? AND visible_at <= ?), in claim order.
    static let invocationClaimSQL = """
        UPDATE invocation
        SET state = '\(InvocationState.running.rawValue)', visible_at = :leaseUntil, lease_epoch = max(lease_epoch + 1, :floor), invoke_count = invoke_count + 1
        WHERE id IN (
            SELECT id FROM invocation WHERE function_name = :function AND visible_at <= :now
            ORDER BY visible_at, id LIMIT :limit)
        RETURNING \(invocationColumns)
        """

    package func enqueueInvocations(_ params: EnqueueInvocationsParams) async throws -> [EnqueuedInvocation] {
        try await write { [epochFloor] db in
            try params.invocations.map { try Self.enqueue(db, $0, now: params.now, epoch: epochFloor) }
        }
    }

    /// Inserts one event unless its idempotency key repeats within the window; one stored already claimed takes `epoch`.
    static func enqueue(_ db: Database, _ invocation: NewInvocation, now: Millis, epoch: Int64) throws -> EnqueuedInvocation {
        if let key = invocation.idempotencyKey {
            if let first = try String.fetchOne(
                db.cachedStatement(sql: "SELECT request_id FROM invocation_idempotency WHERE function_name = ? AND key = ? AND expires_at > ?"),
                arguments: [invocation.functionName, key, now]
            ) {
                return EnqueuedInvocation(requestID: first, stored: false)
            }
            try db.cachedStatement(sql: """
                INSERT INTO invocation_idempotency (function_name, key, request_id, expires_at) VALUES (?, ?, ?, ?)
                ON CONFLICT(function_name, key) DO UPDATE SET request_id = excluded.request_id, expires_at = excluded.expires_at
                """).execute(arguments: [invocation.functionName, key, invocation.requestID, invocation.idempotencyExpiresAt])
        }
        if let leaseUntil = invocation.leaseUntil {
            // Stored as the claim would leave it (running, leased, at this opening's epoch floor) but not counted: it counts as started only once
            // it has (the settle stores the count), so that a hand-off that never starts leaves no invocation behind.
            try db.cachedStatement(sql: """
                INSERT INTO invocation (request_id, function_name, qualifier, payload, state, enqueued_at, visible_at, lease_epoch,
                                        invoke_count, replay_of)
                VALUES (?, ?, ?, ?, '\(InvocationState.running.rawValue)', ?, ?, ?, 0, ?)
                """).execute(arguments: [invocation.requestID, invocation.functionName, invocation.qualifier, invocation.payload, now, leaseUntil,
                                         epoch, invocation.replayOf])
            let claimed = ClaimedInvocation(
                id: db.lastInsertedRowID, epoch: epoch, requestID: invocation.requestID, functionName: invocation.functionName,
                qualifier: invocation.qualifier, payload: invocation.payload, enqueuedAt: now, invokeCount: 1, functionErrors: 0,
                systemRetries: 0, lastError: nil, replayOf: invocation.replayOf)
            return EnqueuedInvocation(requestID: invocation.requestID, stored: true, claimed: claimed)
        }
        try db.cachedStatement(sql: """
            INSERT INTO invocation (request_id, function_name, qualifier, payload, state, enqueued_at, visible_at, replay_of)
            VALUES (?, ?, ?, ?, '\(InvocationState.queued.rawValue)', ?, ?, ?)
            """).execute(arguments: [invocation.requestID, invocation.functionName, invocation.qualifier, invocation.payload, now, now,
                                     invocation.replayOf])
        return EnqueuedInvocation(requestID: invocation.requestID, stored: true)
    }

    package func claimInvocations(_ params: ClaimInvocationsParams) async throws -> [ClaimedInvocation] {
        // A lease lost in a power failure only lets the events run again: no fsync of its own.
        try await write(durable: false) { db in
            let rows = try Row.fetchAll(db.cachedStatement(sql: Self.invocationClaimSQL), arguments: [
                "leaseUntil": params.leaseUntil, "function": params.functionName, "now": params.now, "limit": params.limit, "floor": self.epochFloor,
            ])
            return rows.map(Self.claimedInvocation)
        }
    }

    static func claimedInvocation(_ row: Row) -> ClaimedInvocation {
        ClaimedInvocation(
            id: row["id"], epoch: row["lease_epoch"], requestID: row["request_id"], functionName: row["function_name"],
            qualifier: row["qualifier"], payload: row["payload"], enqueuedAt: row["enqueued_at"], invokeCount: row["invoke_count"],
            functionErrors: row["function_errors"], systemRetries: row["system_retries"],
            lastError: ColumnJSON.decode(InvocationFailure.self, row["last_error"]), replayOf: row["replay_of"]
        )
    }

    /// `EXPLAIN QUERY PLAN` of the invocation claim, to check it searches `invocation_claim`.
    package func invocationClaimPlan() async throws -> [String] {
        try await read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + Self.invocationClaimSQL,
                             arguments: ["leaseUntil": 2, "function": "f", "now": 1, "limit": 10, "floor": 0])
                .map { row -> String in row["detail"] }
        }
    }

    package func settleInvocation(_ params: SettleInvocationParams) async throws -> SettleOutcome {
        try await write { db in
            switch params.transition {
            case .finish:
                try db.cachedStatement(sql: "DELETE FROM invocation WHERE id = ? AND lease_epoch = ?").execute(arguments: [params.id, params.epoch])
            case .retry(let visibleAt, let failure, let invokeCount):
                let consumes = failure.consumesAttempt
                try db.cachedStatement(sql: """
                    UPDATE invocation SET state = '\(InvocationState.queued.rawValue)', visible_at = :visibleAt,
                      function_errors = function_errors + :functionError,
                      system_retries = CASE WHEN :functionError = 1 THEN 0 ELSE system_retries + 1 END,
                      invoke_count = :invokeCount,
                      last_error = CASE WHEN :functionError = 1 OR last_error IS NULL THEN :error ELSE last_error END
                    WHERE id = :id AND lease_epoch = :epoch
                    """).execute(arguments: [
                        "visibleAt": visibleAt, "functionError": consumes ? 1 : 0, "invokeCount": invokeCount,
                        "error": ColumnJSON.encode(failure), "id": params.id, "epoch": params.epoch,
                    ])
            case .release(let invokeCount):
                try db.cachedStatement(sql: """
                    UPDATE invocation SET state = '\(InvocationState.queued.rawValue)', visible_at = :now, invoke_count = :invokeCount
                    WHERE id = :id AND lease_epoch = :epoch
                    """).execute(arguments: ["now": params.now, "invokeCount": invokeCount, "id": params.id, "epoch": params.epoch])
            }
            guard db.changesCount == 1 else { return SettleOutcome(settled: false) }
            var outcome = SettleOutcome(settled: true)
            for effect in params.effects {
                try Self.apply(effect, db, now: params.now, origin: params.origin, outcome: &outcome)
            }
            return outcome
        }
    }

    /// Applies one effect of a settle inside its transaction. A destination that no longer exists is reported, not
    /// thrown (the settle itself must still commit), and with an `origin` its record becomes a dead letter.
    /// Stores a dead letter (its `id` is assigned).
    static func insertDeadLetter(_ db: Database, _ letter: DeadLetter) throws {
        try db.cachedStatement(sql: """
            INSERT INTO dead_letter (request_id, function_name, qualifier, payload, reason, attempts, last_error, enqueued_at,
                                     failed_at, replay_of, destination)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [
                letter.requestID, letter.functionName, letter.qualifier, letter.payload, letter.reason.rawValue, letter.attempts,
                letter.lastError.map { ColumnJSON.encode($0) }, letter.enqueuedAt, letter.failedAt, letter.replayOf, letter.destination,
            ])
    }

    static func apply(_ effect: InvocationEffect, _ db: Database, now: Millis, origin: EffectOrigin?, outcome: inout SettleOutcome) throws {
        func undeliverable(_ problem: String, record: String, destination: DeadLetterDestination) throws {
            outcome.undelivered.append(problem)
            guard let origin else { return }
            try insertDeadLetter(db, InvocationStoreRules.undeliveredLetter(origin: origin, record: record, problem: problem, destination: destination, now: now))
        }
        switch effect {
        case .sendMessage(let queueName, let message):
            guard let queueID = try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT id FROM queue WHERE name = ? AND deleted_at IS NULL"), arguments: [queueName]
            ) else {
                try undeliverable("queue \(queueName) does not exist", record: message.body, destination: .queue(queueName))
                return
            }
            let queue = try QueueRuntime.fetch(db, id: queueID)
            do {
                _ = try insert(db, message: message, into: queue, now: now)
                outcome.queuesSent.append(queueID)
            } catch let error as SpoolError {
                try undeliverable("queue \(queueName): \(error.message)", record: message.body, destination: .queue(queueName))
            }
        case .invoke(let invocation):
            guard try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM function WHERE name = ?"), arguments: [invocation.functionName]) == true else {
                try undeliverable("function \(invocation.functionName) does not exist", record: invocation.payload,
                                  destination: .function(invocation.functionName))
                return
            }
            _ = try enqueue(db, invocation, now: now, epoch: 0)  // stored queued: a claim takes its epoch
            outcome.functionsInvoked.append(invocation.functionName)
        case .post(let url, let body):
            try db.cachedStatement(sql: """
                INSERT INTO destination_delivery (url, body, created_at, visible_at, function_name, request_id) VALUES (?, ?, ?, ?, ?, ?)
                """).execute(arguments: [url, body, now, now, origin?.functionName, origin?.requestID])
            outcome.postsQueued += 1
        case .putRecord(let streamName, let partitionKey, let data):
            guard let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT * FROM stream WHERE name = ? AND deleted_at IS NULL"), arguments: [streamName]
            ) else {
                try undeliverable("stream \(streamName) does not exist", record: String(decoding: data, as: UTF8.self), destination: .stream(streamName))
                return
            }
            // Routed inside the transaction that appends it, so no reshard can close the shard in between.
            let stream = try streamInfo(db, row)
            let shard = stream.openShard(partitionKey: partitionKey, explicitHashKey: nil)
            _ = try append(db, streamID: stream.id, records: [NewStreamRecord(shardIndex: shard, partitionKey: partitionKey, data: data)], now: now)
            outcome.streamsPut.append(stream.id)
        case .deadLetter(let letter):
            try insertDeadLetter(db, letter)
        }
    }

    /// The `CREATE TABLE` statement of a table, for tests that compare the schema with the Swift enums.
    package func tableSQL(_ table: String) async throws -> String {
        try await read { db in
            try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", arguments: [table]) ?? ""
        }
    }

    package func releaseInvocationLeases(now: Millis) async throws -> Int {
        try await write { db in
            try db.execute(sql: """
                UPDATE invocation SET state = '\(InvocationState.queued.rawValue)', visible_at = ?
                WHERE state = '\(InvocationState.running.rawValue)' AND visible_at > ?
                """, arguments: [now, now])
            return db.changesCount
        }
    }

    package func earliestInvocation(function: String) async throws -> Millis? {
        try await read { db in
            try Millis.fetchOne(db.cachedStatement(sql: "SELECT min(visible_at) FROM invocation WHERE function_name = ?"), arguments: [function])
        }
    }

    package func functionsWithInvocations() async throws -> [String] {
        try await read { db in
            // One index seek per function, so the cost follows the number of functions, not of events.
            var names: [String] = []
            var last = ""
            while let next = try String.fetchOne(
                db.cachedStatement(sql: "SELECT function_name FROM invocation WHERE function_name > ? ORDER BY function_name LIMIT 1"),
                arguments: [last]
            ) {
                names.append(next)
                last = next
            }
            return names
        }
    }

    package func invocationBacklog(function: String) async throws -> (count: Int, oldestEnqueuedAt: Millis?) {
        try await read { db in
            let row = try Row.fetchOne(db, sql: "SELECT count(*) AS n, min(enqueued_at) AS oldest FROM invocation WHERE function_name = ?",
                                       arguments: [function])
            return (row?["n"] ?? 0, row?["oldest"])
        }
    }

    package func pruneIdempotencyKeys(now: Millis, limit: Int) async throws -> Int {
        try await write { db in
            try db.execute(sql: """
                DELETE FROM invocation_idempotency WHERE (function_name, key) IN (
                  SELECT function_name, key FROM invocation_idempotency WHERE expires_at <= ? LIMIT ?)
                """, arguments: [now, limit])
            return db.changesCount
        }
    }
}
