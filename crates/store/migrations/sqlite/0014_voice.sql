-- AI voice calls through Retell (docs/voice.md; issue 19).
-- Forward-only: never edit once landed.
--
-- A contact may be marked "do not call" and carry its own time zone (the
-- calling hours are the contact's local time, else the organization's).
-- Each organization has one row of calling settings (its own Retell API key
-- sealed with ChaCha20-Poly1305 under the deployment's key, never stored in
-- clear) and one agent per scenario once it edits or provisions it.
-- `calls` holds our calls, keyed by our id and by Retell's call id;
-- `call_webhook_receipts` makes each (call, event) take effect once: its
-- insert and the call's update commit together.
-- A call's lead and contact are not foreign keys: a call stays on record
-- (with the ids it was placed for) when its lead or contact is deleted, and
-- deleting them needs no knowledge of calls.
-- Times are RFC 3339 text in UTC, as sqlx writes them.
ALTER TABLE contacts ADD COLUMN do_not_call BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE contacts ADD COLUMN time_zone TEXT;

CREATE TABLE voice_settings (
    organization_id      INTEGER PRIMARY KEY REFERENCES organizations (id),
    from_number          TEXT,
    time_zone            TEXT,
    calling_start        TEXT NOT NULL,
    calling_end          TEXT NOT NULL,
    max_concurrent_calls INTEGER NOT NULL,
    calls_per_minute     INTEGER NOT NULL,
    api_key_sealed       TEXT,
    updated_at           TEXT NOT NULL
);

CREATE TABLE voice_agents (
    organization_id INTEGER NOT NULL REFERENCES organizations (id),
    scenario        TEXT NOT NULL CHECK (scenario IN ('sales_outbound', 'customer_support')),
    template        TEXT NOT NULL,
    customized      BOOLEAN NOT NULL DEFAULT FALSE,
    llm_id          TEXT,
    agent_id        TEXT,
    provisioned_at  TEXT,
    provisioned_template TEXT,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (organization_id, scenario)
);

CREATE TABLE calls (
    id                   INTEGER PRIMARY KEY,
    organization_id      INTEGER NOT NULL REFERENCES organizations (id),
    lead_id              INTEGER,
    contact_id           INTEGER,
    scenario             TEXT NOT NULL CHECK (scenario IN ('sales_outbound', 'customer_support')),
    placed_by            INTEGER,
    retell_call_id       TEXT UNIQUE,
    agent_id             TEXT NOT NULL,
    status               TEXT NOT NULL CHECK (status IN
                         ('registered', 'not_connected', 'ongoing', 'ended', 'error')),
    from_number          TEXT NOT NULL,
    to_number            TEXT NOT NULL,
    own_key              BOOLEAN NOT NULL,
    max_duration_ms      INTEGER NOT NULL,
    started_at           TEXT,
    ended_at             TEXT,
    duration_ms          INTEGER,
    transcript           TEXT,
    transcript_turns     TEXT,
    recording_url        TEXT,
    disconnection_reason TEXT,
    summary              TEXT,
    user_sentiment       TEXT,
    call_successful      BOOLEAN,
    in_voicemail         BOOLEAN,
    custom_analysis      TEXT,
    analyzed_at          TEXT,
    activity_claimed     BOOLEAN NOT NULL DEFAULT FALSE,
    activity_id          INTEGER,
    completed            BOOLEAN NOT NULL DEFAULT FALSE,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL,
    CONSTRAINT calls_org_id UNIQUE (organization_id, id)
);
CREATE INDEX calls_org_created ON calls (organization_id, created_at);
CREATE INDEX calls_org_lead ON calls (organization_id, lead_id);
-- What the concurrency limit and `calls sync` look for.
CREATE INDEX calls_open ON calls (status, created_at);

CREATE TABLE call_webhook_receipts (
    call_id     INTEGER NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    event       TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (call_id, event)
);

-- Bulk calling: a batch of leads called one by one by the background
-- worker within the guardrails. An item stays `pending` while a guardrail
-- that passes with time (calling hours, the concurrent limit, the rate)
-- holds it, and ends `placed`, `skipped` (a refusal that time does not
-- lift: no phone, do not call) or `failed` (Retell refused). A worker
-- claims an item (`calling`) before it dials, so two workers never call
-- the same lead; a crash while dialling leaves it `calling` (in doubt).
CREATE TABLE call_batches (
    id              INTEGER PRIMARY KEY,
    organization_id INTEGER NOT NULL REFERENCES organizations (id),
    scenario        TEXT NOT NULL CHECK (scenario IN ('sales_outbound', 'customer_support')),
    status          TEXT NOT NULL CHECK (status IN ('running', 'completed')),
    created_by      INTEGER NOT NULL,
    created_at      TEXT NOT NULL,
    finished_at     TEXT,
    CONSTRAINT call_batches_org_id UNIQUE (organization_id, id)
);
CREATE INDEX call_batches_status ON call_batches (status);

CREATE TABLE call_batch_items (
    batch_id INTEGER NOT NULL REFERENCES call_batches (id) ON DELETE CASCADE,
    lead_id  INTEGER NOT NULL,
    status   TEXT NOT NULL CHECK (status IN ('pending', 'calling', 'placed', 'skipped', 'failed')),
    reason   TEXT,
    call_id  INTEGER,
    PRIMARY KEY (batch_id, lead_id)
);
