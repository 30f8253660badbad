-- Kinesis resource policies (PutResourcePolicy), one per stream, kept with the stream's id (see SQLite's 0013).
CREATE TABLE stream_resource_policy (
    stream_id BIGINT PRIMARY KEY,
    policy    TEXT   NOT NULL
);
