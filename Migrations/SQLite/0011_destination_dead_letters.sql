-- Nothing is dropped silently: an invocation record that no destination took (a queue, function or stream that is
-- gone, an http(s) endpoint that never answered 2xx within the event age limit) becomes a dead letter with the
-- reason DestinationUnreachable and where it was going. SQLite cannot change a CHECK: the table is rebuilt.
CREATE TABLE dead_letter_next (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id     TEXT    NOT NULL,
    function_name  TEXT    NOT NULL,
    qualifier      TEXT,
    payload        TEXT    NOT NULL,
    reason         TEXT    NOT NULL CHECK (reason IN ('RetriesExhausted', 'EventAgeExceeded', 'ZeroReservedConcurrency', 'FunctionDeleted', 'DestinationUnreachable')),
    attempts       INTEGER NOT NULL,
    last_error     TEXT,
    enqueued_at    INTEGER NOT NULL,
    failed_at      INTEGER NOT NULL,
    replay_of      INTEGER,
    replayed_at    INTEGER,
    replay_request_id TEXT,
    -- For DestinationUnreachable: queue:NAME, function:NAME, stream:NAME or the URL; the payload is the record.
    destination    TEXT
) STRICT;

INSERT INTO dead_letter_next (id, request_id, function_name, qualifier, payload, reason, attempts, last_error, enqueued_at, failed_at,
                              replay_of, replayed_at, replay_request_id)
SELECT id, request_id, function_name, qualifier, payload, reason, attempts, last_error, enqueued_at, failed_at,
       replay_of, replayed_at, replay_request_id
FROM dead_letter;

DROP TABLE dead_letter;
ALTER TABLE dead_letter_next RENAME TO dead_letter;
CREATE INDEX dead_letter_function ON dead_letter(function_name, id);
CREATE INDEX dead_letter_failed_at ON dead_letter(failed_at);

-- The outbox knows whose record it carries, for the dead letter and the metrics.
ALTER TABLE destination_delivery ADD COLUMN function_name TEXT;
ALTER TABLE destination_delivery ADD COLUMN request_id TEXT;
