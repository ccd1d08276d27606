-- Covering indexes for the per-contact metrics of segments (docs/engines.md,
-- "Segments", "Measured"). Forward-only: never edit once landed.
--
-- The activities' three branches (the contact an activity names; its lead's
-- contact; its deal's contact) are each grouped by contact on their own:
-- with these, each reads one index in organization order and never the
-- table, and the first, the largest, groups in index order with no sort.
CREATE INDEX activities_org_contact_time ON activities (organization_id, contact_id, occurred_at)
    WHERE contact_id IS NOT NULL;
CREATE INDEX activities_org_lead_contact ON activities (organization_id, lead_id, contact_id, occurred_at)
    WHERE lead_id IS NOT NULL;
CREATE INDEX activities_org_deal_links ON activities (organization_id, deal_id, lead_id, contact_id, occurred_at)
    WHERE deal_id IS NOT NULL;
-- The deals' and leads' grouped subqueries (counts and sums by status,
-- mean score), read off the index in contact order.
CREATE INDEX deals_org_contact_metrics ON deals (organization_id, contact_id, status, value_cents, closed_at);
CREATE INDEX leads_org_contact_score ON leads (organization_id, contact_id, score);
