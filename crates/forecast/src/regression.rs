//! Linear regression on a time trend plus month-of-year effects, fitted by
//! ordinary least squares, with the textbook prediction interval
//! `ŷ ± t(n−p) · s · sqrt(1 + x₀ᵀ(XᵀX)⁻¹x₀)`, which includes the uncertainty of
//! the estimated coefficients and not only the residual noise.
//!
//! The model is what a sales manager would draw by hand: a straight line with
//! a fixed seasonal pattern. Useful as an interpretable member of the ensemble
//! and as the source of the "growth per month" insight. Month effects need two
//! full seasons; with fewer observations only the trend is fitted.

use crate::{Fitted, Forecast, ForecastError, Model, check_finite, check_level, quantile_normal};

/// Trend plus seasonal dummies, least squares.
#[derive(Debug, Clone, Copy, Default)]
pub struct LinearRegression;

/// A fitted [`LinearRegression`].
#[derive(Debug, Clone)]
pub struct RegressionFitted {
    coef: Vec<f64>,
    /// `(XᵀX)⁻¹`, row-major `p × p`.
    xtx_inv: Vec<f64>,
    p: usize,
    m: usize,
    n: usize,
    s2: f64,
    fitted: Vec<f64>,
}

fn design_row(t: usize, m: usize, seasonal: bool, out: &mut Vec<f64>) {
    out.clear();
    out.push(1.0);
    out.push(t as f64);
    if seasonal {
        // Position 0 is the baseline; positions 1..m get a dummy each.
        for k in 1..m {
            out.push(if t % m == k { 1.0 } else { 0.0 });
        }
    }
}

/// Cholesky factor `L` (row-major, lower) of a symmetric positive definite matrix.
fn cholesky(a: &[f64], p: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; p * p];
    for i in 0..p {
        for j in 0..=i {
            let mut s = a[i * p + j];
            for k in 0..j {
                s -= l[i * p + k] * l[j * p + k];
            }
            if i == j {
                if s <= 1e-12 * a[i * p + i].abs().max(1.0) {
                    return None;
                }
                l[i * p + i] = s.sqrt();
            } else {
                l[i * p + j] = s / l[j * p + j];
            }
        }
    }
    Some(l)
}

fn chol_solve(l: &[f64], p: usize, b: &[f64]) -> Vec<f64> {
    let mut z = b.to_vec();
    for i in 0..p {
        for k in 0..i {
            z[i] -= l[i * p + k] * z[k];
        }
        z[i] /= l[i * p + i];
    }
    for i in (0..p).rev() {
        for k in i + 1..p {
            z[i] -= l[k * p + i] * z[k];
        }
        z[i] /= l[i * p + i];
    }
    z
}

