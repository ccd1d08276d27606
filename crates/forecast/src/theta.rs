//! The standard Theta method (Assimakopoulos & Nikolopoulos 2000), the M3 winner,
//! in the state-space form of Fiorucci et al. (2016): simple exponential
//! smoothing plus half the slope of a full-sample linear trend, applied to the
//! seasonally adjusted series when the 90% autocorrelation test finds
//! seasonality (classical multiplicative decomposition, additive when the data
//! are not positive).
//!
//! For a fixed smoothing weight the one-step errors are linear in the initial
//! level, so the level is solved exactly and only the weight is searched
//! (a grid then golden-section), which is both exact and cheap. The objective is
//! the in-sample squared one-step error after a three-step burn-in, as in the
//! published method.

use crate::decompose::{SeasonalKind, is_seasonal, seasonal_indices};
use crate::{Fitted, Forecast, ForecastError, Model, check_finite, check_level, quantile_normal};

/// Bounds of the smoothing weight (those of the reference implementation).
const ALPHA_MIN: f64 = 0.1;
const ALPHA_MAX: f64 = 0.99;
/// One-step errors before this index are not part of the objective.
const BURN_IN: usize = 3;

/// The standard Theta method (theta = 2).
#[derive(Debug, Clone, Copy, Default)]
pub struct Theta;

/// Seasonal adjustment applied before the Theta lines.
#[derive(Debug, Clone)]
pub(crate) struct Adjustment {
    pub kind: SeasonalKind,
    /// Index per position, counted from the first observation.
    pub index: Vec<f64>,
}

impl Adjustment {
    pub(crate) fn at(&self, t: usize) -> f64 {
        self.index[t % self.index.len()]
    }
    pub(crate) fn remove(&self, t: usize, v: f64) -> f64 {
        match self.kind {
            SeasonalKind::Additive => v - self.at(t),
            SeasonalKind::Multiplicative => v / self.at(t),
        }
    }
    pub(crate) fn apply(&self, t: usize, v: f64) -> f64 {
        match self.kind {
            SeasonalKind::Additive => v + self.at(t),
            SeasonalKind::Multiplicative => v * self.at(t),
        }
    }
}

/// Decides and estimates the seasonal adjustment the way the Theta method does.
pub(crate) fn theta_adjustment(y: &[f64], m: usize) -> Option<Adjustment> {
    if !is_seasonal(y, m) {
        return None;
    }
    let positive = y.iter().all(|v| *v > 0.0);
    if positive
        && let Some(index) = seasonal_indices(y, m, SeasonalKind::Multiplicative)
        && index.iter().all(|v| *v >= 0.01)
    {
        return Some(Adjustment {
            kind: SeasonalKind::Multiplicative,
            index,
        });
    }
    seasonal_indices(y, m, SeasonalKind::Additive).map(|index| Adjustment {
        kind: SeasonalKind::Additive,
        index,
    })
}

/// The fitted state-space Theta line on an (adjusted) series.
#[derive(Debug, Clone)]
struct ThetaLine {
    alpha: f64,
    l0: f64,
    a: f64,
    b: f64,
    /// Level after the last observation.
    level: f64,
    n: usize,
    fitted: Vec<f64>,
    sigma: f64,
}

fn drift(a: f64, b: f64, alpha: f64, i: usize) -> f64 {
    let q = 1.0 - alpha;
    // Theta = 2: half of the trend line's contribution (1 - 1/theta = 0.5).
    0.5 * (a * q.powi(i as i32) + b * (1.0 - q.powi(i as i32 + 1)) / alpha)
}

/// Sum of squared errors after the burn-in for `alpha`, with the initial level
/// solved in closed form. Returns `(sse, l0)`.
fn profile(x: &[f64], a: f64, b: f64, alpha: f64) -> (f64, f64) {
    let q = 1.0 - alpha;
    let (mut s, mut qi) = (0.0, 1.0);
    let (mut cd, mut dd, mut cc) = (0.0, 0.0, 0.0);
    for (i, &v) in x.iter().enumerate() {
        // e_i = c_i - q^i * l0
        let c = v - s - drift(a, b, alpha, i);
        if i >= BURN_IN {
            cd += c * qi;
            dd += qi * qi;
            cc += c * c;
        }
        s = alpha * v + q * s;
        qi *= q;
    }
    if dd <= 1e-300 {
        // The initial level no longer matters; any value is optimal.
        return (cc, x[0] / 2.0);
    }
    let l0 = cd / dd;
    ((cc - cd * cd / dd).max(0.0), l0)
}

