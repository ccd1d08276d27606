//! Forecasting models (what the forecast cycle fits) and their stored results.
//!
//! A stored result is one *vintage*: the forecast of a period made from history
//! ending with month `origin`, `horizon` months ahead. Storing a run replaces
//! the model's rows of the same origin in one transaction (a cycle run twice in
//! a month leaves one set of rows, never duplicates); a run from a later origin
//! adds its own rows, and once a month has closed [`ForecastingModels::write_actuals`]
//! writes its actual value and the error beside every vintage that forecast it,
//! which is what [`ForecastingModels::accuracy`] aggregates by model and horizon.

use chrono::{DateTime, Utc};
use neuracrm_domain::{
    ForecastAlgorithm, ForecastMetric, ForecastModelId, ForecastingModel, ForecastingModelPatch,
    NewForecastingModel, OrgId, UserId,
};
use serde::Serialize;

use crate::audit::{self, Action};
use crate::db::{Db, Sql};
use crate::tables::{Table, word};
use crate::{Page, Paged, Result, StoreError};

const COLUMNS: &str = "id, organization_id, name, metric, algorithm, horizon_months, active, \
     last_trained, last_run_at, last_status, last_error, created_at, updated_at";

const ENTITY: &str = "forecasting_model";

/// Forecasting-model repository.
#[derive(Debug, Clone, Copy)]
pub struct ForecastingModels<'a> {
    pub(crate) db: &'a Db,
}

#[derive(sqlx::FromRow)]
struct ModelRow {
    id: i64,
    organization_id: i64,
    name: String,
    metric: String,
    algorithm: String,
    horizon_months: i64,
    active: bool,
    last_trained: Option<DateTime<Utc>>,
    last_run_at: Option<DateTime<Utc>>,
    last_status: Option<String>,
    last_error: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: Option<DateTime<Utc>>,
}

impl TryFrom<ModelRow> for ForecastingModel {
    type Error = StoreError;
    fn try_from(r: ModelRow) -> Result<Self> {
        Ok(ForecastingModel {
            id: ForecastModelId(r.id),
            organization_id: OrgId(r.organization_id),
            name: r.name,
            metric: word(ENTITY, &r.metric)?,
            algorithm: word(ENTITY, &r.algorithm)?,
            horizon_months: r.horizon_months,
            active: r.active,
            last_trained: r.last_trained,
            last_run_at: r.last_run_at,
            last_status: r.last_status,
            last_error: r.last_error,
            created_at: r.created_at,
            updated_at: r.updated_at.unwrap_or(r.created_at),
        })
    }
}

/// An active model as the cycle reads it: metric and algorithm still as
/// stored, so that one unreadable row fails only itself.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ActiveModel {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Stored metric word.
    pub metric: String,
    /// Stored algorithm word.
    pub algorithm: String,
    /// Months ahead.
    pub horizon_months: i64,
}

/// Filters of the model list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelFilter {
    /// Only this metric.
    pub metric: Option<ForecastMetric>,
    /// Only active (or inactive) models.
    pub active: Option<bool>,
}

/// One forecast period to store.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultPoint {
    /// `YYYY-MM`.
    pub period: String,
    /// Months after the origin (1 = the first forecast month).
    pub horizon: i64,
    /// Point forecast.
    pub value: f64,
    /// Lower interval bound.
    pub lower: f64,
    /// Upper interval bound.
    pub upper: f64,
}

/// A stored forecast period.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct StoredResult {
    /// The model.
    pub model_id: i64,
    /// The series.
    pub metric: Option<String>,
    /// Last month of the history it was made from.
    pub origin: Option<String>,
    /// Month forecast.
    pub period: String,
    /// Months ahead of the origin.
    pub horizon: Option<i64>,
    /// Point forecast.
    pub value: f64,
    /// Lower bound.
    pub lower: f64,
    /// Upper bound.
    pub upper: f64,
    /// Interval level.
    pub level: Option<f64>,
    /// The month's actual value, once it has closed.
    pub actual: Option<f64>,
    /// `value - actual`.
    pub error: Option<f64>,
    /// When it was stored.
    pub generated_at: DateTime<Utc>,
}

