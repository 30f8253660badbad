import Foundation
import PostgresNIO
import SpoolModel
import SpoolStorage

/// Asynchronous events: enqueue (with idempotency keys), claim under a lease, settle with effects. Any node claims
/// any function's events (`FOR UPDATE SKIP LOCKED`); each lease names the node holding it, so that a node starting
/// again releases only its own, and a settle lands only under the lease (id, epoch) it names.
extension PostgresStore: InvocationStore {
    static let invocationColumns = """
        id, lease_epoch, request_id, function_name, qualifier, payload, enqueued_at, invoke_count, function_errors,
        system_retries, last_error, replay_of
        """

    static func claimedInvocation(_ row: PostgresRow) throws -> ClaimedInvocation {
        let (id, epoch, requestID, function, qualifier, payload, enqueuedAt, invokeCount, functionErrors, systemRetries, lastError, replayOf) =
            try row.decode((Int64, Int64, String, String, String?, String, Int64, Int, Int, Int, String?, Int64?).self)
        return ClaimedInvocation(
            id: id, epoch: epoch, requestID: requestID, functionName: function, qualifier: qualifier, payload: payload, enqueuedAt: enqueuedAt,
            invokeCount: invokeCount, functionErrors: functionErrors, systemRetries: systemRetries,
            lastError: ColumnJSON.decode(InvocationFailure.self, lastError), replayOf: replayOf
        )
    }

    package func enqueueInvocations(_ params: EnqueueInvocationsParams) async throws -> [EnqueuedInvocation] {
        try await transaction { [epochFloor, nodeID] connection in
            var enqueued: [EnqueuedInvocation] = []
            for invocation in params.invocations {
                enqueued.append(try await Self.enqueue(connection, invocation, now: params.now, epoch: epochFloor, node: nodeID))
            }
            return enqueued
        }
    }

    /// Inserts one event unless its idempotency key repeats within the window; one stored already claimed takes `epoch`
    /// and this node as its holder.
    static func enqueue(_ connection: PostgresConnection, _ invocation: NewInvocation, now: Millis, epoch: Int64, node: String) async throws -> EnqueuedInvocation {
        if let key = invocation.idempotencyKey {
            // Two nodes taking one key at once: the second waits for the first to commit and then finds its request id.
            let taken = try await connection.value("""
                INSERT INTO invocation_idempotency (function_name, key, request_id, expires_at)
                VALUES (\(invocation.functionName), \(key), \(invocation.requestID), \(invocation.idempotencyExpiresAt))
                ON CONFLICT (function_name, key) DO UPDATE SET request_id = excluded.request_id, expires_at = excluded.expires_at
                  WHERE invocation_idempotency.expires_at <= \(now)
                RETURNING request_id
                """, as: String.self)
            if taken == nil {
                let first = try await connection.value(
                    "SELECT request_id FROM invocation_idempotency WHERE function_name = \(invocation.functionName) AND key = \(key)", as: String.self
                )
                return EnqueuedInvocation(requestID: first ?? invocation.requestID, stored: false)
            }
        }
        if let leaseUntil = invocation.leaseUntil {
            // Stored as the claim would leave it (running, leased, at this opening's epoch floor) but not counted: it counts
            // as started only once it has (the settle stores the count).
            guard let id = try await connection.value("""
                INSERT INTO invocation (request_id, function_name, qualifier, payload, state, enqueued_at, visible_at, lease_epoch, lease_node,
                                        invoke_count, replay_of)
                VALUES (\(invocation.requestID), \(invocation.functionName), \(invocation.qualifier), \(invocation.payload),
                        \(InvocationState.running.rawValue), \(now), \(leaseUntil), \(epoch), \(node), 0, \(invocation.replayOf))
                RETURNING id
                """, as: Int64.self) else { throw SpoolError(.storageFailure, "The event was not stored.") }
            let claimed = ClaimedInvocation(
                id: id, epoch: epoch, requestID: invocation.requestID, functionName: invocation.functionName,
                qualifier: invocation.qualifier, payload: invocation.payload, enqueuedAt: now, invokeCount: 1, functionErrors: 0,
                systemRetries: 0, lastError: nil, replayOf: invocation.replayOf)
            return EnqueuedInvocation(requestID: invocation.requestID, stored: true, claimed: claimed)
        }
        try await connection.run("""
            INSERT INTO invocation (request_id, function_name, qualifier, payload, state, enqueued_at, visible_at, replay_of)
            VALUES (\(invocation.requestID), \(invocation.functionName), \(invocation.qualifier), \(invocation.payload),
                    \(InvocationState.queued.rawValue), \(now), \(now), \(invocation.replayOf))
            """)
        return EnqueuedInvocation(requestID: invocation.requestID, stored: true)
    }

