-- Resharding (SplitShard, MergeShards, UpdateShardCount): each shard keeps its hash-key range (decimal text; NULL
-- for a shard of the stream's creation split that was never resharded since), its parents, when it was created
-- (NULL: with the stream) and when a reshard closed it. `stream.shard_count` counts the open shards.
ALTER TABLE stream_shard ADD COLUMN hash_start TEXT;
ALTER TABLE stream_shard ADD COLUMN hash_end TEXT;
ALTER TABLE stream_shard ADD COLUMN parent_index INTEGER;
ALTER TABLE stream_shard ADD COLUMN adjacent_parent_index INTEGER;
ALTER TABLE stream_shard ADD COLUMN created_at INTEGER;
ALTER TABLE stream_shard ADD COLUMN closed_at INTEGER;
