//! Exponential smoothing in innovations state-space form (ETS, Hyndman et al.
//! 2008): error additive or multiplicative, trend none/additive/damped, season
//! none/additive/multiplicative, estimated by maximum likelihood and selected by
//! AICc over the admissible combinations.
//!
//! The point forecasts and state updates of an ETS model do not depend on the
//! error type; only the likelihood and the interval do. So one filter serves
//! every combination, written in error-correction form with the additive error
//! `e = y - ŷ`.
//!
//! Speed: optimising all thirteen seasonal initial states for fifteen candidate
//! models costs tens of milliseconds per series, too much for an ensemble that
//! also backtests. Selection therefore fits each candidate with the seasonal
//! initial states fixed at their classical-decomposition values (≤ 6 free
//! parameters), then re-estimates the best candidates with every initial state
//! free, as the reference implementation does for all of them.
//!
//! Intervals: analytic for the linear class and for multiplicative errors with
//! additive components (Hyndman et al. 2008, ch. 6); simulated sample paths
//! (deterministic seed) for multiplicative seasonality.

use crate::decompose::{SeasonalKind, seasonal_indices};
use crate::optim::{NelderMeadOptions, nelder_mead};
use crate::trend::linear_trend_test;
use crate::{Fitted, Forecast, ForecastError, Model, check_finite, check_level, quantile_normal};

/// Error component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    /// Additive errors.
    Additive,
    /// Multiplicative (relative) errors; needs positive data.
    Multiplicative,
}

/// Trend component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrendType {
    /// No trend.
    None,
    /// Additive (linear) trend.
    Additive,
    /// Additive trend damped by `phi`.
    Damped,
}

/// Season component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeasonType {
    /// No seasonality.
    None,
    /// Additive seasonality.
    Additive,
    /// Multiplicative seasonality; needs positive data.
    Multiplicative,
}

/// One ETS specification, e.g. ETS(M,Ad,M).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EtsSpec {
    /// Error type.
    pub error: ErrorType,
    /// Trend type.
    pub trend: TrendType,
    /// Season type.
    pub season: SeasonType,
}

impl std::fmt::Display for EtsSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let e = match self.error {
            ErrorType::Additive => "A",
            ErrorType::Multiplicative => "M",
        };
        let t = match self.trend {
            TrendType::None => "N",
            TrendType::Additive => "A",
            TrendType::Damped => "Ad",
        };
        let s = match self.season {
            SeasonType::None => "N",
            SeasonType::Additive => "A",
            SeasonType::Multiplicative => "M",
        };
        write!(f, "ETS({e},{t},{s})")
    }
}

impl EtsSpec {
    fn has_trend(&self) -> bool {
        self.trend != TrendType::None
    }
    fn has_season(&self) -> bool {
        self.season != SeasonType::None
    }
    /// The linear class has exact analytic prediction variances.
    fn is_linear(&self) -> bool {
        self.error == ErrorType::Additive && self.season != SeasonType::Multiplicative
    }
}

// Bounds of the "usual" region (those of the reference implementations).
const LOWER: f64 = 1e-4;
const UPPER: f64 = 0.9999;
const PHI_LOWER: f64 = 0.8;
const PHI_UPPER: f64 = 0.98;

/// Smoothing parameters (unused ones are ignored).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Smoothing {
    alpha: f64,
    beta: f64,
    gamma: f64,
    phi: f64,
}

/// Initial states; `seasons[p]` is the index for position `p = t mod m`.
#[derive(Debug, Clone, PartialEq)]
struct States {
    level: f64,
    slope: f64,
    seasons: Vec<f64>,
}

/// Everything a filter pass produces when asked for details.
#[derive(Debug, Clone, Default)]
struct Trace {
    residuals: Vec<f64>,
    fitted: Vec<f64>,
}

/// Runs the filter; returns `-2 log L` up to a constant (the reference
/// implementations' "lik"), or +inf where the model is undefined.
fn filter(
    y: &[f64],
    spec: EtsSpec,
    p: Smoothing,
    init: &States,
    seasons: &mut [f64],
    mut trace: Option<&mut Trace>,
) -> (f64, f64, f64) {
    let m = seasons.len().max(1);
    seasons.copy_from_slice(&init.seasons);
    let (mut l, mut b) = (init.level, init.slope);
    let (mut sse, mut sum_log) = (0.0, 0.0);
    let phi = if spec.trend == TrendType::Damped {
        p.phi
    } else {
        1.0
    };
    let mut k = 0usize;
    for &v in y {
        let phib = if spec.has_trend() { phi * b } else { 0.0 };
        let tl = l + phib;
        let s = if spec.has_season() { seasons[k] } else { 0.0 };
        let yhat = match spec.season {
            SeasonType::None => tl,
            SeasonType::Additive => tl + s,
            SeasonType::Multiplicative => tl * s,
        };
        let e = v - yhat;
        match spec.error {
            ErrorType::Additive => sse += e * e,
            ErrorType::Multiplicative => {
                if yhat <= 0.0 || !yhat.is_finite() {
                    return (f64::INFINITY, l, b);
                }
                let r = e / yhat;
                sse += r * r;
                sum_log += yhat.ln();
            }
        }
        if let Some(t) = trace.as_deref_mut() {
            t.fitted.push(yhat);
            t.residuals.push(match spec.error {
                ErrorType::Additive => e,
                ErrorType::Multiplicative => e / yhat,
            });
        }
        match spec.season {
            SeasonType::None => {
                l = tl + p.alpha * e;
                b = phib + p.beta * e;
            }
            SeasonType::Additive => {
                l = tl + p.alpha * e;
                b = phib + p.beta * e;
                seasons[k] = s + p.gamma * e;
            }
            SeasonType::Multiplicative => {
                if tl <= 0.0 || s <= 0.0 {
                    return (f64::INFINITY, l, b);
                }
                l = tl + p.alpha * e / s;
                b = phib + p.beta * e / s;
                seasons[k] = s + p.gamma * e / tl;
            }
        }
        k += 1;
        if k == m {
            k = 0;
        }
    }
    let n = y.len() as f64;
    if sse <= 0.0 {
        // A perfect fit: the likelihood is unbounded; report a very good value.
        return (n * (1e-300f64).ln() + 2.0 * sum_log, l, b);
    }
    (n * sse.ln() + 2.0 * sum_log, l, b)
}

