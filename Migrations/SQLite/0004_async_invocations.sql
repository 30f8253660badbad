-- Asynchronous invocation: the event queue, per-function event-invoke configuration, idempotency keys,
-- dead letters and the outbox of HTTP destination deliveries. Times are Unix milliseconds.

-- One accepted asynchronous event until it finishes. A row is claimable when its state is queued or
-- running and visible_at <= now: a claim moves it to running with visible_at at the end of its lease and
-- a new lease_epoch, so an expired lease (a crash, a lost executor) makes it claimable again without a
-- rescuer, and a stale holder can never settle it. A retry is the same row, queued, visible later.
-- Finished rows are deleted in the transaction that settles them; what they caused (destination
-- records, dead letters) is written in that same transaction.
-- AUTOINCREMENT: ids are never reused, so a lease (id, epoch) can never match a later event.
CREATE TABLE invocation (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id      TEXT    NOT NULL,
    function_name   TEXT    NOT NULL,
    -- The qualifier the caller named ($LATEST), or NULL for an unqualified invoke.
    qualifier       TEXT,
    payload         TEXT    NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('queued', 'running')),
    enqueued_at     INTEGER NOT NULL,
    visible_at      INTEGER NOT NULL,
    lease_epoch     INTEGER NOT NULL DEFAULT 0,
    -- Times the function was started for this event (approximateInvokeCount), counted at the claim.
    invoke_count    INTEGER NOT NULL DEFAULT 0 CHECK (invoke_count >= 0),
    -- Function errors and timeouts so far; these consume MaximumRetryAttempts.
    function_errors INTEGER NOT NULL DEFAULT 0 CHECK (function_errors >= 0),
    -- Throttles and system failures so far; these set the back-off without consuming an attempt.
    system_retries  INTEGER NOT NULL DEFAULT 0 CHECK (system_retries >= 0),
    -- The last failure, as JSON (InvocationFailure), for the dead letter and the failure record.
    last_error      TEXT,
    -- The dead letter this event replays, when it came from a replay.
    replay_of       INTEGER
) STRICT;

-- Serves the claim (function_name = ? AND visible_at <= ?) in claim order, and the earliest-visible lookup.
CREATE INDEX invocation_claim ON invocation(function_name, visible_at, id);

-- PutFunctionEventInvokeConfig per function and qualifier ('$LATEST' for an unqualified function).
-- NULL settings were not given and take AWS's defaults.
CREATE TABLE event_invoke_config (
    function_name  TEXT    NOT NULL,
    qualifier      TEXT    NOT NULL,
    max_retry_attempts INTEGER CHECK (max_retry_attempts IS NULL OR max_retry_attempts BETWEEN 0 AND 2),
    max_event_age_seconds INTEGER CHECK (max_event_age_seconds IS NULL OR max_event_age_seconds BETWEEN 60 AND 21600),
    on_success     TEXT,
    on_failure     TEXT,
    last_modified  INTEGER NOT NULL,
    PRIMARY KEY (function_name, qualifier)
) STRICT;

-- Idempotency-Key request headers seen recently: a repeat within the window answers the first request id.
CREATE TABLE invocation_idempotency (
    function_name TEXT    NOT NULL,
    key           TEXT    NOT NULL,
    request_id    TEXT    NOT NULL,
    expires_at    INTEGER NOT NULL,
    PRIMARY KEY (function_name, key)
) STRICT, WITHOUT ROWID;

CREATE INDEX invocation_idempotency_expiry ON invocation_idempotency(expires_at);

-- Every asynchronous event that finally failed, kept until an operator purges it.
CREATE TABLE dead_letter (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id     TEXT    NOT NULL,
    function_name  TEXT    NOT NULL,
    qualifier      TEXT,
    payload        TEXT    NOT NULL,
    reason         TEXT    NOT NULL CHECK (reason IN ('RetriesExhausted', 'EventAgeExceeded', 'ZeroReservedConcurrency', 'FunctionDeleted')),
    attempts       INTEGER NOT NULL,
    last_error     TEXT,
    enqueued_at    INTEGER NOT NULL,
    failed_at      INTEGER NOT NULL,
    -- The dead letter this event was itself a replay of.
    replay_of      INTEGER,
    -- Set when the dead letter was replayed: when, and the request id of the new event.
    replayed_at    INTEGER,
    replay_request_id TEXT
) STRICT;

CREATE INDEX dead_letter_function ON dead_letter(function_name, id);
CREATE INDEX dead_letter_failed_at ON dead_letter(failed_at);

-- Invocation records waiting to be POSTed to http(s) destinations, retried with back-off by the
-- destination deliverer under the same lease rules as invocations.
CREATE TABLE destination_delivery (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    url         TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    visible_at  INTEGER NOT NULL,
    lease_epoch INTEGER NOT NULL DEFAULT 0,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT
) STRICT;

CREATE INDEX destination_delivery_claim ON destination_delivery(visible_at, id);
