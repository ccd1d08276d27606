-- Stored per-contact metrics of segments (docs/engines.md, "Stored
-- metrics"). Forward-only: never edit once landed.
--
-- `contact_metrics` holds what a full metrics pass computes from the deals,
-- the activities (those naming the contact, its leads or its deals, each
-- once) and their sentiment, so reading every contact's metrics is one scan
-- of narrow rows instead of grouping every activity. The 30- and 90-day
-- counts are as of `contact_metrics_state.windows_at`; a sync moves them to
-- a new time by recomputing the contacts of the activities that crossed a
-- window's edge meanwhile. Sums of money in two halves, as the metrics
-- statement computes them. (Lead counts and mean scores are read live from
-- their index, so scoring a lead marks nothing.)
CREATE TABLE contact_metrics (
    organization_id  INTEGER NOT NULL,
    contact_id       INTEGER NOT NULL,
    total_deals      INTEGER NOT NULL,
    won_deals        INTEGER NOT NULL,
    lost_deals       INTEGER NOT NULL,
    open_deals       INTEGER NOT NULL,
    value_hi         INTEGER NOT NULL,
    value_lo         INTEGER NOT NULL,
    won_hi           INTEGER NOT NULL,
    won_lo           INTEGER NOT NULL,
    open_hi          INTEGER NOT NULL,
    open_lo          INTEGER NOT NULL,
    first_won_at     TEXT,
    last_won_at      TEXT,
    total_activities INTEGER NOT NULL,
    last_activity_at TEXT,
    activities_30d   INTEGER NOT NULL,
    activities_90d   INTEGER NOT NULL,
    latest_sentiment REAL,
    PRIMARY KEY (organization_id, contact_id),
    FOREIGN KEY (organization_id, contact_id) REFERENCES contacts (organization_id, id) ON DELETE CASCADE
) WITHOUT ROWID;

-- The customers' RFM scores, ranked from `contact_metrics` when a sync that
-- needs them finds a customer's won deals changed (`rfm_stale`).
CREATE TABLE contact_rfm (
    organization_id INTEGER NOT NULL,
    contact_id      INTEGER NOT NULL,
    rfm_recency     INTEGER NOT NULL,
    rfm_frequency   INTEGER NOT NULL,
    rfm_monetary    INTEGER NOT NULL,
    rfm_segment     TEXT NOT NULL,
    PRIMARY KEY (organization_id, contact_id),
    FOREIGN KEY (organization_id, contact_id) REFERENCES contacts (organization_id, id) ON DELETE CASCADE
) WITHOUT ROWID;

-- Per organization: the time the window counts are as of (none: never
-- built; the next sync computes every contact) and whether RFM is stale.
CREATE TABLE contact_metrics_state (
    organization_id INTEGER PRIMARY KEY,
    windows_at      TEXT,
    rfm_stale       INTEGER NOT NULL DEFAULT 1
);

-- Contacts whose stored metrics a write made stale, marked by the triggers
-- below whatever wrote (the API, an import, the seed, a job), taken and
-- recomputed by the next sync. The triggers use `ON CONFLICT DO NOTHING`,
-- not `INSERT OR IGNORE`: SQLite replaces a trigger's `OR` policy with the
-- firing statement's, and the sentiment writes are upserts (a second mark
-- of a contact then aborted the write).
CREATE TABLE contact_metrics_dirty (
    organization_id INTEGER NOT NULL,
    contact_id      INTEGER NOT NULL,
    PRIMARY KEY (organization_id, contact_id)
) WITHOUT ROWID;

-- A deal counts for its contact: any change of who, status, value or close
-- time marks the contact before and after.
CREATE TRIGGER deals_metrics_insert AFTER INSERT ON deals WHEN NEW.contact_id IS NOT NULL BEGIN
    INSERT INTO contact_metrics_dirty VALUES (NEW.organization_id, NEW.contact_id)
        ON CONFLICT DO NOTHING;
END;
CREATE TRIGGER deals_metrics_delete AFTER DELETE ON deals WHEN OLD.contact_id IS NOT NULL BEGIN
    INSERT INTO contact_metrics_dirty VALUES (OLD.organization_id, OLD.contact_id)
        ON CONFLICT DO NOTHING;
END;
CREATE TRIGGER deals_metrics_update AFTER UPDATE OF contact_id, status, value_cents, closed_at ON deals
WHEN OLD.contact_id IS NOT NEW.contact_id OR OLD.status IS NOT NEW.status
  OR OLD.value_cents IS NOT NEW.value_cents OR OLD.closed_at IS NOT NEW.closed_at BEGIN
    INSERT INTO contact_metrics_dirty
        SELECT OLD.organization_id, OLD.contact_id WHERE OLD.contact_id IS NOT NULL
        UNION ALL SELECT NEW.organization_id, NEW.contact_id WHERE NEW.contact_id IS NOT NULL
        ON CONFLICT DO NOTHING;
