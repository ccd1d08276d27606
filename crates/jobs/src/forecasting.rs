//! Forecasting in the CRM: the one path from stored deals to a forecast, used
//! by the API (`GET /api/forecast`), the forecast cycle and the demo check.
//!
//! - [`fit_series`] turns a monthly series into a forecast with the chosen
//!   algorithm (the backtest-weighted ensemble, or one model scored by the same
//!   rolling-origin backtests). It is CPU work: call it from a blocking thread.
//! - [`run_cycle`] fits every active forecasting model of every organization
//!   (or one), stores each model's run in one transaction, replacing the rows of
//!   the same origin, writes the actual value of every closed month beside the
//!   earlier forecasts of it, and publishes `forecast_updated` per stored run. A
//!   model that fails (unreadable configuration, failed fit, failed write, even a
//!   panic) is recorded on its row and in the summary; the others go on.
//! - [`replay`] runs the cycle as it would have run at the start of each of
//!   the last months, then now: the stored vintages a new deployment lacks.
//! - [`cleanup`] deletes results older than a number of days.
//!
//! The history ends with the last complete month: the month still running
//! would look like a slump. Its first forecast period is therefore the current
//! month. All three series are counts or money, never negative, so forecasts
//! and interval bounds are floored at 0.

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use neuracrm_domain::{
    DomainEvent, EventKind, ForecastAlgorithm, ForecastMetric, ForecastModelId, OrgId,
};
use neuracrm_events::EventBus;
use neuracrm_forecast::ensemble::Ensemble;
use neuracrm_forecast::report::{ForecastOutcome, ForecastReport, ForecastRequest};
use neuracrm_forecast::{ForecastError, model_by_name};
use neuracrm_store::Store;
use neuracrm_store::forecasting_models::{ResultPoint, parse_algorithm, parse_metric};
use neuracrm_store::forecasts::{MonthlySeries, add_months, month_start, period_label};
use serde::Serialize;

use crate::JobError;

/// Interval level of every forecast the CRM makes and stores.
pub const LEVEL: f64 = 0.95;

/// Months of closed history whose actuals the cycle (re)writes each run; older
/// results are removed by `forecast cleanup` long before.
const ACTUALS_MONTHS: usize = 120;

/// The first day of the month `now` falls in (UTC): where history ends.
pub fn current_month(now: DateTime<Utc>) -> NaiveDate {
    month_start(now.date_naive())
}

/// A forecast of a CRM series, with the months it covers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CrmForecast {
    /// The last month of history (`YYYY-MM`).
    pub origin: String,
    /// The forecast months, `YYYY-MM`, one per forecast value.
    pub periods: Vec<String>,
    /// The engine's report; `model` is the algorithm asked for, and
    /// `model_performance` lists only that model when it is not the ensemble.
    pub report: ForecastReport,
}

/// What [`fit_series`] gives.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum FitOutcome {
    /// Too little history: no forecast, and why.
    InsufficientHistory {
        /// Months of history.
        observations: usize,
        /// Months needed.
        needed: usize,
        /// Why, in words.
        reason: String,
    },
    /// A forecast.
    Ready(Box<CrmForecast>),
}

/// Fits `series` and forecasts `horizon` months with `algorithm` (see the
/// module doc). CPU-bound.
pub fn fit_series(
    series: &MonthlySeries,
    horizon: usize,
    algorithm: ForecastAlgorithm,
    level: f64,
) -> Result<FitOutcome, ForecastError> {
    match algorithm {
        ForecastAlgorithm::Ensemble => {
            fit_series_with(series, horizon, level, &Ensemble::default(), None)
        }
        one => {
            let model = model_by_name(one.as_str()).ok_or_else(|| {
                ForecastError::InvalidArgument(format!("the engine has no model {one}"))
            })?;
            // An ensemble of one: the same backtests score the model, and its
            // weight is 1, so the forecast is the model's own.
            fit_series_with(
                series,
                horizon,
                level,
                &Ensemble::new(vec![model]),
                Some(one.as_str()),
            )
        }
    }
}

