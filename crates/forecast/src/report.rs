//! What the CRM asks for: one call that turns a monthly revenue series into a
//! forecast with intervals, the ensemble's out-of-sample performance, the best
//! single model, and plain-language insights (trend and growth, seasonal peak
//! and trough months, anomalous past months).
//!
//! Too little history is a normal business situation, not an error: it yields
//! [`ForecastOutcome::Insufficient`] with the reason, which the UI shows as is.
//! Non-finite input is an error, because it means a bug upstream.
//!
//! ```
//! use neuracrm_forecast::report::{forecast_series, ForecastOutcome, ForecastRequest};
//! let y: Vec<f64> = (0..36).map(|t| 100.0 + t as f64 + [0.0, 8.0, -5.0][t % 3]).collect();
//! let req = ForecastRequest { horizon: 6, start_month: Some(1), ..ForecastRequest::default() };
//! match forecast_series(&y, &req).unwrap() {
//!     ForecastOutcome::Ready(r) => assert_eq!(r.forecast.len(), 6),
//!     ForecastOutcome::Insufficient { reason, .. } => panic!("{reason}"),
//! }
//! ```

use serde::{Deserialize, Serialize};

use crate::decompose::{SeasonalKind, centred_moving_average, is_seasonal};
use crate::ensemble::{Ensemble, ModelPerformance};
use crate::metrics::median;
use crate::regression::fit_regression;
use crate::{Fitted, Forecast, ForecastError, check_finite, check_level};

/// Fewest observations for which a forecast is produced.
pub const MIN_OBSERVATIONS: usize = 6;

/// Seasonal strength (Wang, Smith & Hyndman 2006) from which a seasonal pattern
/// is reported: the level at which auto-ARIMA takes a seasonal difference.
const SEASONAL_STRENGTH: f64 = 0.64;

/// Robust z-score above which a past period is reported as anomalous.
const ANOMALY_Z: f64 = 3.5;

/// What to forecast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastRequest {
    /// Periods ahead.
    pub horizon: usize,
    /// Interval level, e.g. 0.8 or 0.95.
    pub level: f64,
    /// Season length (12 for monthly data).
    pub period: usize,
    /// Calendar month (1–12) of the first observation, so that insights can
    /// name months; `None` reports season positions (1-based) instead.
    pub start_month: Option<u32>,
}

impl Default for ForecastRequest {
    fn default() -> Self {
        Self {
            horizon: 12,
            level: 0.95,
            period: 12,
            start_month: None,
        }
    }
}

/// The result of [`forecast_series`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ForecastOutcome {
    /// Not enough history: an empty forecast, with the reason.
    Insufficient {
        /// Observations given.
        observations: usize,
        /// Observations needed.
        needed: usize,
        /// Human-readable reason.
        reason: String,
    },
    /// A forecast.
    Ready(Box<ForecastReport>),
}

/// Forecast, model, performance and insights for one series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastReport {
    /// Point forecasts and intervals.
    pub forecast: Forecast,
    /// The model that produced the forecast (`"ensemble"`).
    pub model: String,
    /// What it combines, e.g. `weighted mean of 0.55·theta + 0.45·ets`.
    pub spec: String,
    /// The single model with the best backtest score.
    pub best_model: String,
    /// Ensemble weights and the best model's parameters.
    pub parameters: Vec<(String, f64)>,
    /// Out-of-sample backtest errors, the ensemble first.
    pub model_performance: Vec<ModelPerformance>,
    /// Seasonality actually used (1 when there were fewer than two seasons).
    pub period_used: usize,
    /// Trend, seasonality and anomalies.
    pub insights: Insights,
}

/// Direction of the underlying trend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrendDirection {
    /// Significantly rising.
    Up,
    /// Significantly falling.
    Down,
    /// No significant slope.
    Flat,
}

