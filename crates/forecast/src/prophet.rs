//! A Prophet-style model (Taylor & Letham 2018): piecewise-linear trend with
//! automatic changepoints, yearly Fourier seasonality, additive or
//! multiplicative, fitted by maximum a posteriori with L-BFGS.
//!
//! Model, on time scaled to [0, 1] over the history and values scaled by their
//! largest magnitude:
//!
//! * trend `g(t) = (k + a(t)ᵀδ)·t + (m − a(t)ᵀ(s∘δ))` with `S` candidate
//!   changepoints `s_j` spread over the first 80% of the history and
//!   `a_j(t) = 1[t ≥ s_j]`;
//! * seasonality `Xβ` with `K` Fourier pairs of the season length;
//! * `y = g + Xβ + ε` (additive) or `y = g·(1 + Xβ) + ε` (multiplicative);
//! * priors `k, m ~ N(0, 5)`, `δ_j ~ Laplace(0, 0.05)` (sparse rate changes: the
//!   automatic changepoint selection), `β ~ N(0, 10)`, `σ ~ N⁺(0, 0.5)`.
//!
//! The Laplace density's kink at 0 is smoothed (`√(δ² + ε²)`, ε = 1e-6) so the
//! quasi-Newton optimiser sees a differentiable objective.
//!
//! Intervals as Prophet draws them: future trend changes simulated at the
//! historical changepoint frequency with Laplace magnitudes whose scale is the
//! mean fitted |δ|, plus Gaussian noise; quantiles of 1000 paths
//! (deterministic seed).

use crate::ets::{Normal, quantile_sorted};
use crate::optim::{LbfgsOptions, lbfgs};
use crate::{Fitted, Forecast, ForecastError, Model, check_finite, check_level};

const CHANGEPOINT_RANGE: f64 = 0.8;
const MAX_CHANGEPOINTS: usize = 25;
const TAU: f64 = 0.05;
const SEASONALITY_PRIOR: f64 = 10.0;
const SMOOTH: f64 = 1e-6;
const PATHS: usize = 1000;

/// How seasonality combines with the trend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeasonalityMode {
    /// `y = trend + season`.
    Additive,
    /// `y = trend · (1 + season)`.
    Multiplicative,
}

/// The Prophet-style model.
#[derive(Debug, Clone)]
pub struct ProphetLike {
    /// Additive or multiplicative seasonality.
    pub mode: SeasonalityMode,
    /// Fourier pairs of the yearly seasonality (capped below half the period).
    pub fourier_order: usize,
}

impl Default for ProphetLike {
    fn default() -> Self {
        Self {
            mode: SeasonalityMode::Multiplicative,
            fourier_order: 5,
        }
    }
}

/// A fitted [`ProphetLike`].
#[derive(Debug, Clone)]
pub struct ProphetFitted {
    mode: SeasonalityMode,
    period: usize,
    k_pairs: usize,
    n: usize,
    scale: f64,
    changepoints: Vec<f64>,
    k: f64,
    m: f64,
    delta: Vec<f64>,
    beta: Vec<f64>,
    sigma: f64,
    fitted: Vec<f64>,
}

/// Fourier features of position `t` (in periods) for `k_pairs` harmonics.
fn fourier(t: usize, period: usize, k_pairs: usize, out: &mut [f64]) {
    for j in 0..k_pairs {
        let w = 2.0 * std::f64::consts::PI * (j + 1) as f64 * t as f64 / period as f64;
        out[2 * j] = w.sin();
        out[2 * j + 1] = w.cos();
    }
}

struct Problem<'a> {
    y: &'a [f64],
    t: Vec<f64>,
    a: Vec<Vec<bool>>,
    cps: Vec<f64>,
    x: Vec<Vec<f64>>,
    mode: SeasonalityMode,
}