/// Heuristic initial states (classical decomposition, then a line through the
/// first seasonally adjusted values), as described by Hyndman et al. (2008, §2.6).
fn initial_states(y: &[f64], m: usize, spec: EtsSpec) -> Option<States> {
    let n = y.len();
    let mut seasons = Vec::new();
    let mut adjusted = y.to_vec();
    if spec.has_season() {
        let kind = match spec.season {
            SeasonType::Multiplicative => SeasonalKind::Multiplicative,
            _ => SeasonalKind::Additive,
        };
        let idx = if n >= 3 * m {
            seasonal_indices(y, m, kind)?
        } else {
            fourier_indices(y, m, kind)?
        };
        let idx: Vec<f64> = match kind {
            SeasonalKind::Multiplicative => idx.iter().map(|v| v.max(1e-2)).collect(),
            SeasonalKind::Additive => idx,
        };
        for (t, v) in adjusted.iter_mut().enumerate() {
            match kind {
                SeasonalKind::Multiplicative => *v /= idx[t % m],
                SeasonalKind::Additive => *v -= idx[t % m],
            }
        }
        seasons = idx;
    }
    let maxn = n.min((2 * m).max(10));
    let head = &adjusted[..maxn];
    let (level, slope) = if spec.has_trend() {
        let (a, b) = line_fit(head);
        let (mut a, mut b) = (a, b);
        if (a + b).abs() < 1e-8 {
            a *= 1.0 + 1e-3;
            b *= 1.0 - 1e-3;
        }
        (a, b)
    } else {
        (head.iter().sum::<f64>() / maxn as f64, 0.0)
    };
    Some(States {
        level,
        slope,
        seasons,
    })
}

/// Least-squares line over `t = 1..n`: `(intercept at t = 0, slope)`.
fn line_fit(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    if x.len() < 2 {
        return (x.first().copied().unwrap_or(0.0), 0.0);
    }
    let tm = (n + 1.0) / 2.0;
    let ym = x.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (i, v) in x.iter().enumerate() {
        let dt = (i + 1) as f64 - tm;
        sxy += dt * (v - ym);
        sxx += dt * dt;
    }
    let b = sxy / sxx;
    (ym - b * tm, b)
}

/// Seasonal indices from a regression on a line plus one Fourier pair, for
/// series too short (under three seasons) for a classical decomposition.
fn fourier_indices(y: &[f64], m: usize, kind: SeasonalKind) -> Option<Vec<f64>> {
    let cols = 4;
    let w = 2.0 * std::f64::consts::PI / m as f64;
    let row = |t: usize| {
        let tt = (t + 1) as f64;
        [1.0, tt, (w * tt).sin(), (w * tt).cos()]
    };
    // Normal equations (4x4), solved by Gaussian elimination with pivoting.
    let mut a = [[0.0; 5]; 4];
    for (t, v) in y.iter().enumerate() {
        let r = row(t);
        for i in 0..cols {
            for j in 0..cols {
                a[i][j] += r[i] * r[j];
            }
            a[i][cols] += r[i] * v;
        }
    }
    let coef = solve_small(&mut a)?;
    let mut sums = vec![0.0; m];
    let mut counts = vec![0usize; m];
    for (t, v) in y.iter().enumerate() {
        let trend = coef[0] + coef[1] * (t + 1) as f64;
        let d = match kind {
            SeasonalKind::Additive => v - trend,
            SeasonalKind::Multiplicative => {
                if trend <= 0.0 {
                    return None;
                }
                v / trend
            }
        };
        sums[t % m] += d;
        counts[t % m] += 1;
    }
    if counts.contains(&0) {
        return None;
    }
    let mut idx: Vec<f64> = sums
        .iter()
        .zip(&counts)
        .map(|(s, c)| s / *c as f64)
        .collect();
    let mean = idx.iter().sum::<f64>() / m as f64;
    match kind {
        SeasonalKind::Additive => idx.iter_mut().for_each(|v| *v -= mean),
        SeasonalKind::Multiplicative => idx.iter_mut().for_each(|v| *v /= mean),
    }
    idx.iter().all(|v| v.is_finite()).then_some(idx)
}

fn solve_small(a: &mut [[f64; 5]; 4]) -> Option<[f64; 4]> {
    for c in 0..4 {
        let piv = (c..4).max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))?;
        if a[piv][c].abs() < 1e-12 {
            return None;
        }
        a.swap(c, piv);
        for r in 0..4 {
            if r != c {
                let f = a[r][c] / a[c][c];
                let pivot_row = a[c];
                for (x, p) in a[r].iter_mut().zip(pivot_row).skip(c) {
                    *x -= f * p;
                }
            }
        }
    }
    Some([
        a[0][4] / a[0][0],
        a[1][4] / a[1][1],
        a[2][4] / a[2][2],
        a[3][4] / a[3][3],
    ])
}

/// Packs and unpacks the optimiser's vector: smoothing parameters, level,
/// slope, then (when `free_seasons`) the seasonal states of positions 1..m
/// (position 0 follows from the normalisation: indices sum to 0 or to m).
#[derive(Debug, Clone, Copy)]
struct Layout {
    spec: EtsSpec,
    m: usize,
    free_seasons: bool,
    /// Smoothing parameters enter through logistic maps onto their bounds
    /// instead of as raw values behind an infinite wall: a simplex pressed
    /// against a wall stalls, which matters when a weight's optimum is at its
    /// bound (common: alpha = 1e-4 for a stable level).
    transformed: bool,
}

fn logistic(u: f64) -> f64 {
    1.0 / (1.0 + (-u).exp())
}

fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-9, 1.0 - 1e-9);
    (p / (1.0 - p)).ln()
}

