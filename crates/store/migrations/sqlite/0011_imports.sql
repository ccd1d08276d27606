-- Background CSV imports (docs/api.md, "CSV import"; ARCHITECTURE.md, "An
-- import"). Forward-only: never edit once landed.
--
-- An import too large for its request is stored here as it uploads (its
-- document in `import_chunks`, 1 MiB a row, so that any instance can process
-- it and a restart can resume it) and then written in chunks of rows, each
-- chunk in one transaction together with its checkpoint (`rows_read` and the
-- counts) and its rejections: after a crash the import resumes after the
-- last committed chunk, never skipping or repeating a row.
--
-- status: `uploading` (the request is still sending it; invisible to the
-- API), `queued`, `running` (claimed by `instance`, which moves
-- `heartbeat_at` with every chunk; another instance takes over once it is
-- older than the lease), `completed`, `failed` (`error` says why).
-- `attempts` counts claims: the chunk transactions of a claim check that
-- it is still the current one, so a taken-over instance writes nothing more.
-- Times are RFC 3339 text in UTC, as sqlx writes them, so that text
-- comparisons with bound times order correctly.
CREATE TABLE imports (
    id              INTEGER PRIMARY KEY,
    organization_id INTEGER NOT NULL REFERENCES organizations (id),
    user_id         INTEGER NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('contacts', 'leads')),
    status          TEXT NOT NULL
                    CHECK (status IN ('uploading', 'queued', 'running', 'completed', 'failed')),
    bytes           INTEGER NOT NULL DEFAULT 0 CHECK (bytes >= 0),
    chunks          INTEGER NOT NULL DEFAULT 0 CHECK (chunks >= 0),
    rows_read       INTEGER NOT NULL DEFAULT 0 CHECK (rows_read >= 0),
    created         INTEGER NOT NULL DEFAULT 0 CHECK (created >= 0),
    updated         INTEGER NOT NULL DEFAULT 0 CHECK (updated >= 0),
    rejected        INTEGER NOT NULL DEFAULT 0 CHECK (rejected >= 0),
    error           TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    instance        TEXT,
    heartbeat_at    TEXT,
    created_at      TEXT NOT NULL,
    started_at      TEXT,
    finished_at     TEXT,
    CONSTRAINT imports_org_id UNIQUE (organization_id, id)
);
-- What the workers look for: queued imports, and running ones gone quiet.
CREATE INDEX imports_status ON imports (status, heartbeat_at);

-- The uploaded document, in order; deleted once the import has ended.
CREATE TABLE import_chunks (
    import_id INTEGER NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
    seq       INTEGER NOT NULL CHECK (seq >= 0),
    data      BLOB NOT NULL,
    PRIMARY KEY (import_id, seq)
);

-- The first rejected rows of a background import, with why.
CREATE TABLE import_rejections (
    import_id INTEGER NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
    row_no    INTEGER NOT NULL,
    reason    TEXT NOT NULL,
    PRIMARY KEY (import_id, row_no)
);