impl Problem<'_> {
    fn sizes(&self) -> (usize, usize) {
        (self.cps.len(), self.x.first().map_or(0, |r| r.len()))
    }

    /// Negative log posterior and its gradient.
    // Several parallel arrays (indicators, changepoints, gradient slots) are
    // indexed by the same j; iterator chains would hide that.
    #[allow(clippy::needless_range_loop)]
    fn objective(&self, theta: &[f64], grad: &mut [f64]) -> f64 {
        let (s, b) = self.sizes();
        let (k, m) = (theta[0], theta[1]);
        let delta = &theta[2..2 + s];
        let beta = &theta[2 + s..2 + s + b];
        let log_sigma = theta[2 + s + b];
        let sigma = log_sigma.exp();
        let s2 = sigma * sigma;
        grad.iter_mut().for_each(|g| *g = 0.0);
        let mut sse = 0.0;
        for i in 0..self.y.len() {
            let ti = self.t[i];
            let mut g = k * ti + m;
            for j in 0..s {
                if self.a[i][j] {
                    g += delta[j] * (ti - self.cps[j]);
                }
            }
            let seas: f64 = self.x[i].iter().zip(beta).map(|(x, b)| x * b).sum();
            let (yhat, dg) = match self.mode {
                SeasonalityMode::Additive => (g + seas, 1.0),
                SeasonalityMode::Multiplicative => (g * (1.0 + seas), 1.0 + seas),
            };
            let r = self.y[i] - yhat;
            sse += r * r;
            let dy = -r / s2; // d(-log lik)/d yhat
            grad[0] += dy * dg * ti;
            grad[1] += dy * dg;
            for j in 0..s {
                if self.a[i][j] {
                    grad[2 + j] += dy * dg * (ti - self.cps[j]);
                }
            }
            let ds = match self.mode {
                SeasonalityMode::Additive => 1.0,
                SeasonalityMode::Multiplicative => g,
            };
            for (l, xl) in self.x[i].iter().enumerate() {
                grad[2 + s + l] += dy * ds * xl;
            }
        }
        let n = self.y.len() as f64;
        let mut f = sse / (2.0 * s2) + n * log_sigma;
        grad[2 + s + b] = -sse / s2 + n;
        // Priors.
        f += (k * k + m * m) / (2.0 * 25.0);
        grad[0] += k / 25.0;
        grad[1] += m / 25.0;
        for j in 0..s {
            let d = delta[j];
            let sm = (d * d + SMOOTH * SMOOTH).sqrt();
            f += sm / TAU;
            grad[2 + j] += d / (sm * TAU);
        }
        let vb = SEASONALITY_PRIOR * SEASONALITY_PRIOR;
        for l in 0..b {
            f += beta[l] * beta[l] / (2.0 * vb);
            grad[2 + s + l] += beta[l] / vb;
        }
        // Half-normal(0, 0.5) on sigma, in log-sigma coordinates (with Jacobian).
        f += s2 / (2.0 * 0.25) - log_sigma;
        grad[2 + s + b] += s2 / 0.25 - 1.0;
        f
    }
}

impl Model for ProphetLike {
    fn name(&self) -> &'static str {
        "prophet"
    }

    fn fit(&self, y: &[f64], period: usize) -> Result<Box<dyn Fitted>, ForecastError> {
        Ok(Box::new(self.fit_prophet(y, period)?))
    }
}

impl ProphetLike {
    /// Fits by MAP (see the module doc).
    pub fn fit_prophet(&self, y: &[f64], period: usize) -> Result<ProphetFitted, ForecastError> {
        check_finite(y)?;
        let n = y.len();
        if n < 3 {
            return Err(ForecastError::TooShort { got: n, needed: 3 });
        }
        let scale = y.iter().fold(0.0f64, |a, v| a.max(v.abs()));
        let scale = if scale > 0.0 { scale } else { 1.0 };
        let ys: Vec<f64> = y.iter().map(|v| v / scale).collect();
        let span = (n - 1) as f64;
        let t: Vec<f64> = (0..n).map(|i| i as f64 / span).collect();
        // Changepoints on observation times within the first 80%.
        let hist = ((n as f64 * CHANGEPOINT_RANGE).floor() as usize).max(1);
        let s = MAX_CHANGEPOINTS.min(hist.saturating_sub(1));
        let cps: Vec<f64> = (0..s)
            .map(|j| {
                let idx = ((j + 1) as f64 * (hist - 1) as f64 / (s + 1) as f64).round() as usize;
                t[idx.clamp(1, n - 1)]
            })
            .collect();
        // Seasonality only with two full seasons (the caller's rule as well).
        let seasonal = period >= 2 && n >= 2 * period;
        let k_pairs = if seasonal {
            self.fourier_order.min((period - 1) / 2).max(1)
        } else {
            0
        };
        let mut x = vec![vec![0.0; 2 * k_pairs]; n];
        for (i, row) in x.iter_mut().enumerate() {
            fourier(i, period.max(1), k_pairs, row);
        }
        // A multiplicative season needs a positive trend to multiply.
        let mode = if ys.iter().all(|v| *v > 0.0) {
            self.mode
        } else {
            SeasonalityMode::Additive
        };
        let a: Vec<Vec<bool>> = t
            .iter()
            .map(|ti| cps.iter().map(|c| ti >= c).collect())
            .collect();
        let prob = Problem {
            y: &ys,
            t: t.clone(),
            a,
            cps: cps.clone(),
            x,
            mode,
        };
        // Start: the line through the first and last points (Prophet's choice).
        let k0 = ys[n - 1] - ys[0];
        let m0 = ys[0];
        let resid_sd = {
            let r: Vec<f64> = ys
                .iter()
                .zip(&t)
                .map(|(v, ti)| v - (m0 + k0 * ti))
                .collect();
            let mean = r.iter().sum::<f64>() / n as f64;
            (r.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64).sqrt()
        };
        let mut theta0 = vec![0.0; 3 + s + 2 * k_pairs];
        theta0[0] = k0;
        theta0[1] = m0;
        theta0[2 + s + 2 * k_pairs] = resid_sd.max(1e-3).ln();
        let opts = LbfgsOptions {
            max_iterations: 400,
            ..LbfgsOptions::default()
        };
        let res = lbfgs(|th, g| prob.objective(th, g), &theta0, &opts);
        if !res.f.is_finite() {
            return Err(ForecastError::FitFailed(
                "the MAP objective is not finite".into(),
            ));
        }
        let th = res.x;
        let mut fit = ProphetFitted {
            mode,
            period: period.max(1),
            k_pairs,
            n,
            scale,
            changepoints: cps,
            k: th[0],
            m: th[1],
            delta: th[2..2 + s].to_vec(),
            beta: th[2 + s..2 + s + 2 * k_pairs].to_vec(),
            sigma: th[2 + s + 2 * k_pairs].exp(),
            fitted: Vec::new(),
        };
        fit.fitted = (0..n)
            .map(|i| fit.value_at(i, fit.trend_at(t[i])))
            .collect();
        Ok(fit)
    }
}

