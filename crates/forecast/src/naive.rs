//! Seasonal naive: next year's month equals this year's. The baseline every
//! other model must beat, the MASE scale, and the fallback when a series is too
//! short or too odd for anything else.

use crate::{Fitted, Forecast, ForecastError, Model, check_finite, check_level, quantile_normal};

/// Seasonal naive forecast (plain naive when the series is shorter than a season).
#[derive(Debug, Clone, Copy, Default)]
pub struct SeasonalNaive;

/// A fitted seasonal naive model.
#[derive(Debug, Clone)]
pub struct SeasonalNaiveFitted {
    last: Vec<f64>,
    lag: usize,
    sigma: f64,
    fitted: Vec<f64>,
}

impl Model for SeasonalNaive {
    fn name(&self) -> &'static str {
        "seasonal_naive"
    }

    fn fit(&self, y: &[f64], period: usize) -> Result<Box<dyn Fitted>, ForecastError> {
        check_finite(y)?;
        if y.is_empty() {
            return Err(ForecastError::TooShort { got: 0, needed: 1 });
        }
        let lag = if period >= 1 && y.len() > period {
            period
        } else {
            1
        };
        let mut fitted = vec![f64::NAN; y.len()];
        let mut sq = 0.0;
        for t in lag..y.len() {
            fitted[t] = y[t - lag];
            sq += (y[t] - y[t - lag]).powi(2);
        }
        let k = y.len().saturating_sub(lag);
        let sigma = if k > 0 { (sq / k as f64).sqrt() } else { 0.0 };
        Ok(Box::new(SeasonalNaiveFitted {
            last: y[y.len() - lag..].to_vec(),
            lag,
            sigma,
            fitted,
        }))
    }
}

impl Fitted for SeasonalNaiveFitted {
    fn predict(&self, h: usize, level: f64) -> Result<Forecast, ForecastError> {
        check_level(level)?;
        let z = quantile_normal(0.5 + level / 2.0);
        let mut f = Forecast {
            mean: vec![],
            lower: vec![],
            upper: vec![],
            level,
        };
        for j in 0..h {
            let v = self.last[j % self.lag];
            // A random walk at lag m: the variance grows with the number of
            // seasons ahead.
            let sd = self.sigma * ((j / self.lag + 1) as f64).sqrt();
            f.mean.push(v);
            f.lower.push(v - z * sd);
            f.upper.push(v + z * sd);
        }
        Ok(f)
    }

    fn spec(&self) -> String {
        format!("SeasonalNaive[{}]", self.lag)
    }

    fn params(&self) -> Vec<(String, f64)> {
        vec![
            ("lag".into(), self.lag as f64),
            ("sigma".into(), self.sigma),
        ]
    }

    fn fitted_values(&self) -> Vec<f64> {
        self.fitted.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_last_season_and_widens_per_season() {
        let y: Vec<f64> = (0..24)
            .map(|t| (t % 12) as f64 + if t >= 12 { 1.0 } else { 0.0 })
            .collect();
        let f = SeasonalNaive
            .fit(&y, 12)
            .unwrap()
            .predict(13, 0.95)
            .unwrap();
        assert_eq!(f.mean[0], 1.0);
        assert_eq!(f.mean[11], 12.0);
        assert_eq!(f.mean[12], 1.0);
        // Every seasonal difference is exactly 1, so sigma = 1.
        let z = quantile_normal(0.975);
        assert!((f.upper[0] - f.mean[0] - z).abs() < 1e-12);
        assert!((f.upper[12] - f.mean[12] - z * 2f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn short_series_falls_back_to_naive() {
        let fit = SeasonalNaive.fit(&[1.0, 2.0, 3.0], 12).unwrap();
        assert_eq!(fit.predict(2, 0.8).unwrap().mean, vec![3.0, 3.0]);
        assert!(SeasonalNaive.fit(&[], 12).is_err());
        assert!(SeasonalNaive.fit(&[1.0, f64::NAN], 12).is_err());
    }
}
