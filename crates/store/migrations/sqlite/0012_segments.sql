-- Customer segments (docs/engines.md, "Segments"). Forward-only: never edit
-- once landed.
--
-- A segment's rule is the JSON tree as validated by the domain
-- (`neuracrm_domain::segments::Rule`); `kind` says whether the scheduler
-- keeps its members up to date (`dynamic`) or they are a snapshot changed by
-- hand (`static`). `size` and `refreshed_at` are those of the last refresh.
-- Times are RFC 3339 text in UTC, as sqlx writes them, so that text
-- comparisons with bound times order correctly.
CREATE TABLE segments (
    id              INTEGER PRIMARY KEY,
    organization_id INTEGER NOT NULL REFERENCES organizations (id),
    name            TEXT NOT NULL,
    description     TEXT,
    kind            TEXT NOT NULL CHECK (kind IN ('dynamic', 'static')),
    rule            TEXT NOT NULL,
    size            INTEGER NOT NULL DEFAULT 0 CHECK (size >= 0),
    refreshed_at    TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    CONSTRAINT segments_org_id UNIQUE (organization_id, id)
);
CREATE INDEX segments_org_kind ON segments (organization_id, kind);

-- Members, with the time each entered. A refresh inserts the contacts that
-- entered and deletes those that left, nothing else. Deleting the segment or
-- the contact deletes the membership.
CREATE TABLE segment_members (
    organization_id INTEGER NOT NULL,
    segment_id      INTEGER NOT NULL,
    contact_id      INTEGER NOT NULL,
    entered_at      TEXT NOT NULL,
    PRIMARY KEY (segment_id, contact_id),
    FOREIGN KEY (organization_id, segment_id) REFERENCES segments (organization_id, id) ON DELETE CASCADE,
    FOREIGN KEY (organization_id, contact_id) REFERENCES contacts (organization_id, id) ON DELETE CASCADE
) WITHOUT ROWID;
-- "Which segments hold this contact" and the cascade from contacts.
CREATE INDEX segment_members_contact ON segment_members (organization_id, contact_id);