/// [`fit_series`] with a given ensemble; with `single`, the report is that
/// one model's (named so, without the ensemble's own row).
pub fn fit_series_with(
    series: &MonthlySeries,
    horizon: usize,
    level: f64,
    ensemble: &Ensemble,
    single: Option<&str>,
) -> Result<FitOutcome, ForecastError> {
    use chrono::Datelike;
    let (Some(start), Some(last)) = (series.start, series.last_month()) else {
        return Ok(FitOutcome::InsufficientHistory {
            observations: 0,
            needed: neuracrm_forecast::report::MIN_OBSERVATIONS,
            reason: format!("no {} history yet: no deal has been won", series.metric),
        });
    };
    let req = ForecastRequest {
        horizon,
        level,
        period: 12,
        start_month: Some(start.month()),
    };
    let mut outcome =
        neuracrm_forecast::report::forecast_series_with(&series.values, &req, ensemble)?;
    if let (ForecastOutcome::Ready(r), Some(name)) = (&mut outcome, single) {
        r.model = name.to_string();
        r.model_performance.retain(|p| p.model != "ensemble");
    }
    Ok(match outcome {
        ForecastOutcome::Insufficient {
            observations,
            needed,
            reason,
        } => FitOutcome::InsufficientHistory {
            observations,
            needed,
            reason,
        },
        ForecastOutcome::Ready(mut report) => {
            let f = &mut report.forecast;
            for v in f.mean.iter_mut().chain(&mut f.lower).chain(&mut f.upper) {
                *v = v.max(0.0);
            }
            FitOutcome::Ready(Box::new(CrmForecast {
                origin: period_label(last),
                periods: (1..=horizon as i32)
                    .map(|k| period_label(add_months(last, k)))
                    .collect(),
                report: *report,
            }))
        }
    })
}

/// The series of `org` for `metric` whose history ends before the month of `now`.
pub async fn load_series(
    store: &Store,
    org: OrgId,
    metric: ForecastMetric,
    now: DateTime<Utc>,
) -> Result<MonthlySeries, JobError> {
    Ok(store
        .forecasts()
        .series(org, metric, current_month(now))
        .await?)
}

/// How a cycle runs.
#[derive(Debug, Clone)]
pub struct CycleOptions {
    /// Only this organization (all when `None`).
    pub org: Option<OrgId>,
    /// The time the cycle runs at (history ends before its month).
    pub now: DateTime<Utc>,
    /// Interval level.
    pub level: f64,
}

impl Default for CycleOptions {
    fn default() -> Self {
        Self {
            org: None,
            now: Utc::now(),
            level: LEVEL,
        }
    }
}

/// How one model's run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelStatus {
    /// Fitted and stored.
    Stored,
    /// Not enough history: nothing stored.
    InsufficientHistory,
    /// Failed; the others went on.
    Failed,
}

impl ModelStatus {
    /// The word recorded on the model.
    pub fn as_str(self) -> &'static str {
        match self {
            ModelStatus::Stored => "stored",
            ModelStatus::InsufficientHistory => "insufficient_history",
            ModelStatus::Failed => "failed",
        }
    }
}

/// One model's outcome in a cycle.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelOutcome {
    /// Its organization.
    pub organization_id: i64,
    /// The model.
    pub model_id: i64,
    /// Its name.
    pub name: String,
    /// Its metric, as stored.
    pub metric: String,
    /// Its algorithm, as stored.
    pub algorithm: String,
    /// How it ended.
    pub status: ModelStatus,
    /// Forecast periods stored.
    pub periods: u64,
    /// The last month of history used.
    pub origin: Option<String>,
    /// The single model with the best backtest.
    pub best_model: Option<String>,
    /// Why it failed or stored nothing.
    pub message: Option<String>,
}

/// What a cycle did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CycleSummary {
    /// Organizations visited.
    pub organizations: u64,
    /// Every active model's outcome.
    pub models: Vec<ModelOutcome>,
    /// Earlier forecasts that got their month's actual value.
    pub actuals_written: u64,
    /// Organizations whose models could not be listed.
    pub errors: Vec<String>,
    /// Wall-clock seconds.
    pub seconds: f64,
}

impl CycleSummary {
    /// Models that ended with `status`.
    pub fn count(&self, status: ModelStatus) -> usize {
        self.models.iter().filter(|m| m.status == status).count()
    }

    /// One line for logs and `job_runs.outcome`.
    pub fn line(&self) -> String {
        format!(
            "{} organizations, {} models: {} stored, {} insufficient history, {} failed; {} actuals written",
            self.organizations,
            self.models.len(),
            self.count(ModelStatus::Stored),
            self.count(ModelStatus::InsufficientHistory),
            self.count(ModelStatus::Failed),
            self.actuals_written
        ) + &match self.errors.len() {
            0 => String::new(),
            n => format!("; {n} organizations unreadable"),
        }
    }
}

