-- NeuraCRM core schema (SQLite). Forward-only: never edit once landed.
-- Every tenant-owned table carries organization_id, and every reference between
-- tenant-owned rows is a composite (organization_id, id) foreign key, so the
-- database itself refuses a row that points into another organization.
-- Timestamps are RFC 3339 text in UTC (sqlx's chrono encoding), dates YYYY-MM-DD.

CREATE TABLE organizations (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    settings    TEXT NOT NULL DEFAULT '{}',
    created_at  TEXT NOT NULL
);

CREATE TABLE users (
    id              INTEGER PRIMARY KEY,
    organization_id INTEGER NOT NULL REFERENCES organizations (id),
    email           TEXT NOT NULL,
    name            TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'rep')),
    password_hash   TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    CONSTRAINT users_email_unique UNIQUE (email),
    CONSTRAINT users_org_id UNIQUE (organization_id, id)
);

CREATE TABLE contacts (
    id              INTEGER PRIMARY KEY,
    organization_id INTEGER NOT NULL REFERENCES organizations (id),
    first_name      TEXT NOT NULL,
    last_name       TEXT,
    email           TEXT,
    phone           TEXT,
    company         TEXT,
    job_title       TEXT,
    industry        TEXT,
    company_size    INTEGER CHECK (company_size >= 0),
    owner_id        INTEGER,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    CONSTRAINT contacts_org_id UNIQUE (organization_id, id),
    CONSTRAINT contacts_email_unique UNIQUE (organization_id, email),
    FOREIGN KEY (organization_id, owner_id) REFERENCES users (organization_id, id)
);
CREATE INDEX contacts_org_name ON contacts (organization_id, last_name, first_name);
CREATE INDEX contacts_org_owner ON contacts (organization_id, owner_id);

CREATE TABLE leads (
    id                INTEGER PRIMARY KEY,
    organization_id   INTEGER NOT NULL REFERENCES organizations (id),
    contact_id        INTEGER,
    owner_id          INTEGER,
    title             TEXT NOT NULL,
    description       TEXT,
    status            TEXT NOT NULL,
    source            TEXT NOT NULL,
    budget_cents      INTEGER CHECK (budget_cents >= 0),
    expected_decision TEXT,
    score             REAL,
    score_factors     TEXT,
    score_confidence  REAL,
    score_category    TEXT,
    score_updated_at  TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    CONSTRAINT leads_org_id UNIQUE (organization_id, id),
    FOREIGN KEY (organization_id, contact_id) REFERENCES contacts (organization_id, id),
    FOREIGN KEY (organization_id, owner_id) REFERENCES users (organization_id, id)
);
CREATE INDEX leads_org_status ON leads (organization_id, status, id);
CREATE INDEX leads_org_contact ON leads (organization_id, contact_id);
CREATE INDEX leads_org_score ON leads (organization_id, score);
CREATE INDEX leads_score_updated ON leads (organization_id, score_updated_at);

CREATE TABLE deals (
    id              INTEGER PRIMARY KEY,
    organization_id INTEGER NOT NULL REFERENCES organizations (id),
    contact_id      INTEGER,
    lead_id         INTEGER,
    owner_id        INTEGER,
    title           TEXT NOT NULL,
    value_cents     INTEGER NOT NULL CHECK (value_cents >= 0),
    stage           TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('open', 'won', 'lost')),
    expected_close  TEXT,
    closed_at       TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    CONSTRAINT deals_org_id UNIQUE (organization_id, id),
    FOREIGN KEY (organization_id, contact_id) REFERENCES contacts (organization_id, id),
    FOREIGN KEY (organization_id, lead_id) REFERENCES leads (organization_id, id),
    FOREIGN KEY (organization_id, owner_id) REFERENCES users (organization_id, id)
);
CREATE INDEX deals_org_status_closed ON deals (organization_id, status, closed_at);
CREATE INDEX deals_org_stage ON deals (organization_id, stage, id);
CREATE INDEX deals_org_contact ON deals (organization_id, contact_id);
CREATE INDEX deals_org_lead ON deals (organization_id, lead_id);

