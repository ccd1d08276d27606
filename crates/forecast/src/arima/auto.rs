//! Automatic order selection: unit-root tests for the differencing, then the
//! Hyndman–Khandakar (2008) stepwise search over `(p,q)(P,Q)` and the constant,
//! by AICc.

use std::collections::HashMap;

use super::model::{ArimaFit, Order, Precision, fit_degenerate, fit_order, fit_order_with};
use super::poly;
use super::unitroot::{is_constant, ndiffs, nsdiffs};
use crate::{Fitted, ForecastError, Model, check_finite};

/// Seasonal auto-ARIMA (Hyndman–Khandakar).
///
/// Differencing: `D` from the seasonal strength (> 0.64 → one seasonal
/// difference), then `d` from repeated KPSS tests at 5%. Orders: stepwise search
/// from ARIMA(2,d,2)(1,D,1) moving one or two orders at a time, plus toggling the
/// constant, until no neighbour lowers the AICc; models whose AR or MA roots
/// lie within 1.01 of the unit circle are rejected. Series with fewer than two
/// full seasons get non-seasonal models only.
#[derive(Debug, Clone, PartialEq)]
pub struct AutoArima {
    /// Season length to use instead of the one passed to `fit` (None: use it).
    pub period: Option<usize>,
    /// Maximum non-seasonal AR order.
    pub max_p: usize,
    /// Maximum non-seasonal MA order.
    pub max_q: usize,
    /// Maximum seasonal AR order.
    pub max_sp: usize,
    /// Maximum seasonal MA order.
    pub max_sq: usize,
    /// Maximum `p + q + P + Q` in the exhaustive (non-stepwise) search.
    pub max_order: usize,
    /// Maximum regular differences.
    pub max_d: usize,
    /// Maximum seasonal differences (0 or 1).
    pub max_sd: usize,
    /// Stepwise search (true) or all models up to `max_order` (false).
    pub stepwise: bool,
    /// Compare models by their conditional-sum-of-squares fits during the search
    /// and refit only the winner(s) by exact ML. Off by default: on M3 monthly
    /// series (at most 126 points) it was slower, not faster (543 vs 63 ms per
    /// series, every 7th series), because CSS favours larger models whose exact
    /// refits are costly; it may pay off on long series (unmeasured).
    pub approximation: bool,
    /// Consider a drift for once-differenced models.
    pub allow_drift: bool,
    /// Consider a mean for undifferenced models.
    pub allow_mean: bool,
    /// Upper bound on the number of models the stepwise search fits.
    pub max_models: usize,
}

impl Default for AutoArima {
    fn default() -> Self {
        Self {
            period: None,
            max_p: 5,
            max_q: 5,
            max_sp: 2,
            max_sq: 2,
            max_order: 5,
            max_d: 2,
            max_sd: 1,
            stepwise: true,
            approximation: false,
            allow_drift: true,
            allow_mean: true,
            max_models: 94,
        }
    }
}

/// Key of a candidate: `(p, q, P, Q, constant)`.
type Key = (usize, usize, usize, usize, bool);

struct Search<'a> {
    y: &'a [f64],
    d: usize,
    sd: usize,
    m: usize,
    css_only: bool,
    tried: HashMap<Key, f64>,
    fits: HashMap<Key, ArimaFit>,
    best: Option<(Key, f64)>,
}

impl Search<'_> {
    /// Fits a candidate once; returns its information criterion (infinite when
    /// it failed or has roots too close to the unit circle).
    fn try_model(&mut self, key: Key) -> f64 {
        if let Some(ic) = self.tried.get(&key) {
            return *ic;
        }
        let (p, q, sp, sq, constant) = key;
        let order = Order::seasonal(p, self.d, q, sp, self.sd, sq, self.m);
        let ic = match fit_order_with(self.y, order, constant, self.css_only, Precision::Search) {
            Ok(fit) if fit.roots_outside(1.01) && fit.aicc().is_finite() => {
                let ic = fit.aicc();
                self.fits.insert(key, fit);
                ic
            }
            _ => f64::INFINITY,
        };
        self.tried.insert(key, ic);
        if ic < self.best.map_or(f64::INFINITY, |b| b.1) {
            self.best = Some((key, ic));
        }
        ic
    }
}

