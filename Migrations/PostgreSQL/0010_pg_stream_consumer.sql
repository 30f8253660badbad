-- Kinesis enhanced fan-out consumers (see SQLite's 0015).
CREATE TABLE stream_consumer (
    stream_id  BIGINT NOT NULL,
    name       TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (stream_id, name)
);
