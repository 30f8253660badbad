-- FIFO ReceiveRequestAttemptId: a retried receive with the same attempt id within five minutes gets
-- the same messages and receipt handles back, as long as none of them was received again or deleted.
CREATE TABLE receive_attempt (
    queue_id   INTEGER NOT NULL REFERENCES queue(id) ON DELETE CASCADE,
    attempt_id TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    -- JSON array of [message row id, lease epoch] pairs, in the order they were returned.
    receipts   TEXT    NOT NULL,
    PRIMARY KEY (queue_id, attempt_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX receive_attempt_age ON receive_attempt(created_at);
