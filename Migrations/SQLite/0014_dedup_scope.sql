-- A FIFO deduplication entry keeps its deduplication id beside its key, so that a change of DeduplicationScope
-- applies to the entries already recorded: scope `queue` finds an entry by its id (in any group), `messageGroup` by its
-- key. Keys become `id U+001F group` for both scopes (were: the id alone under `queue`, `group U+001F id` under
-- `messageGroup`); an entry recorded under `queue` before this migration has an empty group in its key.
CREATE TABLE queue_dedup_by_id (
    queue_id        INTEGER NOT NULL REFERENCES queue(id) ON DELETE CASCADE,
    dedup_key       TEXT    NOT NULL,
    dedup_id        TEXT    NOT NULL,
    message_id      TEXT    NOT NULL,
    sequence_number INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    PRIMARY KEY (queue_id, dedup_key)
) STRICT, WITHOUT ROWID;

INSERT OR IGNORE INTO queue_dedup_by_id (queue_id, dedup_key, dedup_id, message_id, sequence_number, expires_at)
SELECT queue_id,
       CASE WHEN instr(dedup_key, char(31)) > 0
            THEN substr(dedup_key, instr(dedup_key, char(31)) + 1) || char(31) || substr(dedup_key, 1, instr(dedup_key, char(31)) - 1)
            ELSE dedup_key || char(31) END,
       CASE WHEN instr(dedup_key, char(31)) > 0 THEN substr(dedup_key, instr(dedup_key, char(31)) + 1) ELSE dedup_key END,
       message_id, sequence_number, expires_at
FROM queue_dedup;

DROP TABLE queue_dedup;
ALTER TABLE queue_dedup_by_id RENAME TO queue_dedup;
CREATE INDEX queue_dedup_expiry ON queue_dedup(expires_at);
-- Serves the lookup under scope `queue`.
CREATE INDEX queue_dedup_id ON queue_dedup(queue_id, dedup_id);
