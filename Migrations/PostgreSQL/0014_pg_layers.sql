-- Layer versions and their counter; see SQLite's 0019_layers.
CREATE TABLE layer_version (
    layer_name TEXT COLLATE "C" NOT NULL,
    version    INTEGER NOT NULL,
    layer      TEXT    NOT NULL,
    PRIMARY KEY (layer_name, version)
);

CREATE TABLE layer_version_counter (
    layer_name   TEXT COLLATE "C" PRIMARY KEY,
    last_version INTEGER NOT NULL
);
