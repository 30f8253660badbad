-- Function URLs; see SQLite's 0018_function_urls.
CREATE TABLE function_url (
    url_id        TEXT COLLATE "C" PRIMARY KEY,
    function_name TEXT COLLATE "C" NOT NULL,
    qualifier     TEXT COLLATE "C" NOT NULL,
    config        TEXT NOT NULL,
    UNIQUE (function_name, qualifier)
);