/// Student-t quantile for `df` degrees of freedom (rounded to an integer).
///
/// Inverts the exact finite-series CDF for integer degrees of freedom
/// (Abramowitz & Stegun 26.7.3–4) by bisection, started from the
/// Cornish–Fisher expansion; beyond 1000 degrees of freedom the expansion
/// alone is exact to double-digit precision.
pub fn quantile_t(p: f64, df: f64) -> f64 {
    let z = quantile_normal(p);
    if !df.is_finite() || df > 1000.0 || !(0.0..1.0).contains(&p) {
        return cornish_fisher(z, df);
    }
    let nu = df.round().max(1.0) as u32;
    if p < 0.5 {
        return -quantile_t(1.0 - p, df);
    }
    let (mut lo, mut hi) = (0.0, cornish_fisher(z, nu as f64).max(z) * 2.0 + 10.0);
    while cdf_t(hi, nu) < p && hi < 1e12 {
        hi *= 2.0;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if cdf_t(mid, nu) < p {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo <= 1e-13 * hi.max(1.0) {
            break;
        }
    }
    0.5 * (lo + hi)
}

fn cornish_fisher(z: f64, df: f64) -> f64 {
    if !df.is_finite() {
        return z;
    }
    let (z3, z5, z7) = (z.powi(3), z.powi(5), z.powi(7));
    z + (z3 + z) / (4.0 * df)
        + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * df * df)
        + (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / (384.0 * df.powi(3))
}

/// CDF of Student's t with integer degrees of freedom `nu` (finite series).
fn cdf_t(t: f64, nu: u32) -> f64 {
    let theta = (t / f64::from(nu).sqrt()).atan();
    let (s, c) = theta.sin_cos();
    let c2 = c * c;
    // A = P(|T| <= |t|)
    let a = if nu % 2 == 1 {
        let mut sum = 0.0;
        if nu > 1 {
            let mut term = c;
            sum = term;
            let mut k = 1;
            while k + 2 < nu as usize {
                term *= c2 * (k + 1) as f64 / (k + 2) as f64;
                sum += term;
                k += 2;
            }
        }
        2.0 / std::f64::consts::PI * (theta.abs() + s.abs() * sum)
    } else {
        let mut term = 1.0;
        let mut sum = 1.0;
        let mut k = 1;
        while k + 1 < nu as usize {
            term *= c2 * k as f64 / (k + 1) as f64;
            sum += term;
            k += 2;
        }
        s.abs() * sum
    };
    if t >= 0.0 {
        0.5 + 0.5 * a
    } else {
        0.5 - 0.5 * a
    }
}

impl Model for LinearRegression {
    fn name(&self) -> &'static str {
        "regression"
    }

    fn fit(&self, y: &[f64], period: usize) -> Result<Box<dyn Fitted>, ForecastError> {
        Ok(Box::new(fit_regression(y, period)?))
    }
}

/// Fits trend + month effects (trend only under two full seasons).
pub fn fit_regression(y: &[f64], period: usize) -> Result<RegressionFitted, ForecastError> {
    check_finite(y)?;
    let n = y.len();
    if n < 3 {
        return Err(ForecastError::TooShort { got: n, needed: 3 });
    }
    let seasonal = period >= 2 && n >= 2 * period;
    let m = period.max(1);
    let p = if seasonal { 1 + m } else { 2 };
    let mut xtx = vec![0.0; p * p];
    let mut xty = vec![0.0; p];
    let mut row = Vec::with_capacity(p);
    for (t, v) in y.iter().enumerate() {
        design_row(t, m, seasonal, &mut row);
        for i in 0..p {
            xty[i] += row[i] * v;
            for j in 0..p {
                xtx[i * p + j] += row[i] * row[j];
            }
        }
    }
    let l = cholesky(&xtx, p)
        .ok_or_else(|| ForecastError::FitFailed("singular regression design".into()))?;
    let coef = chol_solve(&l, p, &xty);
    let mut xtx_inv = vec![0.0; p * p];
    for j in 0..p {
        let mut e = vec![0.0; p];
        e[j] = 1.0;
        let col = chol_solve(&l, p, &e);
        for i in 0..p {
            xtx_inv[i * p + j] = col[i];
        }
    }
    let mut fitted = Vec::with_capacity(n);
    let mut sse = 0.0;
    for (t, v) in y.iter().enumerate() {
        design_row(t, m, seasonal, &mut row);
        let f: f64 = row.iter().zip(&coef).map(|(a, b)| a * b).sum();
        sse += (v - f).powi(2);
        fitted.push(f);
    }
    let dof = n.saturating_sub(p).max(1);
    Ok(RegressionFitted {
        coef,
        xtx_inv,
        p,
        m,
        n,
        s2: sse / dof as f64,
        fitted,
    })
}

impl RegressionFitted {
    /// Estimated change per period of the trend line.
    pub fn slope(&self) -> f64 {
        self.coef[1]
    }
}

