import GRDB
import SpoolModel
import SpoolStorage

/// FIFO `ReceiveRequestAttemptId`: replaying a receive that a client retried after a lost answer.
extension SQLiteStore {
    /// The messages an earlier receive with this attempt id returned, with their visibility reset,
    /// or `nil` when there was none within five minutes or any of them was deleted or received again.
    static func replayAttempt(_ db: Database, queueID: Int64, attemptID: String, leaseUntil: Millis, now: Millis) throws -> [ReceivedMessage]? {
        guard let text = try String.fetchOne(
            db, sql: "SELECT receipts FROM receive_attempt WHERE queue_id = ? AND attempt_id = ? AND created_at > ?",
            arguments: [queueID, attemptID, now - QueueStoreRules.receiveAttemptWindow]
        ), let receipts = ColumnJSON.decode([[Int64]].self, text) else { return nil }
        var messages: [ReceivedMessage] = []
        for pair in receipts where pair.count == 2 {
            guard let row = try Row.fetchOne(
                db, sql: "SELECT \(receivedColumns) FROM queue_message WHERE id = ? AND queue_id = ? AND lease_epoch = ?",
                arguments: [pair[0], queueID, pair[1]]
            ) else { return nil }
            messages.append(receivedMessage(row))
        }
        for message in messages {
            try db.execute(sql: "UPDATE queue_message SET visible_at = ? WHERE id = ?", arguments: [leaseUntil, message.receipt.rowID])
        }
        return messages
    }

    static func recordAttempt(_ db: Database, queueID: Int64, attemptID: String, messages: [ReceivedMessage], now: Millis) throws {
        try db.execute(
            sql: """
                INSERT INTO receive_attempt (queue_id, attempt_id, created_at, receipts) VALUES (?, ?, ?, ?)
                ON CONFLICT(queue_id, attempt_id) DO UPDATE SET created_at = excluded.created_at, receipts = excluded.receipts
                """,
            arguments: [queueID, attemptID, now, ColumnJSON.encode(messages.map { [$0.receipt.rowID, $0.receipt.epoch] })]
        )
    }
}