/// Maps `v` in `[lo, hi]` to the real line and back.
fn to_unit(v: f64, lo: f64, hi: f64) -> f64 {
    if hi > lo {
        logit((v - lo) / (hi - lo))
    } else {
        0.0
    }
}
fn from_unit(u: f64, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * logistic(u)
}

impl Layout {
    fn smoothing_count(&self) -> usize {
        1 + self.spec.has_trend() as usize
            + self.spec.has_season() as usize
            + (self.spec.trend == TrendType::Damped) as usize
    }

    /// Free parameters in the sense of the information criteria: smoothing
    /// parameters plus every initial state (the seasonal ones count even when
    /// fixed at their heuristic values, so that both stages rank alike).
    fn parameter_count(&self) -> usize {
        self.smoothing_count()
            + 1
            + self.spec.has_trend() as usize
            + if self.spec.has_season() {
                self.m - 1
            } else {
                0
            }
    }

    fn pack(&self, p: Smoothing, s: &States) -> Vec<f64> {
        let mut x = Vec::new();
        if self.transformed {
            x.push(to_unit(p.alpha, LOWER, UPPER));
            if self.spec.has_trend() {
                x.push(to_unit(p.beta, LOWER, p.alpha));
            }
            if self.spec.has_season() {
                x.push(to_unit(p.gamma, LOWER, (1.0 - p.alpha).min(UPPER)));
            }
            if self.spec.trend == TrendType::Damped {
                x.push(to_unit(p.phi, PHI_LOWER, PHI_UPPER));
            }
        } else {
            x.push(p.alpha);
            if self.spec.has_trend() {
                x.push(p.beta);
            }
            if self.spec.has_season() {
                x.push(p.gamma);
            }
            if self.spec.trend == TrendType::Damped {
                x.push(p.phi);
            }
        }
        x.push(s.level);
        if self.spec.has_trend() {
            x.push(s.slope);
        }
        if self.free_seasons && self.spec.has_season() {
            x.extend_from_slice(&s.seasons[1..]);
        }
        x
    }

    /// Unpacks `x`; `None` outside the usual parameter region.
    fn unpack(&self, x: &[f64], fixed: &States) -> Option<(Smoothing, States)> {
        let mut it = x.iter().copied();
        let alpha = it.next()?;
        let beta = if self.spec.has_trend() {
            it.next()?
        } else {
            0.0
        };
        let gamma = if self.spec.has_season() {
            it.next()?
        } else {
            0.0
        };
        let phi = if self.spec.trend == TrendType::Damped {
            it.next()?
        } else {
            1.0
        };
        let (alpha, beta, gamma, phi) = if self.transformed {
            let a = from_unit(alpha, LOWER, UPPER);
            let b = if self.spec.has_trend() {
                from_unit(beta, LOWER, a)
            } else {
                0.0
            };
            let g = if self.spec.has_season() {
                from_unit(gamma, LOWER, (1.0 - a).min(UPPER))
            } else {
                0.0
            };
            let f = if self.spec.trend == TrendType::Damped {
                from_unit(phi, PHI_LOWER, PHI_UPPER)
            } else {
                1.0
            };
            (a, b, g, f)
        } else {
            (alpha, beta, gamma, phi)
        };
        if !(LOWER..=UPPER).contains(&alpha) {
            return None;
        }
        if self.spec.has_trend() && !(beta >= LOWER && beta <= alpha.min(UPPER)) {
            return None;
        }
        if self.spec.has_season() && !(gamma >= LOWER && gamma <= (1.0 - alpha).min(UPPER)) {
            return None;
        }
        if self.spec.trend == TrendType::Damped && !(PHI_LOWER..=PHI_UPPER).contains(&phi) {
            return None;
        }
        let level = it.next()?;
        let slope = if self.spec.has_trend() {
            it.next()?
        } else {
            0.0
        };
        let seasons = if self.free_seasons && self.spec.has_season() {
            let rest: Vec<f64> = it.collect();
            let target = match self.spec.season {
                SeasonType::Multiplicative => self.m as f64,
                _ => 0.0,
            };
            let first = target - rest.iter().sum::<f64>();
            let mut s = Vec::with_capacity(self.m);
            s.push(first);
            s.extend(rest);
            if self.spec.season == SeasonType::Multiplicative && s.iter().any(|v| *v <= 0.0) {
                return None;
            }
            s
        } else {
            fixed.seasons.clone()
        };
        Some((
            Smoothing {
                alpha,
                beta,
                gamma,
                phi,
            },
            States {
                level,
                slope,
                seasons,
            },
        ))
    }
}

/// Starting smoothing parameters (the reference implementations' choice:
/// small weights, nearly undamped).
fn start_smoothing(spec: EtsSpec, m: usize) -> Smoothing {
    let mm = if spec.has_season() { m as f64 } else { 1.0 };
    let alpha = LOWER + 0.2 * (UPPER - LOWER) / mm;
    let beta = LOWER + 0.1 * (alpha - LOWER);
    let gamma = LOWER + 0.05 * ((1.0 - alpha).min(UPPER) - LOWER);
    let phi = PHI_LOWER + 0.99 * (PHI_UPPER - PHI_LOWER);
    Smoothing {
        alpha,
        beta,
        gamma,
        phi,
    }
}

/// A candidate fitted by [`fit_spec`].
#[derive(Debug, Clone)]
struct Candidate {
    spec: EtsSpec,
    m: usize,
    par: Smoothing,
    init: States,
    lik: f64,
    k: usize,
}

impl Candidate {
    fn aicc(&self, n: usize) -> f64 {
        let k = (self.k + 1) as f64; // + sigma
        let n = n as f64;
        let aic = self.lik + 2.0 * k;
        if n - k - 1.0 > 0.0 {
            aic + 2.0 * k * (k + 1.0) / (n - k - 1.0)
        } else {
            f64::INFINITY
        }
    }
}

