//! How many differences a series needs: the KPSS test for regular differences
//! and a seasonal-strength heuristic for seasonal ones.

/// 5% critical value of the KPSS level-stationarity test (Kwiatkowski et al.
/// 1992, table 1, the "η_μ" row), the threshold at which a p-value interpolated
/// from that table falls below 0.05.
const KPSS_CRITICAL_5PCT: f64 = 0.463;

/// Seasonal strength above which a seasonal difference is taken (the threshold
/// of Wang, Smith & Hyndman 2006, used by the Hyndman–Khandakar procedure).
const SEASONAL_STRENGTH_THRESHOLD: f64 = 0.64;

/// KPSS statistic for level stationarity with `lags` Newey–West (Bartlett) lags.
///
/// `eta = Σ S_t² / n²` over the partial sums `S_t` of the demeaned series,
/// divided by the long-run variance estimate. Returns NaN for fewer than two
/// observations or a constant series.
pub fn kpss_statistic(x: &[f64], lags: usize) -> f64 {
    let n = x.len();
    if n < 2 {
        return f64::NAN;
    }
    let nf = n as f64;
    let mean = x.iter().sum::<f64>() / nf;
    let e: Vec<f64> = x.iter().map(|v| v - mean).collect();
    let mut s = 0.0;
    let mut eta = 0.0;
    for v in &e {
        s += v;
        eta += s * s;
    }
    eta /= nf * nf;
    let mut lrv: f64 = e.iter().map(|v| v * v).sum();
    for l in 1..=lags.min(n - 1) {
        let w = 1.0 - l as f64 / (lags as f64 + 1.0);
        let c: f64 = e[l..].iter().zip(&e[..n - l]).map(|(a, b)| a * b).sum();
        lrv += 2.0 * w * c;
    }
    lrv /= nf;
    if lrv <= 0.0 { f64::NAN } else { eta / lrv }
}

/// True when every value equals the first.
pub(crate) fn is_constant(x: &[f64]) -> bool {
    x.iter().all(|v| *v == x[0])
}

/// Number of regular differences (0..=max_d) after which the KPSS test no
/// longer rejects level stationarity at 5%. Lags: `floor(3 sqrt(n) / 13)`.
pub(crate) fn ndiffs(x: &[f64], max_d: usize) -> usize {
    let mut x = x.to_vec();
    let mut d = 0;
    while d < max_d {
        if x.len() < 3 || is_constant(&x) {
            break;
        }
        let lags = (3.0 * (x.len() as f64).sqrt() / 13.0).floor() as usize;
        let stat = kpss_statistic(&x, lags);
        if stat.is_nan() || stat <= KPSS_CRITICAL_5PCT {
            break;
        }
        d += 1;
        x = x.windows(2).map(|w| w[1] - w[0]).collect();
    }
    d
}

/// Strength of seasonality in [0, 1]: `1 - Var(R) / Var(S + R)` from an STL
/// decomposition into seasonal `S`, trend and remainder `R` (Wang, Smith &
/// Hyndman 2006), with seasonal window 11 and local-constant seasonal
/// smoothing, as in the Hyndman–Khandakar procedure.
///
/// Returns 0 when there are fewer than two full seasons or no variation.
pub fn seasonal_strength(x: &[f64], m: usize) -> f64 {
    let n = x.len();
    if m < 2 || n < 2 * m {
        return 0.0;
    }
    let (seasonal, trend) = super::stl::stl(x, m, 11);
    let sr: Vec<f64> = x.iter().zip(&trend).map(|(a, t)| a - t).collect();
    let r: Vec<f64> = sr.iter().zip(&seasonal).map(|(a, s)| a - s).collect();
    let var = |v: &[f64]| {
        let mu = v.iter().sum::<f64>() / v.len() as f64;
        v.iter().map(|a| (a - mu).powi(2)).sum::<f64>() / (v.len() as f64 - 1.0)
    };
    let vsr = var(&sr);
    if vsr.is_nan() || vsr <= 0.0 {
        return 0.0;
    }
    (1.0 - var(&r) / vsr).clamp(0.0, 1.0)
}

/// Number of seasonal differences (0 or 1): one when the seasonal strength
/// exceeds 0.64, unless the series is constant or shorter than two seasons.
pub(crate) fn nsdiffs(x: &[f64], m: usize) -> usize {
    if m < 2 || x.len() < 2 * m || is_constant(x) {
        return 0;
    }
    usize::from(seasonal_strength(x, m) > SEASONAL_STRENGTH_THRESHOLD)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kpss_on_constant_is_nan_and_short_is_nan() {
        assert!(kpss_statistic(&[3.0; 10], 2).is_nan());
        assert!(kpss_statistic(&[1.0], 0).is_nan());
    }

    #[test]
    fn kpss_without_lags_is_hand_computable() {
        // x = 1,2,3,4: e = -1.5,-0.5,0.5,1.5; S = -1.5,-2,-1.5,0; ΣS² = 8.5;
        // eta = 8.5/16; σ² = 5/4 → stat = 0.425.
        let s = kpss_statistic(&[1.0, 2.0, 3.0, 4.0], 0);
        assert!((s - 0.425).abs() < 1e-14, "{s}");
    }

    #[test]
    fn random_walk_needs_one_difference_and_trend_stationary_needs_none() {
        // A deterministic pseudo-random walk (LCG) and its increments.
        let mut state = 12345u64;
        let mut noise = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 11) as f64 / (1u64 << 53) as f64) - 0.5
        };
        let steps: Vec<f64> = (0..200).map(|_| noise()).collect();
        let walk: Vec<f64> = steps
            .iter()
            .scan(0.0, |s, v| {
                *s += v;
                Some(*s)
            })
            .collect();
        assert_eq!(ndiffs(&walk, 2), 1);
        assert_eq!(ndiffs(&steps, 2), 0);
    }

    #[test]
    fn seasonal_strength_separates_seasonal_from_noise() {
        let seasonal: Vec<f64> = (0..72)
            .map(|t| {
                10.0 * (2.0 * std::f64::consts::PI * t as f64 / 12.0).sin()
                    + 0.1 * t as f64
                    + ((t * 7) % 5) as f64 * 0.2
            })
            .collect();
        assert!(seasonal_strength(&seasonal, 12) > 0.9);
        assert_eq!(nsdiffs(&seasonal, 12), 1);
        let noise: Vec<f64> = (0..72).map(|t| ((t * 37 + 11) % 17) as f64).collect();
        assert!(seasonal_strength(&noise, 12) < 0.64);
        assert_eq!(nsdiffs(&noise, 12), 0);
        assert_eq!(nsdiffs(&seasonal[..20], 12), 0);
    }
}
