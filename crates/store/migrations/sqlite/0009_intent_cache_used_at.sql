-- When a stored buying-intent answer was last used, so that answers of texts
-- no lead has any more (edited descriptions, deleted leads) can be deleted.
-- Forward-only: never edit once landed.
-- Every read that serves an answer moves `used_at` forward (at most once a
-- day), and the scoring batch reads the answer of every lead at least every 7
-- days, so an answer unused for `llm.cache_retention_days` belongs to no lead.
-- Existing answers count as used now, not at `answered_at`: their last use is
-- unknown, and an old answer of an unchanged lead that the first batch after
-- the upgrade does not rescore (scored in the last 7 days) would otherwise be
-- deleted before any batch marked it.
-- ALTER TABLE cannot add a NOT NULL column whose default is the current
-- time, so the table is rebuilt (nothing references it). The default has the
-- form sqlx writes times in (RFC 3339, UTC as +00:00), so that text
-- comparisons with bound times order correctly.
CREATE TABLE intent_cache_next (
    organization_id INTEGER NOT NULL REFERENCES organizations (id),
    cache_key       TEXT NOT NULL CHECK (length(cache_key) = 64),
    intent          REAL NOT NULL CHECK (intent >= 0 AND intent <= 5),
    source          TEXT NOT NULL CHECK (source IN ('llm', 'offline')),
    answered_at     TEXT NOT NULL,
    used_at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now')),
    PRIMARY KEY (organization_id, cache_key)
);
INSERT INTO intent_cache_next (organization_id, cache_key, intent, source, answered_at)
    SELECT organization_id, cache_key, intent, source, answered_at FROM intent_cache;
DROP TABLE intent_cache;
ALTER TABLE intent_cache_next RENAME TO intent_cache;
-- The prune deletes by `used_at` across every organization at once (or
-- filters one organization's rows from that range).
CREATE INDEX intent_cache_used_at ON intent_cache (used_at);
