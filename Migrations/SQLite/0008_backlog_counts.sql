-- The backlog the intake limits read every second, kept as rows come and go instead of counted over every row.
CREATE TABLE backlog_count (
    name TEXT PRIMARY KEY CHECK (name IN ('invocation', 'queue_message')),
    value INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

INSERT INTO backlog_count (name, value) VALUES
    ('invocation', (SELECT count(*) FROM invocation)),
    ('queue_message', (SELECT count(*) FROM queue_message));

CREATE TRIGGER invocation_counted AFTER INSERT ON invocation
BEGIN
    UPDATE backlog_count SET value = value + 1 WHERE name = 'invocation';
END;

CREATE TRIGGER invocation_uncounted AFTER DELETE ON invocation
BEGIN
    UPDATE backlog_count SET value = value - 1 WHERE name = 'invocation';
END;

CREATE TRIGGER queue_message_counted AFTER INSERT ON queue_message
BEGIN
    UPDATE backlog_count SET value = value + 1 WHERE name = 'queue_message';
END;

CREATE TRIGGER queue_message_uncounted AFTER DELETE ON queue_message
BEGIN
    UPDATE backlog_count SET value = value - 1 WHERE name = 'queue_message';
END;
