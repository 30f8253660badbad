-- What waits in the store, for the intake limits (limits.maxBacklog), counted as rows come and go, never by counting
-- the rows: every node reads the same cluster-wide figures. Each statement that inserts or deletes rows adds its count
-- to one of 64 slots of its table (chosen by the connection's backend pid), so concurrent writers rarely wait on one
-- another's counter; the backlog is the sum of the slots.
CREATE TABLE backlog_count (
    kind TEXT    NOT NULL CHECK (kind IN ('invocation', 'queue_message', 'stream_record')),
    slot INTEGER NOT NULL CHECK (slot BETWEEN 0 AND 63),
    n    BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, slot)
);

INSERT INTO backlog_count (kind, slot, n)
SELECT kind, slot, 0 FROM unnest(ARRAY['invocation', 'queue_message', 'stream_record']) AS kind, generate_series(0, 63) AS slot;

UPDATE backlog_count SET n = (SELECT count(*) FROM invocation) WHERE kind = 'invocation' AND slot = 0;
UPDATE backlog_count SET n = (SELECT count(*) FROM queue_message) WHERE kind = 'queue_message' AND slot = 0;
UPDATE backlog_count SET n = (SELECT count(*) FROM stream_record) WHERE kind = 'stream_record' AND slot = 0;

CREATE FUNCTION spool_count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE backlog_count SET n = n + (SELECT count(*) FROM inserted_rows) WHERE kind = TG_TABLE_NAME AND slot = pg_backend_pid() % 64;
    RETURN NULL;
END
$$;

CREATE FUNCTION spool_count_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE backlog_count SET n = n - (SELECT count(*) FROM deleted_rows) WHERE kind = TG_TABLE_NAME AND slot = pg_backend_pid() % 64;
    RETURN NULL;
END
$$;

CREATE TRIGGER invocation_counted AFTER INSERT ON invocation REFERENCING NEW TABLE AS inserted_rows
    FOR EACH STATEMENT EXECUTE FUNCTION spool_count_inserted();
CREATE TRIGGER invocation_uncounted AFTER DELETE ON invocation REFERENCING OLD TABLE AS deleted_rows
    FOR EACH STATEMENT EXECUTE FUNCTION spool_count_deleted();
CREATE TRIGGER queue_message_counted AFTER INSERT ON queue_message REFERENCING NEW TABLE AS inserted_rows
    FOR EACH STATEMENT EXECUTE FUNCTION spool_count_inserted();
CREATE TRIGGER queue_message_uncounted AFTER DELETE ON queue_message REFERENCING OLD TABLE AS deleted_rows
    FOR EACH STATEMENT EXECUTE FUNCTION spool_count_deleted();
CREATE TRIGGER stream_record_counted AFTER INSERT ON stream_record REFERENCING NEW TABLE AS inserted_rows
    FOR EACH STATEMENT EXECUTE FUNCTION spool_count_inserted();
CREATE TRIGGER stream_record_uncounted AFTER DELETE ON stream_record REFERENCING OLD TABLE AS deleted_rows
    FOR EACH STATEMENT EXECUTE FUNCTION spool_count_deleted();