/// Fits one specification. With `free_seasons` the seasonal initial states are
/// estimated too, starting from `warm` when given.
fn fit_spec(
    y: &[f64],
    m: usize,
    spec: EtsSpec,
    free_seasons: bool,
    warm: Option<&Candidate>,
    max_iter: usize,
) -> Option<Candidate> {
    let m_eff = if spec.has_season() { m } else { 1 };
    let layout = Layout {
        spec,
        m: m_eff,
        free_seasons,
        transformed: free_seasons,
    };
    let (start_par, start_init) = match warm {
        Some(c) if c.spec == spec => (c.par, c.init.clone()),
        _ => (
            start_smoothing(spec, m_eff),
            initial_states(y, m_eff, spec)?,
        ),
    };
    let x0 = layout.pack(start_par, &start_init);
    let mut scratch = vec![0.0; start_init.seasons.len()];
    let objective = |x: &[f64]| -> f64 {
        match layout.unpack(x, &start_init) {
            Some((p, s)) => filter(y, spec, p, &s, &mut scratch, None).0,
            None => f64::INFINITY,
        }
    };
    let opts = NelderMeadOptions {
        max_iterations: max_iter,
        // The first pass only ranks candidates: a loose tolerance is five times
        // cheaper and, measured on M3 monthly, selects slightly better models
        // (14.26 vs 14.65 sMAPE on every 7th series) than polishing each one.
        f_tol: if free_seasons { 1e-8 } else { 1e-4 },
        x_tol: 1e-8,
        ..NelderMeadOptions::default()
    };
    let mut objective = objective;
    let mut best = nelder_mead(&mut objective, &x0, &opts);
    if free_seasons && best.f.is_finite() {
        // A simplex that has collapsed against a bound (a smoothing weight at
        // its limit is common) stalls; one restart from the best vertex with a
        // fresh simplex recovers the optimum the reference implementations reach.
        let again = nelder_mead(&mut objective, &best.x, &opts);
        if again.f < best.f {
            best = again;
        }
    }
    if !best.f.is_finite() {
        return None;
    }
    let (par, init) = layout.unpack(&best.x, &start_init)?;
    Some(Candidate {
        spec,
        m: m_eff,
        par,
        init,
        lik: best.f,
        k: layout.parameter_count(),
    })
}

/// The candidate specifications for a series (the restricted set: no
/// additive error with multiplicative season; multiplicative parts only for
/// positive data; seasonal ones only with two full seasons).
pub fn candidate_specs(y: &[f64], m: usize) -> Vec<EtsSpec> {
    let positive = y.iter().all(|v| *v > 0.0);
    let seasonal_ok = m >= 2 && y.len() >= 2 * m;
    let mut out = Vec::new();
    for error in [ErrorType::Additive, ErrorType::Multiplicative] {
        for trend in [TrendType::None, TrendType::Additive, TrendType::Damped] {
            for season in [
                SeasonType::None,
                SeasonType::Additive,
                SeasonType::Multiplicative,
            ] {
                if error == ErrorType::Multiplicative && !positive {
                    continue;
                }
                if season == SeasonType::Multiplicative
                    && (!positive || error == ErrorType::Additive)
                {
                    continue;
                }
                if season != SeasonType::None && !seasonal_ok {
                    continue;
                }
                let spec = EtsSpec {
                    error,
                    trend,
                    season,
                };
                // Enough data for the parameters (the reference's `n > npars + 4`).
                let npars = 2
                    + 2 * spec.has_trend() as usize
                    + 2 * spec.has_season() as usize
                    + (trend == TrendType::Damped) as usize;
                if y.len() <= npars + 4 {
                    continue;
                }
                out.push(spec);
            }
        }
    }
    out
}

/// Automatic ETS: every admissible specification, best AICc.
#[derive(Debug, Clone)]
pub struct AutoEts {
    /// First-pass candidates within 2 AICc units of the best are re-estimated
    /// with every initial state free and a tight tolerance; at most this many
    /// seasonal ones (the expensive ones). 0 keeps the first-pass estimates.
    pub refine_top: usize,
    /// Nelder–Mead iterations of the fast first pass.
    pub first_pass_iterations: usize,
    /// Series shorter than this many seasons whose linear trend is
    /// significant at 95 % ([`linear_trend_test`]) get an undamped additive
    /// trend; the others, and every longer series, are left to AICc. 0
    /// turns the test off.
    ///
    /// Why: with `m − 1` seasonal initial states counted, AICc's
    /// small-sample term `2k(k+1)/(n−k−1)` charges a trend about 14 units on
    /// 36 months (k from 15 to 17) and about 40 on 24, so a real trend in
    /// noisy data is almost never chosen: on demo-like CRM revenue (2 %
    /// monthly growth, about 28 % monthly noise) ETS forecast 17 % below the
    /// true curve. The test instead asks the data directly (slope over its
    /// standard error, widened for autocorrelated residuals) and has the
    /// power AICc lacks there; a damped
    /// trend is not offered with it, because its damping cannot be estimated
    /// from so few noisy points. Measured on the last 48 months of every M3
    /// monthly series (36 fitted, 12 held out): the ensemble's sMAPE 12.563 →
    /// 12.542, MASE 0.828 → 0.826 (ETS alone gets worse, 13.48 → 13.70, but
    /// its errors then offset the other members'). Four seasons is where
    /// the measured full M3 series begin, so they are unchanged.
    pub trend_test_seasons: usize,
}

impl AutoEts {
    /// Selection and estimates from the fast first pass only: seasonal initial
    /// states stay at their classical-decomposition values. Fewer free
    /// parameters act as regularisation; see the ensemble for measurements.
    pub fn fast() -> Self {
        Self {
            refine_top: 0,
            ..Self::default()
        }
    }
}

impl Default for AutoEts {
    fn default() -> Self {
        Self {
            refine_top: 1,
            first_pass_iterations: 600,
            trend_test_seasons: 4,
        }
    }
}

/// A fitted ETS model.
#[derive(Debug, Clone)]
pub struct EtsFitted {
    cand: Candidate,
    n: usize,
    /// States after the last observation.
    level: f64,
    slope: f64,
    seasons: Vec<f64>,
    sigma2: f64,
    aicc: f64,
    loglik: f64,
    trace: Trace,
}

