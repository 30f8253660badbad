-- Kinesis resource policies (PutResourcePolicy), one per stream, kept with the stream's id (a stream created again
-- under the same name starts without one).
CREATE TABLE stream_resource_policy (
    stream_id INTEGER PRIMARY KEY,
    policy    TEXT    NOT NULL
) STRICT;
