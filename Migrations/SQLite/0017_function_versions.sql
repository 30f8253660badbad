-- Published function versions (PublishVersion): immutable snapshots of a function's definition, numbered per
-- function from 1. The counter keeps a number from being used twice after its version is deleted; deleting the
-- function deletes its versions, its counter and its aliases, so a function created again starts at 1, as on Lambda.
CREATE TABLE function_version (
    function_name TEXT    NOT NULL,
    version       INTEGER NOT NULL,
    definition    TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (function_name, version)
) STRICT, WITHOUT ROWID;

CREATE TABLE function_version_counter (
    function_name TEXT    PRIMARY KEY,
    last_version  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- Aliases (CreateAlias): the alias as a JSON document (FunctionAlias), its revision a column for the update check.
CREATE TABLE function_alias (
    function_name TEXT NOT NULL,
    name          TEXT NOT NULL,
    revision_id   TEXT NOT NULL,
    alias         TEXT NOT NULL,
    PRIMARY KEY (function_name, name)
) STRICT, WITHOUT ROWID;