impl Model for AutoEts {
    fn name(&self) -> &'static str {
        "ets"
    }

    fn fit(&self, y: &[f64], period: usize) -> Result<Box<dyn Fitted>, ForecastError> {
        Ok(Box::new(self.fit_ets(y, period)?))
    }
}

impl AutoEts {
    /// Fits and selects (see the module doc).
    pub fn fit_ets(&self, y: &[f64], period: usize) -> Result<EtsFitted, ForecastError> {
        check_finite(y)?;
        if y.len() < 3 {
            return Err(ForecastError::TooShort {
                got: y.len(),
                needed: 3,
            });
        }
        if is_constant(y) {
            return Ok(constant_fit(y));
        }
        let mut specs = candidate_specs(y, period);
        if period >= 2 && y.len() < self.trend_test_seasons * period {
            // A short seasonal series: let a trend test, not AICc, decide
            // whether the model has an (undamped) trend (see the field).
            let trending = linear_trend_test(y, period).is_some_and(|t| t.significant(0.95));
            if trending && specs.iter().any(|s| s.trend == TrendType::Additive) {
                specs.retain(|s| s.trend == TrendType::Additive);
            }
        }
        let mut first: Vec<Candidate> = specs
            .iter()
            .filter_map(|s| fit_spec(y, period, *s, false, None, self.first_pass_iterations))
            .collect();
        if first.is_empty() {
            // Very short series: simple exponential smoothing regardless of n.
            let ses = EtsSpec {
                error: ErrorType::Additive,
                trend: TrendType::None,
                season: SeasonType::None,
            };
            first.extend(fit_spec(y, period, ses, false, None, 600));
        }
        let n = y.len();
        first.sort_by(|a, b| a.aicc(n).total_cmp(&b.aicc(n)));
        // Re-estimate, with every initial state free and a tight tolerance, the
        // first-pass winner and the runners-up it does not clearly beat
        // (within 2 AICc units), since the loose first pass cannot rank those.
        let best_first = first.first().map(|c| c.aicc(n)).unwrap_or(f64::INFINITY);
        let mut best: Option<Candidate> = None;
        let mut seasonal_refits = 0;
        for (i, c) in first.iter().enumerate() {
            if i > 0 && c.aicc(n) > best_first + 2.0 {
                break;
            }
            // Seasonal re-estimates are the expensive ones (13+ parameters).
            if c.spec.has_season() {
                if i > 0 && seasonal_refits >= self.refine_top {
                    continue;
                }
                seasonal_refits += 1;
            }
            let refined = if self.refine_top > 0 {
                fit_spec(y, period, c.spec, true, Some(c), 2000)
                    .filter(|r| r.lik <= c.lik)
                    .unwrap_or_else(|| c.clone())
            } else {
                c.clone()
            };
            if best.as_ref().is_none_or(|b| refined.aicc(n) < b.aicc(n)) {
                best = Some(refined);
            }
        }
        let best =
            best.ok_or_else(|| ForecastError::FitFailed("no ETS model could be fitted".into()))?;
        finish(y, best)
    }

    /// Fits one given specification (all initial states free).
    pub fn fit_spec(
        &self,
        y: &[f64],
        period: usize,
        spec: EtsSpec,
    ) -> Result<EtsFitted, ForecastError> {
        check_finite(y)?;
        let fast = fit_spec(y, period, spec, false, None, 600)
            .ok_or_else(|| ForecastError::FitFailed(format!("{spec} could not be fitted")))?;
        let c = fit_spec(y, period, spec, true, Some(&fast), 2000)
            .filter(|r| r.lik <= fast.lik)
            .unwrap_or(fast);
        finish(y, c)
    }
}

fn is_constant(y: &[f64]) -> bool {
    y.iter().all(|v| *v == y[0])
}

fn constant_fit(y: &[f64]) -> EtsFitted {
    let spec = EtsSpec {
        error: ErrorType::Additive,
        trend: TrendType::None,
        season: SeasonType::None,
    };
    let cand = Candidate {
        spec,
        m: 1,
        par: Smoothing {
            alpha: UPPER,
            beta: 0.0,
            gamma: 0.0,
            phi: 1.0,
        },
        init: States {
            level: y[0],
            slope: 0.0,
            seasons: vec![],
        },
        lik: f64::NEG_INFINITY,
        k: 2,
    };
    EtsFitted {
        cand,
        n: y.len(),
        level: y[0],
        slope: 0.0,
        seasons: vec![],
        sigma2: 0.0,
        aicc: f64::NEG_INFINITY,
        loglik: f64::INFINITY,
        trace: Trace {
            residuals: vec![0.0; y.len()],
            fitted: y.to_vec(),
        },
    }
}

fn finish(y: &[f64], c: Candidate) -> Result<EtsFitted, ForecastError> {
    let mut seasons = vec![0.0; c.init.seasons.len()];
    let mut trace = Trace::default();
    let (lik, level, slope) = filter(y, c.spec, c.par, &c.init, &mut seasons, Some(&mut trace));
    if !lik.is_finite() {
        return Err(ForecastError::FitFailed(format!(
            "{} has no finite likelihood",
            c.spec
        )));
    }
    let n = y.len();
    let k = c.k + 1;
    let sse: f64 = trace.residuals.iter().map(|e| e * e).sum();
    let dof = (n as f64 - k as f64 - 1.0).max(1.0);
    Ok(EtsFitted {
        aicc: c.aicc(n),
        loglik: -0.5 * lik,
        sigma2: sse / dof,
        n,
        level,
        slope,
        seasons,
        cand: c,
        trace,
    })
}

impl EtsFitted {
    /// The selected specification.
    pub fn ets_spec(&self) -> EtsSpec {
        self.cand.spec
    }
    /// Log-likelihood, `-lik/2` in the reference implementations' convention.
    pub fn loglik(&self) -> f64 {
        self.loglik
    }
    /// Corrected Akaike information criterion used for selection.
    pub fn aicc(&self) -> f64 {
        self.aicc
    }
    /// Innovation variance (relative for multiplicative errors).
    pub fn sigma2(&self) -> f64 {
        self.sigma2
    }

