//! Lag polynomials: seasonal expansion, stationarity checks and the
//! partial-autocorrelation reparameterisation that keeps AR parts stationary
//! while the optimiser moves freely.

/// Expands `(1 - Σ a_i B^i)(1 - Σ s_j B^{j m})` into `1 - Σ phi_k B^k` and returns
/// `phi` (length `a.len() + m * s.len()`). With `sign = -1.0` it expands the MA
/// form `(1 + Σ a_i B^i)(1 + Σ s_j B^{j m})` into `1 + Σ theta_k B^k` instead.
pub(crate) fn expand_seasonal(a: &[f64], s: &[f64], m: usize, ma: bool) -> Vec<f64> {
    let n = a.len() + m * s.len();
    // Work with the "+" convention: 1 + Σ c_k B^k, c = -a for AR, c = a for MA.
    let sign = if ma { 1.0 } else { -1.0 };
    let mut left = vec![0.0; a.len() + 1];
    left[0] = 1.0;
    for (i, v) in a.iter().enumerate() {
        left[i + 1] = sign * v;
    }
    let mut right = vec![0.0; m * s.len() + 1];
    right[0] = 1.0;
    for (j, v) in s.iter().enumerate() {
        right[(j + 1) * m] = sign * v;
    }
    let mut prod = vec![0.0; n + 1];
    for (i, l) in left.iter().enumerate() {
        if *l == 0.0 {
            continue;
        }
        for (j, r) in right.iter().enumerate() {
            prod[i + j] += l * r;
        }
    }
    prod[1..].iter().map(|c| sign * c).collect()
}

/// Multiplies two polynomials given by coefficient vectors (constant first).
pub(crate) fn poly_mul(a: &[f64], b: &[f64]) -> Vec<f64> {
    if a.is_empty() || b.is_empty() {
        return Vec::new();
    }
    let mut out = vec![0.0; a.len() + b.len() - 1];
    for (i, x) in a.iter().enumerate() {
        for (j, y) in b.iter().enumerate() {
            out[i + j] += x * y;
        }
    }
    out
}

/// True when every root of `1 - Σ a_k z^k` lies outside the circle of radius
/// `radius` (use 1 for stationarity). Uses the step-down (reverse
/// Durbin–Levinson) recursion: the roots are outside the unit circle exactly
/// when every reflection coefficient has modulus below one. No root finding.
pub(crate) fn roots_outside(a: &[f64], radius: f64) -> bool {
    let mut last = a.len();
    while last > 0 && a[last - 1].abs() <= 1e-12 {
        last -= 1;
    }
    if last == 0 {
        return true;
    }
    let mut c: Vec<f64> = a[..last]
        .iter()
        .enumerate()
        .map(|(k, v)| v * radius.powi(k as i32 + 1))
        .collect();
    for k in (1..=last).rev() {
        let kappa = c[k - 1];
        if !kappa.is_finite() || kappa.abs() >= 1.0 {
            return false;
        }
        let denom = 1.0 - kappa * kappa;
        let prev: Vec<f64> = (0..k - 1)
            .map(|j| (c[j] + kappa * c[k - 2 - j]) / denom)
            .collect();
        c = prev;
    }
    true
}

/// Maps unconstrained values to the coefficients of a stationary AR polynomial:
/// each value goes through `tanh` to a partial autocorrelation in (-1, 1), then
/// the Durbin–Levinson recursion builds the AR coefficients (Jones 1980;
/// Monahan 1984).
pub(crate) fn pacf_to_ar(raw: &[f64]) -> Vec<f64> {
    let p = raw.len();
    let mut phi = vec![0.0; p];
    let mut work = vec![0.0; p];
    for k in 0..p {
        let r = raw[k].tanh();
        work[..k].copy_from_slice(&phi[..k]);
        for j in 0..k {
            phi[j] = work[j] - r * work[k - 1 - j];
        }
        phi[k] = r;
    }
    phi
}

/// Inverse of [`pacf_to_ar`]; `None` when the polynomial is not stationary.
pub(crate) fn ar_to_pacf(phi: &[f64]) -> Option<Vec<f64>> {
    let p = phi.len();
    let mut c = phi.to_vec();
    let mut raw = vec![0.0; p];
    for k in (0..p).rev() {
        let r = c[k];
        if !r.is_finite() || r.abs() >= 1.0 {
            return None;
        }
        raw[k] = r.atanh();
        let denom = 1.0 - r * r;
        let prev: Vec<f64> = (0..k).map(|j| (c[j] + r * c[k - 1 - j]) / denom).collect();
        c = prev;
    }
    Some(raw)
}

