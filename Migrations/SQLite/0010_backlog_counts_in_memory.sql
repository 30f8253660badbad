-- The backlog counts move into the store's memory (counted once at start, then kept by observing the writer's
-- inserts and deletes): the per-row triggers of 0008 halved queue-mapping drains (every deleted message ran an
-- UPDATE of one hot row).
DROP TRIGGER invocation_counted;
DROP TRIGGER invocation_uncounted;
DROP TRIGGER queue_message_counted;
DROP TRIGGER queue_message_uncounted;
DROP TABLE backlog_count;
