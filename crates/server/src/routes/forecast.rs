//! `/api/forecast`: forecasts of the CRM's monthly series on demand, the
//! accuracy of past stored forecasts, and the weighted open pipeline.
//!
//! A forecast is fitted on a blocking thread (it is CPU work: the ensemble
//! fits four models and backtests each) and cached per (organization, metric,
//! months, model) in [`ForecastCache`]. The cache forgets an organization's
//! entries when one of its deals is won, lost, deleted or changes value (the
//! event subscriber `spawn_background` starts), forgets everything when that
//! subscriber lags behind the bus, and never serves an entry older than
//! [`MAX_AGE`] or computed in an earlier month (the history would have grown
//! by a month).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use chrono::{DateTime, NaiveDate, Utc};
use neuracrm_domain::{DealStatus, EventKind, ForecastAlgorithm, ForecastMetric, OrgId};
use neuracrm_events::{RecvError, Subscription};
use neuracrm_forecast::ensemble::ModelPerformance;
use neuracrm_forecast::report::{Insights, TrendDirection};
use neuracrm_jobs::JobError;
use neuracrm_jobs::forecasting::{
    CrmForecast, FitOutcome, LEVEL, current_month, fit_series, load_series,
};
use neuracrm_store::forecasts::MonthlySeries;
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;
use utoipa::{IntoParams, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::AuthUser;
use crate::background::Background;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Json, Query};

/// Schema-only copies of the forecasting vocabularies (the domain has no
/// `ToSchema`); the words are the same.
pub mod vocab {
    use serde::Serialize;
    use utoipa::ToSchema;

    /// A monthly series of the CRM.
    #[derive(Debug, Serialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum ForecastMetric {
        /// Value of won deals by close month, in currency units.
        Revenue,
        /// Won deals by close month.
        DealsWon,
        /// Contacts whose first won deal closed in the month.
        NewCustomers,
    }

    /// The backtest-weighted ensemble or one model.
    #[derive(Debug, Serialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum ForecastAlgorithm {
        /// ETS, Theta, seasonal naive and auto-ARIMA weighted by backtests.
        Ensemble,
        /// Seasonal auto-ARIMA.
        AutoArima,
        /// Exponential smoothing.
        Ets,
        /// Theta.
        Theta,
        /// Prophet-style trend and seasonality.
        Prophet,
        /// Trend and month regression.
        Regression,
        /// Same month last year.
        SeasonalNaive,
    }
}

#[derive(OpenApi)]
#[openapi(components(schemas(vocab::ForecastMetric, vocab::ForecastAlgorithm)))]
struct ForecastDoc;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ForecastDoc::openapi())
        .routes(routes!(get_forecast))
        .routes(routes!(get_accuracy))
        .routes(routes!(get_pipeline))
}

// ---------------------------------------------------------------- cache

/// Longest time a cached forecast is served: writes made through other
/// instances reach this one's cache only through its event bus, and until
/// that bus fans out across instances this bounds how stale an answer gets.
pub const MAX_AGE: Duration = Duration::from_secs(15 * 60);

/// Entries kept before old ones are dropped.
const MAX_ENTRIES: usize = 10_000;

/// What a cached forecast is keyed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CacheKey {
    /// The organization: no entry is ever served to another one.
    pub org: OrgId,
    /// The series.
    pub metric: ForecastMetric,
    /// Months ahead.
    pub months: u32,
    /// The algorithm.
    pub model: ForecastAlgorithm,
}

struct Entry {
    month: NaiveDate,
    at: Instant,
    value: Arc<ForecastOut>,
}

#[derive(Default)]
struct CacheInner {
    entries: HashMap<CacheKey, Entry>,
    /// Bumped per organization on each invalidation, and `epoch` on each
    /// clear: a forecast computed across an invalidation is not stored.
    generations: HashMap<OrgId, u64>,
    epoch: u64,
}

