-- Stored sentiment of activities with customer text (notes, received e-mails,
-- call transcripts). Forward-only: never edit once landed.
-- One row per activity, written by the `activity_logged` subscriber and by
-- `neuracrm sentiment backfill`; it goes with its activity (ON DELETE CASCADE).

-- The composite key the foreign key below needs (SQLite accepts a unique
-- index as a parent key; ALTER TABLE cannot add a constraint).
CREATE UNIQUE INDEX activities_org_id ON activities (organization_id, id);

CREATE TABLE activity_sentiment (
    organization_id INTEGER NOT NULL,
    activity_id     INTEGER NOT NULL,
    label           TEXT NOT NULL CHECK (label IN ('negative', 'neutral', 'positive')),
    confidence      REAL NOT NULL,
    negative        REAL NOT NULL,
    neutral         REAL NOT NULL,
    positive        REAL NOT NULL,
    compound        REAL NOT NULL,
    method          TEXT NOT NULL CHECK (method IN ('vader', 'model')),
    analyzed_at     TEXT NOT NULL,
    PRIMARY KEY (organization_id, activity_id),
    FOREIGN KEY (organization_id, activity_id) REFERENCES activities (organization_id, id) ON DELETE CASCADE
);
-- The summary's "most negative" list: an organization's negative rows by score.
CREATE INDEX activity_sentiment_org_label ON activity_sentiment (organization_id, label, compound);