    package func claimInvocations(_ params: ClaimInvocationsParams) async throws -> [ClaimedInvocation] {
        try await transaction { [epochFloor, nodeID] connection in
            try await connection.rows("""
                WITH picked AS (
                    SELECT id FROM invocation WHERE function_name = \(params.functionName) AND visible_at <= \(params.now)
                    ORDER BY visible_at, id LIMIT \(params.limit)
                    FOR UPDATE SKIP LOCKED)
                UPDATE invocation i
                SET state = \(InvocationState.running.rawValue), visible_at = \(params.leaseUntil),
                    lease_epoch = GREATEST(i.lease_epoch + 1, \(epochFloor)), lease_node = \(nodeID), invoke_count = i.invoke_count + 1
                FROM picked WHERE i.id = picked.id
                RETURNING \(unescaped: Self.invocationColumns.split(separator: ",").map { "i." + $0.trimmingCharacters(in: .whitespacesAndNewlines) }.joined(separator: ", "))
                """).map(Self.claimedInvocation).sorted { $0.id < $1.id }
        }
    }

    package func settleInvocation(_ params: SettleInvocationParams) async throws -> SettleOutcome {
        try await transaction { connection in
            let changed: Int
            switch params.transition {
            case .finish:
                changed = try await connection.count("DELETE FROM invocation WHERE id = \(params.id) AND lease_epoch = \(params.epoch) RETURNING 1")
            case .retry(let visibleAt, let failure, let invokeCount):
                let consumes = failure.consumesAttempt
                let error = ColumnJSON.encode(failure)
                changed = try await connection.count("""
                    UPDATE invocation SET state = \(InvocationState.queued.rawValue), visible_at = \(visibleAt), lease_node = NULL,
                      function_errors = function_errors + \(consumes ? 1 : 0),
                      system_retries = \(unescaped: consumes ? "0" : "system_retries + 1"),
                      invoke_count = \(invokeCount),
                      last_error = \(unescaped: consumes ? "" : "coalesce(last_error, ")\(error)\(unescaped: consumes ? "" : ")")
                    WHERE id = \(params.id) AND lease_epoch = \(params.epoch)
                    RETURNING 1
                    """)
            case .release(let invokeCount):
                changed = try await connection.count("""
                    UPDATE invocation SET state = \(InvocationState.queued.rawValue), visible_at = \(params.now), invoke_count = \(invokeCount),
                      lease_node = NULL
                    WHERE id = \(params.id) AND lease_epoch = \(params.epoch)
                    RETURNING 1
                    """)
            }
            guard changed == 1 else { return SettleOutcome(settled: false) }
            var outcome = SettleOutcome(settled: true)
            for effect in params.effects {
                try await Self.apply(effect, connection, now: params.now, origin: params.origin, outcome: &outcome)
            }
            return outcome
        }
    }

    /// Stores a dead letter (its `id` is assigned).
    static func insertDeadLetter(_ connection: PostgresConnection, _ letter: DeadLetter) async throws {
        try await connection.run("""
            INSERT INTO dead_letter (request_id, function_name, qualifier, payload, reason, attempts, last_error, enqueued_at,
                                     failed_at, replay_of, destination)
            VALUES (\(letter.requestID), \(letter.functionName), \(letter.qualifier), \(letter.payload), \(letter.reason.rawValue),
                    \(letter.attempts), \(letter.lastError.map { ColumnJSON.encode($0) }), \(letter.enqueuedAt), \(letter.failedAt),
                    \(letter.replayOf), \(letter.destination))
            """)
    }