/// Forecasts by (organization, metric, months, model), and the permits that
/// bound how many fits run at once.
pub struct ForecastCache {
    inner: Mutex<CacheInner>,
    fits: Semaphore,
}

impl std::fmt::Debug for ForecastCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForecastCache")
            .field("entries", &self.len())
            .finish()
    }
}

impl Default for ForecastCache {
    fn default() -> Self {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        ForecastCache {
            inner: Mutex::default(),
            fits: Semaphore::new(cores),
        }
    }
}

/// The state of an organization's entries when a computation started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generation(u64, u64);

impl ForecastCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, CacheInner> {
        // A panic while holding the lock leaves a map that is still valid.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A fresh entry computed in `month`.
    pub fn get(&self, key: &CacheKey, month: NaiveDate) -> Option<Arc<ForecastOut>> {
        let inner = self.lock();
        let e = inner.entries.get(key)?;
        (e.month == month && e.at.elapsed() < MAX_AGE).then(|| e.value.clone())
    }

    /// Where `org`'s entries stand, to pass to [`ForecastCache::put`].
    pub fn generation(&self, org: OrgId) -> Generation {
        let inner = self.lock();
        Generation(
            inner.epoch,
            inner.generations.get(&org).copied().unwrap_or(0),
        )
    }

    /// Stores a forecast unless `org`'s entries were invalidated since
    /// `seen` was read (it may predate the write that invalidated them).
    pub fn put(&self, key: CacheKey, month: NaiveDate, seen: Generation, value: Arc<ForecastOut>) {
        let mut inner = self.lock();
        let now = Generation(
            inner.epoch,
            inner.generations.get(&key.org).copied().unwrap_or(0),
        );
        if now != seen {
            return;
        }
        if inner.entries.len() >= MAX_ENTRIES {
            inner.entries.retain(|_, e| e.at.elapsed() < MAX_AGE);
            if inner.entries.len() >= MAX_ENTRIES {
                inner.entries.clear();
            }
        }
        inner.entries.insert(
            key,
            Entry {
                month,
                at: Instant::now(),
                value,
            },
        );
    }

    /// Forgets `org`'s forecasts.
    pub fn invalidate(&self, org: OrgId) {
        let mut inner = self.lock();
        inner.entries.retain(|k, _| k.org != org);
        *inner.generations.entry(org).or_default() += 1;
    }

