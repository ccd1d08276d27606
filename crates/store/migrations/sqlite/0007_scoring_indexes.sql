-- Batch scoring at a million leads.
-- 1. The engagement aggregates read every activity of a chunk of leads. With
--    only (lead_id, type), each activity cost a lookup of its table row (the
--    row holds the subject and body) for the duration and the two times; this
--    index covers the aggregate, so it is read from the index alone. It
--    serves every (lead_id) and (lead_id, type) lookup the old one did.
-- 2. Nothing filters or sorts leads by score_updated_at (staleness is decided
--    as the batch reads each chunk), yet every score write moved the lead's
--    entry in this index.
DROP INDEX activities_lead_type;
CREATE INDEX activities_scoring ON activities (lead_id, type, organization_id, duration_seconds, occurred_at, created_at);
DROP INDEX leads_score_updated;
