-- The nodes sharing this database, each heartbeating its row; times are the database's clock, in milliseconds.
CREATE TABLE cluster_node (
    id           TEXT   PRIMARY KEY,
    address      TEXT   NOT NULL,
    version      TEXT   NOT NULL,
    started_at   BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL
);

-- One lease per unit of work that must run on one node at a time (an event source mapping's pollers): the holder,
-- an epoch that rises each time the unit changes hands, and when the lease ends unless renewed.
CREATE TABLE work_lease (
    unit       TEXT   PRIMARY KEY,
    node       TEXT   NOT NULL,
    epoch      BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX work_lease_node ON work_lease (node);

-- Deployment packages by their SHA-256 (base64, as CodeSha256), so that any node can unpack the code of a function
-- created through another.
CREATE TABLE function_code (
    sha256    TEXT   PRIMARY KEY,
    zip       BYTEA  NOT NULL,
    stored_at BIGINT NOT NULL
);