    /// Forgets every forecast.
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.entries.clear();
        inner.epoch += 1;
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Whether an event changes a series the forecasts are made from (won deals:
/// their value, close month and contact).
pub fn invalidates(kind: &EventKind) -> bool {
    match kind {
        EventKind::DealCreated { stage, .. } => stage.status() != DealStatus::Open,
        // Any change of a won deal (value, close time, contact) or any change
        // of status; a lost deal's edits change nothing forecast, but a deal
        // leaving "won" does.
        EventKind::DealUpdated {
            old_status,
            new_status,
            old_value_cents,
            new_value_cents,
            ..
        } => {
            old_status != new_status
                || *old_status == DealStatus::Won
                || (old_value_cents != new_value_cents && *new_status != DealStatus::Open)
        }
        EventKind::DealDeleted { .. } | EventKind::ContactDeleted { .. } => true,
        _ => false,
    }
}

/// Keeps `cache` in step with the writes announced on `events`.
pub async fn invalidate_on_events(mut events: Subscription, cache: Arc<ForecastCache>) {
    loop {
        match events.recv().await {
            Ok(e) if invalidates(&e.kind) => cache.invalidate(e.organization_id),
            Ok(_) => {}
            Err(RecvError::Lagged(n)) => {
                tracing::warn!(
                    missed = n,
                    "forecast cache lagged behind the event bus; cleared"
                );
                cache.clear();
            }
            Err(RecvError::Closed) => return,
        }
    }
}

/// Starts the forecasting tasks: the cache's event subscriber always, the
/// daily forecast cycle when the scheduler is on.
pub(crate) fn spawn_background(state: &AppState, bg: &mut Background) {
    // Subscribed here, not inside the task, so no write made after start-up
    // can slip past the cache.
    let sub = state.events.subscribe();
    bg.add(
        "forecast_cache_invalidation",
        tokio::spawn(invalidate_on_events(sub, state.forecasts.clone())),
    );
    if state.settings.scheduler {
        let store = state.store.clone();
        let events = state.events.clone();
        let every = Duration::from_secs(state.settings.forecast_interval_secs.max(60));
        bg.add(
            "forecast_cycle",
            tokio::spawn(neuracrm_jobs::schedule::run_periodic(
                state.store.clone(),
                neuracrm_jobs::schedule::instance_name(),
                "forecast_cycle",
                every,
                move || {
                    let store = store.clone();
                    let events = events.clone();
                    async move {
                        let opts = neuracrm_jobs::forecasting::CycleOptions::default();
                        neuracrm_jobs::forecasting::run_cycle(&store, events.as_ref(), &opts)
                            .await
                            .map(|s| s.line())
                    }
                },
            )),
        );
    }
}

// ---------------------------------------------------------------- wire types

/// What to forecast.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ForecastQuery {
    /// The series (default `revenue`).
    #[param(value_type = Option<vocab::ForecastMetric>)]
    pub metric: Option<ForecastMetric>,
    /// Months ahead, 1–60 (default 12).
    #[param(minimum = 1, maximum = 60)]
    pub months: Option<i64>,
    /// `ensemble` (default) or one model.
    #[param(value_type = Option<vocab::ForecastAlgorithm>)]
    pub model: Option<ForecastAlgorithm>,
}

/// Whether a forecast could be made.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ForecastStatus {
    /// A forecast.
    Ready,
    /// Fewer than six months of history: an empty forecast and the reason.
    InsufficientHistory,
}

/// One month of history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HistoryPoint {
    /// `YYYY-MM`.
    pub period: String,
    /// The month's value.
    pub value: f64,
}

/// One forecast month.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ForecastPoint {
    /// `YYYY-MM`.
    pub period: String,
    /// Point forecast.
    pub predicted_value: f64,
    /// Lower bound of the interval (at `level`).
    pub lower_bound: f64,
    /// Upper bound.
    pub upper_bound: f64,
}

/// Out-of-sample errors of rolling-origin backtests on the history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BacktestOut {
    /// Mean absolute percentage error, percent (`null` when every actual was 0).
    pub mape: Option<f64>,
    /// Symmetric MAPE, percent.
    pub smape: Option<f64>,
    /// Mean absolute scaled error (below 1: better than the seasonal naive forecast).
    pub mase: Option<f64>,
    /// Backtest folds scored.
    pub folds: u64,
    /// Months forecast per fold.
    pub horizon: u64,
}

/// One model's backtest accuracy.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ModelPerformanceOut {
    /// `ensemble`, `ets`, `theta`, `seasonal_naive`, `auto_arima`, ...
    pub model: String,
    /// What was fitted, e.g. `ETS(M,A,M)`.
    pub spec: String,
    /// Weight in the ensemble (1 for the ensemble itself).
    pub weight: f64,
    /// Backtest errors; `null` when no fold could be scored.
    pub backtest: Option<BacktestOut>,
    /// Why the model was left out, if it was.
    pub error: Option<String>,
}

/// Direction of the trend.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Trend {
    /// Rising.
    Up,
    /// Falling.
    Down,
    /// No significant slope.
    Flat,
}

/// A past month far from what the model expected.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AnomalyOut {
    /// `YYYY-MM`.
    pub period: String,
    /// What happened.
    pub actual: f64,
    /// What the model expected one month ahead.
    pub expected: f64,
    /// Robust z-score of the difference.
    pub score: f64,
}

