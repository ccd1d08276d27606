-- Buying-intent answers of the LLM, per organization, so that an unchanged
-- lead text is never sent twice: not by the API's score-now after a restart,
-- not by another instance, not by the scoring batch. Forward-only: never edit
-- once landed.
-- `cache_key` is the hex SHA-256 of the estimator's scope (model and prompt
-- version) and the text (`IntentCacheKey::to_hex`); the organization is part
-- of the key, so one organization's entry never answers for another.
CREATE TABLE intent_cache (
    organization_id BIGINT NOT NULL REFERENCES organizations (id),
    cache_key       TEXT NOT NULL CHECK (length(cache_key) = 64),
    intent          DOUBLE PRECISION NOT NULL CHECK (intent >= 0 AND intent <= 5),
    source          TEXT NOT NULL CHECK (source IN ('llm', 'offline')),
    answered_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (organization_id, cache_key)
);