    /// Re-estimates the same specification on another series (used by
    /// backtests, which must not pay for the whole selection again).
    pub fn refit(&self, y: &[f64]) -> Result<EtsFitted, ForecastError> {
        check_finite(y)?;
        if is_constant(y) {
            return Ok(constant_fit(y));
        }
        let spec = self.cand.spec;
        let ok = candidate_specs(y, self.cand.m.max(1)).contains(&spec) || !spec.has_season();
        if !ok {
            return AutoEts::default().fit_ets(y, self.cand.m);
        }
        let c = fit_spec(y, self.cand.m, spec, false, None, 600)
            .ok_or_else(|| ForecastError::FitFailed(format!("{spec} could not be refitted")))?;
        finish(y, c)
    }

    fn point_path(&self, h: usize) -> Vec<f64> {
        let spec = self.cand.spec;
        let phi = if spec.trend == TrendType::Damped {
            self.cand.par.phi
        } else {
            1.0
        };
        let m = self.seasons.len().max(1);
        let mut cum = 0.0;
        let mut pw = 1.0;
        (0..h)
            .map(|j| {
                if spec.has_trend() {
                    pw *= phi;
                    cum += pw;
                }
                let tl = self.level + cum * self.slope;
                let pos = (self.n + j) % m;
                match spec.season {
                    SeasonType::None => tl,
                    SeasonType::Additive => tl + self.seasons[pos],
                    SeasonType::Multiplicative => tl * self.seasons[pos],
                }
            })
            .collect()
    }

    /// The coefficients `c_j = α + β·Σφ^i + γ·[j ≡ 0 mod m]`, `j = 1..h-1`, of
    /// the h-step forecast error in terms of future innovations.
    fn error_coefficients(&self, h: usize) -> Vec<f64> {
        let spec = self.cand.spec;
        let p = self.cand.par;
        let m = self.cand.m.max(1);
        let phi = if spec.trend == TrendType::Damped {
            p.phi
        } else {
            1.0
        };
        let (mut cum, mut pw) = (0.0, 1.0);
        (1..h)
            .map(|j| {
                pw *= phi;
                cum += pw;
                let mut c = p.alpha;
                if spec.has_trend() {
                    c += p.beta * cum;
                }
                if spec.has_season() && j % m == 0 {
                    c += p.gamma;
                }
                c
            })
            .collect()
    }

    /// Analytic h-step variances of the linear class:
    /// `σ² (1 + Σ_{j<h} c_j²)`.
    fn linear_variances(&self, h: usize) -> Vec<f64> {
        let c = self.error_coefficients(h);
        let mut acc = 0.0;
        (0..h)
            .map(|j| {
                if j > 0 {
                    acc += c[j - 1] * c[j - 1];
                }
                self.sigma2 * (1.0 + acc)
            })
            .collect()
    }

    /// Analytic h-step variances of multiplicative-error models with additive
    /// trend and season (Hyndman et al. 2008, class 2):
    /// `v_h = (1+σ²)·θ_h − μ_h²`, `θ_h = μ_h² + σ² Σ_{j<h} c_j² θ_{h−j}`.
    fn class2_variances(&self, mean: &[f64]) -> Vec<f64> {
        let h = mean.len();
        let c = self.error_coefficients(h);
        let s2 = self.sigma2;
        let mut theta: Vec<f64> = Vec::with_capacity(h);
        for k in 0..h {
            let mut t = mean[k] * mean[k];
            for j in 1..=k {
                t += s2 * c[j - 1] * c[j - 1] * theta[k - j];
            }
            theta.push(t);
        }
        theta
            .iter()
            .zip(mean)
            .map(|(t, mu)| ((1.0 + s2) * t - mu * mu).max(0.0))
            .collect()
    }

    /// Simulated quantiles for multiplicative-error, multiplicative-season
    /// models (class 3), which have no closed form.
    fn simulated_bounds(&self, h: usize, level: f64) -> (Vec<f64>, Vec<f64>) {
        const PATHS: usize = 1000;
        let spec = self.cand.spec;
        let p = self.cand.par;
        let m = self.seasons.len().max(1);
        let phi = if spec.trend == TrendType::Damped {
            p.phi
        } else {
            1.0
        };
        let sigma = self.sigma2.sqrt();
        let mut rng = Normal::new(0x05ee_de75);
        let mut paths = vec![vec![0.0; PATHS]; h];
        let mut seasons = self.seasons.clone();
        for path in 0..PATHS {
            seasons.copy_from_slice(&self.seasons);
            let (mut l, mut b) = (self.level, self.slope);
            for (j, slot) in paths.iter_mut().enumerate() {
                let k = (self.n + j) % m;
                let phib = if spec.has_trend() { phi * b } else { 0.0 };
                let tl = l + phib;
                let s = if spec.has_season() { seasons[k] } else { 0.0 };
                let yhat = match spec.season {
                    SeasonType::None => tl,
                    SeasonType::Additive => tl + s,
                    SeasonType::Multiplicative => tl * s,
                };
                let eps = sigma * rng.next();
                let e = match spec.error {
                    ErrorType::Additive => eps,
                    ErrorType::Multiplicative => yhat * eps,
                };
                slot[path] = yhat + e;
                match spec.season {
                    SeasonType::Multiplicative if tl != 0.0 && s != 0.0 => {
                        l = tl + p.alpha * e / s;
                        b = phib + p.beta * e / s;
                        seasons[k] = s + p.gamma * e / tl;
                    }
                    SeasonType::Additive => {
                        l = tl + p.alpha * e;
                        b = phib + p.beta * e;
                        seasons[k] = s + p.gamma * e;
                    }
                    _ => {
                        l = tl + p.alpha * e;
                        b = phib + p.beta * e;
                    }
                }
            }
        }
        let lo_q = (1.0 - level) / 2.0;
        let mut lower = Vec::with_capacity(h);
        let mut upper = Vec::with_capacity(h);
        for mut v in paths {
            v.sort_by(f64::total_cmp);
            lower.push(quantile_sorted(&v, lo_q));
            upper.push(quantile_sorted(&v, 1.0 - lo_q));
        }
        (lower, upper)
    }
}