/// Plain-language facts about the series and its forecast.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InsightsOut {
    /// Direction of the seasonally adjusted trend.
    pub trend: Trend,
    /// Trend slope per month, percent of the mean level.
    pub growth_rate_pct_per_month: Option<f64>,
    /// The forecast's next 12 months against the last 12 months, percent.
    pub next_12_months_vs_last_12_pct: Option<f64>,
    /// Calendar month (1–12) of the seasonal peak.
    pub seasonal_peak_month: Option<u32>,
    /// Calendar month (1–12) of the seasonal trough.
    pub seasonal_trough_month: Option<u32>,
    /// Peak minus trough, percent of the mean level.
    pub seasonal_amplitude_pct: Option<f64>,
    /// Unusual past months, most extreme first.
    pub anomalies: Vec<AnomalyOut>,
    /// The same, in sentences.
    pub summary: Vec<String>,
}

/// A forecast of one of the CRM's monthly series.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ForecastOut {
    /// `ready`, or `insufficient_history` with an empty forecast.
    pub status: ForecastStatus,
    /// The series.
    #[schema(value_type = vocab::ForecastMetric)]
    pub metric: ForecastMetric,
    /// The algorithm asked for.
    #[schema(value_type = vocab::ForecastAlgorithm)]
    pub model: ForecastAlgorithm,
    /// Months asked for.
    pub months: u32,
    /// Nominal coverage of the intervals (0.95).
    pub level: f64,
    /// Why there is no forecast.
    pub reason: Option<String>,
    /// The monthly history, oldest first, up to the last complete month.
    pub history: Vec<HistoryPoint>,
    /// One entry per month ahead, starting with the current month.
    pub forecast: Vec<ForecastPoint>,
    /// Backtest accuracy: the ensemble first, then each of its models.
    pub model_performance: Vec<ModelPerformanceOut>,
    /// The single model with the best backtest.
    pub best_model: Option<String>,
    /// What the forecast combines, e.g. `weighted mean of 0.55·theta + 0.45·ets`.
    pub spec: Option<String>,
    /// Trend, seasonality and anomalies.
    pub insights: Option<InsightsOut>,
    /// When it was computed.
    pub generated_at: DateTime<Utc>,
    /// Whether it was served from the cache.
    pub cached: bool,
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

fn month_name(m: u32) -> &'static str {
    MONTHS[(m.clamp(1, 12) - 1) as usize]
}

fn performance(p: &ModelPerformance) -> ModelPerformanceOut {
    ModelPerformanceOut {
        model: p.model.clone(),
        spec: p.spec.clone(),
        weight: finite(p.weight).unwrap_or(0.0),
        backtest: p.backtest.as_ref().map(|b| BacktestOut {
            mape: finite(b.mape),
            smape: finite(b.smape),
            mase: finite(b.mase),
            folds: b.folds as u64,
            horizon: b.horizon as u64,
        }),
        error: p.error.clone(),
    }
}