fn fit_line(x: &[f64]) -> ThetaLine {
    let n = x.len();
    let nf = n as f64;
    let mean = x.iter().sum::<f64>() / nf;
    let weighted = x
        .iter()
        .enumerate()
        .map(|(i, v)| (i + 1) as f64 * v)
        .sum::<f64>()
        / nf;
    // Least-squares line over t = 1..n.
    let b = 6.0 * (2.0 * weighted - (nf + 1.0) * mean) / (nf * nf - 1.0);
    let a = mean - (nf + 1.0) * b / 2.0;

    let obj = |al: f64| profile(x, a, b, al).0;
    let steps = 18;
    let grid: Vec<f64> = (0..=steps)
        .map(|k| ALPHA_MIN + (ALPHA_MAX - ALPHA_MIN) * k as f64 / steps as f64)
        .collect();
    let vals: Vec<f64> = grid.iter().map(|&g| obj(g)).collect();
    let best = vals
        .iter()
        .enumerate()
        .min_by(|p, q| p.1.total_cmp(q.1))
        .map(|(k, _)| k)
        .unwrap_or(0);
    let lo = grid[best.saturating_sub(1)];
    let hi = grid[(best + 1).min(steps)];
    let alpha = golden_section(obj, lo, hi, 1e-9);
    let alpha = if obj(alpha) <= vals[best] {
        alpha
    } else {
        grid[best]
    };
    let (sse, l0) = profile(x, a, b, alpha);
    let _ = sse;

    let q = 1.0 - alpha;
    let mut level = l0;
    let mut fitted = Vec::with_capacity(n);
    let mut resid = Vec::with_capacity(n);
    for (i, &v) in x.iter().enumerate() {
        let mu = level + drift(a, b, alpha, i);
        fitted.push(mu);
        resid.push(v - mu);
        level = alpha * v + q * level;
    }
    let tail = &resid[BURN_IN.min(n)..];
    let tail = if tail.len() >= 2 { tail } else { &resid[..] };
    let sigma = sample_sd(tail);
    ThetaLine {
        alpha,
        l0,
        a,
        b,
        level,
        n,
        fitted,
        sigma,
    }
}

fn sample_sd(v: &[f64]) -> f64 {
    if v.len() < 2 {
        return 0.0;
    }
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
}

/// Minimises a unimodal function on `[lo, hi]`.
pub(crate) fn golden_section(f: impl Fn(f64) -> f64, mut lo: f64, mut hi: f64, tol: f64) -> f64 {
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let mut c = hi - g * (hi - lo);
    let mut d = lo + g * (hi - lo);
    let (mut fc, mut fd) = (f(c), f(d));
    for _ in 0..200 {
        if (hi - lo).abs() <= tol {
            break;
        }
        if fc < fd {
            hi = d;
            d = c;
            fd = fc;
            c = hi - g * (hi - lo);
            fc = f(c);
        } else {
            lo = c;
            c = d;
            fc = fd;
            d = lo + g * (hi - lo);
            fd = f(d);
        }
    }
    if fc < fd { c } else { d }
}

impl ThetaLine {
    fn forecast(&self, h: usize) -> Vec<f64> {
        let q = 1.0 - self.alpha;
        let mut level = self.level;
        (0..h)
            .map(|j| {
                let mu = level + drift(self.a, self.b, self.alpha, self.n + j);
                level = self.alpha * mu + q * level;
                mu
            })
            .collect()
    }
}

/// A fitted Theta model.
#[derive(Debug, Clone)]
pub struct ThetaFitted {
    line: ThetaLine,
    adjustment: Option<Adjustment>,
    n: usize,
}

impl Model for Theta {
    fn name(&self) -> &'static str {
        "theta"
    }

    fn fit(&self, y: &[f64], period: usize) -> Result<Box<dyn Fitted>, ForecastError> {
        Ok(Box::new(fit_theta(y, period)?))
    }
}

/// Fits the standard Theta method (see the module doc).
pub fn fit_theta(y: &[f64], period: usize) -> Result<ThetaFitted, ForecastError> {
    check_finite(y)?;
    if y.len() < BURN_IN + 2 {
        return Err(ForecastError::TooShort {
            got: y.len(),
            needed: BURN_IN + 2,
        });
    }
    let adjustment = theta_adjustment(y, period);
    let x: Vec<f64> = match &adjustment {
        Some(adj) => y
            .iter()
            .enumerate()
            .map(|(t, v)| adj.remove(t, *v))
            .collect(),
        None => y.to_vec(),
    };
    let line = fit_line(&x);
    if !line.level.is_finite() || !line.sigma.is_finite() {
        return Err(ForecastError::FitFailed(
            "theta produced a non-finite state".into(),
        ));
    }
    Ok(ThetaFitted {
        line,
        adjustment,
        n: y.len(),
    })
}

