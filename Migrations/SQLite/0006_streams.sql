-- Kinesis-compatible streams and the checkpoints of the mappings that read them.
-- Times are Unix milliseconds.

CREATE TABLE stream (
    id              INTEGER PRIMARY KEY,
    name            TEXT    NOT NULL,
    shard_count     INTEGER NOT NULL CHECK (shard_count BETWEEN 1 AND 1000),
    retention_hours INTEGER NOT NULL CHECK (retention_hours BETWEEN 24 AND 8760),
    -- Mirrors the StreamModeDetails Spool accepts.
    mode            TEXT    NOT NULL CHECK (mode IN ('PROVISIONED', 'ON_DEMAND')),
    -- JSON object of the stream's tags.
    tags            TEXT    NOT NULL DEFAULT '{}',
    created_at      INTEGER NOT NULL,
    -- Set by DeleteStream; the retention sweeper then removes the records and the row in small batches.
    deleted_at      INTEGER
) STRICT;

-- One live stream per name; a deleted one may be waiting for the sweeper under the same name.
CREATE UNIQUE INDEX stream_live_name ON stream(name) WHERE deleted_at IS NULL;

CREATE TABLE stream_shard (
    stream_id     INTEGER NOT NULL REFERENCES stream(id),
    shard_index   INTEGER NOT NULL,
    -- The position the next record put to the shard takes; positions start at 0 and never repeat.
    next_position INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (stream_id, shard_index)
) STRICT, WITHOUT ROWID;

CREATE TABLE stream_record (
    id            INTEGER PRIMARY KEY,
    stream_id     INTEGER NOT NULL,
    shard_index   INTEGER NOT NULL,
    position      INTEGER NOT NULL,
    partition_key TEXT    NOT NULL,
    data          BLOB    NOT NULL,
    arrival_at    INTEGER NOT NULL
) STRICT;

-- Serves GetRecords and the pollers (a shard read in order from a position) and trimming (oldest first).
CREATE UNIQUE INDEX stream_record_position ON stream_record(stream_id, shard_index, position);

-- Where each stream mapping stands in each shard: `position` is the last shard position whose records of
-- this lane are done (-1: none yet). With ParallelizationFactor N a shard is read by N lanes, a partition
-- key always in the same one. The poller advances it in the transaction that settles a batch.
CREATE TABLE stream_checkpoint (
    mapping_uuid TEXT    NOT NULL,
    stream_id    INTEGER NOT NULL,
    shard_index  INTEGER NOT NULL,
    lane         INTEGER NOT NULL CHECK (lane BETWEEN 0 AND 9),
    position     INTEGER NOT NULL CHECK (position >= -1),
    -- Bumped when the lanes are regrouped (a new ParallelizationFactor), so that a lane of the old grouping
    -- can never settle on a row of the new one.
    epoch        INTEGER NOT NULL DEFAULT 0,
    -- Tumbling windows: the start of the open window and the state the function last returned (JSON).
    window_start INTEGER,
    window_state TEXT,
    PRIMARY KEY (mapping_uuid, shard_index, lane)
) STRICT, WITHOUT ROWID;

-- Stream mappings keep their stream members as JSON (NULL for queue mappings) and the last batch's result.
ALTER TABLE event_source_mapping ADD COLUMN stream_settings TEXT;
ALTER TABLE event_source_mapping ADD COLUMN last_result TEXT NOT NULL DEFAULT 'No records processed';