END;

-- A lead or deal that changes contact takes its activities with it.
CREATE TRIGGER leads_metrics_update AFTER UPDATE OF contact_id ON leads
WHEN OLD.contact_id IS NOT NEW.contact_id BEGIN
    INSERT INTO contact_metrics_dirty
        SELECT OLD.organization_id, OLD.contact_id WHERE OLD.contact_id IS NOT NULL
        UNION ALL SELECT NEW.organization_id, NEW.contact_id WHERE NEW.contact_id IS NOT NULL
        ON CONFLICT DO NOTHING;
END;
CREATE TRIGGER leads_metrics_delete AFTER DELETE ON leads WHEN OLD.contact_id IS NOT NULL BEGIN
    INSERT INTO contact_metrics_dirty VALUES (OLD.organization_id, OLD.contact_id)
        ON CONFLICT DO NOTHING;
END;

-- An activity counts for the contact it names, its lead's and its deal's:
-- a row inserted into this view (SQLite has no procedures; PostgreSQL's
-- migration has the function `contact_metrics_mark_activity`) marks the
-- three.
CREATE VIEW contact_metrics_activity_marks (organization_id, contact_id, lead_id, deal_id) AS
    SELECT organization_id, contact_id, NULL, NULL FROM contact_metrics_dirty WHERE 0;
CREATE TRIGGER contact_metrics_activity_marks_insert INSTEAD OF INSERT ON contact_metrics_activity_marks BEGIN
    INSERT INTO contact_metrics_dirty
        SELECT NEW.organization_id, NEW.contact_id WHERE NEW.contact_id IS NOT NULL
        UNION ALL SELECT organization_id, contact_id FROM leads
            WHERE id = NEW.lead_id AND organization_id = NEW.organization_id AND contact_id IS NOT NULL
        UNION ALL SELECT organization_id, contact_id FROM deals
            WHERE id = NEW.deal_id AND organization_id = NEW.organization_id AND contact_id IS NOT NULL
        ON CONFLICT DO NOTHING;
END;
CREATE TRIGGER activities_metrics_insert AFTER INSERT ON activities BEGIN
    INSERT INTO contact_metrics_activity_marks
        VALUES (NEW.organization_id, NEW.contact_id, NEW.lead_id, NEW.deal_id);
END;
CREATE TRIGGER activities_metrics_delete AFTER DELETE ON activities BEGIN
    INSERT INTO contact_metrics_activity_marks
        VALUES (OLD.organization_id, OLD.contact_id, OLD.lead_id, OLD.deal_id);
END;
CREATE TRIGGER activities_metrics_update AFTER UPDATE OF contact_id, lead_id, deal_id, occurred_at ON activities
WHEN OLD.contact_id IS NOT NEW.contact_id OR OLD.lead_id IS NOT NEW.lead_id
  OR OLD.deal_id IS NOT NEW.deal_id OR OLD.occurred_at IS NOT NEW.occurred_at BEGIN
    INSERT INTO contact_metrics_activity_marks
        VALUES (OLD.organization_id, OLD.contact_id, OLD.lead_id, OLD.deal_id),
               (NEW.organization_id, NEW.contact_id, NEW.lead_id, NEW.deal_id);
END;

-- A sentiment counts for the contacts of its activity.
CREATE TRIGGER activity_sentiment_metrics_insert AFTER INSERT ON activity_sentiment BEGIN
    INSERT INTO contact_metrics_activity_marks SELECT organization_id, contact_id, lead_id, deal_id
        FROM activities WHERE id = NEW.activity_id AND organization_id = NEW.organization_id;
END;
CREATE TRIGGER activity_sentiment_metrics_update AFTER UPDATE OF compound ON activity_sentiment
WHEN OLD.compound IS NOT NEW.compound BEGIN
    INSERT INTO contact_metrics_activity_marks SELECT organization_id, contact_id, lead_id, deal_id
        FROM activities WHERE id = NEW.activity_id AND organization_id = NEW.organization_id;
END;
CREATE TRIGGER activity_sentiment_metrics_delete AFTER DELETE ON activity_sentiment BEGIN
    INSERT INTO contact_metrics_activity_marks SELECT organization_id, contact_id, lead_id, deal_id
        FROM activities WHERE id = OLD.activity_id AND organization_id = OLD.organization_id;
END;