/// Linear-interpolation quantile of sorted data.
pub(crate) fn quantile_sorted(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let pos = q.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let i = pos.floor() as usize;
    let frac = pos - i as f64;
    if i + 1 < v.len() {
        v[i] * (1.0 - frac) + v[i + 1] * frac
    } else {
        v[i]
    }
}

/// Deterministic standard normal draws (SplitMix64 + Box–Muller), so that
/// simulated intervals are reproducible.
pub(crate) struct Normal {
    state: u64,
    spare: Option<f64>,
}

impl Normal {
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            state: seed,
            spare: None,
        }
    }
    pub(crate) fn uniform(&mut self) -> f64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        ((z >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    pub(crate) fn next(&mut self) -> f64 {
        if let Some(s) = self.spare.take() {
            return s;
        }
        let (u1, u2) = (self.uniform(), self.uniform());
        let r = (-2.0 * u1.ln()).sqrt();
        let t = 2.0 * std::f64::consts::PI * u2;
        self.spare = Some(r * t.sin());
        r * t.cos()
    }
}

impl Fitted for EtsFitted {
    fn predict(&self, h: usize, level: f64) -> Result<Forecast, ForecastError> {
        check_level(level)?;
        let mean = self.point_path(h);
        let spec = self.cand.spec;
        let class2 =
            spec.error == ErrorType::Multiplicative && spec.season != SeasonType::Multiplicative;
        let (lower, upper) = if spec.is_linear() || class2 || self.sigma2 == 0.0 {
            let z = quantile_normal(0.5 + level / 2.0);
            let var = if class2 {
                self.class2_variances(&mean)
            } else {
                self.linear_variances(h)
            };
            (
                mean.iter()
                    .zip(&var)
                    .map(|(mu, v)| mu - z * v.sqrt())
                    .collect(),
                mean.iter()
                    .zip(&var)
                    .map(|(mu, v)| mu + z * v.sqrt())
                    .collect(),
            )
        } else {
            self.simulated_bounds(h, level)
        };
        Ok(Forecast {
            mean,
            lower,
            upper,
            level,
        })
    }

    fn spec(&self) -> String {
        self.cand.spec.to_string()
    }

    fn params(&self) -> Vec<(String, f64)> {
        let s = self.cand.spec;
        let p = self.cand.par;
        let mut out = vec![("alpha".to_string(), p.alpha)];
        if s.has_trend() {
            out.push(("beta".into(), p.beta));
        }
        if s.has_season() {
            out.push(("gamma".into(), p.gamma));
        }
        if s.trend == TrendType::Damped {
            out.push(("phi".into(), p.phi));
        }
        out.push(("initial_level".into(), self.cand.init.level));
        if s.has_trend() {
            out.push(("initial_slope".into(), self.cand.init.slope));
        }
        out.push(("sigma2".into(), self.sigma2));
        out.push(("loglik".into(), self.loglik));
        out.push(("aicc".into(), self.aicc));
        out
    }

    fn fitted_values(&self) -> Vec<f64> {
        self.trace.fitted.clone()
    }

    fn refit(&self, y: &[f64], _period: usize) -> Option<Result<Box<dyn Fitted>, ForecastError>> {
        Some(EtsFitted::refit(self, y).map(|f| Box::new(f) as Box<dyn Fitted>))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn simulate(
        spec: EtsSpec,
        p: Smoothing,
        init: &States,
        n: usize,
        sigma: f64,
        seed: u64,
    ) -> Vec<f64> {
        let mut rng = Normal::new(seed);
        let m = init.seasons.len().max(1);
        let mut s = init.seasons.clone();
        let (mut l, mut b) = (init.level, init.slope);
        let phi = if spec.trend == TrendType::Damped {
            p.phi
        } else {
            1.0
        };
        (0..n)
            .map(|t| {
                let k = t % m;
                let phib = if spec.has_trend() { phi * b } else { 0.0 };
                let tl = l + phib;
                let ss = if spec.has_season() { s[k] } else { 0.0 };
                let yhat = match spec.season {
                    SeasonType::Multiplicative => tl * ss,
                    SeasonType::Additive => tl + ss,
                    SeasonType::None => tl,
                };
                let e = match spec.error {
                    ErrorType::Additive => sigma * rng.next(),
                    ErrorType::Multiplicative => yhat * sigma * rng.next(),
                };
                match spec.season {
                    SeasonType::Multiplicative => {
                        l = tl + p.alpha * e / ss;
                        b = phib + p.beta * e / ss;
                        s[k] = ss + p.gamma * e / tl;
                    }
                    _ => {
                        l = tl + p.alpha * e;
                        b = phib + p.beta * e;
                        if spec.has_season() {
                            s[k] = ss + p.gamma * e;
                        }
                    }
                }
                yhat + e
            })
            .collect()
    }

    #[test]
    fn recovers_ses_weight() {
        let spec = EtsSpec {
            error: ErrorType::Additive,
            trend: TrendType::None,
            season: SeasonType::None,
        };
        let p = Smoothing {
            alpha: 0.3,
            beta: 0.0,
            gamma: 0.0,
            phi: 1.0,
        };
        let y = simulate(
            spec,
            p,
            &States {
                level: 50.0,
                slope: 0.0,
                seasons: vec![],
            },
            400,
            1.0,
            7,
        );
        let fit = AutoEts::default().fit_spec(&y, 1, spec).unwrap();
        assert!(
            (fit.cand.par.alpha - 0.3).abs() < 0.08,
            "alpha {}",
            fit.cand.par.alpha
        );
        assert!((fit.sigma2 - 1.0).abs() < 0.2, "sigma2 {}", fit.sigma2);
    }

    #[test]
    fn selects_multiplicative_season_for_multiplicative_data() {
        let spec = EtsSpec {
            error: ErrorType::Multiplicative,
            trend: TrendType::Additive,
            season: SeasonType::Multiplicative,
        };
        let p = Smoothing {
            alpha: 0.2,
            beta: 0.01,
            gamma: 0.05,
            phi: 1.0,
        };
        let seas: Vec<f64> = (0..12)
            .map(|k| 1.0 + 0.4 * (k as f64 * std::f64::consts::PI / 6.0).sin())
            .collect();
        let y = simulate(
            spec,
            p,
            &States {
                level: 100.0,
                slope: 1.0,
                seasons: seas,
            },
            144,
            0.02,
            11,
        );
        let fit = AutoEts::default().fit_ets(&y, 12).unwrap();
        assert_eq!(
            fit.ets_spec().season,
            SeasonType::Multiplicative,
            "{}",
            fit.spec()
        );
        let f = fit.predict(12, 0.95).unwrap();
        assert!(
            f.lower
                .iter()
                .zip(&f.mean)
                .zip(&f.upper)
                .all(|((l, m), u)| l < m && m < u)
        );
    }

    #[test]
    fn linear_variance_of_ses_grows_with_alpha_squared() {
        let spec = EtsSpec {
            error: ErrorType::Additive,
            trend: TrendType::None,
            season: SeasonType::None,
        };
        let y: Vec<f64> = (0..60).map(|t| 10.0 + ((t * 7919) % 11) as f64).collect();
        let fit = AutoEts::default().fit_spec(&y, 1, spec).unwrap();
        let v = fit.linear_variances(3);
        let a2 = fit.cand.par.alpha.powi(2);
        assert!((v[1] / v[0] - (1.0 + a2)).abs() < 1e-12);
        assert!((v[2] / v[0] - (1.0 + 2.0 * a2)).abs() < 1e-12);
    }

    /// Regression: a Nelder–Mead simplex pressed against alpha's lower bound
    /// stalled with the level 1.6% off the mean (M3_N1402) until the weights
    /// were optimised through logistic maps.
    #[test]
    fn stalled_simplex_at_alpha_bound_still_finds_the_level() {
        // White noise around 3600: the MLE has alpha at its bound and the level
        // at (nearly) the sample mean.
        let mut rng = Normal::new(3);
        let y: Vec<f64> = (0..50).map(|_| 3600.0 + 2000.0 * rng.next()).collect();
        let mean = y.iter().sum::<f64>() / y.len() as f64;
        let spec = EtsSpec {
            error: ErrorType::Additive,
            trend: TrendType::None,
            season: SeasonType::None,
        };
        let fit = AutoEts::default().fit_spec(&y, 12, spec).unwrap();
        assert!(fit.cand.par.alpha < 0.01, "alpha {}", fit.cand.par.alpha);
        let f = fit.predict(1, 0.95).unwrap();
        assert!(
            (f.mean[0] - mean).abs() / mean < 2e-3,
            "{} vs mean {mean}",
            f.mean[0]
        );
    }

    #[test]
    fn constant_series_forecasts_the_constant() {
        let fit = AutoEts::default().fit_ets(&[4.0; 30], 12).unwrap();
        let f = fit.predict(5, 0.95).unwrap();
        assert!(
            f.mean
                .iter()
                .chain(&f.lower)
                .chain(&f.upper)
                .all(|v| *v == 4.0)
        );
    }

    #[test]
    fn no_multiplicative_models_for_non_positive_data() {
        let y: Vec<f64> = (0..40).map(|t| (t % 12) as f64 - 3.0).collect();
        let specs = candidate_specs(&y, 12);
        assert!(!specs.is_empty());
        assert!(
            specs
                .iter()
                .all(|s| s.error == ErrorType::Additive && s.season != SeasonType::Multiplicative)
        );
        // Under two seasons: no seasonal candidates at all.
        assert!(
            candidate_specs(&y[..20], 12)
                .iter()
                .all(|s| s.season == SeasonType::None)
        );
    }

    use crate::test_noise as noise;

    #[test]
    fn a_short_noisy_trending_series_gets_a_trend_that_aicc_alone_drops() {
        // 36 months, 2 % monthly growth, a yearly season, 20 % noise.
        let e = noise(36, 7);
        let y: Vec<f64> = (0..36)
            .map(|t| {
                let season = 1.0 + 0.25 * (2.0 * std::f64::consts::PI * t as f64 / 12.0).cos();
                1000.0 * 1.02f64.powi(t as i32) * season * (1.0 + 0.2 * e[t]).max(0.2)
            })
            .collect();
        let gated = AutoEts::fast().fit_ets(&y, 12).unwrap();
        assert_eq!(
            gated.ets_spec().trend,
            TrendType::Additive,
            "{}",
            gated.ets_spec()
        );
        let plain = AutoEts {
            trend_test_seasons: 0,
            ..AutoEts::fast()
        }
        .fit_ets(&y, 12)
        .unwrap();
        assert_ne!(
            plain.ets_spec().trend,
            TrendType::Additive,
            "{}",
            plain.ets_spec()
        );
        // The trended forecast grows past the last year.
        let mean12 = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let next_year = mean12(&gated.predict(12, 0.95).unwrap().mean);
        let last_year = mean12(&y[24..]);
        assert!(
            next_year > last_year,
            "{next_year} vs last year {last_year}"
        );
    }

    #[test]
    fn the_trend_test_leaves_long_and_trendless_series_to_aicc() {
        // Pure noise around a constant season: no trend is forced.
        let e = noise(36, 11);
        let y: Vec<f64> = (0..36)
            .map(|t| 100.0 * (1.0 + 0.3 * ((t % 12) as f64 / 12.0)) * (1.0 + 0.1 * e[t]))
            .collect();
        let t = linear_trend_test(&y, 12).unwrap();
        assert!(!t.significant(0.95), "{t:?}");
        let a = AutoEts::fast().fit_ets(&y, 12).unwrap();
        let b = AutoEts {
            trend_test_seasons: 0,
            ..AutoEts::fast()
        }
        .fit_ets(&y, 12)
        .unwrap();
        assert_eq!(a.ets_spec(), b.ets_spec());
    }
}
