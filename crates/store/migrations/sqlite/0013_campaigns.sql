-- E-mail campaigns (docs/api.md, "E-mail campaigns"; issue 18).
-- Forward-only: never edit once landed.
--
-- A campaign's recipients are frozen into `campaign_recipients` when sending
-- starts: one row per address (de-duplicated), rows that are not sent kept
-- as `skipped` with why. Each row moves pending -> sending -> sent | failed |
-- bounced. A sender claims rows by setting `sending` with a lease
-- (`lease_until`) and `attempts + 1` in one committed statement *before* it
-- talks to SMTP, and records the outcome after: a crash leaves the rows in
-- flight as `sending` with a lease that runs out, and whoever claims them
-- next sends them again with the same Message-ID (they are logged as in
-- doubt). No row is ever skipped, and only the rows in flight at a crash
-- can be doubled.
-- Times are RFC 3339 text in UTC, as sqlx writes them.
CREATE TABLE email_templates (
    id              INTEGER PRIMARY KEY,
    organization_id INTEGER NOT NULL REFERENCES organizations (id),
    name            TEXT NOT NULL,
    subject         TEXT NOT NULL,
    html            TEXT NOT NULL,
    text            TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    CONSTRAINT email_templates_org_id UNIQUE (organization_id, id)
);

CREATE TABLE campaigns (
    id              INTEGER PRIMARY KEY,
    organization_id INTEGER NOT NULL REFERENCES organizations (id),
    name            TEXT NOT NULL,
    template_id     INTEGER NOT NULL,
    target          TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN
                    ('draft', 'scheduled', 'sending', 'paused', 'completed', 'cancelled', 'failed')),
    scheduled_at    TEXT,
    started_at      TEXT,
    finished_at     TEXT,
    error           TEXT,
    created_by      INTEGER,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    CONSTRAINT campaigns_org_id UNIQUE (organization_id, id),
    FOREIGN KEY (organization_id, template_id) REFERENCES email_templates (organization_id, id)
);
-- What the sender looks for: due scheduled campaigns, sending ones.
CREATE INDEX campaigns_status ON campaigns (status, scheduled_at);

CREATE TABLE campaign_recipients (
    id              INTEGER PRIMARY KEY,
    campaign_id     INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    organization_id INTEGER NOT NULL,
    record_type     TEXT NOT NULL CHECK (record_type IN ('contact', 'lead')),
    record_id       INTEGER NOT NULL,
    contact_id      INTEGER,
    email           TEXT,
    name            TEXT,
    status          TEXT NOT NULL CHECK (status IN
                    ('pending', 'sending', 'sent', 'failed', 'bounced', 'skipped')),
    skip_reason     TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    lease_until     TEXT,
    smtp_reply      TEXT,
    subject         TEXT,
    sent_at         TEXT,
    opened_at       TEXT,
    clicked_at      TEXT,
    unsubscribed_at TEXT,
    -- Opens within seconds of delivery (mail-provider prefetch): not people.
    machine_opens   INTEGER NOT NULL DEFAULT 0,
    updated_at      TEXT NOT NULL
);
-- One row per address of a campaign (skipped rows without one are many).
CREATE UNIQUE INDEX campaign_recipients_address ON campaign_recipients (campaign_id, email)
    WHERE email IS NOT NULL AND status <> 'skipped';
-- The claim: a campaign's due pending rows and its expired leases, in id order.
CREATE INDEX campaign_recipients_claim ON campaign_recipients (campaign_id, status, id);

-- Addresses an organization never mails (unsubscribed, bounced, added by hand).
CREATE TABLE suppressions (
    organization_id INTEGER NOT NULL REFERENCES organizations (id),
    email           TEXT NOT NULL,
    reason          TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (organization_id, email)
);