/// A past period far from what the model expected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Anomaly {
    /// Index in the series (0 = first observation).
    pub index: usize,
    /// Calendar month (1–12) when the start month is known.
    pub month: Option<u32>,
    /// Observed value.
    pub actual: f64,
    /// One-step-ahead expectation.
    pub expected: f64,
    /// Robust z-score of the residual (median/MAD).
    pub score: f64,
}

/// Plain-language facts about the series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Insights {
    /// Direction of the seasonally adjusted trend (a slope t-statistic beyond ±2).
    pub trend: TrendDirection,
    /// Trend slope per period as a percentage of the mean level.
    pub growth_rate_pct_per_period: f64,
    /// Forecast total of the next season vs the last season's actual total, in
    /// percent (`None` when either is unavailable or the base is not positive).
    pub next_season_vs_last_pct: Option<f64>,
    /// Month (or season position) with the highest seasonal index.
    pub seasonal_peak: Option<u32>,
    /// Month (or season position) with the lowest seasonal index.
    pub seasonal_trough: Option<u32>,
    /// Seasonal swing: peak index minus trough index, relative to the mean level, percent.
    pub seasonal_amplitude_pct: Option<f64>,
    /// Anomalous past periods, most extreme first.
    pub anomalies: Vec<Anomaly>,
}

/// Forecasts a series with the default ensemble (see the module doc).
pub fn forecast_series(y: &[f64], req: &ForecastRequest) -> Result<ForecastOutcome, ForecastError> {
    forecast_series_with(y, req, &Ensemble::default())
}

/// Forecasts a series with a given ensemble (e.g. one including auto-ARIMA).
pub fn forecast_series_with(
    y: &[f64],
    req: &ForecastRequest,
    ensemble: &Ensemble,
) -> Result<ForecastOutcome, ForecastError> {
    check_finite(y)?;
    check_level(req.level)?;
    if req.horizon == 0 {
        return Err(ForecastError::InvalidArgument(
            "horizon must be at least 1".into(),
        ));
    }
    if y.len() < MIN_OBSERVATIONS {
        return Ok(ForecastOutcome::Insufficient {
            observations: y.len(),
            needed: MIN_OBSERVATIONS,
            reason: format!(
                "a forecast needs at least {MIN_OBSERVATIONS} periods of history; this series has {}",
                y.len()
            ),
        });
    }
    // Under two full seasons a seasonal pattern cannot be told from noise.
    let period = if req.period >= 2 && y.len() >= 2 * req.period {
        req.period
    } else {
        1
    };
    let fit = ensemble.fit_ensemble_for(y, period, Some(req.horizon))?;
    let forecast = fit.predict(req.horizon, req.level)?;
    let best = fit.best_model().to_string();
    let mut parameters: Vec<(String, f64)> = fit.params();
    if let Some(member) = fit.member(&best) {
        parameters.extend(
            member
                .params()
                .into_iter()
                .map(|(k, v)| (format!("{best}.{k}"), v)),
        );
    }
    let expected = fit
        .member("ets")
        .map(|m| m.fitted_values())
        .unwrap_or_else(|| fit.fitted_values());
    let insights = insights(y, period, req, &forecast, &expected);
    Ok(ForecastOutcome::Ready(Box::new(ForecastReport {
        model: "ensemble".into(),
        spec: fit.spec(),
        best_model: best,
        parameters,
        model_performance: fit.performance().to_vec(),
        period_used: period,
        forecast,
        insights,
    })))
}

fn month_of(index: usize, req: &ForecastRequest) -> Option<u32> {
    let start = req.start_month?;
    if req.period != 12 || !(1..=12).contains(&start) {
        return None;
    }
    Some(((start as usize - 1 + index) % 12 + 1) as u32)
}

