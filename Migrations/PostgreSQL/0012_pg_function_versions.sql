-- Published function versions, their per-function counter, and aliases; see SQLite's 0017_function_versions.
CREATE TABLE function_version (
    function_name TEXT COLLATE "C" NOT NULL,
    version       INTEGER NOT NULL,
    definition    TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    PRIMARY KEY (function_name, version)
);

CREATE TABLE function_version_counter (
    function_name TEXT COLLATE "C" PRIMARY KEY,
    last_version  INTEGER NOT NULL
);

CREATE TABLE function_alias (
    function_name TEXT COLLATE "C" NOT NULL,
    name          TEXT COLLATE "C" NOT NULL,
    revision_id   TEXT NOT NULL,
    alias         TEXT NOT NULL,
    PRIMARY KEY (function_name, name)
);
