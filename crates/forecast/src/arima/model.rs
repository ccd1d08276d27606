//! Fixed-order seasonal ARIMA: estimation (conditional sum of squares, then exact
//! maximum likelihood), forecasting and prediction intervals.

use super::kalman::{self, Arma};
use super::poly;
use crate::optim::{LbfgsOptions, lbfgs, numeric_gradient, numeric_gradient_forward};
use crate::{Fitted, Forecast, ForecastError, Model, check_finite, check_level, quantile_normal};

/// The orders of a seasonal ARIMA(p,d,q)(P,D,Q)\[m\] model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Order {
    /// Non-seasonal AR order.
    pub p: usize,
    /// Non-seasonal differences.
    pub d: usize,
    /// Non-seasonal MA order.
    pub q: usize,
    /// Seasonal AR order.
    pub sp: usize,
    /// Seasonal differences.
    pub sd: usize,
    /// Seasonal MA order.
    pub sq: usize,
    /// Season length `m` (1 when there is no seasonal part).
    pub period: usize,
}

impl Order {
    /// A non-seasonal ARIMA(p,d,q).
    pub fn new(p: usize, d: usize, q: usize) -> Self {
        Self {
            p,
            d,
            q,
            sp: 0,
            sd: 0,
            sq: 0,
            period: 1,
        }
    }

    /// A seasonal ARIMA(p,d,q)(P,D,Q)\[m\].
    pub fn seasonal(
        p: usize,
        d: usize,
        q: usize,
        sp: usize,
        sd: usize,
        sq: usize,
        period: usize,
    ) -> Self {
        Self {
            p,
            d,
            q,
            sp,
            sd,
            sq,
            period,
        }
    }

    fn has_season(&self) -> bool {
        self.period > 1 && self.sp + self.sd + self.sq > 0
    }

    /// Observations lost to differencing, `d + m D`.
    pub fn lost_to_differencing(&self) -> usize {
        self.d + self.period * self.sd
    }

    /// Number of ARMA coefficients.
    fn n_arma(&self) -> usize {
        self.p + self.q + self.sp + self.sq
    }
}

impl std::fmt::Display for Order {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ARIMA({},{},{})", self.p, self.d, self.q)?;
        if self.has_season() {
            write!(f, "({},{},{})[{}]", self.sp, self.sd, self.sq, self.period)?;
        }
        Ok(())
    }
}

/// A fixed-order seasonal ARIMA estimated by CSS then exact maximum likelihood.
///
/// The constant, when included, is a mean for undifferenced models and a drift
/// (slope per period) for models with exactly one difference; it is ignored for
/// two or more differences, where it would be a polynomial trend.
#[derive(Debug, Clone, PartialEq)]
pub struct Arima {
    /// Model orders. The seasonal period of the order wins over the `period`
    /// passed to [`Model::fit`] unless the order has no seasonal part.
    pub order: Order,
    /// Include a mean (d + D = 0) or drift (d + D = 1).
    pub constant: bool,
    /// Estimate by conditional sum of squares only (faster, approximate).
    pub css_only: bool,
}

impl Arima {
    /// A model of the given order, with or without constant, estimated by CSS-ML.
    pub fn new(order: Order, constant: bool) -> Self {
        Self {
            order,
            constant,
            css_only: false,
        }
    }

    /// Fits the model to `y` and returns the concrete fitted type (with
    /// likelihood accessors), unlike [`Model::fit`].
    pub fn fit_series(&self, y: &[f64]) -> Result<ArimaFit, ForecastError> {
        check_finite(y)?;
        fit_order(y, self.order, self.constant, self.css_only)
    }

    /// Builds the fitted model at given coefficients instead of estimating
    /// them: `coefs` is `[ar.., ma.., sar.., sma.., constant?]` (the constant,
    /// mean or drift, last and only when `self.constant` applies). sigma² is then
    /// the ML estimate `Σv²/n`, as nothing was estimated.
    pub fn fit_with_coefficients(
        &self,
        y: &[f64],
        coefs: &[f64],
    ) -> Result<ArimaFit, ForecastError> {
        check_finite(y)?;
        check_finite(coefs)?;
        fit_impl(
            y,
            self.order,
            self.constant,
            self.css_only,
            Some(coefs),
            Precision::Full,
        )
    }
}