CREATE TABLE activities (
    id               INTEGER PRIMARY KEY,
    organization_id  INTEGER NOT NULL REFERENCES organizations (id),
    type             TEXT NOT NULL,
    lead_id          INTEGER,
    deal_id          INTEGER,
    contact_id       INTEGER,
    user_id          INTEGER,
    subject          TEXT,
    body             TEXT,
    duration_seconds INTEGER CHECK (duration_seconds >= 0),
    occurred_at      TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    FOREIGN KEY (organization_id, lead_id) REFERENCES leads (organization_id, id),
    FOREIGN KEY (organization_id, deal_id) REFERENCES deals (organization_id, id),
    FOREIGN KEY (organization_id, contact_id) REFERENCES contacts (organization_id, id),
    FOREIGN KEY (organization_id, user_id) REFERENCES users (organization_id, id)
);
-- Scoring aggregates engagement per lead and type in one pass.
CREATE INDEX activities_lead_type ON activities (lead_id, type);
CREATE INDEX activities_contact_time ON activities (contact_id, occurred_at) WHERE contact_id IS NOT NULL;
CREATE INDEX activities_deal ON activities (deal_id) WHERE deal_id IS NOT NULL;
CREATE INDEX activities_org_time ON activities (organization_id, occurred_at);

CREATE TABLE lead_score_history (
    id              INTEGER PRIMARY KEY,
    organization_id INTEGER NOT NULL,
    lead_id         INTEGER NOT NULL,
    score           REAL NOT NULL,
    category        TEXT NOT NULL,
    confidence      REAL NOT NULL,
    scored_at       TEXT NOT NULL,
    FOREIGN KEY (organization_id, lead_id) REFERENCES leads (organization_id, id) ON DELETE CASCADE
);
CREATE INDEX lead_score_history_lead ON lead_score_history (lead_id, scored_at);

CREATE TABLE forecasting_models (
    id              INTEGER PRIMARY KEY,
    organization_id INTEGER NOT NULL REFERENCES organizations (id),
    name            TEXT NOT NULL,
    metric          TEXT NOT NULL,
    algorithm       TEXT NOT NULL,
    horizon_months  INTEGER NOT NULL CHECK (horizon_months BETWEEN 1 AND 60),
    active          BOOLEAN NOT NULL DEFAULT TRUE,
    last_trained    TEXT,
    created_at      TEXT NOT NULL,
    CONSTRAINT forecasting_models_org_id UNIQUE (organization_id, id)
);

CREATE TABLE forecast_results (
    id              INTEGER PRIMARY KEY,
    organization_id INTEGER NOT NULL,
    model_id        INTEGER NOT NULL,
    period          TEXT NOT NULL,
    value           REAL NOT NULL,
    lower           REAL NOT NULL,
    upper           REAL NOT NULL,
    generated_at    TEXT NOT NULL,
    FOREIGN KEY (organization_id, model_id) REFERENCES forecasting_models (organization_id, id) ON DELETE CASCADE
);
CREATE INDEX forecast_results_model_period ON forecast_results (model_id, period);

CREATE TABLE audit_log (
    id              INTEGER PRIMARY KEY,
    organization_id INTEGER NOT NULL REFERENCES organizations (id),
    user_id         INTEGER,
    action          TEXT NOT NULL,
    entity          TEXT NOT NULL,
    entity_id       INTEGER NOT NULL,
    at              TEXT NOT NULL,
    changes         TEXT
);
CREATE INDEX audit_log_org_at ON audit_log (organization_id, at);

-- One row per (job, time slot): the instance whose insert succeeds runs it.
CREATE TABLE job_runs (
    id          INTEGER PRIMARY KEY,
    job         TEXT NOT NULL,
    slot        TEXT NOT NULL,
    instance    TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    outcome     TEXT,
    duration_ms INTEGER,
    CONSTRAINT job_runs_slot_unique UNIQUE (job, slot)
);