/// The function that fits a series: [`fit_series`], or a stand-in in tests.
pub type Fitter = Arc<
    dyn Fn(&MonthlySeries, usize, ForecastAlgorithm, f64) -> Result<FitOutcome, ForecastError>
        + Send
        + Sync,
>;

/// Runs the forecast cycle (see the module doc).
pub async fn run_cycle(
    store: &Store,
    events: &dyn EventBus,
    opts: &CycleOptions,
) -> Result<CycleSummary, JobError> {
    run_cycle_with(store, events, opts, Arc::new(fit_series)).await
}

/// [`run_cycle`] with a given fitter.
pub async fn run_cycle_with(
    store: &Store,
    events: &dyn EventBus,
    opts: &CycleOptions,
    fitter: Fitter,
) -> Result<CycleSummary, JobError> {
    let started = Instant::now();
    let orgs = crate::target_orgs(store, opts.org).await?;
    let mut summary = CycleSummary::default();
    let until = current_month(opts.now);
    for org in orgs {
        summary.organizations += 1;
        let models = match store.forecasting_models().active(org).await {
            Ok(m) => m,
            Err(e) => {
                // Its models cannot even be listed: say so, go on with the others.
                tracing::warn!(org = org.0, error = %e, "forecasting models unreadable");
                summary.errors.push(format!(
                    "organization {org}: listing its models failed: {e}"
                ));
                continue;
            }
        };
        let outcome = |m: &neuracrm_store::forecasting_models::ActiveModel| ModelOutcome {
            organization_id: org.0,
            model_id: m.id,
            name: m.name.clone(),
            metric: m.metric.clone(),
            algorithm: m.algorithm.clone(),
            status: ModelStatus::Failed,
            periods: 0,
            origin: None,
            best_model: None,
            message: None,
        };
        let series = match store.forecasts().monthly(org, until).await {
            Ok(s) => s,
            Err(e) => {
                // The organization's data cannot be read: each of its models
                // failed, the other organizations go on.
                tracing::warn!(org = org.0, error = %e, "forecast series unreadable");
                for m in &models {
                    let message = format!("reading the series failed: {e}");
                    record(
                        store,
                        org,
                        m.id,
                        ModelStatus::Failed,
                        Some(&message),
                        opts.now,
                    )
                    .await;
                    summary.models.push(ModelOutcome {
                        message: Some(message),
                        ..outcome(m)
                    });
                }
                continue;
            }
        };
        for metric in ForecastMetric::ALL {
            let s = series.series(*metric);
            let closed: Vec<(String, f64)> = s
                .periods()
                .into_iter()
                .zip(s.values.iter().copied())
                .rev()
                .take(ACTUALS_MONTHS)
                .collect();
            match store
                .forecasting_models()
                .write_actuals(org, *metric, &closed)
                .await
            {
                Ok(n) => summary.actuals_written += n,
                Err(e) => {
                    tracing::warn!(org = org.0, metric = %metric, error = %e, "actuals not written")
                }
            }
        }
        for m in &models {
            let mut out = outcome(m);
            match run_model(store, events, opts, org, m, &series, &fitter).await {
                Ok((status, periods, origin, best, message)) => {
                    out.status = status;
                    out.periods = periods;
                    out.origin = origin;
                    out.best_model = best;
                    out.message = message;
                }
                Err(message) => {
                    tracing::warn!(org = org.0, model = m.id, %message, "forecasting model failed");
                    out.message = Some(message);
                }
            }
            record(
                store,
                org,
                m.id,
                out.status,
                out.message.as_deref(),
                opts.now,
            )
            .await;
            summary.models.push(out);
        }
    }
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

type RunResult = (
    ModelStatus,
    u64,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Fits and stores one model; `Err` carries why it failed.
async fn run_model(
    store: &Store,
    events: &dyn EventBus,
    opts: &CycleOptions,
    org: OrgId,
    m: &neuracrm_store::forecasting_models::ActiveModel,
    series: &neuracrm_store::forecasts::CrmSeries,
    fitter: &Fitter,
) -> Result<RunResult, String> {
    let metric = parse_metric(&m.metric)?;
    let algorithm = parse_algorithm(&m.algorithm)?;
    let horizon = usize::try_from(m.horizon_months)
        .ok()
        .filter(|h| (1..=neuracrm_domain::MAX_FORECAST_MONTHS as usize).contains(h))
        .ok_or_else(|| format!("horizon_months {} is out of range", m.horizon_months))?;
    let s = series.series(metric);
    let fit = fitter.clone();
    let level = opts.level;
    let fitted = tokio::task::spawn_blocking(move || fit(&s, horizon, algorithm, level))
        .await
        .map_err(|e| format!("the fit did not finish: {e}"))?
        .map_err(|e| format!("the fit failed: {e}"))?;
    let f = match fitted {
        FitOutcome::InsufficientHistory { reason, .. } => {
            return Ok((
                ModelStatus::InsufficientHistory,
                0,
                None,
                None,
                Some(reason),
            ));
        }
        FitOutcome::Ready(f) => f,
    };
    let fc = &f.report.forecast;
    let points: Vec<ResultPoint> = f
        .periods
        .iter()
        .enumerate()
        .map(|(i, period)| ResultPoint {
            period: period.clone(),
            horizon: i as i64 + 1,
            value: fc.mean[i],
            lower: fc.lower[i],
            upper: fc.upper[i],
        })
        .collect();
    if let Some(bad) = points
        .iter()
        .find(|p| !(p.value.is_finite() && p.lower.is_finite() && p.upper.is_finite()))
    {
        return Err(format!("the forecast of {} is not finite", bad.period));
    }
    let id = ForecastModelId(m.id);
    let written = store
        .forecasting_models()
        .store_run(org, id, metric, &f.origin, level, &points, opts.now)
        .await
        .map_err(|e| format!("storing the forecast failed: {e}"))?;
    events.publish(DomainEvent::new(
        org,
        Utc::now(),
        EventKind::ForecastUpdated { model_id: id },
    ));
    Ok((
        ModelStatus::Stored,
        written,
        Some(f.origin.clone()),
        Some(f.report.best_model.clone()),
        None,
    ))
}

/// Records a run on the model row; a failure to record is logged, not fatal
/// (the summary still says what happened).
async fn record(
    store: &Store,
    org: OrgId,
    id: i64,
    status: ModelStatus,
    message: Option<&str>,
    at: DateTime<Utc>,
) {
    if status == ModelStatus::Stored {
        return; // `store_run` stamped it in its own transaction
    }
    if let Err(e) = store
        .forecasting_models()
        .record_run(org, ForecastModelId(id), status.as_str(), message, at)
        .await
    {
        tracing::warn!(org = org.0, model = id, error = %e, "model run not recorded");
    }
}

/// Runs the cycle as it would have run on the first day of each of the
/// `months` months before `opts.now`, oldest first, then at `opts.now`.
///
/// Each past run sees only the history before its own month (as every cycle
/// does) and is stamped with its own time, so its results are the honest
/// out-of-sample vintages a deployment running since then would hold, and the
/// last run writes the actual value beside every vintage of a closed month:
/// accuracy by horizon has content from the first day (the demo's first run).
pub async fn replay(
    store: &Store,
    events: &dyn EventBus,
    opts: &CycleOptions,
    months: u32,
) -> Result<Vec<CycleSummary>, JobError> {
    let this_month = current_month(opts.now);
    let mut runs = Vec::with_capacity(months as usize + 1);
    for back in (1..=months as i32).rev() {
        let at = add_months(this_month, -back)
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc())
            .unwrap_or(opts.now);
        runs.push(
            run_cycle(
                store,
                events,
                &CycleOptions {
                    now: at,
                    ..opts.clone()
                },
            )
            .await?,
        );
    }
    runs.push(run_cycle(store, events, opts).await?);
    Ok(runs)
}

/// Deletes forecast results generated more than `days` days before `now`
/// (of one organization, or all); returns how many.
pub async fn cleanup(
    store: &Store,
    org: Option<OrgId>,
    days: u32,
    now: DateTime<Utc>,
) -> Result<u64, JobError> {
    if let Some(org) = org {
        store.organizations().get(org).await?;
    }
    Ok(store
        .forecasting_models()
        .cleanup(org, now - Duration::days(days as i64))
        .await?)
}
