//! Forecast accuracy measures shared by the ensemble's backtests, the report and
//! the evaluation harness, so that every figure the CRM shows is computed one way.
//!
//! Definitions follow the M3/M4 conventions: sMAPE in percent with the
//! `|A| + |F|` denominator (a period where both are zero counts as a perfect
//! forecast), MASE scaled by the in-sample mean absolute seasonal difference.

/// Symmetric mean absolute percentage error in percent:
/// `mean(200·|F−A| / (|A|+|F|))`, with 0 for a period where `A = F = 0`.
///
/// Returns NaN for empty input or mismatched lengths.
pub fn smape(actual: &[f64], forecast: &[f64]) -> f64 {
    if actual.is_empty() || actual.len() != forecast.len() {
        return f64::NAN;
    }
    let sum: f64 = actual
        .iter()
        .zip(forecast)
        .map(|(a, f)| {
            let den = a.abs() + f.abs();
            if den == 0.0 {
                0.0
            } else {
                200.0 * (f - a).abs() / den
            }
        })
        .sum();
    sum / actual.len() as f64
}

/// Mean absolute percentage error in percent, skipping periods whose actual is 0
/// (NaN when every actual is 0: a percentage of nothing is undefined).
pub fn mape(actual: &[f64], forecast: &[f64]) -> f64 {
    if actual.len() != forecast.len() {
        return f64::NAN;
    }
    let (sum, count) = actual
        .iter()
        .zip(forecast)
        .filter(|(a, _)| **a != 0.0)
        .fold((0.0, 0usize), |(s, c), (a, f)| {
            (s + 100.0 * ((f - a) / a).abs(), c + 1)
        });
    if count == 0 {
        f64::NAN
    } else {
        sum / count as f64
    }
}

/// The in-sample scale of MASE: mean absolute seasonal difference at lag `m`
/// (lag 1 when the training series is not longer than `m`). Falls back to the
/// lag-1 scale, then to 1, when the series is constant so the ratio stays finite.
pub fn mase_scale(train: &[f64], m: usize) -> f64 {
    let lag_mean = |lag: usize| -> f64 {
        if lag == 0 || train.len() <= lag {
            return f64::NAN;
        }
        let n = train.len() - lag;
        (lag..train.len())
            .map(|t| (train[t] - train[t - lag]).abs())
            .sum::<f64>()
            / n as f64
    };
    let m = if train.len() <= m { 1 } else { m.max(1) };
    let s = lag_mean(m);
    if s.is_finite() && s > 0.0 {
        return s;
    }
    let s1 = lag_mean(1);
    if s1.is_finite() && s1 > 0.0 { s1 } else { 1.0 }
}

/// Mean absolute scaled error: out-of-sample MAE divided by [`mase_scale`].
pub fn mase(train: &[f64], actual: &[f64], forecast: &[f64], m: usize) -> f64 {
    if actual.is_empty() || actual.len() != forecast.len() {
        return f64::NAN;
    }
    let mae = actual
        .iter()
        .zip(forecast)
        .map(|(a, f)| (a - f).abs())
        .sum::<f64>()
        / actual.len() as f64;
    mae / mase_scale(train, m)
}

/// Share of actuals inside `[lower, upper]` (bounds included), in [0, 1].
pub fn coverage(actual: &[f64], lower: &[f64], upper: &[f64]) -> f64 {
    if actual.is_empty() || actual.len() != lower.len() || actual.len() != upper.len() {
        return f64::NAN;
    }
    let inside = actual
        .iter()
        .zip(lower.iter().zip(upper))
        .filter(|(a, (l, u))| *a >= *l && *a <= *u)
        .count();
    inside as f64 / actual.len() as f64
}

/// Median of the finite values (NaN when there are none).
pub fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let k = v.len();
    if k % 2 == 1 {
        v[k / 2]
    } else {
        0.5 * (v[k / 2 - 1] + v[k / 2])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smape_by_hand() {
        // |110-100|/(210) *200 = 9.5238..., |0-0| -> 0, |50-100|/150*200 = 66.666...
        let s = smape(&[100.0, 0.0, 100.0], &[110.0, 0.0, 50.0]);
        let want = (2000.0 / 210.0 + 0.0 + 10000.0 / 150.0) / 3.0;
        assert!((s - want).abs() < 1e-12, "{s} vs {want}");
        assert!(smape(&[], &[]).is_nan());
        assert!(smape(&[1.0], &[1.0, 2.0]).is_nan());
    }

    #[test]
    fn mase_by_hand() {
        // Seasonal lag 2 diffs of [1,2,4,6,7]: |4-1|,|6-2|,|7-4| = 3,4,3 -> scale 10/3.
        let train = [1.0, 2.0, 4.0, 6.0, 7.0];
        assert!((mase_scale(&train, 2) - 10.0 / 3.0).abs() < 1e-12);
        // MAE of forecasts = (1 + 3)/2 = 2 -> MASE 0.6.
        let v = mase(&train, &[8.0, 9.0], &[9.0, 6.0], 2);
        assert!((v - 0.6).abs() < 1e-12, "{v}");
        // Constant training series: no division by zero.
        assert_eq!(mase_scale(&[5.0; 10], 12), 1.0);
        // Shorter than a season: lag 1.
        assert!((mase_scale(&[1.0, 3.0, 6.0], 12) - 2.5).abs() < 1e-12);
    }

    #[test]
    fn mape_skips_zero_actuals() {
        let v = mape(&[0.0, 100.0], &[5.0, 90.0]);
        assert!((v - 10.0).abs() < 1e-12);
        assert!(mape(&[0.0], &[1.0]).is_nan());
    }

    #[test]
    fn coverage_counts_bounds_inclusive() {
        let c = coverage(
            &[1.0, 2.0, 3.0, 4.0],
            &[0.0, 2.0, 3.5, 0.0],
            &[2.0, 2.0, 4.0, 3.0],
        );
        assert!((c - 0.5).abs() < 1e-12);
    }

    #[test]
    fn median_even_odd() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[f64::NAN]).is_nan());
    }
}
