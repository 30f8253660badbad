-- Event source mappings: which source feeds which function, with the settings the poller enforces.
-- Times are Unix milliseconds.
CREATE TABLE event_source_mapping (
    uuid               TEXT    PRIMARY KEY,
    function_name      TEXT    NOT NULL,
    -- The qualifier of a qualified FunctionName ('$LATEST'); NULL for an unqualified one.
    function_qualifier TEXT,
    source_arn         TEXT    NOT NULL,
    -- Mirrors MappingState: the API writes the transitional states, the mapping supervisor settles them.
    state              TEXT    NOT NULL CHECK (state IN ('Creating', 'Enabling', 'Enabled', 'Disabling', 'Disabled', 'Updating', 'Deleting')),
    state_reason       TEXT    NOT NULL,
    enabled            INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    batch_size         INTEGER NOT NULL CHECK (batch_size BETWEEN 1 AND 10000),
    window_seconds     INTEGER NOT NULL CHECK (window_seconds BETWEEN 0 AND 300),
    -- JSON array of strings: FunctionResponseTypes.
    response_types     TEXT    NOT NULL DEFAULT '[]',
    -- JSON array of the filter patterns as the user wrote them.
    filters            TEXT    NOT NULL DEFAULT '[]',
    maximum_concurrency INTEGER CHECK (maximum_concurrency BETWEEN 2 AND 1000),
    created_at         INTEGER NOT NULL,
    last_modified      INTEGER NOT NULL
) STRICT;

-- Serves ListEventSourceMappings by function and the duplicate check (source, function).
CREATE INDEX event_source_mapping_function ON event_source_mapping(function_name, source_arn);
CREATE INDEX event_source_mapping_source ON event_source_mapping(source_arn);
