import GRDB
import SpoolModel

/// The claim statements: one `UPDATE … RETURNING` each, leasing messages under a new epoch (never below this
/// opening's floor: see `StoreGeneration`).
extension SQLiteStore {
    /// Read by position in `receivedMessage`: keep the order.
    static let receivedColumns = """
        id, queue_id, message_id, body, attributes, system_attributes, sent_at, first_received_at, receive_count,
        lease_epoch, group_id, dedup_id, sequence_number, dead_letter_source_arn
        """

    /// The claim for standard queues: one statement, served by `queue_message_claim`
    /// (`SEARCH queue_message USING INDEX queue_message_claim (queue_id=? AND visible_at<?)`).
    static let standardClaimSQL = """
        UPDATE queue_message
        SET visible_at = :leaseUntil, lease_epoch = max(lease_epoch + 1, :floor), receive_count = receive_count + 1,
            first_received_at = coalesce(first_received_at, :now), last_received_at = :now
        WHERE id IN (
            SELECT id FROM queue_message
            WHERE queue_id = :queue AND visible_at <= :now AND sent_at > :oldest AND receive_count < :maxReceives
              AND id > :purgedThrough
            ORDER BY visible_at, id LIMIT :limit)
        RETURNING \(receivedColumns)
        """

    /// `EXPLAIN QUERY PLAN` of the standard claim exactly as receives run it. On SQLite 3.40 it reads
    /// `SEARCH queue_message USING INDEX queue_message_claim (queue_id=? AND visible_at<?)` for the
    /// subquery and `SEARCH queue_message USING INTEGER PRIMARY KEY (rowid=?)` for the update, with no
    /// temporary sort: the index already yields rows in claim order.
    package func standardClaimPlan() async throws -> [String] {
        try await read { db in
            let arguments: StatementArguments = [
                "leaseUntil": 2, "now": 1, "queue": 1, "oldest": 0, "maxReceives": 10, "limit": 10, "purgedThrough": 0, "floor": 0,
            ]
            return try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + Self.standardClaimSQL, arguments: arguments)
                .map { row -> String in row["detail"] }
        }
    }

    /// The claim for FIFO queues: messages in sequence order, skipping every group that has a message
    /// in flight, so that a group's next message waits for the previous one.
    static let fifoClaimSQL = """
        UPDATE queue_message
        SET visible_at = :leaseUntil, lease_epoch = max(lease_epoch + 1, :floor), receive_count = receive_count + 1,
            first_received_at = coalesce(first_received_at, :now), last_received_at = :now
        WHERE id IN (
            SELECT id FROM (
                SELECT m.id, min(m.id) OVER (PARTITION BY m.group_id) AS first FROM queue_message m
                WHERE m.queue_id = :queue AND m.visible_at <= :now AND m.sent_at > :oldest AND m.receive_count < :maxReceives
                  AND m.id > :purgedThrough
                  AND NOT EXISTS (
                    SELECT 1 FROM queue_message f
                    WHERE f.queue_id = m.queue_id AND f.group_id = m.group_id AND f.id < m.id AND f.visible_at > :now
                      AND f.receive_count > 0 AND f.id > :purgedThrough))
            ORDER BY first, id LIMIT :limit)
        RETURNING \(receivedColumns)
        """
}