/// The differencing polynomial `(1-B)^d (1-B^m)^D` as `1 - Σ delta_j B^j`;
/// returns `delta` (length `d + m D`).
pub(crate) fn differencing_poly(d: usize, seasonal_d: usize, m: usize) -> Vec<f64> {
    let mut p = vec![1.0];
    for _ in 0..d {
        p = poly_mul(&p, &[1.0, -1.0]);
    }
    for _ in 0..seasonal_d {
        let mut s = vec![0.0; m + 1];
        s[0] = 1.0;
        s[m] = -1.0;
        p = poly_mul(&p, &s);
    }
    p[1..].iter().map(|c| -c).collect()
}

/// Applies `(1-B)^d (1-B^m)^D` to `y`; the result is `d + m D` shorter.
pub(crate) fn difference(y: &[f64], d: usize, seasonal_d: usize, m: usize) -> Vec<f64> {
    let mut x = y.to_vec();
    for _ in 0..seasonal_d {
        x = if x.len() > m {
            (m..x.len()).map(|t| x[t] - x[t - m]).collect()
        } else {
            Vec::new()
        };
    }
    for _ in 0..d {
        x = if x.len() > 1 {
            x.windows(2).map(|w| w[1] - w[0]).collect()
        } else {
            Vec::new()
        };
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seasonal_expansion_multiplies_factors() {
        // (1 - 0.5B)(1 - 0.3B^4) = 1 - 0.5B - 0.3B^4 + 0.15B^5
        let phi = expand_seasonal(&[0.5], &[0.3], 4, false);
        assert_eq!(phi.len(), 5);
        let want = [0.5, 0.0, 0.0, 0.3, -0.15];
        for (a, b) in phi.iter().zip(want) {
            assert!((a - b).abs() < 1e-15, "{phi:?}");
        }
        // (1 + 0.4B)(1 + 0.6B^2) = 1 + 0.4B + 0.6B^2 + 0.24B^3
        let theta = expand_seasonal(&[0.4], &[0.6], 2, true);
        let want = [0.4, 0.6, 0.24];
        for (a, b) in theta.iter().zip(want) {
            assert!((a - b).abs() < 1e-15, "{theta:?}");
        }
    }

    #[test]
    fn stationarity_check_matches_known_roots() {
        assert!(roots_outside(&[0.5], 1.0));
        assert!(!roots_outside(&[1.0], 1.0));
        assert!(!roots_outside(&[1.2], 1.0));
        // 1 - 1.5z + 0.56z^2 = (1 - 0.7z)(1 - 0.8z): roots 1/0.7, 1/0.8.
        assert!(roots_outside(&[1.5, -0.56], 1.0));
        assert!(roots_outside(&[1.5, -0.56], 1.24));
        assert!(!roots_outside(&[1.5, -0.56], 1.26));
        // (1 - 1.1z)(1 - 0.2z) has a root inside.
        assert!(!roots_outside(&[1.3, -0.22], 1.0));
        assert!(roots_outside(&[], 1.0));
    }

    #[test]
    fn pacf_transform_round_trips_and_stays_stationary() {
        let raw = [0.3, -1.2, 2.5, 0.1];
        let phi = pacf_to_ar(&raw);
        assert!(roots_outside(&phi, 1.0));
        let back = ar_to_pacf(&phi).expect("stationary");
        for (a, b) in raw.iter().zip(&back) {
            assert!((a - b).abs() < 1e-10, "{back:?}");
        }
        assert!(ar_to_pacf(&[1.3, -0.22]).is_none());
    }

    #[test]
    fn differencing_polynomial_and_series_agree() {
        // (1-B)(1-B^3) = 1 - B - B^3 + B^4
        let delta = differencing_poly(1, 1, 3);
        assert_eq!(delta, vec![1.0, 0.0, 1.0, -1.0]);
        let y: Vec<f64> = (0..10).map(|t| (t * t) as f64).collect();
        let w = difference(&y, 1, 1, 3);
        assert_eq!(w.len(), 6);
        for (k, wt) in w.iter().enumerate() {
            let t = k + 4;
            let direct: f64 = y[t]
                - delta
                    .iter()
                    .enumerate()
                    .map(|(j, c)| c * y[t - 1 - j])
                    .sum::<f64>();
            assert!((wt - direct).abs() < 1e-12);
        }
    }
}
