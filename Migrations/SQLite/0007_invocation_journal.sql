-- The invocation journal: one row per finished invocation of any origin (Invoke, async, a mapping's
-- batch), with how it ended and the log the function wrote (START … END, REPORT), for the admin API,
-- `spool logs` and the dashboard. Written in batches off the invocation path and deleted after
-- `logs.retentionHours`; nothing else depends on it, so it is not part of any event's durability.
CREATE TABLE invocation_journal (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    function_name    TEXT    NOT NULL,
    request_id       TEXT    NOT NULL,
    -- sync, async, sqs or kinesis.
    origin           TEXT    NOT NULL,
    -- Records in the event: 1 for Invoke and async events, the batch's size for a mapping.
    batch_size       INTEGER NOT NULL DEFAULT 1,
    -- success, error, timeout, throttled or failed (the machinery could not run it).
    outcome          TEXT    NOT NULL,
    error_type       TEXT,
    started_at       INTEGER NOT NULL,
    duration_ms      REAL    NOT NULL,
    init_duration_ms REAL,
    max_memory_mb    INTEGER,
    log              TEXT    NOT NULL
);
CREATE INDEX invocation_journal_by_function ON invocation_journal (function_name, id);
CREATE INDEX invocation_journal_by_start ON invocation_journal (started_at);
CREATE INDEX invocation_journal_by_request ON invocation_journal (request_id);
