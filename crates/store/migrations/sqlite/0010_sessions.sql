-- Sign-in sessions, so that a session can be revoked and every request acts
-- with its user's current role. Forward-only: never edit once landed.
-- A login opens a family; each refresh marks the family's current session
-- rotated and inserts the next one (new id, new refresh secret). A refresh
-- secret presented again once its session was rotated is a reuse: the whole
-- family is revoked. Only the SHA-256 of a refresh secret is stored (hex),
-- never the secret. Ids are 128 random bits as 32 hex digits.
-- Deleting a user deletes their sessions (the composite key also keeps a
-- session inside its user's organization). Timestamps are RFC 3339 text in
-- UTC, as sqlx writes them, so text comparisons with bound times order
-- correctly.
CREATE TABLE sessions (
    id              TEXT NOT NULL PRIMARY KEY CHECK (length(id) = 32),
    organization_id INTEGER NOT NULL REFERENCES organizations (id),
    user_id         INTEGER NOT NULL,
    family_id       TEXT NOT NULL CHECK (length(family_id) = 32),
    refresh_hash    TEXT NOT NULL CHECK (length(refresh_hash) = 64),
    signed_in_at    TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    last_used_at    TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    rotated_at      TEXT,
    revoked_at      TEXT,
    FOREIGN KEY (organization_id, user_id) REFERENCES users (organization_id, id) ON DELETE CASCADE
) WITHOUT ROWID;
-- A user's sessions (listing, revoking all, pruning the expired; also the
-- cascade from users), and a family's.
CREATE INDEX sessions_org_user ON sessions (organization_id, user_id, expires_at);
CREATE INDEX sessions_org_family ON sessions (organization_id, family_id);
