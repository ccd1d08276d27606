//! NeuraCRM's forecasting engine: statistical models for monthly business series.
//!
//! Every model implements [`Model`]: `fit` a series with a season length, get a
//! [`Fitted`] model that forecasts `h` steps ahead with prediction intervals at a
//! chosen level. The crate is pure numeric code: no IO (except the evaluation
//! harness's CSV reader), no async, no database.
//!
//! The CRM calls one function, [`report::forecast_series`]: the default
//! [`ensemble::Ensemble`] (ETS, Theta, seasonal naive and auto-ARIMA, weighted
//! by rolling-origin backtest errors) plus the insights the UI shows. Fewer
//! than six observations give [`report::ForecastOutcome::Insufficient`].
//!
//! ```
//! use neuracrm_forecast::report::{forecast_series, ForecastOutcome, ForecastRequest};
//! let revenue: Vec<f64> = (0..36).map(|t| 1000.0 + 20.0 * t as f64 + [0.0, 150.0, -80.0][t % 3]).collect();
//! let req = ForecastRequest { horizon: 12, level: 0.8, period: 12, start_month: Some(1) };
//! let ForecastOutcome::Ready(report) = forecast_series(&revenue, &req).unwrap() else { panic!() };
//! assert_eq!(report.forecast.len(), 12);
//! assert_eq!(report.model_performance[0].model, "ensemble");
//! println!("best single model: {}", report.best_model);
//! ```
//!
//! Models: [`ets::AutoEts`], [`theta::Theta`], [`arima::AutoArima`],
//! [`prophet::ProphetLike`], [`regression::LinearRegression`],
//! [`naive::SeasonalNaive`]; by name through [`model_by_name`]. Accuracy on a
//! hold-out: [`eval::run_eval`] (and `examples/m3_eval.rs`).

pub mod arima;
pub mod decompose;
pub mod dist;
pub mod ensemble;
pub mod ets;
pub mod eval;
pub mod metrics;
pub mod naive;
pub mod optim;
pub mod prophet;
pub mod regression;
pub mod report;
pub mod theta;
pub mod trend;

/// Deterministic standard-normal noise for the unit tests (LCG +
/// Box–Muller), so noisy test series are reproducible without a dependency.
#[cfg(test)]
pub(crate) fn test_noise(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed;
    let mut uniform = || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((s >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    (0..n)
        .map(|_| {
            let (u1, u2) = (uniform(), uniform());
            (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
        })
        .collect()
}

pub use dist::quantile_normal;

use serde::{Deserialize, Serialize};

/// Everything that can go wrong while fitting or forecasting.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ForecastError {
    /// The input holds a NaN or an infinite value at this index.
    #[error("the series holds a non-finite value at index {index}")]
    NonFinite {
        /// Position of the first non-finite value.
        index: usize,
    },
    /// The series is too short for this model.
    #[error("the series has {got} observations; this model needs at least {needed}")]
    TooShort {
        /// Observations given.
        got: usize,
        /// Observations the model needs.
        needed: usize,
    },
    /// A parameter given by the caller is out of its domain.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The numerical fit failed (no finite likelihood, singular system, ...).
    #[error("the fit did not converge: {0}")]
    FitFailed(String),
    /// An input file could not be read.
    #[error("could not read input: {0}")]
    Io(String),
    /// An input file is malformed at this line (1-based).
    #[error("line {line}: {message}")]
    Parse {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
}

/// A point forecast with a prediction interval for each future period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forecast {
    /// Point forecasts, one per horizon step.
    pub mean: Vec<f64>,
    /// Lower bounds of the prediction interval.
    pub lower: Vec<f64>,
    /// Upper bounds of the prediction interval.
    pub upper: Vec<f64>,
    /// Nominal coverage of the interval, in (0, 1), e.g. 0.95.
    pub level: f64,
}

impl Forecast {
    /// Number of forecast periods.
    pub fn len(&self) -> usize {
        self.mean.len()
    }

    /// True when the forecast has no periods.
    pub fn is_empty(&self) -> bool {
        self.mean.is_empty()
    }
}

/// A forecasting method that can be fitted to a series.
pub trait Model: Send + Sync {
    /// Short stable name, e.g. `"auto_arima"`, `"ets"`, `"theta"`.
    fn name(&self) -> &'static str;

    /// Fits the model to `y` (oldest first) with season length `period`
    /// (12 for monthly data; 1 for no seasonality).
    fn fit(&self, y: &[f64], period: usize) -> Result<Box<dyn Fitted>, ForecastError>;
}

/// A model fitted to one series.
pub trait Fitted: Send {
    /// Forecasts `h` steps ahead with intervals of nominal coverage `level`.
    fn predict(&self, h: usize, level: f64) -> Result<Forecast, ForecastError>;

    /// Human-readable specification of what was fitted, e.g. `ARIMA(0,1,1)(0,1,1)[12]`.
    fn spec(&self) -> String;

    /// Named parameters of the fit (coefficients, smoothing weights, sigma², ...).
    fn params(&self) -> Vec<(String, f64)>;

    /// In-sample one-step-ahead fitted values (same length as the training series;
    /// NaN where the model has none).
    fn fitted_values(&self) -> Vec<f64>;

    /// Re-estimates the parameters of this fitted specification on another
    /// series (a backtest's shorter training window), skipping the model
    /// selection that produced it. `None` (the default) means "no cheaper path:
    /// fit the [`Model`] again", which backtests then do.
    fn refit(&self, _y: &[f64], _period: usize) -> Option<Result<Box<dyn Fitted>, ForecastError>> {
        None
    }
}

/// Builds a model from its stable name: `"ensemble"`, `"auto_arima"` (the
/// ensemble's restricted search, with cheap backtest refits), `"ets"` (full
/// maximum likelihood), `"ets_fast"` (decomposition seasonal states, as in the
/// ensemble), `"theta"`, `"regression"`, `"prophet"` or `"seasonal_naive"`.
pub fn model_by_name(name: &str) -> Option<Box<dyn Model>> {
    Some(match name {
        "ensemble" => Box::new(ensemble::Ensemble::default()),
        "auto_arima" => Box::new(ensemble::ArimaMember::default()),
        "theta" => Box::new(theta::Theta),
        "prophet" => Box::new(prophet::ProphetLike::default()),
        "regression" => Box::new(regression::LinearRegression),
        "ets" => Box::new(ets::AutoEts::default()),
        "ets_fast" => Box::new(ets::AutoEts::fast()),
        "seasonal_naive" | "snaive" => Box::new(naive::SeasonalNaive),
        _ => return None,
    })
}

/// Checks that every value is finite.
pub fn check_finite(y: &[f64]) -> Result<(), ForecastError> {
    match y.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(ForecastError::NonFinite { index }),
        None => Ok(()),
    }
}

/// Checks that `level` is a usable interval level.
pub fn check_level(level: f64) -> Result<(), ForecastError> {
    if level > 0.0 && level < 1.0 {
        Ok(())
    } else {
        Err(ForecastError::InvalidArgument(format!(
            "interval level must be in (0, 1), got {level}"
        )))
    }
}
