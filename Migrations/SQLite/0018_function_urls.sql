-- Function URLs (CreateFunctionUrlConfig): at most one per function and alias (qualifier '' for the function itself),
-- found by their id when a request arrives. Deleted with their function or alias.
CREATE TABLE function_url (
    url_id        TEXT PRIMARY KEY,
    function_name TEXT NOT NULL,
    qualifier     TEXT NOT NULL,
    config        TEXT NOT NULL,
    UNIQUE (function_name, qualifier)
) STRICT, WITHOUT ROWID;
