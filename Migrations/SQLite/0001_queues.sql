-- Queues, their messages, FIFO deduplication, deleted-name cool-down and message move tasks.
-- Times are Unix milliseconds.

CREATE TABLE queue (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE,
    fifo          INTEGER NOT NULL CHECK (fifo IN (0, 1)),
    -- Settable attributes as a JSON object of strings, exactly as GetQueueAttributes returns them.
    attributes    TEXT    NOT NULL,
    tags          TEXT    NOT NULL DEFAULT '{}',
    created_at    INTEGER NOT NULL,
    modified_at   INTEGER NOT NULL,
    purged_at     INTEGER,
    -- PurgeQueue marks messages with id <= this as gone at once; the sweeper deletes them in batches.
    purged_through_id INTEGER NOT NULL DEFAULT 0,
    purge_pending INTEGER NOT NULL DEFAULT 0 CHECK (purge_pending IN (0, 1)),
    -- DeleteQueue renames the queue to 'deleted:<id>' and sets this; the sweeper then removes its
    -- messages in batches and finally the row, so no deletion is one long transaction.
    deleted_at    INTEGER,
    -- Next FIFO sequence number.
    next_sequence INTEGER NOT NULL DEFAULT 1,
    -- Resolved dead-letter target of the redrive policy (NULL without one).
    dlq_id        INTEGER REFERENCES queue(id) ON DELETE SET NULL,
    max_receive_count INTEGER,
    retention_ms  INTEGER NOT NULL,
    visibility_ms INTEGER NOT NULL,
    delay_ms      INTEGER NOT NULL,
    -- FIFO deduplication settings, as columns so that a send reads no JSON.
    content_based_dedup INTEGER NOT NULL DEFAULT 0 CHECK (content_based_dedup IN (0, 1)),
    dedup_by_group      INTEGER NOT NULL DEFAULT 0 CHECK (dedup_by_group IN (0, 1))
) STRICT;

CREATE INDEX queue_dlq ON queue(dlq_id) WHERE dlq_id IS NOT NULL;

-- A message is visible when visible_at <= now. A receive leases it: visible_at moves to the end of
-- the visibility timeout and lease_epoch grows by one, so receipts from earlier receives go stale.
-- Deleting removes the row. There is no state column: visibility is a time, so an expired lease
-- makes the message receivable again without any rescuer.
-- AUTOINCREMENT: ids are never reused, so a receipt or a purge mark can never match a later message.
CREATE TABLE queue_message (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    queue_id          INTEGER NOT NULL REFERENCES queue(id) ON DELETE CASCADE,
    message_id        TEXT    NOT NULL,
    body              TEXT    NOT NULL,
    attributes        TEXT,
    system_attributes TEXT,
    sent_at           INTEGER NOT NULL,
    visible_at        INTEGER NOT NULL,
    first_received_at INTEGER,
    -- Start of the current lease; bounds ChangeMessageVisibility to 12 hours from the receive.
    last_received_at  INTEGER,
    receive_count     INTEGER NOT NULL DEFAULT 0 CHECK (receive_count >= 0),
    lease_epoch       INTEGER NOT NULL DEFAULT 0,
    group_id          TEXT,
    dedup_id          TEXT,
    sequence_number   INTEGER,
    -- ARN of the queue this message was redriven from, when it arrived here as a dead letter.
    dead_letter_source_arn TEXT
) STRICT;

-- Serves the claim: WHERE queue_id = ? AND visible_at <= ? ORDER BY visible_at, id.
CREATE INDEX queue_message_claim ON queue_message(queue_id, visible_at, id);
-- Serves the FIFO group lock check.
CREATE INDEX queue_message_group ON queue_message(queue_id, group_id, visible_at) WHERE group_id IS NOT NULL;
-- Serves retention pruning: messages older than the queue's MessageRetentionPeriod.
CREATE INDEX queue_message_age ON queue_message(queue_id, sent_at);

CREATE TABLE queue_dedup (
    queue_id        INTEGER NOT NULL REFERENCES queue(id) ON DELETE CASCADE,
    dedup_key       TEXT    NOT NULL,
    message_id      TEXT    NOT NULL,
    sequence_number INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    PRIMARY KEY (queue_id, dedup_key)
) STRICT, WITHOUT ROWID;

CREATE INDEX queue_dedup_expiry ON queue_dedup(expires_at);

CREATE TABLE deleted_queue_name (
    name       TEXT    PRIMARY KEY,
    deleted_at INTEGER NOT NULL
) STRICT;

CREATE TABLE move_task (
    id              INTEGER PRIMARY KEY,
    handle          TEXT    NOT NULL UNIQUE,
    source_queue_id INTEGER REFERENCES queue(id) ON DELETE SET NULL,
    source_arn      TEXT    NOT NULL,
    destination_arn TEXT,
    max_per_second  INTEGER,
    -- Mirrors MoveTask.Status.
    status          TEXT    NOT NULL CHECK (status IN ('RUNNING', 'COMPLETED', 'CANCELLING', 'CANCELLED', 'FAILED')),
    moved           INTEGER NOT NULL DEFAULT 0,
    to_move         INTEGER NOT NULL,
    -- Only messages with id <= this existed when the task started and are moved.
    last_message_id INTEGER NOT NULL,
    failure_reason  TEXT,
    started_at      INTEGER NOT NULL,
    -- Rate accounting: messages moved since window_started_at.
    window_started_at INTEGER NOT NULL,
    window_moved    INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX move_task_source ON move_task(source_arn, id);
CREATE INDEX move_task_running ON move_task(status) WHERE status = 'RUNNING';