impl ProphetFitted {
    fn span(&self) -> f64 {
        (self.n - 1).max(1) as f64
    }

    /// Scaled trend at scaled time `t`.
    fn trend_at(&self, t: f64) -> f64 {
        let mut g = self.k * t + self.m;
        for (c, d) in self.changepoints.iter().zip(&self.delta) {
            if t >= *c {
                g += d * (t - c);
            }
        }
        g
    }

    /// Value in original units at observation index `i` given the scaled trend.
    fn value_at(&self, i: usize, trend: f64) -> f64 {
        let mut row = vec![0.0; 2 * self.k_pairs];
        fourier(i, self.period, self.k_pairs, &mut row);
        let seas: f64 = row.iter().zip(&self.beta).map(|(x, b)| x * b).sum();
        let v = match self.mode {
            SeasonalityMode::Additive => trend + seas,
            SeasonalityMode::Multiplicative => trend * (1.0 + seas),
        };
        v * self.scale
    }

    /// Trend growth per period in original units, at the end of the history.
    pub fn final_slope(&self) -> f64 {
        (self.k + self.delta.iter().sum::<f64>()) * self.scale / self.span()
    }
}

impl Fitted for ProphetFitted {
    fn predict(&self, h: usize, level: f64) -> Result<Forecast, ForecastError> {
        check_level(level)?;
        let span = self.span();
        let times: Vec<f64> = (0..h).map(|j| (self.n + j) as f64 / span).collect();
        let mean: Vec<f64> = times
            .iter()
            .enumerate()
            .map(|(j, t)| self.value_at(self.n + j, self.trend_at(*t)))
            .collect();
        // Simulated future trend changes: one per step with the historical
        // changepoint rate, Laplace magnitudes with the fitted mean |δ|.
        let rate = self.changepoints.len() as f64 / self.n as f64;
        let lambda =
            self.delta.iter().map(|d| d.abs()).sum::<f64>() / self.delta.len().max(1) as f64 + 1e-8;
        let mut rng = Normal::new(0x00c0_ffee);
        let mut paths = vec![Vec::with_capacity(PATHS); h];
        let end_t = 1.0;
        let last_trend = self.trend_at(end_t);
        let last_rate = self.k + self.delta.iter().sum::<f64>();
        for _ in 0..PATHS {
            let mut rate_now = last_rate;
            let mut trend = last_trend;
            let mut t_prev = end_t;
            for (j, t) in times.iter().enumerate() {
                trend += rate_now * (t - t_prev);
                t_prev = *t;
                if rng.uniform() < rate {
                    // Laplace(0, lambda) by inversion.
                    let u = rng.uniform() - 0.5;
                    rate_now += -lambda * u.signum() * (1.0 - 2.0 * u.abs()).ln();
                }
                let noise = self.sigma * rng.next();
                paths[j].push(self.value_at(self.n + j, trend) + noise * self.scale);
            }
        }
        let lo_q = (1.0 - level) / 2.0;
        let (mut lower, mut upper) = (Vec::with_capacity(h), Vec::with_capacity(h));
        for mut p in paths {
            p.sort_by(f64::total_cmp);
            lower.push(quantile_sorted(&p, lo_q));
            upper.push(quantile_sorted(&p, 1.0 - lo_q));
        }
        Ok(Forecast {
            mean,
            lower,
            upper,
            level,
        })
    }

