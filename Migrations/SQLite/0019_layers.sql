-- Layer versions (PublishLayerVersion), the version as a JSON document (LayerVersion, with its permission policy).
-- The counter keeps numbers from being used twice after versions are deleted.
CREATE TABLE layer_version (
    layer_name TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    layer      TEXT    NOT NULL,
    PRIMARY KEY (layer_name, version)
) STRICT, WITHOUT ROWID;

CREATE TABLE layer_version_counter (
    layer_name   TEXT    PRIMARY KEY,
    last_version INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
