-- Function definitions. The definition is one JSON document (FunctionDefinition); the columns beside it
-- are the ones queried or guarded: the name, the revision every update is checked against, and the
-- reserved concurrency summed to protect the account's unreserved pool.
CREATE TABLE function (
    name TEXT PRIMARY KEY,
    executor TEXT NOT NULL CHECK (executor IN ('process', 'webhook', 'in-process')),
    source TEXT NOT NULL CHECK (source IN ('api', 'configuration', 'embedded')),
    revision_id TEXT NOT NULL,
    reserved_concurrency INTEGER CHECK (reserved_concurrency IS NULL OR reserved_concurrency >= 0),
    definition TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    modified_at INTEGER NOT NULL
) STRICT;
