-- The lists' default order is newest first (created_at DESC, id DESC). With
-- only (organization_id, status, id), `GET /api/leads?status=qualified` had
-- to read and sort every qualified lead of the organization for one page
-- (168,000 rows at 1M leads: 5 requests/s). These indexes deliver the page
-- in order, filtered by the usual equality filters or not at all.
DROP INDEX leads_org_status;
CREATE INDEX leads_org_status_created ON leads (organization_id, status, created_at, id);
CREATE INDEX leads_org_created ON leads (organization_id, created_at, id);
CREATE INDEX contacts_org_created ON contacts (organization_id, created_at, id);
DROP INDEX deals_org_stage;
CREATE INDEX deals_org_stage_created ON deals (organization_id, stage, created_at, id);
CREATE INDEX deals_org_created ON deals (organization_id, created_at, id);
