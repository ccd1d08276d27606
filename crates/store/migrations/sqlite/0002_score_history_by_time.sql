-- Scoring analytics read an organization's score changes of the last days
-- ("which leads moved most this week"); without this index that is a scan of
-- every organization's whole history.
CREATE INDEX lead_score_history_org_time ON lead_score_history (organization_id, scored_at);