    /// Applies one effect of a settle inside its transaction. A destination that no longer exists is reported, not
    /// thrown (the settle itself must still commit), and with an `origin` its record becomes a dead letter.
    static func apply(_ effect: InvocationEffect, _ connection: PostgresConnection, now: Millis, origin: EffectOrigin?, outcome: inout SettleOutcome) async throws {
        func undeliverable(_ problem: String, record: String, destination: DeadLetterDestination, outcome: inout SettleOutcome) async throws {
            outcome.undelivered.append(problem)
            guard let origin else { return }
            try await insertDeadLetter(connection, InvocationStoreRules.undeliveredLetter(
                origin: origin, record: record, problem: problem, destination: destination, now: now))
        }
        switch effect {
        case .sendMessage(let queueName, let message):
            guard let queueID = try await connection.value(
                "SELECT id FROM queue WHERE name = \(queueName) AND deleted_at IS NULL", as: Int64.self
            ) else {
                try await undeliverable("queue \(queueName) does not exist", record: message.body, destination: .queue(queueName), outcome: &outcome)
                return
            }
            let queue = try await runtimeForMessages(connection, id: queueID)
            // What a queue refuses (a FIFO message without a group) is refused before any statement runs: the settle goes on.
            do {
                _ = try await insert(connection, message: message, into: queue, now: now)
                outcome.queuesSent.append(queueID)
            } catch let error as SpoolError {
                try await undeliverable("queue \(queueName): \(error.message)", record: message.body, destination: .queue(queueName), outcome: &outcome)
            }
        case .invoke(let invocation):
            guard try await connection.value("SELECT true FROM function WHERE name = \(invocation.functionName)", as: Bool.self) == true else {
                try await undeliverable("function \(invocation.functionName) does not exist", record: invocation.payload,
                                        destination: .function(invocation.functionName), outcome: &outcome)
                return
            }
            _ = try await enqueue(connection, invocation, now: now, epoch: 0, node: "")  // stored queued: a claim takes its epoch
            outcome.functionsInvoked.append(invocation.functionName)
        case .post(let url, let body):
            try await connection.run("""
                INSERT INTO destination_delivery (url, body, created_at, visible_at, function_name, request_id)
                VALUES (\(url), \(body), \(now), \(now), \(origin?.functionName), \(origin?.requestID))
                """)
            outcome.postsQueued += 1
        case .putRecord(let streamName, let partitionKey, let data):
            guard let row = try await connection.first(
                "SELECT \(unescaped: Self.streamColumns) FROM stream WHERE name = \(streamName) AND deleted_at IS NULL FOR SHARE"
            ) else {
                try await undeliverable("stream \(streamName) does not exist", record: String(decoding: data, as: UTF8.self),
                                        destination: .stream(streamName), outcome: &outcome)
                return
            }
            // Routed under a share lock of the stream's row, which a reshard's update waits for: the shard stays open.
            let stream = try await Self.streamInfo(connection, row)
            let shard = stream.openShard(partitionKey: partitionKey, explicitHashKey: nil)
            _ = try await append(connection, streamID: stream.id, records: [NewStreamRecord(shardIndex: shard, partitionKey: partitionKey, data: data)], now: now)
            outcome.streamsPut.append(stream.id)
        case .deadLetter(let letter):
            try await insertDeadLetter(connection, letter)
        }
    }

    package func releaseInvocationLeases(now: Millis) async throws -> Int {
        // Only this node's: the leases of the other nodes are theirs until they expire.
        try await transaction { [nodeID] connection in
            try await connection.count("""
                UPDATE invocation SET state = \(InvocationState.queued.rawValue), visible_at = \(now), lease_node = NULL
                WHERE state = \(InvocationState.running.rawValue) AND visible_at > \(now) AND lease_node = \(nodeID)
                RETURNING 1
                """)
        }
    }

    package func earliestInvocation(function: String) async throws -> Millis? {
        try await read { connection in
            try await connection.value("SELECT min(visible_at) FROM invocation WHERE function_name = \(function)", as: Int64.self)
        }
    }

    package func functionsWithInvocations() async throws -> [String] {
        try await read { connection in
            // One index probe per function (a loose index scan), so the cost follows the number of functions, not of events.
            try await connection.rows("""
                WITH RECURSIVE names(name) AS (
                    (SELECT function_name FROM invocation ORDER BY function_name LIMIT 1)
                    UNION ALL
                    SELECT (SELECT function_name FROM invocation WHERE function_name > names.name ORDER BY function_name LIMIT 1)
                    FROM names WHERE names.name IS NOT NULL)
                SELECT name FROM names WHERE name IS NOT NULL
                """).map { try $0.decode(String.self) }
        }
    }

    package func invocationBacklog(function: String) async throws -> (count: Int, oldestEnqueuedAt: Millis?) {
        try await read { connection in
            guard let row = try await connection.first("SELECT count(*), min(enqueued_at) FROM invocation WHERE function_name = \(function)") else {
                return (0, nil)
            }
            let (count, oldest) = try row.decode((Int, Int64?).self)
            return (count, oldest)
        }
    }

    package func pruneIdempotencyKeys(now: Millis, limit: Int) async throws -> Int {
        try await transaction { connection in
            try await connection.count("""
                DELETE FROM invocation_idempotency WHERE (function_name, key) IN (
                  SELECT function_name, key FROM invocation_idempotency WHERE expires_at <= \(now) LIMIT \(limit) FOR UPDATE SKIP LOCKED)
                RETURNING 1
                """)
        }
    }
}
