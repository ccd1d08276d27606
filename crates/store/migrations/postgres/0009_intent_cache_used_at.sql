-- When a stored buying-intent answer was last used, so that answers of texts
-- no lead has any more (edited descriptions, deleted leads) can be deleted.
-- Forward-only: never edit once landed.
-- Every read that serves an answer moves `used_at` forward (at most once a
-- day), and the scoring batch reads the answer of every lead at least every 7
-- days, so an answer unused for `llm.cache_retention_days` belongs to no lead.
-- Existing answers count as used now, not at `answered_at`: their last use is
-- unknown, and an old answer of an unchanged lead that the first batch after
-- the upgrade does not rescore (scored in the last 7 days) would otherwise be
-- deleted before any batch marked it. `now()` is evaluated once here, so the
-- column is added without rewriting the table; as a default it also keeps the
-- inserts of instances still running the previous release working.
ALTER TABLE intent_cache ADD COLUMN used_at TIMESTAMPTZ NOT NULL DEFAULT now();
-- The prune deletes by `used_at` across every organization at once (or
-- filters one organization's rows from that range).
CREATE INDEX intent_cache_used_at ON intent_cache (used_at);