fn insights(i: &Insights, series: &MonthlySeries, metric: ForecastMetric) -> InsightsOut {
    let what = match metric {
        ForecastMetric::Revenue => "Revenue",
        ForecastMetric::DealsWon => "Won deals",
        ForecastMetric::NewCustomers => "New customers",
    };
    let growth = finite(i.growth_rate_pct_per_period);
    let mut summary = Vec::new();
    match (i.trend, growth) {
        (TrendDirection::Up, Some(g)) | (TrendDirection::Down, Some(g)) => summary.push(format!(
            "{what} is trending {}: about {g:+.1}% of the average month per month.",
            if g >= 0.0 { "up" } else { "down" }
        )),
        _ => summary.push(format!("{what} shows no significant trend.")),
    }
    if let (Some(pk), Some(tr)) = (i.seasonal_peak, i.seasonal_trough) {
        let amp = i
            .seasonal_amplitude_pct
            .and_then(finite)
            .map(|a| format!(" (a swing of {a:.0}% of the average month)"))
            .unwrap_or_default();
        summary.push(format!(
            "Seasonal peak in {}, trough in {}{amp}.",
            month_name(pk),
            month_name(tr)
        ));
    }
    if let Some(p) = i.next_season_vs_last_pct.and_then(finite) {
        summary.push(format!(
            "The next 12 months are forecast at {p:+.1}% against the last 12."
        ));
    }
    let anomalies: Vec<AnomalyOut> = i
        .anomalies
        .iter()
        .filter(|a| a.actual.is_finite() && a.expected.is_finite() && a.score.is_finite())
        .filter_map(|a| {
            Some(AnomalyOut {
                period: neuracrm_store::forecasts::period_label(series.month(a.index)?),
                actual: a.actual,
                expected: a.expected,
                score: a.score,
            })
        })
        .collect();
    for a in anomalies.iter().take(3) {
        summary.push(format!(
            "{} was unusual: {:.0} against about {:.0} expected.",
            a.period, a.actual, a.expected
        ));
    }
    InsightsOut {
        trend: match i.trend {
            TrendDirection::Up => Trend::Up,
            TrendDirection::Down => Trend::Down,
            TrendDirection::Flat => Trend::Flat,
        },
        growth_rate_pct_per_month: growth,
        next_12_months_vs_last_12_pct: i.next_season_vs_last_pct.and_then(finite),
        seasonal_peak_month: i.seasonal_peak,
        seasonal_trough_month: i.seasonal_trough,
        seasonal_amplitude_pct: i.seasonal_amplitude_pct.and_then(finite),
        anomalies,
        summary,
    }
}

/// The response for a fitted (or too short) series.
pub fn forecast_out(
    series: &MonthlySeries,
    fit: &FitOutcome,
    model: ForecastAlgorithm,
    months: u32,
    level: f64,
    at: DateTime<Utc>,
) -> Result<ForecastOut, ApiError> {
    let history = series
        .periods()
        .into_iter()
        .zip(&series.values)
        .map(|(period, v)| HistoryPoint { period, value: *v })
        .collect();
    let mut out = ForecastOut {
        status: ForecastStatus::InsufficientHistory,
        metric: series.metric,
        model,
        months,
        level,
        reason: None,
        history,
        forecast: vec![],
        model_performance: vec![],
        best_model: None,
        spec: None,
        insights: None,
        generated_at: at,
        cached: false,
    };
    match fit {
        FitOutcome::InsufficientHistory { reason, .. } => out.reason = Some(reason.clone()),
        FitOutcome::Ready(f) => {
            let CrmForecast {
                periods, report, ..
            } = f.as_ref();
            let fc = &report.forecast;
            if fc
                .mean
                .iter()
                .chain(&fc.lower)
                .chain(&fc.upper)
                .any(|v| !v.is_finite())
            {
                return Err(ApiError::Internal("non-finite forecast".into()));
            }
            out.status = ForecastStatus::Ready;
            out.forecast = periods
                .iter()
                .enumerate()
                .map(|(i, p)| ForecastPoint {
                    period: p.clone(),
                    predicted_value: fc.mean[i],
                    lower_bound: fc.lower[i],
                    upper_bound: fc.upper[i],
                })
                .collect();
            out.model_performance = report.model_performance.iter().map(performance).collect();
            out.best_model = Some(report.best_model.clone());
            out.spec = Some(report.spec.clone());
            out.insights = Some(insights(&report.insights, series, series.metric));
        }
    }
    Ok(out)
}

fn job_error(e: JobError) -> ApiError {
    match e {
        JobError::Store(s) => s.into(),
        other => ApiError::Internal(other.to_string()),
    }
}

/// Forecasts one of the organization's monthly series.
///
/// History runs from the first month with a won deal to the last complete
/// month; the forecast starts with the current month. Fewer than six months
/// of history answers 200 with `status: insufficient_history`, an empty
/// `forecast` and the `reason`.
#[utoipa::path(get, path = "/api/forecast", tag = "forecasting", params(ForecastQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ForecastOut),
        (status = 400, description = "Unknown metric or model, months outside 1–60", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
    ))]
