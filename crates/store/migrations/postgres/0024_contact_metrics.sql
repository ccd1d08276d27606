-- Stored per-contact metrics of segments (docs/engines.md, "Stored
-- metrics"). Forward-only: never edit once landed. The SQLite migration of
-- the same number says what each table is for.
CREATE TABLE contact_metrics (
    organization_id  BIGINT NOT NULL,
    contact_id       BIGINT NOT NULL,
    total_deals      BIGINT NOT NULL,
    won_deals        BIGINT NOT NULL,
    lost_deals       BIGINT NOT NULL,
    open_deals       BIGINT NOT NULL,
    value_hi         BIGINT NOT NULL,
    value_lo         BIGINT NOT NULL,
    won_hi           BIGINT NOT NULL,
    won_lo           BIGINT NOT NULL,
    open_hi          BIGINT NOT NULL,
    open_lo          BIGINT NOT NULL,
    first_won_at     TIMESTAMPTZ,
    last_won_at      TIMESTAMPTZ,
    total_activities BIGINT NOT NULL,
    last_activity_at TIMESTAMPTZ,
    activities_30d   BIGINT NOT NULL,
    activities_90d   BIGINT NOT NULL,
    latest_sentiment DOUBLE PRECISION,
    PRIMARY KEY (organization_id, contact_id),
    FOREIGN KEY (organization_id, contact_id) REFERENCES contacts (organization_id, id) ON DELETE CASCADE
);

CREATE TABLE contact_rfm (
    organization_id BIGINT NOT NULL,
    contact_id      BIGINT NOT NULL,
    rfm_recency     BIGINT NOT NULL,
    rfm_frequency   BIGINT NOT NULL,
    rfm_monetary    BIGINT NOT NULL,
    rfm_segment     TEXT NOT NULL,
    PRIMARY KEY (organization_id, contact_id),
    FOREIGN KEY (organization_id, contact_id) REFERENCES contacts (organization_id, id) ON DELETE CASCADE
);

CREATE TABLE contact_metrics_state (
    organization_id BIGINT PRIMARY KEY,
    windows_at      TIMESTAMPTZ,
    rfm_stale       BOOLEAN NOT NULL DEFAULT TRUE
);

CREATE TABLE contact_metrics_dirty (
    organization_id BIGINT NOT NULL,
    contact_id      BIGINT NOT NULL,
    PRIMARY KEY (organization_id, contact_id)
);

-- Marks a contact (none: nothing).
CREATE FUNCTION contact_metrics_mark(org BIGINT, contact BIGINT) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO contact_metrics_dirty (organization_id, contact_id)
    SELECT org, contact WHERE contact IS NOT NULL
    ON CONFLICT DO NOTHING
$$;

-- Marks the contacts an activity counts for: its own, its lead's, its deal's.
CREATE FUNCTION contact_metrics_mark_activity(org BIGINT, contact BIGINT, lead BIGINT, deal BIGINT)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO contact_metrics_dirty (organization_id, contact_id)
    SELECT org, x FROM (
        SELECT contact AS x
        UNION SELECT contact_id FROM leads WHERE organization_id = org AND id = lead
        UNION SELECT contact_id FROM deals WHERE organization_id = org AND id = deal
    ) s WHERE x IS NOT NULL
    ON CONFLICT DO NOTHING
$$;

CREATE FUNCTION deals_metrics() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'DELETE' THEN PERFORM contact_metrics_mark(NEW.organization_id, NEW.contact_id); END IF;
    IF TG_OP <> 'INSERT' THEN PERFORM contact_metrics_mark(OLD.organization_id, OLD.contact_id); END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER deals_metrics AFTER INSERT OR DELETE OR UPDATE OF contact_id, status, value_cents, closed_at
    ON deals FOR EACH ROW EXECUTE FUNCTION deals_metrics();

CREATE FUNCTION leads_metrics() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF OLD.contact_id IS NOT DISTINCT FROM NEW.contact_id THEN RETURN NULL; END IF;
        PERFORM contact_metrics_mark(NEW.organization_id, NEW.contact_id);
    END IF;
    PERFORM contact_metrics_mark(OLD.organization_id, OLD.contact_id);
    RETURN NULL;
END $$;
CREATE TRIGGER leads_metrics AFTER DELETE OR UPDATE OF contact_id
    ON leads FOR EACH ROW EXECUTE FUNCTION leads_metrics();

CREATE FUNCTION activities_metrics() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'DELETE' THEN
        PERFORM contact_metrics_mark_activity(NEW.organization_id, NEW.contact_id, NEW.lead_id, NEW.deal_id);
    END IF;
    IF TG_OP <> 'INSERT' THEN
        PERFORM contact_metrics_mark_activity(OLD.organization_id, OLD.contact_id, OLD.lead_id, OLD.deal_id);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER activities_metrics AFTER INSERT OR DELETE OR UPDATE OF contact_id, lead_id, deal_id, occurred_at
    ON activities FOR EACH ROW EXECUTE FUNCTION activities_metrics();

CREATE FUNCTION activity_sentiment_metrics() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    org BIGINT;
    act BIGINT;
BEGIN
    IF TG_OP = 'DELETE' THEN
        org := OLD.organization_id; act := OLD.activity_id;
    ELSE
        org := NEW.organization_id; act := NEW.activity_id;
    END IF;
    PERFORM contact_metrics_mark_activity(a.organization_id, a.contact_id, a.lead_id, a.deal_id)
        FROM activities a WHERE a.organization_id = org AND a.id = act;
    RETURN NULL;
END $$;
CREATE TRIGGER activity_sentiment_metrics AFTER INSERT OR DELETE OR UPDATE OF compound
    ON activity_sentiment FOR EACH ROW EXECUTE FUNCTION activity_sentiment_metrics();