/// Error statistics of past forecasts whose month has closed.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct AccuracyRow {
    /// The model.
    pub model_id: i64,
    /// Its name.
    pub name: String,
    /// The series.
    pub metric: Option<String>,
    /// Its algorithm.
    pub algorithm: String,
    /// Months ahead (`None` in the per-model totals).
    pub horizon: Option<i64>,
    /// Forecasts scored.
    pub forecasts: i64,
    /// Mean absolute error.
    pub mae: Option<f64>,
    /// Mean absolute percentage error over months with a non-zero actual.
    pub mape: Option<f64>,
    /// Mean of `value - actual` (positive: forecasts too high).
    pub bias: Option<f64>,
    /// Share of actuals inside the interval.
    pub coverage: Option<f64>,
}

impl ForecastingModels<'_> {
    /// Creates a model.
    pub async fn create(
        &self,
        org: OrgId,
        actor: Option<UserId>,
        new: &NewForecastingModel,
    ) -> Result<ForecastingModel> {
        new.validate()?;
        let mut tx = self.db.begin().await?;
        let now = Utc::now();
        let row: ModelRow = tx
            .fetch_one(
                Sql::new(&format!(
                    "INSERT INTO forecasting_models (organization_id, name, metric, algorithm, \
                     horizon_months, active, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING {COLUMNS}"
                ))
                .arg(org)
                .arg(new.effective_name())
                .arg(new.metric)
                .arg(new.algorithm)
                .arg(new.horizon_months)
                .arg(new.active)
                .arg(now),
            )
            .await?;
        audit::record(&mut tx, org, actor, Action::Create, ENTITY, row.id).await?;
        tx.commit().await?;
        row.try_into()
    }

    /// One model of the organization.
    pub async fn get(&self, org: OrgId, id: ForecastModelId) -> Result<ForecastingModel> {
        let row: ModelRow = Table::ForecastingModels
            .get(self.db, COLUMNS, org, id.0)
            .await?;
        row.try_into()
    }

    /// A page of the organization's models, oldest first.
    pub async fn list(
        &self,
        org: OrgId,
        f: &ModelFilter,
        page: Page,
    ) -> Result<Paged<ForecastingModel>> {
        let mut q = Sql::new(&format!(
            "SELECT {COLUMNS} FROM forecasting_models WHERE organization_id = "
        ));
        q.bind(org);
        if let Some(m) = f.metric {
            q.push(" AND metric = ").bind(m);
        }
        if let Some(a) = f.active {
            q.push(" AND active = ").bind(a);
        }
        q.push(" ORDER BY id LIMIT ")
            .bind(page.limit as i64 + 1)
            .push(" OFFSET ")
            .bind(page.offset as i64);
        let rows: Vec<ModelRow> = self.db.fetch_all(q).await?;
        Paged::from_overfetch(rows, page).try_map(ForecastingModel::try_from)
    }

    /// Applies a patch; returns the model after it.
    pub async fn update(
        &self,
        org: OrgId,
        actor: Option<UserId>,
        id: ForecastModelId,
        patch: &ForecastingModelPatch,
    ) -> Result<ForecastingModel> {
        let mut tx = self.db.begin().await?;
        let mut model = ForecastingModel::try_from(
            Table::ForecastingModels
                .get_for_update::<ModelRow>(&mut tx, COLUMNS, org, id.0)
                .await?,
        )?;
        model.apply(patch)?;
        let row: ModelRow = tx
            .fetch_one(
                Sql::new(&format!(
                    "UPDATE forecasting_models SET name = $1, metric = $2, algorithm = $3, \
                     horizon_months = $4, active = $5, updated_at = $6 \
                     WHERE organization_id = $7 AND id = $8 RETURNING {COLUMNS}"
                ))
                .arg(model.name.as_str())
                .arg(model.metric)
                .arg(model.algorithm)
                .arg(model.horizon_months)
                .arg(model.active)
                .arg(Utc::now())
                .arg(org)
                .arg(id),
            )
            .await?;
        audit::record(&mut tx, org, actor, Action::Update, ENTITY, id.0).await?;
        tx.commit().await?;
        row.try_into()
    }

    /// Deletes a model and its stored results.
    pub async fn delete(
        &self,
        org: OrgId,
        actor: Option<UserId>,
        id: ForecastModelId,
    ) -> Result<()> {
        let mut tx = self.db.begin().await?;
        // Locks the model (and answers 404 for another organization's).
        Table::ForecastingModels
            .get_for_update::<(i64,)>(&mut tx, "id", org, id.0)
            .await?;
        // Explicit rather than relying on the cascade, which SQLite only
        // honours with foreign keys switched on.
        tx.execute(
            Sql::new("DELETE FROM forecast_results WHERE organization_id = $1 AND model_id = $2")
                .arg(org)
                .arg(id),
        )
        .await?;
        Table::ForecastingModels.delete(&mut tx, org, id.0).await?;
        audit::record(&mut tx, org, actor, Action::Delete, ENTITY, id.0).await?;
        tx.commit().await
    }

    /// The organization's active models, for the forecast cycle.
    pub async fn active(&self, org: OrgId) -> Result<Vec<ActiveModel>> {
        Ok(self
            .db
            .fetch_all(
                Sql::new(
                    "SELECT id, name, metric, algorithm, horizon_months FROM forecasting_models \
                     WHERE organization_id = $1 AND active = $2 ORDER BY id",
                )
                .arg(org)
                .arg(true),
            )
            .await?)
    }

    /// Records a run that stored nothing (too little history, or a failure).
    pub async fn record_run(
        &self,
        org: OrgId,
        id: ForecastModelId,
        status: &str,
        error: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.db
            .execute(
                Sql::new(
                    "UPDATE forecasting_models SET last_run_at = $1, last_status = $2, last_error = $3 \
                     WHERE organization_id = $4 AND id = $5",
                )
                .arg(at)
                .arg(status)
                .arg(error)
                .arg(org)
                .arg(id),
            )
            .await?;
        Ok(())
    }

    /// Stores one run of a model in one transaction: its previous rows of the
    /// same origin are replaced, the model is stamped trained. Returns the
    /// rows written; `NotFound` when the model is gone.
    #[allow(clippy::too_many_arguments)]
    pub async fn store_run(
        &self,
        org: OrgId,
        id: ForecastModelId,
        metric: ForecastMetric,
        origin: &str,
        level: f64,
        points: &[ResultPoint],
        at: DateTime<Utc>,
    ) -> Result<u64> {
        let mut tx = self.db.begin().await?;
        // Locks the model (and answers 404 for another organization's).
        Table::ForecastingModels
            .get_for_update::<(i64,)>(&mut tx, "id", org, id.0)
            .await?;
        tx.execute(
            Sql::new(
                "DELETE FROM forecast_results WHERE organization_id = $1 AND model_id = $2 AND origin = $3",
            )
            .arg(org)
            .arg(id)
            .arg(origin),
        )
        .await?;
        let mut written = 0;
        for chunk in points.chunks(200) {
            let mut q = Sql::new(
                "INSERT INTO forecast_results (organization_id, model_id, metric, origin, period, \
                 horizon, value, lower, upper, level, generated_at) VALUES ",
            );
            for (i, p) in chunk.iter().enumerate() {
                if i > 0 {
                    q.push(", ");
                }
                q.push("(")
                    .bind(org)
                    .push(", ")
                    .bind(id)
                    .push(", ")
                    .bind(metric)
                    .push(", ")
                    .bind(origin)
                    .push(", ")
                    .bind(p.period.as_str())
                    .push(", ")
                    .bind(p.horizon)
                    .push(", ")
                    .bind(p.value)
                    .push(", ")
                    .bind(p.lower)
                    .push(", ")
                    .bind(p.upper)
                    .push(", ")
                    .bind(level)
                    .push(", ")
                    .bind(at)
                    .push(")");
            }
            written += tx.execute(q).await?;
        }
        tx.execute(
            Sql::new(
                "UPDATE forecasting_models SET last_trained = $1, last_run_at = $1, \
                 last_status = 'stored', last_error = NULL WHERE organization_id = $2 AND id = $3",
            )
            .arg(at)
            .arg(org)
            .arg(id),
        )
        .await?;
        tx.commit().await?;
        Ok(written)
    }

    /// Writes the actual value of closed months beside every stored forecast
    /// of `metric` for them, with the error; one statement per 500 months.
    /// Returns the forecasts updated.
    pub async fn write_actuals(
        &self,
        org: OrgId,
        metric: ForecastMetric,
        actuals: &[(String, f64)],
    ) -> Result<u64> {
        let mut updated = 0;
        for chunk in actuals.chunks(500) {
            let mut q = Sql::new("WITH v (period, actual) AS (VALUES ");
            for (i, (period, actual)) in chunk.iter().enumerate() {
                if i > 0 {
                    q.push(", ");
                }
                q.push("(")
                    .bind(period.as_str())
                    .push(", ")
                    .bind(*actual)
                    .push(")");
            }
            q.push(
                ") UPDATE forecast_results SET actual = v.actual, error = forecast_results.value - v.actual \
                 FROM v WHERE forecast_results.organization_id = ",
            )
            .bind(org)
            .push(" AND forecast_results.metric = ")
            .bind(metric)
            .push(" AND forecast_results.period = v.period");
            updated += self.db.execute(q).await?;
        }
        Ok(updated)
    }

    /// A model's stored results, by origin then period.
    pub async fn results(&self, org: OrgId, id: ForecastModelId) -> Result<Vec<StoredResult>> {
        self.get(org, id).await?;
        Ok(self
            .db
            .fetch_all(
                Sql::new(
                    "SELECT model_id, metric, origin, period, horizon, value, lower, upper, level, \
                     actual, error, generated_at FROM forecast_results \
                     WHERE organization_id = $1 AND model_id = $2 ORDER BY origin, period, id",
                )
                .arg(org)
                .arg(id),
            )
            .await?)
    }

    /// Error statistics of the organization's past forecasts whose month has
    /// closed: per model (`horizon` = `None`) when `by_horizon` is false, per
    /// model and months ahead when it is true.
    pub async fn accuracy(
        &self,
        org: OrgId,
        metric: Option<ForecastMetric>,
        by_horizon: bool,
    ) -> Result<Vec<AccuracyRow>> {
        let horizon = if by_horizon {
            "r.horizon"
        } else {
            "CAST(NULL AS BIGINT)"
        };
        let mut q = Sql::new(&format!(
            "SELECT r.model_id, m.name, r.metric, m.algorithm, {horizon} AS horizon, \
             CAST(COUNT(*) AS BIGINT) AS forecasts, \
             CAST(AVG(ABS(r.error)) AS DOUBLE PRECISION) AS mae, \
             CAST(AVG(CASE WHEN r.actual <> 0 THEN ABS(r.error) / ABS(r.actual) END) * 100 AS DOUBLE PRECISION) AS mape, \
             CAST(AVG(r.error) AS DOUBLE PRECISION) AS bias, \
             CAST(AVG(CASE WHEN r.actual >= r.lower AND r.actual <= r.upper THEN 1.0 ELSE 0.0 END) AS DOUBLE PRECISION) AS coverage \
             FROM forecast_results r JOIN forecasting_models m \
               ON m.organization_id = r.organization_id AND m.id = r.model_id \
             WHERE r.organization_id = "
        ));
        q.bind(org).push(" AND r.actual IS NOT NULL");
        if let Some(m) = metric {
            q.push(" AND r.metric = ").bind(m);
        }
        q.push(" GROUP BY r.model_id, m.name, r.metric, m.algorithm");
        if by_horizon {
            q.push(", r.horizon ORDER BY r.model_id, r.metric, r.horizon");
        } else {
            q.push(" ORDER BY r.model_id, r.metric");
        }
        Ok(self.db.fetch_all(q).await?)
    }

    /// Deletes results generated before `before` (of one organization, or of
    /// all with `None`); returns how many.
    pub async fn cleanup(&self, org: Option<OrgId>, before: DateTime<Utc>) -> Result<u64> {
        let mut q = Sql::new("DELETE FROM forecast_results WHERE generated_at < ");
        q.bind(before);
        if let Some(org) = org {
            q.push(" AND organization_id = ").bind(org);
        }
        Ok(self.db.execute(q).await?)
    }
}

/// Parses a stored metric word (the cycle reports a bad one per model).
pub fn parse_metric(s: &str) -> std::result::Result<ForecastMetric, String> {
    s.parse::<ForecastMetric>().map_err(|e| e.to_string())
}

/// Parses a stored algorithm word.
pub fn parse_algorithm(s: &str) -> std::result::Result<ForecastAlgorithm, String> {
    s.parse::<ForecastAlgorithm>().map_err(|e| e.to_string())
}