/// Computes the insights of a series given its forecast and one-step fits.
pub fn insights(
    y: &[f64],
    period: usize,
    req: &ForecastRequest,
    forecast: &Forecast,
    expected: &[f64],
) -> Insights {
    let n = y.len();
    let mean_level = y.iter().sum::<f64>() / n as f64;
    let positive = y.iter().all(|v| *v > 0.0);
    let kind = if positive {
        SeasonalKind::Multiplicative
    } else {
        SeasonalKind::Additive
    };
    // Per-position medians of the detrended series: one extreme month (the
    // anomalies reported below) must not move the peak. Reported when the
    // Theta test finds seasonality or, since that test misses it under a strong
    // trend, when the decomposition's seasonal strength is high.
    let index = if period >= 2 {
        robust_seasonal(y, period, kind)
            .filter(|(_, strength)| *strength >= SEASONAL_STRENGTH || is_seasonal(y, period))
            .map(|(idx, _)| idx)
    } else {
        None
    };

    // Trend on the seasonally adjusted series, with the slope's t statistic.
    let adjusted: Vec<f64> = match &index {
        Some(idx) => y
            .iter()
            .enumerate()
            .map(|(t, v)| match kind {
                SeasonalKind::Multiplicative => v / idx[t % period],
                SeasonalKind::Additive => v - idx[t % period],
            })
            .collect(),
        None => y.to_vec(),
    };
    let (slope, t_stat) = slope_t(&adjusted);
    let trend = if t_stat > 2.0 {
        TrendDirection::Up
    } else if t_stat < -2.0 {
        TrendDirection::Down
    } else {
        TrendDirection::Flat
    };
    let growth = if mean_level.abs() > 0.0 {
        100.0 * slope / mean_level.abs()
    } else {
        0.0
    };

    let season_len = if period >= 2 { period } else { 12 };
    let next_season_vs_last_pct = (forecast.len() >= season_len && n >= season_len)
        .then(|| {
            let next: f64 = forecast.mean[..season_len].iter().sum();
            let last: f64 = y[n - season_len..].iter().sum();
            (last > 0.0).then(|| 100.0 * (next / last - 1.0))
        })
        .flatten();

    let label = |pos: usize| month_of(pos, req).unwrap_or(pos as u32 + 1);
    let (seasonal_peak, seasonal_trough, seasonal_amplitude_pct) = match &index {
        Some(idx) => {
            let (pk, _) = idx
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .unwrap_or((0, &0.0));
            let (tr, _) = idx
                .iter()
                .enumerate()
                .min_by(|a, b| a.1.total_cmp(b.1))
                .unwrap_or((0, &0.0));
            let amp = match kind {
                SeasonalKind::Multiplicative => 100.0 * (idx[pk] - idx[tr]),
                SeasonalKind::Additive if mean_level.abs() > 0.0 => {
                    100.0 * (idx[pk] - idx[tr]) / mean_level.abs()
                }
                SeasonalKind::Additive => 0.0,
            };
            (Some(label(pk)), Some(label(tr)), Some(amp))
        }
        None => (None, None, None),
    };

    Insights {
        trend,
        growth_rate_pct_per_period: growth,
        next_season_vs_last_pct,
        seasonal_peak,
        seasonal_trough,
        seasonal_amplitude_pct,
        anomalies: anomalies(y, expected, req),
    }
}

