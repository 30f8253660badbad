-- Resource-based policies of functions (AddPermission): one JSON document (FunctionPolicy) per function and
-- qualifier ('' for the function itself, a version number or an alias name). Deleted with what they are on.
CREATE TABLE function_policy (
    function_name TEXT NOT NULL,
    qualifier     TEXT NOT NULL,
    policy        TEXT NOT NULL,
    PRIMARY KEY (function_name, qualifier)
) STRICT, WITHOUT ROWID;
