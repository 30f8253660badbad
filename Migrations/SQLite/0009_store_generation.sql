-- Every opening of the store takes a new generation, committed with an fsync of its own whatever the durability
-- setting. Every lease epoch issued afterwards (receives, claims, hand-offs, stream lanes, deliveries) is at least
-- generation << 32, so a lease or receipt handed out before an unclean stop (whose commit a power loss may have
-- undone) can never match one issued after it.
CREATE TABLE store_generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    generation INTEGER NOT NULL CHECK (generation >= 0)
) STRICT;

INSERT INTO store_generation (id, generation) VALUES (1, 0);