impl AutoArima {
    /// Runs the automatic selection and returns the chosen fitted model.
    pub fn fit_series(&self, y: &[f64], period: usize) -> Result<ArimaFit, ForecastError> {
        check_finite(y)?;
        let n = y.len();
        if n == 0 {
            return Err(ForecastError::TooShort { got: 0, needed: 1 });
        }
        let mut m = self.period.unwrap_or(period).max(1);
        // Fewer than two full seasons: seasonal terms cannot be estimated.
        if n < 2 * m {
            m = 1;
        }
        if is_constant(y) {
            return Ok(fit_degenerate(y, Order::new(0, 0, 0), self.allow_mean));
        }

        let sd = if m > 1 {
            nsdiffs(y, m).min(self.max_sd)
        } else {
            0
        };
        let ys = poly::difference(y, 0, sd, m);
        let d = ndiffs(&ys, self.max_d);
        let dx = poly::difference(&ys, d, 0, 1);
        if dx.is_empty() {
            return Err(ForecastError::TooShort {
                got: n,
                needed: d + m * sd + 1,
            });
        }
        if is_constant(&dx) {
            // A deterministic series (linear trend, fixed seasonal pattern):
            // the differenced series has no noise to model.
            let order = Order::seasonal(0, d, 0, 0, sd, 0, m);
            return Ok(fit_degenerate(y, order, d + sd <= 1));
        }

        let third = n / 3;
        let mut max_p = self.max_p.min(third);
        let mut max_q = self.max_q.min(third);
        let max_sp = if m > 1 { self.max_sp.min(third / m) } else { 0 };
        let max_sq = if m > 1 { self.max_sq.min(third / m) } else { 0 };
        if m > 1 {
            max_p = max_p.min(m - 1);
            max_q = max_q.min(m - 1);
        }
        let allow_drift = self.allow_drift && d + sd == 1;
        let allow_mean = self.allow_mean && d + sd == 0;
        let constant = allow_drift || allow_mean;

        let mut s = Search {
            y,
            d,
            sd,
            m,
            css_only: self.approximation,
            tried: HashMap::new(),
            fits: HashMap::new(),
            best: None,
        };
        if self.stepwise {
            self.stepwise_search(&mut s, n, (max_p, max_q, max_sp, max_sq), constant);
        } else {
            for p in 0..=max_p {
                for q in 0..=max_q {
                    for sp in 0..=max_sp {
                        for sq in 0..=max_sq {
                            if p + q + sp + sq > self.max_order {
                                continue;
                            }
                            for c in [false, true] {
                                if c && !constant {
                                    continue;
                                }
                                s.try_model((p, q, sp, sq, c));
                            }
                        }
                    }
                }
            }
        }

        if self.approximation {
            // Refit the candidates by exact ML in order of their approximate IC;
            // keep the first that passes the root checks.
            let mut ranked: Vec<(Key, f64)> = s.tried.iter().map(|(k, v)| (*k, *v)).collect();
            ranked.sort_by(|a, b| a.1.total_cmp(&b.1));
            for (key, ic) in ranked {
                if !ic.is_finite() {
                    break;
                }
                let (p, q, sp, sq, c) = key;
                let order = Order::seasonal(p, d, q, sp, sd, sq, m);
                if let Ok(fit) = fit_order(y, order, c, false)
                    && fit.roots_outside(1.01)
                    && fit.aicc().is_finite()
                {
                    return Ok(fit);
                }
            }
        } else if let Some((key, _)) = s.best
            && let Some(fit) = s.fits.remove(&key)
        {
            // Polish the winner at full precision (a fresh fit); keep the
            // search fit should the polished one fail the checks.
            let (p, q, sp, sq, c) = key;
            let order = Order::seasonal(p, d, q, sp, sd, sq, m);
            return Ok(match fit_order(y, order, c, false) {
                Ok(better) if better.roots_outside(1.01) && better.loglik() >= fit.loglik() => {
                    better
                }
                _ => fit,
            });
        }
        // Nothing fitted (e.g. far too short for any ARMA term): fall back to
        // the plain differenced model, which needs no estimation beyond sigma².
        let order = Order::seasonal(0, d, 0, 0, sd, 0, m);
        fit_order(y, order, false, false).or_else(|_| {
            if d + sd > 0 {
                fit_order(y, Order::new(0, 1, 0), false, false)
            } else {
                Err(ForecastError::FitFailed(
                    "no ARIMA model could be fitted".into(),
                ))
            }
        })
    }

