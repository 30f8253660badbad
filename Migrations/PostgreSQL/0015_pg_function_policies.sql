-- Resource-based policies of functions; see SQLite's 0020_function_policies.
CREATE TABLE function_policy (
    function_name TEXT COLLATE "C" NOT NULL,
    qualifier     TEXT COLLATE "C" NOT NULL,
    policy        TEXT NOT NULL,
    PRIMARY KEY (function_name, qualifier)
);
