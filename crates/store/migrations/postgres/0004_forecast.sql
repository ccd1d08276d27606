-- Forecasting in the CRM (PostgreSQL). Forward-only.
--
-- A forecasting model remembers how its last cycle run ended, so a failure is
-- visible without reading logs.
ALTER TABLE forecasting_models ADD COLUMN last_run_at TIMESTAMPTZ;
ALTER TABLE forecasting_models ADD COLUMN last_status TEXT;
ALTER TABLE forecasting_models ADD COLUMN last_error TEXT;
ALTER TABLE forecasting_models ADD COLUMN updated_at TIMESTAMPTZ;

-- A stored forecast is one vintage: the model's forecast of `period` made from
-- history ending with month `origin` (YYYY-MM), `horizon` months ahead. Running
-- the cycle again from the same origin replaces that vintage (the unique key);
-- a later origin adds a new vintage, which is what lets accuracy be measured by
-- horizon once `actual` (and `error` = value - actual) are written for a closed
-- month.
ALTER TABLE forecast_results ADD COLUMN metric TEXT;
ALTER TABLE forecast_results ADD COLUMN origin TEXT;
ALTER TABLE forecast_results ADD COLUMN horizon BIGINT;
ALTER TABLE forecast_results ADD COLUMN level DOUBLE PRECISION;
ALTER TABLE forecast_results ADD COLUMN actual DOUBLE PRECISION;
ALTER TABLE forecast_results ADD COLUMN error DOUBLE PRECISION;
CREATE UNIQUE INDEX forecast_results_vintage ON forecast_results (model_id, origin, period);
CREATE INDEX forecast_results_org_metric_period ON forecast_results (organization_id, metric, period);
CREATE INDEX forecast_results_org_generated ON forecast_results (organization_id, generated_at);
CREATE INDEX forecasting_models_org_active ON forecasting_models (organization_id, active);