    /// The Hyndman–Khandakar stepwise walk.
    fn stepwise_search(
        &self,
        s: &mut Search<'_>,
        n: usize,
        max: (usize, usize, usize, usize),
        mut constant: bool,
    ) {
        let (max_p, max_q, max_sp, max_sq) = max;
        let can_toggle_constant = constant;
        let (mut p, mut q, mut sp, mut sq) = if n < 10 { (1, 1, 0, 0) } else { (2, 2, 1, 1) };
        p = p.min(max_p);
        q = q.min(max_q);
        sp = sp.min(max_sp);
        sq = sq.min(max_sq);
        let mut best_ic = s.try_model((p, q, sp, sq, constant));
        let consider = |s: &mut Search<'_>,
                        key: Key,
                        cur: &mut (usize, usize, usize, usize, bool),
                        best: &mut f64| {
            let ic = s.try_model(key);
            if ic < *best {
                *best = ic;
                *cur = key;
            }
        };
        let mut cur = (p, q, sp, sq, constant);
        consider(s, (0, 0, 0, 0, constant), &mut cur, &mut best_ic);
        if max_p > 0 || max_sp > 0 {
            let key = (
                usize::from(max_p > 0),
                0,
                usize::from(s.m > 1 && max_sp > 0),
                0,
                constant,
            );
            consider(s, key, &mut cur, &mut best_ic);
        }
        if max_q > 0 || max_sq > 0 {
            let key = (
                0,
                usize::from(max_q > 0),
                0,
                usize::from(s.m > 1 && max_sq > 0),
                constant,
            );
            consider(s, key, &mut cur, &mut best_ic);
        }
        if constant {
            consider(s, (0, 0, 0, 0, false), &mut cur, &mut best_ic);
        }
        (p, q, sp, sq, constant) = cur;

        loop {
            if s.tried.len() >= self.max_models {
                break;
            }
            // Neighbours in the order of the published procedure: seasonal
            // moves first, then non-seasonal, then the constant.
            let mut moves: Vec<Key> = Vec::with_capacity(17);
            let (pi, qi, spi, sqi) = (p as isize, q as isize, sp as isize, sq as isize);
            let seasonal_steps: [(isize, isize); 8] = [
                (-1, 0),
                (0, -1),
                (1, 0),
                (0, 1),
                (-1, -1),
                (-1, 1),
                (1, -1),
                (1, 1),
            ];
            for (dp, dq) in seasonal_steps {
                let (a, b) = (spi + dp, sqi + dq);
                if a >= 0 && b >= 0 && a as usize <= max_sp && b as usize <= max_sq {
                    moves.push((p, q, a as usize, b as usize, constant));
                }
            }
            for (dp, dq) in seasonal_steps {
                let (a, b) = (pi + dp, qi + dq);
                if a >= 0 && b >= 0 && a as usize <= max_p && b as usize <= max_q {
                    moves.push((a as usize, b as usize, sp, sq, constant));
                }
            }
            if can_toggle_constant {
                moves.push((p, q, sp, sq, !constant));
            }
            let mut improved = false;
            for key in moves {
                if s.tried.contains_key(&key) {
                    continue;
                }
                if s.tried.len() >= self.max_models {
                    break;
                }
                let ic = s.try_model(key);
                if ic < best_ic {
                    best_ic = ic;
                    (p, q, sp, sq, constant) = key;
                    improved = true;
                    break;
                }
            }
            if !improved {
                break;
            }
        }
    }
}

impl Model for AutoArima {
    fn name(&self) -> &'static str {
        "auto_arima"
    }

    fn fit(&self, y: &[f64], period: usize) -> Result<Box<dyn Fitted>, ForecastError> {
        Ok(Box::new(self.fit_series(y, period)?))
    }
}