pub async fn get_forecast(
    State(state): State<AppState>,
    user: AuthUser,
    Query(q): Query<ForecastQuery>,
) -> ApiResult<Json<ForecastOut>> {
    let metric = q.metric.unwrap_or(ForecastMetric::Revenue);
    let model = q.model.unwrap_or(ForecastAlgorithm::Ensemble);
    let months = q.months.unwrap_or(12);
    if !(1..=neuracrm_domain::MAX_FORECAST_MONTHS).contains(&months) {
        return Err(ApiError::InvalidQuery {
            field: Some("months".into()),
            message: format!(
                "months must be between 1 and {}",
                neuracrm_domain::MAX_FORECAST_MONTHS
            ),
        });
    }
    let now = Utc::now();
    let month = current_month(now);
    let key = CacheKey {
        org: user.org,
        metric,
        months: months as u32,
        model,
    };
    let cache = &state.forecasts;
    if let Some(hit) = cache.get(&key, month) {
        let mut out = (*hit).clone();
        out.cached = true;
        return Ok(Json(out));
    }
    let seen = cache.generation(user.org);
    let series = load_series(&state.store, user.org, metric, now)
        .await
        .map_err(job_error)?;
    let fit = {
        let _permit = cache
            .fits
            .acquire()
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let s = series.clone();
        tokio::task::spawn_blocking(move || fit_series(&s, months as usize, model, LEVEL))
            .await
            .map_err(|e| ApiError::Internal(format!("forecast task: {e}")))?
            .map_err(|e| ApiError::Internal(format!("forecast: {e}")))?
    };
    let out = forecast_out(&series, &fit, model, months as u32, LEVEL, now)?;
    cache.put(key, month, seen, Arc::new(out.clone()));
    Ok(Json(out))
}

/// Which forecasts' accuracy to show.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AccuracyQuery {
    /// Only this series.
    #[param(value_type = Option<vocab::ForecastMetric>)]
    pub metric: Option<ForecastMetric>,
}

/// Errors of stored forecasts whose month has closed.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccuracyOut {
    /// The forecasting model.
    pub model_id: i64,
    /// Its name.
    pub name: String,
    /// The series.
    pub metric: Option<String>,
    /// Its algorithm.
    pub algorithm: String,
    /// Months ahead of the forecast's origin (`null` in `by_model`).
    pub horizon: Option<i64>,
    /// Forecasts scored.
    pub forecasts: i64,
    /// Mean absolute error, in the series' unit.
    pub mae: Option<f64>,
    /// Mean absolute percentage error over months with a non-zero actual.
    pub mape: Option<f64>,
    /// Mean of forecast minus actual (positive: too high).
    pub bias: Option<f64>,
    /// Share of actuals inside the forecast's interval.
    pub coverage: Option<f64>,
}

impl From<neuracrm_store::forecasting_models::AccuracyRow> for AccuracyOut {
    fn from(r: neuracrm_store::forecasting_models::AccuracyRow) -> Self {
        AccuracyOut {
            model_id: r.model_id,
            name: r.name,
            metric: r.metric,
            algorithm: r.algorithm,
            horizon: r.horizon,
            forecasts: r.forecasts,
            mae: r.mae.and_then(finite),
            mape: r.mape.and_then(finite),
            bias: r.bias.and_then(finite),
            coverage: r.coverage.and_then(finite),
        }
    }
}

/// How good past forecasts were.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccuracyReport {
    /// Per forecasting model, over every horizon.
    pub by_model: Vec<AccuracyOut>,
    /// Per forecasting model and months ahead.
    pub by_horizon: Vec<AccuracyOut>,
}