impl Model for Arima {
    fn name(&self) -> &'static str {
        "arima"
    }

    fn fit(&self, y: &[f64], period: usize) -> Result<Box<dyn Fitted>, ForecastError> {
        let mut order = self.order;
        if !order.has_season() {
            order.period = period.max(1);
        }
        let model = Arima {
            order,
            ..self.clone()
        };
        Ok(Box::new(model.fit_series(y)?))
    }
}

/// Which deterministic term the model carries.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Constant {
    None,
    /// Mean of an undifferenced series.
    Intercept(f64),
    /// Slope per period of a once-differenced series.
    Drift(f64),
}

/// A fitted seasonal ARIMA model.
#[derive(Debug, Clone)]
pub struct ArimaFit {
    order: Order,
    ar: Vec<f64>,
    ma: Vec<f64>,
    sar: Vec<f64>,
    sma: Vec<f64>,
    constant: Constant,
    sigma2: f64,
    loglik: f64,
    aic: f64,
    aicc: f64,
    bic: f64,
    nobs: usize,
    y: Vec<f64>,
    /// One-step innovations of the differenced series (length `nobs`).
    innovations: Vec<f64>,
    /// Filtered ARMA state and covariance at the end of the sample.
    state: Vec<f64>,
    state_cov: Vec<f64>,
    css_only: bool,
}

impl ArimaFit {
    /// The fitted orders.
    pub fn order(&self) -> Order {
        self.order
    }
    /// Exact Gaussian log-likelihood of the differenced series (CSS fits: the
    /// conditional one).
    pub fn loglik(&self) -> f64 {
        self.loglik
    }
    /// Akaike's information criterion.
    pub fn aic(&self) -> f64 {
        self.aic
    }
    /// AIC with the small-sample correction (Hurvich & Tsai); infinite when there
    /// are too few observations for the number of parameters.
    pub fn aicc(&self) -> f64 {
        self.aicc
    }
    /// Bayesian information criterion.
    pub fn bic(&self) -> f64 {
        self.bic
    }
    /// Innovation variance used for the intervals (residual sum of squares over
    /// observations minus coefficients).
    pub fn sigma2(&self) -> f64 {
        self.sigma2
    }
    /// Number of observations after differencing.
    pub fn nobs(&self) -> usize {
        self.nobs
    }
    /// Non-seasonal AR coefficients.
    pub fn ar(&self) -> &[f64] {
        &self.ar
    }
    /// Non-seasonal MA coefficients.
    pub fn ma(&self) -> &[f64] {
        &self.ma
    }
    /// Seasonal AR coefficients.
    pub fn sar(&self) -> &[f64] {
        &self.sar
    }
    /// Seasonal MA coefficients.
    pub fn sma(&self) -> &[f64] {
        &self.sma
    }
    /// The mean (undifferenced models) or drift (once-differenced), if any.
    pub fn constant(&self) -> Option<f64> {
        match self.constant {
            Constant::None => None,
            Constant::Intercept(v) | Constant::Drift(v) => Some(v),
        }
    }
    /// True for models whose constant is a drift.
    pub fn has_drift(&self) -> bool {
        matches!(self.constant, Constant::Drift(_))
    }

    /// Smallest modulus of the roots of the full AR and MA polynomials is at
    /// least `radius` (used by the automatic search to reject models on the
    /// edge of non-stationarity or non-invertibility).
    pub(crate) fn roots_outside(&self, radius: f64) -> bool {
        let phi = poly::expand_seasonal(&self.ar, &self.sar, self.order.period, false);
        let theta = poly::expand_seasonal(&self.ma, &self.sma, self.order.period, true);
        let neg_theta: Vec<f64> = theta.iter().map(|v| -v).collect();
        poly::roots_outside(&phi, radius) && poly::roots_outside(&neg_theta, radius)
    }

    /// Mean of the differenced series implied by the constant.
    fn diff_mean(&self) -> f64 {
        match self.constant {
            Constant::None => 0.0,
            Constant::Intercept(v) => v,
            Constant::Drift(v) => v * regressor_scale(self.order),
        }
    }

