-- Stored sentiment of activities with customer text (notes, received e-mails,
-- call transcripts). Forward-only: never edit once landed.
-- One row per activity, written by the `activity_logged` subscriber and by
-- `neuracrm sentiment backfill`; it goes with its activity (ON DELETE CASCADE).

-- The composite key the foreign key below needs.
ALTER TABLE activities ADD CONSTRAINT activities_org_id UNIQUE (organization_id, id);

CREATE TABLE activity_sentiment (
    organization_id BIGINT NOT NULL,
    activity_id     BIGINT NOT NULL,
    label           TEXT NOT NULL CHECK (label IN ('negative', 'neutral', 'positive')),
    confidence      DOUBLE PRECISION NOT NULL,
    negative        DOUBLE PRECISION NOT NULL,
    neutral         DOUBLE PRECISION NOT NULL,
    positive        DOUBLE PRECISION NOT NULL,
    compound        DOUBLE PRECISION NOT NULL,
    method          TEXT NOT NULL CHECK (method IN ('vader', 'model')),
    analyzed_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (organization_id, activity_id),
    FOREIGN KEY (organization_id, activity_id) REFERENCES activities (organization_id, id) ON DELETE CASCADE
);
-- The summary's "most negative" list: an organization's negative rows by score.
CREATE INDEX activity_sentiment_org_label ON activity_sentiment (organization_id, label, compound);