/// The accuracy of the forecasts the forecast cycle stored, once their month
/// closed: by model, and by model and horizon (months ahead).
#[utoipa::path(get, path = "/api/forecast/accuracy", tag = "forecasting", params(AccuracyQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = AccuracyReport),
        (status = 400, description = "Unknown metric", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
    ))]
pub async fn get_accuracy(
    State(state): State<AppState>,
    user: AuthUser,
    Query(q): Query<AccuracyQuery>,
) -> ApiResult<Json<AccuracyReport>> {
    let repo = state.store.forecasting_models();
    let by_model = repo.accuracy(user.org, q.metric, false).await?;
    let by_horizon = repo.accuracy(user.org, q.metric, true).await?;
    Ok(Json(AccuracyReport {
        by_model: by_model.into_iter().map(Into::into).collect(),
        by_horizon: by_horizon.into_iter().map(Into::into).collect(),
    }))
}

/// A stage and its win probability.
#[derive(Debug, Serialize, ToSchema)]
pub struct StageProbability {
    /// The stage.
    pub stage: String,
    /// Probability of winning a deal in it.
    pub probability: f64,
}

/// Open deals expected to close in one month.
#[derive(Debug, Serialize, ToSchema)]
pub struct PipelineMonthOut {
    /// `YYYY-MM`; `null` for deals without an expected close date.
    pub period: Option<String>,
    /// Open deals.
    pub deals: i64,
    /// Their value, in currency units.
    pub value: f64,
    /// Their value weighted by stage probability.
    pub weighted_value: f64,
}

/// The open pipeline weighted by stage probability.
#[derive(Debug, Serialize, ToSchema)]
pub struct PipelineOut {
    /// The probabilities used.
    pub stage_probabilities: Vec<StageProbability>,
    /// By expected-close month, undated last.
    pub months: Vec<PipelineMonthOut>,
    /// Total open value.
    pub total_value: f64,
    /// Total weighted value.
    pub total_weighted_value: f64,
}

/// The open pipeline by expected-close month, each deal weighted by its
/// stage's win probability.
#[utoipa::path(get, path = "/api/forecast/pipeline", tag = "forecasting",
    security(("bearer" = [])),
    responses(
        (status = 200, body = PipelineOut),
        (status = 401, description = "No valid token", body = ErrorBody),
    ))]