    /// Forecast means and variances (in units of sigma²=1) `h` steps ahead, from
    /// the state-space form augmented with the differencing: the state carries
    /// the last `d + mD` observations, known exactly, next to the ARMA state.
    fn forecast_moments(&self, h: usize) -> (Vec<f64>, Vec<f64>) {
        let m = self.order.period;
        let phi = poly::expand_seasonal(&self.ar, &self.sar, m, false);
        let theta = poly::expand_seasonal(&self.ma, &self.sma, m, true);
        let arma = Arma {
            phi: &phi,
            theta: &theta,
        };
        let r = arma.dim();
        let delta = poly::differencing_poly(self.order.d, self.order.sd, m);
        let nd = delta.len();
        let dim = r + nd;
        let phi_at = |j: usize| if j < phi.len() { phi[j] } else { 0.0 };
        let rvec: Vec<f64> = (0..r)
            .map(|j| {
                if j == 0 {
                    1.0
                } else if j <= theta.len() {
                    theta[j - 1]
                } else {
                    0.0
                }
            })
            .collect();
        // Transition G and noise loading g of the augmented state.
        let mut g_mat = vec![0.0; dim * dim];
        for i in 0..r {
            g_mat[i * dim] = phi_at(i);
            if i + 1 < r {
                g_mat[i * dim + i + 1] = 1.0;
            }
        }
        if nd > 0 {
            // New observation = (T a)[0] + delta · (y_n, y_{n-1}, ...).
            for j in 0..r {
                g_mat[r * dim + j] = g_mat[j];
            }
            for (j, dj) in delta.iter().enumerate() {
                g_mat[r * dim + r + j] = *dj;
            }
            for k in 1..nd {
                g_mat[(r + k) * dim + r + k - 1] = 1.0;
            }
        }
        let mut gvec = vec![0.0; dim];
        gvec[..r].copy_from_slice(&rvec);
        if nd > 0 {
            gvec[r] = 1.0;
        }
        let mu = self.diff_mean();
        let n = self.y.len();
        let mut state = vec![0.0; dim];
        state[..r].copy_from_slice(&self.state);
        for k in 0..nd {
            state[r + k] = self.y[n - 1 - k];
        }
        let mut cov = vec![0.0; dim * dim];
        for i in 0..r {
            for j in 0..r {
                cov[i * dim + j] = self.state_cov[i * r + j];
            }
        }
        let obs = if nd > 0 { r } else { 0 };
        let mut means = Vec::with_capacity(h);
        let mut vars = Vec::with_capacity(h);
        let mut tmp = vec![0.0; dim * dim];
        let mut next = vec![0.0; dim];
        for _ in 0..h {
            for i in 0..dim {
                next[i] = (0..dim).map(|j| g_mat[i * dim + j] * state[j]).sum();
            }
            if nd > 0 {
                next[r] += mu;
            }
            state.copy_from_slice(&next);
            // cov = G cov G' + g g'
            for i in 0..dim {
                for j in 0..dim {
                    tmp[i * dim + j] = (0..dim)
                        .map(|k| g_mat[i * dim + k] * cov[k * dim + j])
                        .sum();
                }
            }
            for i in 0..dim {
                for j in 0..dim {
                    cov[i * dim + j] = (0..dim)
                        .map(|k| tmp[i * dim + k] * g_mat[j * dim + k])
                        .sum::<f64>()
                        + gvec[i] * gvec[j];
                }
            }
            let mean = if nd > 0 { state[r] } else { state[0] + mu };
            means.push(mean);
            vars.push(cov[obs * dim + obs].max(0.0));
        }
        (means, vars)
    }
}

impl Fitted for ArimaFit {
    fn predict(&self, h: usize, level: f64) -> Result<Forecast, ForecastError> {
        check_level(level)?;
        let (mean, var) = self.forecast_moments(h);
        let z = quantile_normal(0.5 + level / 2.0);
        let sd: Vec<f64> = var.iter().map(|v| (v * self.sigma2).sqrt()).collect();
        Ok(Forecast {
            lower: mean.iter().zip(&sd).map(|(m, s)| m - z * s).collect(),
            upper: mean.iter().zip(&sd).map(|(m, s)| m + z * s).collect(),
            mean,
            level,
        })
    }