    fn spec(&self) -> String {
        let mode = match self.mode {
            SeasonalityMode::Additive => "additive",
            SeasonalityMode::Multiplicative => "multiplicative",
        };
        format!(
            "Prophet-style(piecewise linear, {} changepoints, {} Fourier pairs, {mode})",
            self.changepoints.len(),
            self.k_pairs
        )
    }

    fn params(&self) -> Vec<(String, f64)> {
        let active = self.delta.iter().filter(|d| d.abs() > 1e-3).count();
        vec![
            ("growth_per_period".into(), self.final_slope()),
            ("initial_rate".into(), self.k * self.scale / self.span()),
            ("offset".into(), self.m * self.scale),
            ("active_changepoints".into(), active as f64),
            ("sigma".into(), self.sigma * self.scale),
        ]
    }

    fn fitted_values(&self) -> Vec<f64> {
        self.fitted.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::numeric_gradient;

    #[test]
    fn gradient_matches_finite_differences() {
        let y: Vec<f64> = (0..40)
            .map(|t| 1.0 + 0.01 * t as f64 + 0.1 * ((t % 12) as f64).sin())
            .collect();
        for mode in [SeasonalityMode::Additive, SeasonalityMode::Multiplicative] {
            let t: Vec<f64> = (0..40).map(|i| i as f64 / 39.0).collect();
            let cps = vec![t[8], t[16], t[24]];
            let a = t
                .iter()
                .map(|ti| cps.iter().map(|c| ti >= c).collect())
                .collect();
            let x = (0..40)
                .map(|i| {
                    let mut r = vec![0.0; 4];
                    fourier(i, 12, 2, &mut r);
                    r
                })
                .collect();
            let p = Problem {
                y: &y,
                t,
                a,
                cps,
                x,
                mode,
            };
            let theta = [0.3, 0.9, 0.02, -0.05, 0.01, 0.1, -0.05, 0.02, 0.03, -2.0];
            let mut g = vec![0.0; theta.len()];
            p.objective(&theta, &mut g);
            let mut num = vec![0.0; theta.len()];
            numeric_gradient(
                |th| p.objective(th, &mut vec![0.0; th.len()]),
                &theta,
                1e-6,
                &mut num,
            );
            for (i, (a, b)) in g.iter().zip(&num).enumerate() {
                assert!(
                    (a - b).abs() < 1e-4 * b.abs().max(1.0),
                    "{mode:?} param {i}: {a} vs {b}"
                );
            }
        }
    }

    #[test]
    fn recovers_a_trend_break_and_seasonality() {
        // Slope 2 then 6 after t = 60; multiplicative season of ±10%.
        let y: Vec<f64> = (0..96)
            .map(|t| {
                let trend =
                    100.0 + 2.0 * t as f64 + if t > 60 { 4.0 * (t - 60) as f64 } else { 0.0 };
                trend * (1.0 + 0.1 * (2.0 * std::f64::consts::PI * t as f64 / 12.0).sin())
            })
            .collect();
        let fit = ProphetLike::default().fit_prophet(&y, 12).unwrap();
        let slope = fit.final_slope();
        assert!((slope - 6.0).abs() < 1.0, "final slope {slope}");
        let f = fit.predict(12, 0.9).unwrap();
        for (j, v) in f.mean.iter().enumerate() {
            let t = 96 + j;
            let want = (100.0 + 2.0 * t as f64 + 4.0 * (t - 60) as f64)
                * (1.0 + 0.1 * (2.0 * std::f64::consts::PI * t as f64 / 12.0).sin());
            assert!((v - want).abs() / want < 0.05, "step {j}: {v} vs {want}");
            assert!(f.lower[j] < *v && *v < f.upper[j]);
        }
        // Intervals widen with the horizon (simulated trend changes).
        assert!(f.upper[11] - f.lower[11] > f.upper[0] - f.lower[0]);
    }
}
