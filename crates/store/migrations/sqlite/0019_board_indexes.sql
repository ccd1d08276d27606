-- The board and the pipeline at 300,000 deals.
-- 1. The pipeline by stage sums the open deals and those closed in the last
--    30 days: read from indexes holding the stage and the value, in stage
--    order (with only (organization_id, stage, ...) SQLite read every deal
--    of the organization for it: 1.6 s); the open pipeline by expected-close
--    month reads the same index.
-- 2. The board's open columns are each stage's deals by value, largest
--    first, and its closed columns the stage's deals closed since a day,
--    latest first: each read in its order, a hundred rows, instead of every
--    deal of the stage sorted.
CREATE INDEX deals_org_status_stage ON deals (organization_id, status, stage, value_cents, expected_close);
CREATE INDEX deals_org_stage_closed ON deals (organization_id, stage, closed_at, value_cents);
CREATE INDEX deals_org_stage_value ON deals (organization_id, stage, value_cents);
