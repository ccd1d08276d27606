//! `/api/forecast`: forecasts of the CRM's monthly series on demand, the
//! accuracy of past stored forecasts, and the weighted open pipeline.
//!
//! The forecasts themselves (fitting on a blocking thread, the per
//! organization cache and what invalidates it) are
//! `neuracrm_actions::forecasting`'s; this module renders them: history,
//! forecast with its interval, each model's backtest, and the insight
//! sentences.

use chrono::{DateTime, Utc};
use neuracrm_actions::forecasting::{self, Forecast, ForecastRequest};
use neuracrm_domain::{ForecastAlgorithm, ForecastMetric};
use neuracrm_forecast::ensemble::ModelPerformance;
use neuracrm_forecast::report::{Insights, TrendDirection};
use neuracrm_jobs::forecasting::{CrmForecast, FitOutcome};
use neuracrm_store::forecasts::{MonthlySeries, PipelineMonth};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::http::auth::AuthUser;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Json, Query};
use crate::http::openapi::endpoint;
use crate::http::wire::vocab;

#[derive(OpenApi)]
#[openapi(components(schemas(vocab::ForecastMetric, vocab::ForecastAlgorithm)))]
struct ForecastDoc;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ForecastDoc::openapi())
        .routes(routes!(get_forecast))
        .routes(routes!(get_accuracy))
        .routes(routes!(get_pipeline))
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

endpoint! {
    /// Forecasts one of the organization's monthly series.
    ///
    /// History runs from the first month with a won deal to the last complete
    /// month; the forecast starts with the current month. Fewer than six months
    /// of history answers 200 with `status: insufficient_history`, an empty
    /// `forecast` and the `reason`.
    get "/api/forecast" in "forecasting" [params(ForecastQuery)]
        => ForecastOut, 400 "Unknown metric or model, months outside 1–60";
    async fn get_forecast(state, user: AuthUser, Query(q): Query<ForecastQuery>) {
        let req = ForecastRequest {
            metric: q.metric.unwrap_or(ForecastMetric::Revenue),
            months: q.months.unwrap_or(12),
            model: q.model.unwrap_or(ForecastAlgorithm::Ensemble),
        };
        let (forecast, cached) = forecasting::forecast(&state.crm, &user.caller(), req).await?;
        let mut out = ForecastOut::from_forecast(&forecast)?;
        out.cached = cached;
        Ok(Json(out))
    }
}

impl ForecastOut {
    /// The response for a computed forecast.
    pub(crate) fn from_forecast(f: &Forecast) -> ApiResult<ForecastOut> {
        forecast_out(
            &f.series,
            &f.fit,
            f.model,
            f.months,
            f.level,
            f.generated_at,
        )
    }
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

endpoint! {
    /// The accuracy of the forecasts the forecast cycle stored, once their month
    /// closed: by model, and by model and horizon (months ahead).
    get "/api/forecast/accuracy" in "forecasting" [params(AccuracyQuery)]
        => AccuracyReport, 400 "Unknown metric";
    async fn get_accuracy(state, user: AuthUser, Query(q): Query<AccuracyQuery>) {
        let (by_model, by_horizon) =
            forecasting::accuracy(&state.crm, &user.caller(), q.metric).await?;
        Ok(Json(AccuracyReport {
            by_model: by_model.into_iter().map(Into::into).collect(),
            by_horizon: by_horizon.into_iter().map(Into::into).collect(),
        }))
    }
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

endpoint! {
    /// The open pipeline by expected-close month, each deal weighted by its
    /// stage's win probability.
    get "/api/forecast/pipeline" in "forecasting" => PipelineOut;
    async fn get_pipeline(state, user: AuthUser) {
        let months = forecasting::pipeline(&state.crm, &user.caller()).await?;
        Ok(Json(PipelineOut::from(months)))
    }
}

impl From<Vec<PipelineMonth>> for PipelineOut {
    fn from(months: Vec<PipelineMonth>) -> Self {
        // A fold from +0.0: `Sum` for floats starts at -0.0, which an empty
        // pipeline would show as "-0.0".
        let total_value = months.iter().fold(0.0, |a, m| a + m.value);
        let total_weighted_value = months.iter().fold(0.0, |a, m| a + m.weighted_value);
        PipelineOut {
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
        }
    }
}