impl ThetaFitted {
    /// Smoothing weight of the level.
    pub fn alpha(&self) -> f64 {
        self.line.alpha
    }
}

impl Fitted for ThetaFitted {
    fn predict(&self, h: usize, level: f64) -> Result<Forecast, ForecastError> {
        check_level(level)?;
        let z = quantile_normal(0.5 + level / 2.0);
        let base = self.line.forecast(h);
        let (mut mean, mut lower, mut upper) = (Vec::new(), Vec::new(), Vec::new());
        for (j, mu) in base.iter().enumerate() {
            // SES error variance: sigma^2 (1 + (h-1) alpha^2).
            let sd = self.line.sigma * (1.0 + j as f64 * self.line.alpha.powi(2)).sqrt();
            let (lo, hi) = (mu - z * sd, mu + z * sd);
            let t = self.n + j;
            match &self.adjustment {
                Some(adj) => {
                    mean.push(adj.apply(t, *mu));
                    lower.push(adj.apply(t, lo));
                    upper.push(adj.apply(t, hi));
                }
                None => {
                    mean.push(*mu);
                    lower.push(lo);
                    upper.push(hi);
                }
            }
        }
        Ok(Forecast {
            mean,
            lower,
            upper,
            level,
        })
    }

    fn spec(&self) -> String {
        match &self.adjustment {
            Some(a) if a.kind == SeasonalKind::Multiplicative => {
                "Theta(2), multiplicative seasonal adjustment".into()
            }
            Some(_) => "Theta(2), additive seasonal adjustment".into(),
            None => "Theta(2)".into(),
        }
    }

    fn params(&self) -> Vec<(String, f64)> {
        vec![
            ("alpha".into(), self.line.alpha),
            ("initial_level".into(), self.line.l0),
            ("trend_intercept".into(), self.line.a),
            ("trend_slope".into(), self.line.b),
            ("sigma".into(), self.line.sigma),
        ]
    }

    fn fitted_values(&self) -> Vec<f64> {
        match &self.adjustment {
            Some(adj) => self
                .line
                .fitted
                .iter()
                .enumerate()
                .map(|(t, v)| adj.apply(t, *v))
                .collect(),
            None => self.line.fitted.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_form_level_matches_brute_force() {
        let x: Vec<f64> = (0..30)
            .map(|t| 10.0 + 0.3 * t as f64 + ((t * 37) % 7) as f64)
            .collect();
        let line = fit_line(&x);
        let (best, _) = profile(&x, line.a, line.b, line.alpha);
        // Perturbing alpha or the level can only make the objective worse.
        for da in [-0.01, 0.01] {
            let al = (line.alpha + da).clamp(ALPHA_MIN, ALPHA_MAX);
            assert!(profile(&x, line.a, line.b, al).0 >= best - 1e-9);
        }
        let sse_at = |l0: f64| {
            let mut level = l0;
            let mut s = 0.0;
            for (i, &v) in x.iter().enumerate() {
                let e = v - level - drift(line.a, line.b, line.alpha, i);
                if i >= BURN_IN {
                    s += e * e;
                }
                level = line.alpha * v + (1.0 - line.alpha) * level;
            }
            s
        };
        assert!((sse_at(line.l0) - best).abs() < 1e-8 * best.max(1.0));
        assert!(sse_at(line.l0 + 0.5) > best);
    }

    #[test]
    fn trending_series_forecast_rises_between_last_value_and_the_line() {
        let y: Vec<f64> = (0..40).map(|t| 5.0 + 2.0 * t as f64).collect();
        let fit = fit_theta(&y, 12).unwrap();
        assert!(fit.adjustment.is_none(), "a straight line is not seasonal");
        let f = fit.predict(6, 0.95).unwrap();
        let last = *y.last().unwrap();
        for (j, v) in f.mean.iter().enumerate() {
            let line = 5.0 + 2.0 * (40 + j) as f64;
            assert!(
                *v > last && *v <= line + 1e-9,
                "step {j}: {v} not in ({last}, {line}]"
            );
            if j > 0 {
                assert!(*v > f.mean[j - 1]);
            }
        }
    }
}
