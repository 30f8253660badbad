-- A FIFO deduplication entry keeps its deduplication id beside its key (see SQLite's 0014): keys become
-- `id U+001F group` for both scopes, `dedup_id` serves the lookup under scope `queue`.
CREATE TABLE queue_dedup_by_id (
    queue_id        BIGINT NOT NULL REFERENCES queue(id) ON DELETE CASCADE,
    dedup_key       TEXT   NOT NULL,
    dedup_id        TEXT   NOT NULL,
    message_id      TEXT   NOT NULL,
    sequence_number BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    PRIMARY KEY (queue_id, dedup_key)
);

INSERT INTO queue_dedup_by_id (queue_id, dedup_key, dedup_id, message_id, sequence_number, expires_at)
SELECT queue_id,
       CASE WHEN strpos(dedup_key, chr(31)) > 0
            THEN split_part(dedup_key, chr(31), 2) || chr(31) || split_part(dedup_key, chr(31), 1)
            ELSE dedup_key || chr(31) END,
       CASE WHEN strpos(dedup_key, chr(31)) > 0 THEN split_part(dedup_key, chr(31), 2) ELSE dedup_key END,
       message_id, sequence_number, expires_at
FROM queue_dedup
ON CONFLICT DO NOTHING;

DROP TABLE queue_dedup;
ALTER TABLE queue_dedup_by_id RENAME TO queue_dedup;
ALTER INDEX queue_dedup_by_id_pkey RENAME TO queue_dedup_pkey;
CREATE INDEX queue_dedup_expiry ON queue_dedup(expires_at);
CREATE INDEX queue_dedup_id ON queue_dedup(queue_id, dedup_id);
