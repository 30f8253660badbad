-- Resharding: each shard's range, parents, creation and closing (see SQLite's 0016).
ALTER TABLE stream_shard ADD COLUMN hash_start TEXT;
ALTER TABLE stream_shard ADD COLUMN hash_end TEXT;
ALTER TABLE stream_shard ADD COLUMN parent_index INTEGER;
ALTER TABLE stream_shard ADD COLUMN adjacent_parent_index INTEGER;
ALTER TABLE stream_shard ADD COLUMN created_at BIGINT;
ALTER TABLE stream_shard ADD COLUMN closed_at BIGINT;
