-- Kinesis enhanced fan-out consumers (RegisterStreamConsumer), by stream id: a stream created again under the same
-- name starts without any. The consumer's ARN ends with its creation time in seconds, so a consumer registered
-- again under the same name has a new ARN, as on Kinesis.
CREATE TABLE stream_consumer (
    stream_id  INTEGER NOT NULL,
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (stream_id, name)
) STRICT, WITHOUT ROWID;