pub async fn get_pipeline(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<PipelineOut>> {
    let months = state.store.forecasts().weighted_pipeline(user.org).await?;
    let total_value = months.iter().map(|m| m.value).sum();
    let total_weighted_value = months.iter().map(|m| m.weighted_value).sum();
    Ok(Json(PipelineOut {
        stage_probabilities: neuracrm_domain::DealStage::ALL
            .iter()
            .map(|s| StageProbability {
                stage: s.as_str().into(),
                probability: s.win_probability(),
            })
            .collect(),
        months: months
            .into_iter()
            .map(|m| PipelineMonthOut {
                period: m.period,
                deals: m.deals,
                value: m.value,
                weighted_value: m.weighted_value,
            })
            .collect(),
        total_value,
        total_weighted_value,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use neuracrm_domain::{DealId, DealStage};

    fn key(org: i64) -> CacheKey {
        CacheKey {
            org: OrgId(org),
            metric: ForecastMetric::Revenue,
            months: 12,
            model: ForecastAlgorithm::Ensemble,
        }
    }

    fn out() -> Arc<ForecastOut> {
        Arc::new(ForecastOut {
            status: ForecastStatus::InsufficientHistory,
            metric: ForecastMetric::Revenue,
            model: ForecastAlgorithm::Ensemble,
            months: 12,
            level: LEVEL,
            reason: None,
            history: vec![],
            forecast: vec![],
            model_performance: vec![],
            best_model: None,
            spec: None,
            insights: None,
            generated_at: Utc::now(),
            cached: false,
        })
    }

    #[test]
    fn invalidation_is_per_organization_and_beats_a_slow_computation() {
        let c = ForecastCache::default();
        let m = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        c.put(key(1), m, c.generation(OrgId(1)), out());
        c.put(key(2), m, c.generation(OrgId(2)), out());
        assert!(c.get(&key(1), m).is_some());
        assert!(
            c.get(&key(1), NaiveDate::from_ymd_opt(2026, 12, 1).unwrap())
                .is_none(),
            "a new month means a longer history"
        );
        // A computation that started before an invalidation is not stored.
        let stale = c.generation(OrgId(1));
        c.invalidate(OrgId(1));
        assert!(c.get(&key(1), m).is_none());
        assert!(
            c.get(&key(2), m).is_some(),
            "another organization keeps its entry"
        );
        c.put(key(1), m, stale, out());
        assert!(c.get(&key(1), m).is_none());
        let before_clear = c.generation(OrgId(2));
        c.clear();
        assert!(c.is_empty());
        c.put(key(2), m, before_clear, out());
        assert!(c.is_empty());
    }

    #[tokio::test]
    async fn a_lagging_subscriber_clears_everything_and_an_event_clears_its_org() {
        use neuracrm_domain::{ContactId, DomainEvent};
        use neuracrm_events::{BroadcastBus, EventBus};
        let cache = Arc::new(ForecastCache::default());
        let m = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        for org in [1, 2] {
            cache.put(key(org), m, cache.generation(OrgId(org)), out());
        }
        let bus = BroadcastBus::new(2);
        let sub = bus.subscribe();
        let ev = |org: i64, kind: EventKind| DomainEvent::new(OrgId(org), Utc::now(), kind);
        // Org 2's deal is deleted: only org 2's entry goes.
        bus.publish(ev(2, EventKind::DealDeleted { id: DealId(1) }));
        bus.publish(ev(1, EventKind::ContactCreated { id: ContactId(1) }));
        let task = tokio::spawn(invalidate_on_events(sub, cache.clone()));
        // Wait until the subscriber has seen them (it runs on its own task).
        while cache.get(&key(2), m).is_some() {
            tokio::task::yield_now().await;
        }
        assert!(
            cache.get(&key(1), m).is_some(),
            "a contact creation changes nothing"
        );
        drop(bus);
        task.await.unwrap();

        // Events beyond the bus's capacity: the subscriber lags and clears all.
        let bus = BroadcastBus::new(2);
        let sub = bus.subscribe();
        for i in 0..5 {
            bus.publish(ev(3, EventKind::ContactCreated { id: ContactId(i) }));
        }
        drop(bus);
        invalidate_on_events(sub, cache.clone()).await;
        assert!(cache.is_empty(), "org 1's entry went with the lag");
    }

    #[test]
    fn only_writes_that_change_won_deals_invalidate() {
        let upd = |old: DealStatus, new: DealStatus, ov: i64, nv: i64| EventKind::DealUpdated {
            id: DealId(1),
            old_stage: DealStage::Proposal,
            new_stage: DealStage::Proposal,
            old_status: old,
            new_status: new,
            old_value_cents: ov,
            new_value_cents: nv,
        };
        use DealStatus::*;
        assert!(invalidates(&upd(Open, Won, 1, 1)));
        assert!(invalidates(&upd(Won, Open, 1, 1)));
        assert!(
            invalidates(&upd(Won, Won, 1, 1)),
            "close time or contact may have changed"
        );
        assert!(invalidates(&upd(Lost, Lost, 1, 2)));
        assert!(
            !invalidates(&upd(Open, Open, 1, 2)),
            "open deals are not in the series"
        );
        assert!(invalidates(&EventKind::DealCreated {
            id: DealId(1),
            stage: DealStage::ClosedWon,
            value_cents: 5
        }));
        assert!(!invalidates(&EventKind::DealCreated {
            id: DealId(1),
            stage: DealStage::Prospecting,
            value_cents: 5
        }));
        assert!(invalidates(&EventKind::DealDeleted { id: DealId(1) }));
    }
}
