-- Batch scoring at a million leads.
-- 1. The engagement aggregates read every activity of a chunk of leads. With
--    only (lead_id, type), each activity cost a heap fetch for the duration
--    and the two times; the included columns let the aggregate run as an
--    index-only scan. It serves every (lead_id) and (lead_id, type) lookup
--    the old one did.
-- 2. Nothing filters or sorts leads by score_updated_at (staleness is decided
--    as the batch reads each chunk), yet every score write updated this index.
DROP INDEX activities_lead_type;
CREATE INDEX activities_scoring ON activities (lead_id, type)
    INCLUDE (organization_id, duration_seconds, occurred_at, created_at);
DROP INDEX leads_score_updated;
