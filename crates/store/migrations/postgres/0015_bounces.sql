-- Asynchronous bounces and complaints (POST /api/webhooks/bounces).
-- Each organization signs its webhook calls with a secret of its own; it is
-- shown once when made and kept here to verify the HMAC of each call (a
-- hash would not do: verifying needs the key).
CREATE TABLE webhook_secrets (
    organization_id BIGINT PRIMARY KEY REFERENCES organizations (id),
    secret          TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL
);

-- Soft bounces per address: the address is suppressed once they reach
-- smtp.soft_bounce_limit.
CREATE TABLE soft_bounces (
    organization_id BIGINT NOT NULL REFERENCES organizations (id),
    email           TEXT NOT NULL,
    count           BIGINT NOT NULL,
    last_at         TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (organization_id, email)
);

-- When the recipient of a sent message complained (marked it as spam).
ALTER TABLE campaign_recipients ADD COLUMN complained_at TIMESTAMPTZ;
-- The webhook finds the latest message sent to an address.
CREATE INDEX campaign_recipients_email ON campaign_recipients (organization_id, email, sent_at);
