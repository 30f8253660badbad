-- Every opening of the store by a node takes a new generation (committed, as every PostgreSQL commit, durably);
-- lease epochs issued by that node are at least generation << 32, as on SQLite (see StoreGeneration).
CREATE TABLE store_generation (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    generation BIGINT  NOT NULL CHECK (generation >= 0)
);

INSERT INTO store_generation (id, generation) VALUES (1, 0);