impl Fitted for RegressionFitted {
    fn predict(&self, h: usize, level: f64) -> Result<Forecast, ForecastError> {
        check_level(level)?;
        let seasonal = self.p > 2;
        let df = (self.n.saturating_sub(self.p)).max(1) as f64;
        let q = quantile_t(0.5 + level / 2.0, df);
        let mut f = Forecast {
            mean: vec![],
            lower: vec![],
            upper: vec![],
            level,
        };
        let mut row = Vec::with_capacity(self.p);
        for j in 0..h {
            design_row(self.n + j, self.m, seasonal, &mut row);
            let mean: f64 = row.iter().zip(&self.coef).map(|(a, b)| a * b).sum();
            let mut quad = 0.0;
            for a in 0..self.p {
                for b in 0..self.p {
                    quad += row[a] * self.xtx_inv[a * self.p + b] * row[b];
                }
            }
            let sd = (self.s2 * (1.0 + quad)).sqrt();
            f.mean.push(mean);
            f.lower.push(mean - q * sd);
            f.upper.push(mean + q * sd);
        }
        Ok(f)
    }

    fn spec(&self) -> String {
        if self.p > 2 {
            format!("OLS(trend + {} seasonal dummies)", self.m - 1)
        } else {
            "OLS(trend)".into()
        }
    }

    fn params(&self) -> Vec<(String, f64)> {
        let mut out = vec![
            ("intercept".to_string(), self.coef[0]),
            ("slope".to_string(), self.coef[1]),
        ];
        for (k, c) in self.coef.iter().enumerate().skip(2) {
            out.push((format!("season_{}", k - 1), *c));
        }
        out.push(("sigma2".into(), self.s2));
        out
    }

    fn fitted_values(&self) -> Vec<f64> {
        self.fitted.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_trend_and_month_effects_exactly() {
        let effects = [0.0, 5.0, -3.0, 2.0];
        let y: Vec<f64> = (0..24)
            .map(|t| 10.0 + 0.5 * t as f64 + effects[t % 4])
            .collect();
        let fit = fit_regression(&y, 4).unwrap();
        assert!((fit.coef[0] - 10.0).abs() < 1e-9 && (fit.slope() - 0.5).abs() < 1e-10);
        for (k, want) in effects.iter().enumerate().skip(1) {
            assert!((fit.coef[1 + k] - want).abs() < 1e-9);
        }
        let f = fit.predict(4, 0.95).unwrap();
        assert!((f.mean[1] - (10.0 + 0.5 * 25.0 + 5.0)).abs() < 1e-8);
    }

    #[test]
    fn interval_matches_textbook_formula_for_a_line() {
        // Simple regression: var(pred) = s^2 (1 + 1/n + (t0 - tbar)^2 / Sxx).
        let y = [1.0, 3.0, 2.0, 5.0, 4.0, 6.0];
        let fit = fit_regression(&y, 12).unwrap();
        let f = fit.predict(1, 0.95).unwrap();
        let n = 6.0;
        let tbar = 2.5;
        let sxx: f64 = (0..6).map(|t| (t as f64 - tbar).powi(2)).sum();
        let se = (fit.s2 * (1.0 + 1.0 / n + (6.0 - tbar).powi(2) / sxx)).sqrt();
        // scipy.stats.t.ppf(0.975, 4) = 2.7764451051977934 (peers' venv)
        let half = f.upper[0] - f.mean[0];
        assert!(
            (half / se - 2.776_445_105_197_793_4).abs() < 1e-9,
            "{}",
            half / se
        );
    }

    #[test]
    fn t_quantile_is_close_to_tables() {
        // scipy.stats.t.ppf from the peers' venv (printed with repr).
        let cases = [
            (0.975, 10.0, 2.228_138_851_986_274),
            (0.9, 30.0, 1.310_415_025_391_395_5),
            (0.975, 1.0, 12.706_204_736_174_694),
            (0.1, 3.0, -1.637_744_353_696_208_9),
        ];
        for (p, df, want) in cases {
            let got = quantile_t(p, df);
            assert!(
                (got - want).abs() < 1e-9 * want.abs(),
                "t({p}, {df}) = {got} vs {want}"
            );
        }
    }
}
