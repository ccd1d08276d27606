//! Exact Gaussian likelihood of a stationary ARMA process through the Kalman
//! filter, in Harvey's state-space form.
//!
//! With `r = max(p, q + 1)`, the state `a_t` has `a_t[0] = w_t` and
//! `a_{t+1} = T a_t + R e_{t+1}` where `T` holds `phi` in its first column and an
//! identity above the diagonal, and `R = (1, theta_1, …, theta_{r-1})`. The filter
//! starts from the stationary distribution of the state, so the likelihood is
//! exact (not conditional on starting values). Everything is computed with unit
//! innovation variance; `sigma²` is concentrated out of the likelihood.
//!
//! Speed: once the filtered state is known exactly (the innovation variance has
//! converged to 1, which happens after a few dozen steps for an invertible MA),
//! the filter switches to the O(r) steady-state recursion.

/// The stationary ARMA model the filter runs on (full, seasonally expanded
/// coefficients).
#[derive(Debug, Clone)]
pub(crate) struct Arma<'a> {
    /// AR coefficients `phi_1..phi_p` of `w_t = Σ phi_j w_{t-j} + e_t + Σ theta_j e_{t-j}`.
    pub phi: &'a [f64],
    /// MA coefficients `theta_1..theta_q`.
    pub theta: &'a [f64],
}

impl Arma<'_> {
    /// State dimension `max(p, q + 1)`.
    pub fn dim(&self) -> usize {
        self.phi.len().max(self.theta.len() + 1)
    }
    fn phi_at(&self, j: usize) -> f64 {
        if j >= 1 && j <= self.phi.len() {
            self.phi[j - 1]
        } else {
            0.0
        }
    }
    fn theta_at(&self, j: usize) -> f64 {
        if j == 0 {
            1.0
        } else if j <= self.theta.len() {
            self.theta[j - 1]
        } else {
            0.0
        }
    }
}

/// Psi weights `psi_0..psi_{k-1}` of the MA(∞) representation of `phi`/`theta`.
pub(crate) fn psi_weights(phi: &[f64], theta: &[f64], k: usize) -> Vec<f64> {
    let mut psi = vec![0.0; k];
    for j in 0..k {
        let mut v = if j == 0 {
            1.0
        } else if j <= theta.len() {
            theta[j - 1]
        } else {
            0.0
        };
        for i in 1..=phi.len().min(j) {
            v += phi[i - 1] * psi[j - i];
        }
        psi[j] = v;
    }
    psi
}

/// Autocovariances `gamma(0..=max_lag)` of the ARMA process with unit innovation
/// variance; `None` when the linear system is singular (non-stationary AR).
pub(crate) fn autocovariances(arma: &Arma<'_>, max_lag: usize) -> Option<Vec<f64>> {
    let p = arma.phi.len();
    let q = arma.theta.len();
    let psi = psi_weights(arma.phi, arma.theta, q + 1);
    // rhs_k = Σ_{j=k}^{q} theta_j psi_{j-k}
    let rhs = |k: usize| -> f64 { (k..=q).map(|j| arma.theta_at(j) * psi[j - k]).sum() };
    let mut gamma = vec![0.0; max_lag.max(p) + 1];
    if p > 0 {
        let n = p + 1;
        let mut a = vec![0.0; n * n];
        let mut b = vec![0.0; n];
        for k in 0..n {
            a[k * n + k] += 1.0;
            for j in 1..=p {
                let idx = k.abs_diff(j);
                a[k * n + idx] -= arma.phi[j - 1];
            }
            b[k] = rhs(k);
        }
        let sol = solve_dense(&mut a, &mut b, n)?;
        gamma[..n].copy_from_slice(&sol);
    } else {
        gamma[0] = rhs(0);
    }
    for k in (p + 1)..gamma.len() {
        let mut v = rhs(k);
        for j in 1..=p {
            v += arma.phi[j - 1] * gamma[k - j];
        }
        gamma[k] = v;
    }
    if !gamma[0].is_finite() || gamma[0] <= 0.0 {
        return None;
    }
    Some(gamma)
}