    fn spec(&self) -> String {
        let mut s = self.order.to_string();
        match self.constant {
            Constant::Intercept(_) => s.push_str(" with non-zero mean"),
            Constant::Drift(_) => s.push_str(" with drift"),
            Constant::None => {}
        }
        if self.css_only {
            s.push_str(" (CSS)");
        }
        s
    }

    fn params(&self) -> Vec<(String, f64)> {
        let mut out = Vec::new();
        let blocks: [(&str, &[f64]); 4] = [
            ("ar", &self.ar),
            ("ma", &self.ma),
            ("sar", &self.sar),
            ("sma", &self.sma),
        ];
        for (name, coefs) in blocks {
            for (i, c) in coefs.iter().enumerate() {
                out.push((format!("{name}{}", i + 1), *c));
            }
        }
        match self.constant {
            Constant::Intercept(v) => out.push(("intercept".into(), v)),
            Constant::Drift(v) => out.push(("drift".into(), v)),
            Constant::None => {}
        }
        out.push(("sigma2".into(), self.sigma2));
        out.push(("loglik".into(), self.loglik));
        out.push(("aic".into(), self.aic));
        out.push(("aicc".into(), self.aicc));
        out
    }

    fn fitted_values(&self) -> Vec<f64> {
        let nd = self.order.lost_to_differencing();
        let mut out = vec![f64::NAN; self.y.len()];
        for (k, v) in self.innovations.iter().enumerate() {
            out[nd + k] = self.y[nd + k] - v;
        }
        out
    }
}

/// The value of the differenced drift regressor `t`: 1 after a regular
/// difference, `m` after a seasonal one.
fn regressor_scale(order: Order) -> f64 {
    if order.sd == 1 && order.d == 0 {
        order.period as f64
    } else {
        1.0
    }
}

/// Parameter layout: `[ar(p), ma(q), sar(P), sma(Q), constant?]`.
struct Layout {
    order: Order,
    has_const: bool,
}

impl Layout {
    fn len(&self) -> usize {
        self.order.n_arma() + usize::from(self.has_const)
    }
    fn split<'a>(&self, x: &'a [f64]) -> (&'a [f64], &'a [f64], &'a [f64], &'a [f64]) {
        let o = self.order;
        let (ar, rest) = x.split_at(o.p);
        let (ma, rest) = rest.split_at(o.q);
        let (sar, rest) = rest.split_at(o.sp);
        let (sma, _) = rest.split_at(o.sq);
        (ar, ma, sar, sma)
    }
    fn full(&self, x: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let (ar, ma, sar, sma) = self.split(x);
        (
            poly::expand_seasonal(ar, sar, self.order.period, false),
            poly::expand_seasonal(ma, sma, self.order.period, true),
        )
    }
}

/// Conditional sum of squares: residuals of the ARMA recursion started with
/// zero pre-sample innovations after the first `p + mP` observations.
/// Returns `(ssq, count)`.
pub(crate) fn css(w: &[f64], phi: &[f64], theta: &[f64]) -> (f64, usize) {
    let start = phi.len();
    // Seasonal polynomials are mostly zeros: iterate over the non-zero lags.
    let nz = |c: &[f64]| -> Vec<(usize, f64)> {
        c.iter()
            .enumerate()
            .filter(|(_, v)| **v != 0.0)
            .map(|(j, v)| (j + 1, *v))
            .collect()
    };
    let (ar, ma) = (nz(phi), nz(theta));
    let mut e = vec![0.0; w.len()];
    let mut ssq = 0.0;
    for t in start..w.len() {
        let mut v = w[t];
        for &(j, c) in &ar {
            v -= c * w[t - j];
        }
        for &(j, c) in &ma {
            if t >= j {
                v -= c * e[t - j];
            }
        }
        e[t] = v;
        ssq += v * v;
    }
    (ssq, w.len().saturating_sub(start))
}

fn optimizer_options() -> LbfgsOptions {
    LbfgsOptions {
        max_iterations: 100,
        g_tol: 1e-6,
        f_tol: 1e-10,
        ..LbfgsOptions::default()
    }
}

/// Estimates one model: CSS from zero coefficients, then exact ML started from
/// the CSS estimates with AR parts kept stationary by the PACF transform.
pub(crate) fn fit_order(
    y: &[f64],
    order: Order,
    constant: bool,
    css_only: bool,
) -> Result<ArimaFit, ForecastError> {
    fit_impl(y, order, constant, css_only, None, Precision::Full)
}

