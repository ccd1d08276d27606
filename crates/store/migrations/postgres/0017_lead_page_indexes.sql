-- The lead page at a million leads: a lead's score history, newest first,
-- read as a range of the lead's own rows (see the SQLite migration).
CREATE INDEX lead_score_history_org_lead_time ON lead_score_history (organization_id, lead_id, scored_at);