/// Gaussian elimination with partial pivoting on an `n`×`n` row-major matrix.
fn solve_dense(a: &mut [f64], b: &mut [f64], n: usize) -> Option<Vec<f64>> {
    for col in 0..n {
        let piv =
            (col..n).max_by(|&i, &j| a[i * n + col].abs().total_cmp(&a[j * n + col].abs()))?;
        if a[piv * n + col].abs() < 1e-300 {
            return None;
        }
        if piv != col {
            for k in 0..n {
                a.swap(piv * n + k, col * n + k);
            }
            b.swap(piv, col);
        }
        let d = a[col * n + col];
        for i in (col + 1)..n {
            let f = a[i * n + col] / d;
            if f == 0.0 {
                continue;
            }
            for k in col..n {
                a[i * n + k] -= f * a[col * n + k];
            }
            b[i] -= f * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let mut s = b[i];
        for k in (i + 1)..n {
            s -= a[i * n + k] * x[k];
        }
        x[i] = s / a[i * n + i];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

/// Stationary covariance of the state vector (row-major `r`×`r`), unit innovation
/// variance. Each state component is a finite combination of past `w` and `e`
/// (`a_t[i] = Σ_{l≥1} phi_{i+l} w_{t-l} + Σ_{l≥0} theta_{i+l} e_{t-l}`), so its
/// covariances follow from the autocovariances of `w` and the psi weights.
pub(crate) fn stationary_state_cov(arma: &Arma<'_>) -> Option<Vec<f64>> {
    let r = arma.dim();
    let gamma = autocovariances(arma, r)?;
    let psi = psi_weights(arma.phi, arma.theta, r + 1);
    // Non-zero AR lags only: seasonal models are sparse (AR(1)×SAR(2) has 5 of 25).
    let nz: Vec<usize> = (1..=arma.phi.len())
        .filter(|&j| arma.phi[j - 1] != 0.0)
        .collect();
    let theta: Vec<f64> = (0..=r).map(|j| arma.theta_at(j)).collect();
    // Cross terms Σ_{l'≥l} theta_{k+l'} psi_{l'-l} depend on k + l only:
    // g[s] = Σ_{u=0}^{r-1-s} theta_{s+u} psi_u (zero for s ≥ r).
    let g: Vec<f64> = (0..2 * r + 1)
        .map(|s| {
            if s >= r {
                0.0
            } else {
                (0..r - s).map(|u| theta[s + u] * psi[u]).sum()
            }
        })
        .collect();
    let nz_theta: Vec<usize> = (0..r).filter(|&a| theta[a] != 0.0).collect();
    let mut cov = vec![0.0; r * r];
    for i in 0..r {
        for k in i..r {
            let mut s = 0.0;
            for &ja in nz.iter().filter(|&&j| j > i) {
                let (pa, l) = (arma.phi[ja - 1], ja - i);
                // phi-phi: Σ_l Σ_l' phi_{i+l} phi_{k+l'} gamma(l - l'), l,l' >= 1
                for &jb in nz.iter().filter(|&&j| j > k) {
                    s += pa * arma.phi[jb - 1] * gamma[l.abs_diff(jb - k)];
                }
                // phi-theta: Cov(w_{t-l}, e_{t-l'}) = psi_{l'-l} for l' >= l.
                s += pa * g[k + l];
            }
            for &jb in nz.iter().filter(|&&j| j > k) {
                s += arma.phi[jb - 1] * g[i + jb - k];
            }
            // theta-theta: independent innovations (non-zero lags only).
            for &a in nz_theta.iter().filter(|&&a| a >= k) {
                s += theta[a] * theta[i + a - k];
            }
            cov[i * r + k] = s;
            cov[k * r + i] = s;
        }
    }
    Some(cov)
}

/// What one pass of the filter produces.
#[derive(Debug, Clone)]
pub(crate) struct FilterOutput {
    /// Σ v_t² / F_t (standardised sum of squares, unit innovation variance).
    pub ssq: f64,
    /// Σ ln F_t.
    pub sumlog: f64,
    /// Number of observations used.
    pub n: usize,
    /// One-step prediction errors `v_t` (unstandardised), if requested.
    pub innovations: Vec<f64>,
    /// Filtered state at the end of the sample (`a_{n|n}`), if requested.
    pub state: Vec<f64>,
    /// Its covariance (row-major, unit innovation variance), if requested.
    pub state_cov: Vec<f64>,
}

impl FilterOutput {
    /// Concentrated Gaussian log-likelihood (sigma² at its ML value `ssq / n`).
    pub fn loglik(&self) -> f64 {
        let n = self.n as f64;
        let s2 = self.ssq / n;
        -0.5 * (n * (2.0 * std::f64::consts::PI * s2).ln() + n + self.sumlog)
    }
}

/// Runs the Kalman filter on the mean-corrected stationary series `w`.
///
/// `keep` asks for the innovations and the final filtered state (used for
/// residuals and forecasting); the likelihood-only pass skips that work.
/// Returns `None` when the model has no stationary solution or the filter breaks
/// down numerically.
pub(crate) fn filter(arma: &Arma<'_>, w: &[f64], keep: bool) -> Option<FilterOutput> {
    let r = arma.dim();
    // Upper triangle (i <= j) of the one-step prediction covariance.
    let mut p = stationary_state_cov(arma)?;
    let phi: Vec<f64> = (1..=r).map(|j| arma.phi_at(j)).collect();
    let rvec: Vec<f64> = (0..r).map(|j| arma.theta_at(j)).collect();
    let mut a = vec![0.0; r];
    let mut af = vec![0.0; r];
    let mut c = vec![0.0; r];
    let mut ssq = 0.0;
    let mut sumlog = 0.0;
    let mut innovations = Vec::with_capacity(if keep { w.len() } else { 0 });
    let mut steady = false;
    let mut end_cov = Vec::new();
    let last = w.len().saturating_sub(1);
    for (t, &wt) in w.iter().enumerate() {
        let v = wt - a[0];
        if steady {
            ssq += v * v;
            for i in 0..r {
                af[i] = a[i] + rvec[i] * v;
            }
        } else {
            let f = p[0];
            if !(f.is_finite() && f > 0.0) {
                return None;
            }
            ssq += v * v / f;
            sumlog += f.ln();
            for i in 0..r {
                c[i] = p[i]; // first row = first column (symmetric)
                af[i] = a[i] + c[i] * v / f;
            }
            if keep && t == last {
                end_cov = vec![0.0; r * r];
                for i in 0..r {
                    for j in i..r {
                        let val = p[i * r + j] - c[i] * c[j] / f;
                        end_cov[i * r + j] = val;
                        end_cov[j * r + i] = val;
                    }
                }
            }
            // The filtered covariance Pf = P - c c'/f has a zero first row and
            // column (w_t is observed without error), so T Pf T' is Pf shifted
            // up-left by one: P_next[i][j] = Pf[i+1][j+1] + R_i R_j. Computed in
            // place in increasing (i, j), which reads only entries not yet
            // overwritten.
            let inv_f = 1.0 / f;
            let mut dev = 0.0f64;
            for i in 0..r - 1 {
                let (top, bottom) = p.split_at_mut((i + 1) * r);
                let dst = &mut top[i * r + i..i * r + r];
                let src = &bottom[i + 1..r];
                let ci = c[i + 1] * inv_f;
                let (ri, rtail) = (rvec[i], &rvec[i..]);
                let ctail = &c[i + 1..];
                // Pf is positive semi-definite, so its diagonal bounds every
                // entry: tracking the diagonal alone detects the steady state
                // and keeps this loop free of branches.
                dev = dev.max(src[0] - ci * ctail[0]);
                for k in 0..r - i - 1 {
                    dst[k] = src[k] - ci * ctail[k] + ri * rtail[k];
                }
                dst[r - i - 1] = ri * rvec[r - 1];
            }
            p[(r - 1) * r + r - 1] = rvec[r - 1] * rvec[r - 1];
            // Steady state: the filtered state is known exactly from here on,
            // F = 1 and the gain is R.
            if dev < 1e-11 {
                steady = true;
            }
        }
        if keep {
            innovations.push(v);
            if t == last && steady && end_cov.is_empty() {
                end_cov = vec![0.0; r * r];
            }
        }
        // Predict: a = T af.
        for i in 0..r {
            a[i] = phi[i] * af[0] + if i + 1 < r { af[i + 1] } else { 0.0 };
        }
    }
    if !ssq.is_finite() {
        return None;
    }
    let state = if keep { af } else { Vec::new() };
    if keep && end_cov.is_empty() {
        // Empty series: the state is at its stationary distribution.
        end_cov = stationary_state_cov(arma)?;
    }
    Some(FilterOutput {
        ssq,
        sumlog,
        n: w.len(),
        innovations,
        state,
        state_cov: end_cov,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Exact AR(1) log-likelihood by hand: the first observation has variance
    /// sigma²/(1-phi²), the rest are conditionally N(phi y_{t-1}, sigma²).
    #[test]
    fn ar1_likelihood_matches_closed_form() {
        let y = [0.3, -0.5, 1.2, 0.8, -0.1, 0.4, 0.9, -1.1];
        let phi = 0.6;
        let out = filter(
            &Arma {
                phi: &[phi],
                theta: &[],
            },
            &y,
            false,
        )
        .unwrap();
        let n = y.len() as f64;
        let ssq: f64 = y[0] * y[0] * (1.0 - phi * phi)
            + y.windows(2)
                .map(|w| (w[1] - phi * w[0]).powi(2))
                .sum::<f64>();
        let sumlog = -(1.0 - phi * phi).ln();
        assert!((out.ssq - ssq).abs() < 1e-12 * ssq);
        assert!((out.sumlog - sumlog).abs() < 1e-12);
        let s2 = ssq / n;
        let want = -0.5 * (n * (2.0 * std::f64::consts::PI * s2).ln() + n + sumlog);
        assert!((out.loglik() - want).abs() < 1e-12 * want.abs());
    }

    /// MA(1): the exact likelihood is that of a Gaussian vector with a
    /// tridiagonal covariance; compare with a dense Cholesky computation.
    #[test]
    fn ma1_likelihood_matches_dense_gaussian() {
        let y = [0.5, -0.2, 0.9, 1.4, -0.7, 0.1];
        let theta = -0.45;
        let out = filter(
            &Arma {
                phi: &[],
                theta: &[theta],
            },
            &y,
            false,
        )
        .unwrap();
        let n = y.len();
        let mut c = vec![0.0; n * n];
        for i in 0..n {
            c[i * n + i] = 1.0 + theta * theta;
            if i + 1 < n {
                c[i * n + i + 1] = theta;
                c[(i + 1) * n + i] = theta;
            }
        }
        // Cholesky: ssq = y' C^-1 y, sumlog = ln det C.
        let mut l = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..=i {
                let s: f64 =
                    c[i * n + j] - (0..j).map(|k| l[i * n + k] * l[j * n + k]).sum::<f64>();
                l[i * n + j] = if i == j { s.sqrt() } else { s / l[j * n + j] };
            }
        }
        let mut z = vec![0.0; n];
        for i in 0..n {
            z[i] = (y[i] - (0..i).map(|k| l[i * n + k] * z[k]).sum::<f64>()) / l[i * n + i];
        }
        let ssq: f64 = z.iter().map(|v| v * v).sum();
        let logdet: f64 = (0..n).map(|i| 2.0 * l[i * n + i].ln()).sum();
        assert!((out.ssq - ssq).abs() < 1e-10 * ssq, "{} vs {ssq}", out.ssq);
        assert!(
            (out.sumlog - logdet).abs() < 1e-10,
            "{} vs {logdet}",
            out.sumlog
        );
    }

    #[test]
    fn arma11_stationary_variance_is_textbook() {
        // gamma(0) = (1 + 2 phi theta + theta²) / (1 - phi²)
        let (phi, theta) = (0.7, 0.4);
        let g = autocovariances(
            &Arma {
                phi: &[phi],
                theta: &[theta],
            },
            2,
        )
        .unwrap();
        let want = (1.0 + 2.0 * phi * theta + theta * theta) / (1.0 - phi * phi);
        assert!((g[0] - want).abs() < 1e-12);
        // gamma(1) = (1 + phi theta)(phi + theta) / (1 - phi²)
        let want1 = (1.0 + phi * theta) * (phi + theta) / (1.0 - phi * phi);
        assert!((g[1] - want1).abs() < 1e-12);
        assert!((g[2] - phi * want1).abs() < 1e-12);
    }

    #[test]
    fn state_covariance_solves_lyapunov_equation() {
        let phi = [0.5, -0.2, 0.1];
        let theta = [0.3, 0.0, 0.0, 0.25];
        let arma = Arma {
            phi: &phi,
            theta: &theta,
        };
        let r = arma.dim();
        let p = stationary_state_cov(&arma).unwrap();
        // Check P = T P T' + R R'.
        let t = |i: usize, j: usize| -> f64 {
            let mut v = if j == 0 { arma.phi_at(i + 1) } else { 0.0 };
            if j == i + 1 {
                v += 1.0;
            }
            v
        };
        for i in 0..r {
            for j in 0..r {
                let mut s = arma.theta_at(i) * arma.theta_at(j);
                for k in 0..r {
                    for l in 0..r {
                        s += t(i, k) * p[k * r + l] * t(j, l);
                    }
                }
                assert!(
                    (s - p[i * r + j]).abs() < 1e-10,
                    "({i},{j}) {s} vs {}",
                    p[i * r + j]
                );
            }
        }
    }

    #[test]
    fn non_stationary_ar_has_no_likelihood() {
        assert!(
            filter(
                &Arma {
                    phi: &[1.0],
                    theta: &[]
                },
                &[1.0, 2.0],
                false
            )
            .is_none()
        );
    }
}