/// How hard the optimiser works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Precision {
    /// Central differences and tight tolerances: the optimum to ~1e-9 in
    /// log-likelihood. For final models.
    Full,
    /// Forward differences and looser tolerances (~1e-4 in log-likelihood,
    /// far below the AICc differences a search decides on): several times
    /// fewer likelihood evaluations. For the candidates of the automatic search.
    Search,
}

/// [`fit_order`] at a chosen precision.
pub(crate) fn fit_order_with(
    y: &[f64],
    order: Order,
    constant: bool,
    css_only: bool,
    precision: Precision,
) -> Result<ArimaFit, ForecastError> {
    fit_impl(y, order, constant, css_only, None, precision)
}

fn fit_impl(
    y: &[f64],
    order: Order,
    constant: bool,
    css_only: bool,
    fixed: Option<&[f64]>,
    precision: Precision,
) -> Result<ArimaFit, ForecastError> {
    let opts = match precision {
        Precision::Full => optimizer_options(),
        // The objective is -loglik/n: a gradient of 1e-3 leaves the
        // log-likelihood within ~1e-4 of its optimum, far below the AICc
        // differences the search decides on.
        Precision::Search => LbfgsOptions {
            g_tol: 1e-3,
            f_tol: 1e-8,
            ..optimizer_options()
        },
    };
    // The gradient used by the ML stage (the CSS stage only seeds it, so it
    // always uses the cheap one).
    let grad = |f: &dyn Fn(&[f64]) -> f64, u: &[f64], g: &mut [f64]| -> f64 {
        match precision {
            Precision::Full => numeric_gradient(f, u, 1e-5, g),
            Precision::Search => numeric_gradient_forward(f, u, 1e-7, g),
        }
    };
    if order.period == 0 {
        return Err(ForecastError::InvalidArgument(
            "season length must be at least 1".into(),
        ));
    }
    if order.sp + order.sd + order.sq > 0 && order.period < 2 {
        return Err(ForecastError::InvalidArgument(
            "a seasonal order needs a season length of at least 2".into(),
        ));
    }
    let w0 = poly::difference(y, order.d, order.sd, order.period);
    let ndiff = order.d + order.sd;
    let has_const = constant && ndiff <= 1;
    let layout = Layout { order, has_const };
    let n_coef = layout.len();
    let p_full = order.p + order.period * order.sp;
    if w0.len() <= p_full || w0.len() <= n_coef {
        return Err(ForecastError::TooShort {
            got: y.len(),
            needed: order.lost_to_differencing() + (p_full + 1).max(n_coef + 1),
        });
    }
    let k_reg = regressor_scale(order);
    let n = w0.len() as f64;
    let mean0 = w0.iter().sum::<f64>() / n;
    let sd0 = (w0.iter().map(|v| (v - mean0).powi(2)).sum::<f64>() / n).sqrt();
    // The constant is optimised as `c0 + scale * u` so that its step is
    // commensurate with the ARMA coefficients (cf. R's parscale).
    let c0 = mean0 / k_reg;
    let c_scale = if sd0 > 0.0 {
        sd0 / n.sqrt() / k_reg
    } else {
        c0.abs().max(1.0) * 1e-3
    };
    let n_arma = order.n_arma();
    let demean = |x: &[f64]| -> Vec<f64> {
        if has_const {
            let c = (c0 + c_scale * x[n_arma]) * k_reg;
            w0.iter().map(|v| v - c).collect()
        } else {
            w0.clone()
        }
    };

    if let Some(f) = fixed
        && f.len() != n_coef
    {
        return Err(ForecastError::InvalidArgument(format!(
            "{order} takes {n_coef} coefficients, got {}",
            f.len()
        )));
    }

    // 1. Conditional sum of squares.
    let css_obj = |x: &[f64]| -> f64 {
        let w = demean(x);
        let (phi, theta) = layout.full(x);
        let (ssq, cnt) = css(&w, &phi, &theta);
        if cnt == 0 || !ssq.is_finite() {
            return f64::INFINITY;
        }
        if ssq <= 0.0 {
            return -1e10;
        }
        0.5 * (ssq / cnt as f64).ln()
    };
    let x0 = vec![0.0; n_coef];
    let css_min = if n_coef > 0 && fixed.is_none() {
        let css_opts = LbfgsOptions {
            g_tol: 1e-4,
            f_tol: 1e-8,
            ..optimizer_options()
        };
        lbfgs(
            |x, g| numeric_gradient_forward(css_obj, x, 1e-7, g),
            &x0,
            &css_opts,
        )
    } else {
        crate::optim::Minimum {
            x: x0.clone(),
            f: f64::NAN,
            iterations: 0,
            evaluations: 1,
            converged: true,
        }
    };
    let mut x_css = css_min.x.clone();
    if !x_css.iter().all(|v| v.is_finite()) {
        x_css = x0.clone();
    }

    let x_final = if let Some(f) = fixed {
        let mut x = f.to_vec();
        if has_const {
            x[n_arma] = (f[n_arma] - c0) / c_scale;
        }
        x
    } else if css_only {
        x_css
    } else {
        // 2. Exact ML on transformed AR parameters.
        let (ar, _ma, sar, _sma) = layout.split(&x_css);
        let ar_raw = poly::ar_to_pacf(ar);
        let sar_raw = poly::ar_to_pacf(sar);
        let mut u0 = x_css.clone();
        // A non-stationary CSS estimate cannot seed the ML search: restart the
        // AR parts from zero (R gives up on such models instead).
        match ar_raw {
            Some(r) => u0[..order.p].copy_from_slice(&r),
            None => u0[..order.p].iter_mut().for_each(|v| *v = 0.0),
        }
        let sar_at = order.p + order.q;
        match sar_raw {
            Some(r) => u0[sar_at..sar_at + order.sp].copy_from_slice(&r),
            None => u0[sar_at..sar_at + order.sp]
                .iter_mut()
                .for_each(|v| *v = 0.0),
        }
        let untransform = |u: &[f64]| -> Vec<f64> {
            let mut x = u.to_vec();
            let ar = poly::pacf_to_ar(&u[..order.p]);
            x[..order.p].copy_from_slice(&ar);
            let sar = poly::pacf_to_ar(&u[sar_at..sar_at + order.sp]);
            x[sar_at..sar_at + order.sp].copy_from_slice(&sar);
            x
        };
        let ml_obj = |u: &[f64]| -> f64 {
            if u.iter().any(|v| !v.is_finite() || v.abs() > 1e6) {
                return f64::INFINITY;
            }
            let x = untransform(u);
            let w = demean(&x);
            let (phi, theta) = layout.full(&x);
            match kalman::filter(
                &Arma {
                    phi: &phi,
                    theta: &theta,
                },
                &w,
                false,
            ) {
                Some(out) if out.ssq > 0.0 => {
                    let nn = out.n as f64;
                    0.5 * (out.ssq / nn).ln() + 0.5 * out.sumlog / nn
                }
                _ => f64::INFINITY,
            }
        };
        if n_coef > 0 && ml_obj(&u0).is_finite() {
            let ml = lbfgs(|u, g| grad(&ml_obj, u, g), &u0, &opts);
            untransform(&ml.x)
        } else if n_coef > 0 {
            // The CSS start has no finite likelihood (e.g. an MA root exactly on
            // the unit circle): start from zero coefficients instead.
            let mut z = vec![0.0; n_coef];
            if has_const {
                z[n_arma] = u0[n_arma];
            }
            let ml = lbfgs(|u, g| grad(&ml_obj, u, g), &z, &opts);
            untransform(&ml.x)
        } else {
            x_css
        }
    };

    let w = demean(&x_final);
    let (phi, theta) = layout.full(&x_final);
    let (ar, ma, sar, sma) = layout.split(&x_final);
    let constant_term = if has_const {
        let c = c0 + c_scale * x_final[n_arma];
        if ndiff == 0 {
            Constant::Intercept(c)
        } else {
            Constant::Drift(c)
        }
    } else {
        Constant::None
    };
    let npar = (n_coef + 1) as f64;
    let nobs = w.len();
    let out = kalman::filter(
        &Arma {
            phi: &phi,
            theta: &theta,
        },
        &w,
        true,
    )
    .ok_or_else(|| ForecastError::FitFailed(format!("{order}: no stationary solution")))?;
    let (loglik, ssq_resid) = if css_only {
        let (ssq, cnt) = css(&w, &phi, &theta);
        let s2 = ssq / cnt as f64;
        let cntf = cnt as f64;
        (
            -0.5 * cntf * ((2.0 * std::f64::consts::PI * s2).ln() + 1.0),
            out.ssq,
        )
    } else {
        (out.loglik(), out.ssq)
    };
    if !loglik.is_finite() {
        return Err(ForecastError::FitFailed(format!(
            "{order}: non-finite likelihood"
        )));
    }
    let aic = -2.0 * loglik + 2.0 * npar;
    let nstar = nobs as f64;
    let aicc = if nstar - npar - 1.0 > 0.0 {
        aic + 2.0 * npar * (npar + 1.0) / (nstar - npar - 1.0)
    } else {
        f64::INFINITY
    };
    let bic = aic + npar * (nstar.ln() - 2.0);
    // Residual variance with a degrees-of-freedom correction for the estimated
    // coefficients (none when they were given).
    let n_estimated = if fixed.is_some() { 0 } else { n_coef };
    let dof = (nstar - n_estimated as f64).max(1.0);
    Ok(ArimaFit {
        order,
        ar: ar.to_vec(),
        ma: ma.to_vec(),
        sar: sar.to_vec(),
        sma: sma.to_vec(),
        constant: constant_term,
        sigma2: ssq_resid / dof,
        loglik,
        aic,
        aicc,
        bic,
        nobs,
        y: y.to_vec(),
        innovations: out.innovations,
        state: out.state,
        state_cov: out.state_cov,
        css_only,
    })
}

