//! STL: seasonal-trend decomposition by loess (Cleveland, Cleveland, McRae &
//! Terpenning 1990), the non-robust inner loop only. Used to measure seasonal
//! strength for the seasonal-differencing decision, with the settings the
//! Hyndman–Khandakar procedure uses (seasonal window 11, local-constant
//! seasonal smoothing).

/// Loess estimate at position `xs` (1-based, may lie outside 1..=n) from the
/// points `nleft..=nright` (1-based) with tricube weights over half-width `h`
/// and local degree 0 or 1. `None` when every weight vanishes.
#[allow(clippy::too_many_arguments)]
fn loess_at(
    y: &[f64],
    len: usize,
    degree: usize,
    xs: f64,
    nleft: usize,
    nright: usize,
    w: &mut [f64],
) -> Option<f64> {
    let n = y.len();
    let range = n as f64 - 1.0;
    let mut h = (xs - nleft as f64).max(nright as f64 - xs);
    if len > n {
        h += ((len - n) / 2) as f64;
    }
    let h9 = 0.999 * h;
    let h1 = 0.001 * h;
    let mut a = 0.0;
    for j in nleft..=nright {
        let r = (j as f64 - xs).abs();
        let wj = if r <= h9 {
            if r <= h1 {
                1.0
            } else {
                (1.0 - (r / h).powi(3)).powi(3)
            }
        } else {
            0.0
        };
        w[j - 1] = wj;
        a += wj;
    }
    if a <= 0.0 {
        return None;
    }
    for j in nleft..=nright {
        w[j - 1] /= a;
    }
    if degree > 0 && h > 0.0 {
        let a: f64 = (nleft..=nright).map(|j| w[j - 1] * j as f64).sum();
        let mut b = xs - a;
        let c: f64 = (nleft..=nright)
            .map(|j| w[j - 1] * (j as f64 - a).powi(2))
            .sum();
        if c.sqrt() > 0.001 * range {
            b /= c;
            for j in nleft..=nright {
                w[j - 1] *= b * (j as f64 - a) + 1.0;
            }
        }
    }
    Some((nleft..=nright).map(|j| w[j - 1] * y[j - 1]).sum())
}

/// Loess smoothing of a whole series with window `len` (every point evaluated).
fn loess(y: &[f64], len: usize, degree: usize) -> Vec<f64> {
    let n = y.len();
    let mut w = vec![0.0; n];
    let mut out = vec![0.0; n];
    if n < 2 {
        return y.to_vec();
    }
    let half = len.div_ceil(2);
    for i in 1..=n {
        let (nleft, nright) = if len >= n {
            (1, n)
        } else if i < half {
            (1, len)
        } else if i > n - half {
            (n - len + 1, n)
        } else {
            (i - half + 1, len + i - half)
        };
        out[i - 1] = loess_at(y, len, degree, i as f64, nleft, nright, &mut w).unwrap_or(y[i - 1]);
    }
    out
}

/// Moving average of length `len`; the output is `len - 1` shorter.
fn moving_average(x: &[f64], len: usize) -> Vec<f64> {
    if x.len() < len {
        return Vec::new();
    }
    x.windows(len)
        .map(|w| w.iter().sum::<f64>() / len as f64)
        .collect()
}

/// Smallest odd integer not below `v`.
fn odd_at_least(v: f64) -> usize {
    let k = v.ceil() as usize;
    if k.is_multiple_of(2) { k + 1 } else { k }
}

/// Decomposes `y` into (seasonal, trend) with season length `m >= 2` and
/// seasonal window `ns`; the remainder is `y - seasonal - trend`. Requires
/// `y.len() >= 2 m`.
pub(crate) fn stl(y: &[f64], m: usize, ns: usize) -> (Vec<f64>, Vec<f64>) {
    let n = y.len();
    // Trend window: smallest odd integer above 1.5 m / (1 - 1.5 / ns); low-pass
    // window: smallest odd integer above m (Cleveland et al.'s defaults).
    let nt = odd_at_least(1.5 * m as f64 / (1.0 - 1.5 / ns as f64) + 1e-9);
    let nl = odd_at_least(m as f64 + 1e-9);
    let mut trend = vec![0.0; n];
    let mut seasonal = vec![0.0; n];
    for _ in 0..5 {
        let detrended: Vec<f64> = y.iter().zip(&trend).map(|(a, b)| a - b).collect();
        // Cycle-subseries smoothing, extended one period at each end.
        let mut cycle = vec![0.0; n + 2 * m];
        for j in 0..m {
            let sub: Vec<f64> = detrended.iter().skip(j).step_by(m).copied().collect();
            let k = sub.len();
            let smooth = loess(&sub, ns, 0);
            let mut wk = vec![0.0; k];
            let before = loess_at(&sub, ns, 0, 0.0, 1, ns.min(k), &mut wk).unwrap_or(smooth[0]);
            let after = loess_at(
                &sub,
                ns,
                0,
                k as f64 + 1.0,
                k.saturating_sub(ns) + 1,
                k,
                &mut wk,
            )
            .unwrap_or(smooth[k - 1]);
            cycle[j] = before;
            for (i, v) in smooth.iter().enumerate() {
                cycle[j + (i + 1) * m] = *v;
            }
            cycle[j + (k + 1) * m] = after;
        }
        // Low-pass filter of the cycle-subseries: MA(m), MA(m), MA(3), loess.
        let low = moving_average(&moving_average(&moving_average(&cycle, m), m), 3);
        let low = loess(&low, nl, 1);
        for i in 0..n {
            seasonal[i] = cycle[m + i] - low[i];
        }
        let deseasonal: Vec<f64> = y.iter().zip(&seasonal).map(|(a, b)| a - b).collect();
        trend = loess(&deseasonal, nt, 1);
    }
    (seasonal, trend)
}