/// Seasonal indices from per-position medians of the series detrended by a
/// centred moving average, with the seasonal strength `1 − (MAD R / MAD (S+R))²`
/// (Wang, Smith & Hyndman's measure with robust spreads).
fn robust_seasonal(y: &[f64], m: usize, kind: SeasonalKind) -> Option<(Vec<f64>, f64)> {
    if y.len() < 2 * m {
        return None;
    }
    let trend = centred_moving_average(y, m);
    let detrended: Vec<(usize, f64)> = y
        .iter()
        .zip(&trend)
        .enumerate()
        .filter(|(_, (_, t))| t.is_finite() && (kind == SeasonalKind::Additive || **t > 0.0))
        .map(|(i, (v, t))| match kind {
            SeasonalKind::Multiplicative => (i, v / t),
            SeasonalKind::Additive => (i, v - t),
        })
        .collect();
    let mut idx = Vec::with_capacity(m);
    for p in 0..m {
        let vals: Vec<f64> = detrended
            .iter()
            .filter(|(i, _)| i % m == p)
            .map(|x| x.1)
            .collect();
        let med = median(&vals);
        if !med.is_finite() {
            return None;
        }
        idx.push(med);
    }
    let centre = idx.iter().sum::<f64>() / m as f64;
    match kind {
        SeasonalKind::Multiplicative if centre > 0.0 => idx.iter_mut().for_each(|v| *v /= centre),
        SeasonalKind::Multiplicative => return None,
        SeasonalKind::Additive => idx.iter_mut().for_each(|v| *v -= centre),
    }
    let neutral = if kind == SeasonalKind::Multiplicative {
        1.0
    } else {
        0.0
    };
    let with_season: Vec<f64> = detrended.iter().map(|(_, d)| d - neutral).collect();
    let remainder: Vec<f64> = detrended
        .iter()
        .map(|(i, d)| match kind {
            SeasonalKind::Multiplicative => d / idx[i % m] - 1.0,
            SeasonalKind::Additive => d - idx[i % m],
        })
        .collect();
    let mad = |v: &[f64]| {
        let med = median(v);
        median(&v.iter().map(|x| (x - med).abs()).collect::<Vec<_>>())
    };
    let (r, sr) = (mad(&remainder), mad(&with_season));
    let strength = if sr > 0.0 {
        (1.0 - (r / sr).powi(2)).max(0.0)
    } else {
        0.0
    };
    Some((idx, strength))
}

/// Least-squares slope and its t statistic (0 when undefined).
fn slope_t(y: &[f64]) -> (f64, f64) {
    match fit_regression(y, 1) {
        Ok(fit) => {
            let params = fit.params();
            let s2 = params
                .iter()
                .find(|(k, _)| k == "sigma2")
                .map(|p| p.1)
                .unwrap_or(0.0);
            let n = y.len() as f64;
            let tbar = (n - 1.0) / 2.0;
            let sxx: f64 = (0..y.len()).map(|t| (t as f64 - tbar).powi(2)).sum();
            let se = (s2 / sxx).sqrt();
            let slope = fit.slope();
            let t = if se > 0.0 {
                slope / se
            } else if slope != 0.0 {
                slope.signum() * f64::INFINITY
            } else {
                0.0
            };
            (slope, t)
        }
        Err(_) => (0.0, 0.0),
    }
}

/// Periods whose one-step residual has a robust z-score beyond [`ANOMALY_Z`].
fn anomalies(y: &[f64], expected: &[f64], req: &ForecastRequest) -> Vec<Anomaly> {
    let resid: Vec<(usize, f64)> = y
        .iter()
        .zip(expected)
        .enumerate()
        .filter(|(_, (_, e))| e.is_finite())
        .map(|(i, (v, e))| (i, v - e))
        .collect();
    if resid.len() < MIN_OBSERVATIONS {
        return Vec::new();
    }
    let values: Vec<f64> = resid.iter().map(|r| r.1).collect();
    let med = median(&values);
    let abs_dev: Vec<f64> = values.iter().map(|v| (v - med).abs()).collect();
    let mad = median(&abs_dev);
    if mad <= 0.0 || !mad.is_finite() {
        return Vec::new();
    }
    let mut out: Vec<Anomaly> = resid
        .iter()
        .filter_map(|&(i, r)| {
            let z = 0.6745 * (r - med) / mad;
            (z.abs() > ANOMALY_Z).then(|| Anomaly {
                index: i,
                month: month_of(i, req),
                actual: y[i],
                expected: expected[i],
                score: z,
            })
        })
        .collect();
    out.sort_by(|a, b| b.score.abs().total_cmp(&a.score.abs()));
    out
}