/// A model without ARMA terms whose constant is set to the mean of the
/// differenced series rather than estimated: used for constant series and for
/// series that differencing turns constant (exact trends or seasonal patterns),
/// where the likelihood is unbounded and an optimiser has nothing to find.
///
/// For a perfect fit sigma² is 0, the intervals collapse onto the forecast, and
/// the log-likelihood and information criteria are NaN (undefined).
pub(crate) fn fit_degenerate(y: &[f64], order: Order, constant: bool) -> ArimaFit {
    let order = Order {
        p: 0,
        q: 0,
        sp: 0,
        sq: 0,
        ..order
    };
    let w0 = poly::difference(y, order.d, order.sd, order.period);
    let ndiff = order.d + order.sd;
    let n = w0.len().max(1) as f64;
    let k_reg = regressor_scale(order);
    let has_const = constant && ndiff <= 1;
    let c = if has_const {
        w0.iter().sum::<f64>() / n
    } else {
        0.0
    };
    let innovations: Vec<f64> = w0.iter().map(|v| v - c).collect();
    let ssq: f64 = innovations.iter().map(|v| v * v).sum();
    let npar = 1.0 + f64::from(u8::from(has_const));
    let (loglik, aic, aicc, bic) = if ssq > 0.0 {
        let ll = -0.5 * n * ((2.0 * std::f64::consts::PI * ssq / n).ln() + 1.0);
        let aic = -2.0 * ll + 2.0 * npar;
        let aicc = if n - npar - 1.0 > 0.0 {
            aic + 2.0 * npar * (npar + 1.0) / (n - npar - 1.0)
        } else {
            f64::INFINITY
        };
        (ll, aic, aicc, aic + npar * (n.ln() - 2.0))
    } else {
        (f64::NAN, f64::NAN, f64::NAN, f64::NAN)
    };
    let constant_term = match (has_const, ndiff) {
        (false, _) => Constant::None,
        (true, 0) => Constant::Intercept(c),
        (true, _) => Constant::Drift(c / k_reg),
    };
    ArimaFit {
        order,
        ar: Vec::new(),
        ma: Vec::new(),
        sar: Vec::new(),
        sma: Vec::new(),
        constant: constant_term,
        sigma2: ssq / (n - npar + 1.0).max(1.0),
        loglik,
        aic,
        aicc,
        bic,
        nobs: w0.len(),
        y: y.to_vec(),
        state: vec![innovations.last().copied().unwrap_or(0.0)],
        innovations,
        state_cov: vec![0.0],
        css_only: false,
    }
}
