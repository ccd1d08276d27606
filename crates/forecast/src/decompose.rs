//! Classical seasonal decomposition and the seasonality test used before it.
//!
//! Theta and the ETS initial states both need a seasonal index estimated the
//! classical way (centred moving average, then per-position averages), and the
//! 90% autocorrelation test of the M3 Theta method decides whether a series is
//! seasonal at all. Both live here so the two models agree on what "seasonal" is.

use crate::quantile_normal;

/// Whether the seasonal component is added to or multiplied with the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeasonalKind {
    /// `y = trend + season + remainder`.
    Additive,
    /// `y = trend · season · remainder` (needs strictly positive data).
    Multiplicative,
}

/// Sample autocorrelations at lags `1..=max_lag` (biased estimator, denominator
/// `n`, as in the Box–Jenkins convention). Zero for a constant series.
pub fn acf(y: &[f64], max_lag: usize) -> Vec<f64> {
    let n = y.len();
    let mean = y.iter().sum::<f64>() / n.max(1) as f64;
    let c0: f64 = y.iter().map(|v| (v - mean).powi(2)).sum();
    (1..=max_lag)
        .map(|k| {
            if k >= n || c0 <= 0.0 {
                return 0.0;
            }
            let ck: f64 = (k..n).map(|t| (y[t] - mean) * (y[t - k] - mean)).sum();
            ck / c0
        })
        .collect()
}

/// The M3 Theta seasonality test: the lag-`m` autocorrelation is significant at
/// 90% (one-sided 95% quantile) against Bartlett's standard error. Needs
/// `m >= 4` and at least two full seasons; false otherwise.
pub fn is_seasonal(y: &[f64], m: usize) -> bool {
    if m < 4 || y.len() < 2 * m {
        return false;
    }
    let r = acf(y, m);
    let s: f64 = r[..m - 1].iter().map(|v| v * v).sum();
    let se = ((1.0 + 2.0 * s) / y.len() as f64).sqrt();
    se > 0.0 && r[m - 1].abs() / se > quantile_normal(0.95)
}

/// Centred moving average of order `m` (a 2×m average for even `m`); NaN where
/// the window does not fit.
pub fn centred_moving_average(y: &[f64], m: usize) -> Vec<f64> {
    let n = y.len();
    let mut out = vec![f64::NAN; n];
    if m == 0 || n < m + (m + 1) % 2 {
        return out;
    }
    let half = m / 2;
    let weights: Vec<f64> = if m.is_multiple_of(2) {
        let mut w = vec![1.0 / m as f64; m + 1];
        w[0] = 0.5 / m as f64;
        w[m] = 0.5 / m as f64;
        w
    } else {
        vec![1.0 / m as f64; m]
    };
    for (t, slot) in out.iter_mut().enumerate().take(n - half).skip(half) {
        *slot = weights
            .iter()
            .enumerate()
            .map(|(j, w)| w * y[t + j - half])
            .sum();
    }
    out
}

/// Seasonal indices of a classical decomposition, one per position `0..m`
/// counted from the first observation (multiplicative indices average 1,
/// additive ones 0). `None` when the series is shorter than two seasons or the
/// moving average has a zero (multiplicative case).
pub fn seasonal_indices(y: &[f64], m: usize, kind: SeasonalKind) -> Option<Vec<f64>> {
    if m < 2 || y.len() < 2 * m {
        return None;
    }
    let trend = centred_moving_average(y, m);
    let mut sums = vec![0.0; m];
    let mut counts = vec![0usize; m];
    for (t, (&v, &tr)) in y.iter().zip(&trend).enumerate() {
        if !tr.is_finite() {
            continue;
        }
        let d = match kind {
            SeasonalKind::Additive => v - tr,
            SeasonalKind::Multiplicative => {
                if tr == 0.0 {
                    return None;
                }
                v / tr
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
        SeasonalKind::Multiplicative => {
            if mean <= 0.0 || !mean.is_finite() {
                return None;
            }
            idx.iter_mut().for_each(|v| *v /= mean)
        }
    }
    idx.iter().all(|v| v.is_finite()).then_some(idx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acf_of_alternating_series() {
        let y: Vec<f64> = (0..20)
            .map(|t| if t % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        let r = acf(&y, 2);
        // Biased estimator: r1 = -(n-1)/n, r2 = (n-2)/n.
        assert!((r[0] + 19.0 / 20.0).abs() < 1e-12);
        assert!((r[1] - 18.0 / 20.0).abs() < 1e-12);
        assert_eq!(acf(&[3.0; 5], 2), vec![0.0, 0.0]);
    }

    #[test]
    fn recovers_known_multiplicative_indices() {
        let pattern = [0.8, 0.9, 1.0, 1.1, 1.2, 1.0];
        let y: Vec<f64> = (0..36)
            .map(|t| (100.0 + t as f64) * pattern[t % 6])
            .collect();
        let idx = seasonal_indices(&y, 6, SeasonalKind::Multiplicative).unwrap();
        for (a, b) in idx.iter().zip(pattern) {
            assert!((a - b).abs() < 0.01, "{idx:?}");
        }
        assert!(is_seasonal(&y, 6));
    }

    #[test]
    fn trend_only_series_is_not_seasonal() {
        let y: Vec<f64> = (0..48)
            .map(|t| 10.0 + 0.5 * t as f64 + ((t * 7919) % 13) as f64 * 0.01)
            .collect();
        assert!(!is_seasonal(&y, 12));
        assert!(
            !is_seasonal(&y[..20], 12),
            "fewer than two seasons is never seasonal"
        );
    }
}
