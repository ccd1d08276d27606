//! Derivative-free and quasi-Newton minimisers shared by the models.
//!
//! Two unconstrained minimisers:
//!
//! * [`nelder_mead`]: the downhill simplex. Needs only function values, copes with
//!   kinks and noisy objectives, and is the safe choice for a handful of
//!   parameters (smoothing weights, ARMA coefficients).
//! * [`lbfgs`]: limited-memory BFGS with a strong-Wolfe line search. Needs a
//!   gradient (analytic, or [`numeric_gradient`]) and converges far faster on
//!   smooth objectives with more parameters (Prophet-style MAP fits, exact ARIMA
//!   likelihoods).
//!
//! **Bounds are the caller's job.** Neither minimiser knows about constraints:
//! map a bounded parameter to an unbounded one before optimising (e.g.
//! `alpha = 1 / (1 + exp(-u))` for `alpha ∈ (0, 1)`, `sigma = exp(u)` for
//! `sigma > 0`) or return a large finite penalty (or `f64::INFINITY`) outside the
//! feasible region. Both minimisers treat a non-finite objective value as "worse
//! than anything finite": Nelder–Mead shrinks away from it and L-BFGS backtracks.
//!
//! ```
//! use neuracrm_forecast::optim::{nelder_mead, NelderMeadOptions};
//! let m = nelder_mead(|x| (x[0] - 3.0).powi(2) + (x[1] + 1.0).powi(2), &[0.0, 0.0],
//!                     &NelderMeadOptions::default());
//! assert!(m.converged);
//! assert!((m.x[0] - 3.0).abs() < 1e-4 && (m.x[1] + 1.0).abs() < 1e-4);
//! ```

/// The result of a minimisation.
#[derive(Debug, Clone, PartialEq)]
pub struct Minimum {
    /// Best point found.
    pub x: Vec<f64>,
    /// Objective value at `x`.
    pub f: f64,
    /// Iterations used (simplex steps, or quasi-Newton steps).
    pub iterations: usize,
    /// Number of objective evaluations (for L-BFGS: calls of the value+gradient closure).
    pub evaluations: usize,
    /// True when a convergence tolerance was met, false when the iteration budget
    /// ran out or the search stalled. `x` is the best point seen either way.
    pub converged: bool,
}

/// Options for [`nelder_mead`].
#[derive(Debug, Clone, PartialEq)]
pub struct NelderMeadOptions {
    /// Maximum number of simplex iterations.
    pub max_iterations: usize,
    /// Stop when the spread of objective values over the simplex,
    /// `f_worst - f_best`, is at most `f_tol * (|f_best| + f_tol)`.
    pub f_tol: f64,
    /// Alternatively stop when every vertex is within `x_tol` (max-norm) of the best.
    pub x_tol: f64,
    /// Size of the initial simplex: vertex `i` is `x0 + step_i * e_i` with
    /// `step_i = initial_step * max(|x0_i|, 1)`, so parameters of very different
    /// magnitude each move by a comparable relative amount.
    pub initial_step: f64,
    /// Use dimension-adaptive coefficients (Gao & Han 2012), which behave better
    /// than the textbook ones beyond about 5 parameters.
    pub adaptive: bool,
}

impl Default for NelderMeadOptions {
    fn default() -> Self {
        Self {
            max_iterations: 2000,
            f_tol: 1e-10,
            x_tol: 1e-10,
            initial_step: 0.1,
            adaptive: true,
        }
    }
}

/// Replaces NaN by +inf so that comparisons order every value sensibly.
fn sanitize(v: f64) -> f64 {
    if v.is_nan() { f64::INFINITY } else { v }
}

/// Minimises `f` from `x0` with the Nelder–Mead downhill simplex.
///
/// Non-finite objective values count as +infinity. With an empty `x0` the
/// function is evaluated once and returned as converged.
pub fn nelder_mead(
    mut f: impl FnMut(&[f64]) -> f64,
    x0: &[f64],
    opts: &NelderMeadOptions,
) -> Minimum {
    let n = x0.len();
    let mut evaluations = 0usize;
    let mut eval = |x: &[f64], evals: &mut usize| {
        *evals += 1;
        sanitize(f(x))
    };
    if n == 0 {
        let fx = eval(x0, &mut evaluations);
        return Minimum {
            x: Vec::new(),
            f: fx,
            iterations: 0,
            evaluations,
            converged: true,
        };
    }
    let nf = n as f64;
    let (alpha, gamma, rho, sigma) = if opts.adaptive && n > 1 {
        (1.0, 1.0 + 2.0 / nf, 0.75 - 1.0 / (2.0 * nf), 1.0 - 1.0 / nf)
    } else {
        (1.0, 2.0, 0.5, 0.5)
    };

    let mut simplex: Vec<Vec<f64>> = Vec::with_capacity(n + 1);
    simplex.push(x0.to_vec());
    for i in 0..n {
        let mut v = x0.to_vec();
        let step = opts.initial_step * x0[i].abs().max(1.0);
        v[i] += if step != 0.0 { step } else { 0.1 };
        simplex.push(v);
    }
    let mut fv: Vec<f64> = simplex.iter().map(|v| eval(v, &mut evaluations)).collect();

    let mut order: Vec<usize> = (0..=n).collect();
    let mut centroid = vec![0.0; n];
    let mut xr = vec![0.0; n];
    let mut xe = vec![0.0; n];
    let mut xc = vec![0.0; n];
    let mut iterations = 0;
    let mut converged = false;

    while iterations < opts.max_iterations {
        order.sort_by(|&a, &b| fv[a].total_cmp(&fv[b]));
        let best = order[0];
        let worst = order[n];
        let second_worst = order[n - 1];

        // Convergence: function spread, or simplex size.
        let fb = fv[best];
        let fw = fv[worst];
        let f_spread_ok = fb.is_finite() && fw - fb <= opts.f_tol * (fb.abs() + opts.f_tol);
        let x_size = simplex
            .iter()
            .flat_map(|v| v.iter().zip(&simplex[best]).map(|(a, b)| (a - b).abs()))
            .fold(0.0, f64::max);
        if f_spread_ok || x_size <= opts.x_tol {
            converged = true;
            break;
        }
        iterations += 1;

        centroid.iter_mut().for_each(|c| *c = 0.0);
        for &i in &order[..n] {
            for (c, v) in centroid.iter_mut().zip(&simplex[i]) {
                *c += v / nf;
            }
        }
        for j in 0..n {
            xr[j] = centroid[j] + alpha * (centroid[j] - simplex[worst][j]);
        }
        let fr = eval(&xr, &mut evaluations);
        if fr < fv[best] {
            for j in 0..n {
                xe[j] = centroid[j] + gamma * (xr[j] - centroid[j]);
            }
            let fe = eval(&xe, &mut evaluations);
            if fe < fr {
                simplex[worst].copy_from_slice(&xe);
                fv[worst] = fe;
            } else {
                simplex[worst].copy_from_slice(&xr);
                fv[worst] = fr;
            }
            continue;
        }
        if fr < fv[second_worst] {
            simplex[worst].copy_from_slice(&xr);
            fv[worst] = fr;
            continue;
        }
        // Contraction: outside if the reflection improved on the worst, else inside.
        let outside = fr < fv[worst];
        for j in 0..n {
            xc[j] = if outside {
                centroid[j] + rho * (xr[j] - centroid[j])
            } else {
                centroid[j] + rho * (simplex[worst][j] - centroid[j])
            };
        }
        let fc = eval(&xc, &mut evaluations);
        let accept = if outside { fc <= fr } else { fc < fv[worst] };
        if accept {
            simplex[worst].copy_from_slice(&xc);
            fv[worst] = fc;
            continue;
        }
        // Shrink every vertex towards the best one.
        let xb = simplex[best].clone();
        for &i in &order[1..] {
            for (v, b) in simplex[i].iter_mut().zip(&xb) {
                *v = b + sigma * (*v - b);
            }
            fv[i] = eval(&simplex[i], &mut evaluations);
        }
    }
    let best = (0..=n)
        .min_by(|&a, &b| fv[a].total_cmp(&fv[b]))
        .unwrap_or(0);
    Minimum {
        x: simplex[best].clone(),
        f: fv[best],
        iterations,
        evaluations,
        converged,
    }
}

/// Options for [`lbfgs`].
#[derive(Debug, Clone, PartialEq)]
pub struct LbfgsOptions {
    /// Maximum number of quasi-Newton iterations.
    pub max_iterations: usize,
    /// Number of correction pairs kept (the "memory").
    pub memory: usize,
    /// Stop when the max-norm of the gradient is at most `g_tol * max(1, |f|)`.
    pub g_tol: f64,
    /// Stop when an iteration lowers `f` by at most `f_tol * max(1, |f|)`.
    pub f_tol: f64,
    /// Maximum objective evaluations per line search.
    pub max_line_search: usize,
}

impl Default for LbfgsOptions {
    fn default() -> Self {
        Self {
            max_iterations: 500,
            memory: 8,
            g_tol: 1e-8,
            f_tol: 1e-12,
            max_line_search: 30,
        }
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn max_abs(a: &[f64]) -> f64 {
    a.iter().fold(0.0, |m, v| m.max(v.abs()))
}

/// Minimises a smooth function with L-BFGS.
///
/// `fg(x, grad)` returns `f(x)` and writes the gradient into `grad` (same length
/// as `x`). A non-finite value makes the line search backtrack; if the starting
/// point itself is non-finite the start is returned with `converged = false`.
/// The line search enforces the strong Wolfe conditions (c1 = 1e-4, c2 = 0.9),
/// which keeps the BFGS update positive definite.
pub fn lbfgs(
    mut fg: impl FnMut(&[f64], &mut [f64]) -> f64,
    x0: &[f64],
    opts: &LbfgsOptions,
) -> Minimum {
    let n = x0.len();
    let mut evaluations = 1usize;
    let mut x = x0.to_vec();
    let mut g = vec![0.0; n];
    let mut fx = sanitize(fg(&x, &mut g));
    let bad_grad = g.iter().any(|v| !v.is_finite());
    if n == 0 || !fx.is_finite() || bad_grad {
        return Minimum {
            x,
            f: fx,
            iterations: 0,
            evaluations,
            converged: n == 0 && fx.is_finite(),
        };
    }
    let m = opts.memory.max(1);
    let mut s_hist: Vec<Vec<f64>> = Vec::with_capacity(m);
    let mut y_hist: Vec<Vec<f64>> = Vec::with_capacity(m);
    let mut rho_hist: Vec<f64> = Vec::with_capacity(m);
    let mut alpha_buf = vec![0.0; m];
    let mut d = vec![0.0; n];
    let mut x_new = vec![0.0; n];
    let mut g_new = vec![0.0; n];
    let mut iterations = 0;
    let mut converged = false;

    while iterations < opts.max_iterations {
        if max_abs(&g) <= opts.g_tol * fx.abs().max(1.0) {
            converged = true;
            break;
        }
        iterations += 1;

        // Two-loop recursion: d = -H g.
        d.copy_from_slice(&g);
        let k = s_hist.len();
        for i in (0..k).rev() {
            let a = rho_hist[i] * dot(&s_hist[i], &d);
            alpha_buf[i] = a;
            for (dj, yj) in d.iter_mut().zip(&y_hist[i]) {
                *dj -= a * yj;
            }
        }
        if k > 0 {
            let gamma = dot(&s_hist[k - 1], &y_hist[k - 1]) / dot(&y_hist[k - 1], &y_hist[k - 1]);
            d.iter_mut().for_each(|v| *v *= gamma);
        }
        for i in 0..k {
            let b = rho_hist[i] * dot(&y_hist[i], &d);
            for (dj, sj) in d.iter_mut().zip(&s_hist[i]) {
                *dj += sj * (alpha_buf[i] - b);
            }
        }
        d.iter_mut().for_each(|v| *v = -*v);
        let mut dg0 = dot(&d, &g);
        if dg0 >= 0.0 || !dg0.is_finite() {
            // Not a descent direction (can happen after numerical noise): restart.
            s_hist.clear();
            y_hist.clear();
            rho_hist.clear();
            for (dj, gj) in d.iter_mut().zip(&g) {
                *dj = -gj;
            }
            dg0 = dot(&d, &g);
        }
        // First step: scale so that the move is modest; afterwards unit steps.
        let step0 = if k == 0 {
            (1.0 / max_abs(&g)).min(1.0)
        } else {
            1.0
        };

        let ls = wolfe_line_search(
            &mut fg,
            &x,
            fx,
            dg0,
            &d,
            step0,
            opts.max_line_search,
            &mut x_new,
            &mut g_new,
            &mut evaluations,
        );
        let Some(f_new) = ls else {
            // No acceptable step: x is (numerically) as good as it gets.
            converged = max_abs(&g) <= opts.g_tol.sqrt() * fx.abs().max(1.0);
            break;
        };
        let s: Vec<f64> = x_new.iter().zip(&x).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = g_new.iter().zip(&g).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &y);
        let decrease = fx - f_new;
        x.copy_from_slice(&x_new);
        g.copy_from_slice(&g_new);
        fx = f_new;
        if sy > 1e-12 * dot(&y, &y).sqrt() * dot(&s, &s).sqrt() {
            if s_hist.len() == m {
                s_hist.remove(0);
                y_hist.remove(0);
                rho_hist.remove(0);
            }
            s_hist.push(s);
            y_hist.push(y);
            rho_hist.push(1.0 / sy);
        }
        if decrease <= opts.f_tol * fx.abs().max(1.0) {
            converged = true;
            break;
        }
    }
    Minimum {
        x,
        f: fx,
        iterations,
        evaluations,
        converged,
    }
}

/// Strong-Wolfe line search (Nocedal & Wright, algorithms 3.5/3.6) with cubic
/// interpolation, falling back to bisection. Writes the accepted point and its
/// gradient into `x_out`/`g_out` and returns its value, or `None` when no step
/// giving sufficient decrease was found.
#[allow(clippy::too_many_arguments)]
fn wolfe_line_search(
    fg: &mut impl FnMut(&[f64], &mut [f64]) -> f64,
    x: &[f64],
    f0: f64,
    dg0: f64,
    d: &[f64],
    step0: f64,
    max_evals: usize,
    x_out: &mut [f64],
    g_out: &mut [f64],
    evaluations: &mut usize,
) -> Option<f64> {
    const C1: f64 = 1e-4;
    const C2: f64 = 0.9;
    let mut eval = |a: f64, x_out: &mut [f64], g_out: &mut [f64], evals: &mut usize| {
        for ((xo, xi), di) in x_out.iter_mut().zip(x).zip(d) {
            *xo = xi + a * di;
        }
        *evals += 1;
        let f = sanitize(fg(x_out, g_out));
        let dg = if f.is_finite() && g_out.iter().all(|v| v.is_finite()) {
            dot(g_out, d)
        } else {
            f64::NAN
        };
        (if dg.is_nan() { f64::INFINITY } else { f }, dg)
    };

    // Best sufficient-decrease point seen, in case the curvature condition never holds.
    let mut best: Option<(f64, f64)> = None; // (step, f)
    let mut a_prev = 0.0;
    let mut f_prev = f0;
    let mut dg_prev = dg0;
    let mut a = step0;
    let mut used = 0;
    let mut bracket: Option<(f64, f64, f64, f64, f64, f64)> = None; // lo, f_lo, dg_lo, hi, f_hi, dg_hi

    while used < max_evals {
        used += 1;
        let (fa, dga) = eval(a, x_out, g_out, evaluations);
        if !fa.is_finite() {
            // Step into an infeasible region: backtrack hard.
            bracket = Some((a_prev, f_prev, dg_prev, a, fa, f64::NAN));
            break;
        }
        if fa > f0 + C1 * a * dg0 || (used > 1 && fa >= f_prev) {
            bracket = Some((a_prev, f_prev, dg_prev, a, fa, dga));
            break;
        }
        if best.is_none_or(|(_, fb)| fa < fb) {
            best = Some((a, fa));
        }
        if dga.abs() <= -C2 * dg0 {
            return Some(fa);
        }
        if dga >= 0.0 {
            bracket = Some((a, fa, dga, a_prev, f_prev, dg_prev));
            break;
        }
        a_prev = a;
        f_prev = fa;
        dg_prev = dga;
        a *= 2.0;
    }

    if let Some((mut lo, mut f_lo, mut dg_lo, mut hi, mut f_hi, mut dg_hi)) = bracket {
        while used < max_evals {
            used += 1;
            let width = (hi - lo).abs();
            if width < 1e-16 * lo.abs().max(hi.abs()).max(1e-300) {
                break;
            }
            let mut trial = cubic_min(lo, f_lo, dg_lo, hi, f_hi, dg_hi);
            let (a_min, a_max) = if lo < hi { (lo, hi) } else { (hi, lo) };
            let margin = 0.1 * (a_max - a_min);
            if !trial.is_finite() || trial < a_min + margin || trial > a_max - margin {
                trial = 0.5 * (lo + hi);
            }
            let (ft, dgt) = eval(trial, x_out, g_out, evaluations);
            if !ft.is_finite() || ft > f0 + C1 * trial * dg0 || ft >= f_lo {
                hi = trial;
                f_hi = ft;
                dg_hi = dgt;
            } else {
                if best.is_none_or(|(_, fb)| ft < fb) {
                    best = Some((trial, ft));
                }
                if dgt.abs() <= -C2 * dg0 {
                    return Some(ft);
                }
                if dgt * (hi - lo) >= 0.0 {
                    hi = lo;
                    f_hi = f_lo;
                    dg_hi = dg_lo;
                }
                lo = trial;
                f_lo = ft;
                dg_lo = dgt;
            }
        }
    }
    // Accept the best sufficient-decrease point even without the curvature condition.
    let (a_best, _) = best?;
    let (fb, _) = eval(a_best, x_out, g_out, evaluations);
    fb.is_finite().then_some(fb)
}

/// Minimiser of the cubic interpolating two points with values and slopes;
/// NaN when the cubic has no interior minimum.
fn cubic_min(a: f64, fa: f64, ga: f64, b: f64, fb: f64, gb: f64) -> f64 {
    if !(fa.is_finite() && fb.is_finite() && ga.is_finite() && gb.is_finite()) {
        return f64::NAN;
    }
    let d1 = ga + gb - 3.0 * (fa - fb) / (a - b);
    let disc = d1 * d1 - ga * gb;
    if disc < 0.0 {
        return f64::NAN;
    }
    let d2 = (b - a).signum() * disc.sqrt();
    b - (b - a) * (gb + d2 - d1) / (gb - ga + 2.0 * d2)
}

/// Central-difference gradient of `f` at `x`, written into `grad`.
///
/// Step for coordinate `i` is `h_i = rel_step * max(|x_i|, 1)`; `rel_step` around
/// `1e-6` (≈ cbrt of machine epsilon) balances truncation and rounding error for
/// objectives computed to full precision. Costs `2 * x.len()` evaluations. A
/// non-finite value on either side falls back to the one-sided difference, and to
/// 0 when both sides are non-finite, so the optimiser sees a finite gradient.
/// Returns `f(x)`.
pub fn numeric_gradient(
    mut f: impl FnMut(&[f64]) -> f64,
    x: &[f64],
    rel_step: f64,
    grad: &mut [f64],
) -> f64 {
    let f0 = f(x);
    let mut xt = x.to_vec();
    for i in 0..x.len() {
        let h = rel_step * x[i].abs().max(1.0);
        xt[i] = x[i] + h;
        let fp = f(&xt);
        xt[i] = x[i] - h;
        let fm = f(&xt);
        xt[i] = x[i];
        grad[i] = match (fp.is_finite(), fm.is_finite()) {
            (true, true) => (fp - fm) / (2.0 * h),
            (true, false) if f0.is_finite() => (fp - f0) / h,
            (false, true) if f0.is_finite() => (f0 - fm) / h,
            _ => 0.0,
        };
    }
    f0
}

/// Forward-difference gradient of `f` at `x`, written into `grad`; returns `f(x)`.
///
/// Half the cost of [`numeric_gradient`] (`x.len() + 1` evaluations) for an
/// `O(h)` rather than `O(h²)` error: use it inside searches where speed matters
/// more than the last digits of the optimum (`rel_step` around `1e-7`, ≈ sqrt of
/// machine epsilon). Falls back to the backward difference where `f(x + h)` is
/// not finite.
pub fn numeric_gradient_forward(
    mut f: impl FnMut(&[f64]) -> f64,
    x: &[f64],
    rel_step: f64,
    grad: &mut [f64],
) -> f64 {
    let f0 = f(x);
    let mut xt = x.to_vec();
    for i in 0..x.len() {
        let h = rel_step * x[i].abs().max(1.0);
        xt[i] = x[i] + h;
        let fp = f(&xt);
        grad[i] = if fp.is_finite() {
            (fp - f0) / h
        } else {
            xt[i] = x[i] - h;
            let fm = f(&xt);
            if fm.is_finite() { (f0 - fm) / h } else { 0.0 }
        };
        xt[i] = x[i];
    }
    f0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rosenbrock(x: &[f64]) -> f64 {
        x.windows(2)
            .map(|w| 100.0 * (w[1] - w[0] * w[0]).powi(2) + (1.0 - w[0]).powi(2))
            .sum()
    }

    fn rosenbrock_grad(x: &[f64], g: &mut [f64]) -> f64 {
        g.iter_mut().for_each(|v| *v = 0.0);
        for i in 0..x.len() - 1 {
            let t = x[i + 1] - x[i] * x[i];
            g[i] += -400.0 * x[i] * t - 2.0 * (1.0 - x[i]);
            g[i + 1] += 200.0 * t;
        }
        rosenbrock(x)
    }

    #[test]
    fn nelder_mead_solves_rosenbrock_2d() {
        let m = nelder_mead(rosenbrock, &[-1.2, 1.0], &NelderMeadOptions::default());
        assert!(m.converged, "{m:?}");
        assert!(
            (m.x[0] - 1.0).abs() < 1e-4 && (m.x[1] - 1.0).abs() < 1e-4,
            "{m:?}"
        );
        assert!(m.f < 1e-8);
    }

    #[test]
    fn nelder_mead_solves_scaled_quadratic_4d() {
        // Minimum at (1, -2, 300, 0.01) with very different curvatures.
        let target = [1.0, -2.0, 300.0, 0.01];
        let w = [1.0, 10.0, 0.01, 100.0];
        let f = |x: &[f64]| -> f64 {
            x.iter()
                .zip(&target)
                .zip(&w)
                .map(|((a, t), w)| w * (a - t).powi(2))
                .sum()
        };
        let opts = NelderMeadOptions {
            max_iterations: 20_000,
            ..Default::default()
        };
        let m = nelder_mead(f, &[0.0, 0.0, 250.0, 0.0], &opts);
        assert!(m.converged, "{m:?}");
        for (a, t) in m.x.iter().zip(&target) {
            assert!((a - t).abs() < 1e-3 * t.abs().max(1.0), "{m:?}");
        }
    }

    #[test]
    fn nelder_mead_avoids_infeasible_region() {
        // Infinite outside x > 0: the minimiser of x - ln x is x = 1.
        let f = |x: &[f64]| {
            if x[0] <= 0.0 {
                f64::NAN
            } else {
                x[0] - x[0].ln()
            }
        };
        let m = nelder_mead(f, &[0.05], &NelderMeadOptions::default());
        assert!((m.x[0] - 1.0).abs() < 1e-4, "{m:?}");
    }

    #[test]
    fn nelder_mead_respects_iteration_budget() {
        let opts = NelderMeadOptions {
            max_iterations: 5,
            ..Default::default()
        };
        let m = nelder_mead(rosenbrock, &[-1.2, 1.0], &opts);
        assert!(!m.converged);
        assert_eq!(m.iterations, 5);
        assert!(m.f < rosenbrock(&[-1.2, 1.0]));
    }

    #[test]
    fn lbfgs_solves_rosenbrock_10d_with_analytic_gradient() {
        let x0: Vec<f64> = (0..10)
            .map(|i| if i % 2 == 0 { -1.2 } else { 1.0 })
            .collect();
        let m = lbfgs(rosenbrock_grad, &x0, &LbfgsOptions::default());
        assert!(m.converged, "{m:?}");
        for v in &m.x {
            assert!((v - 1.0).abs() < 1e-5, "{m:?}");
        }
        assert!(m.iterations < 200, "{m:?}");
    }

    #[test]
    fn lbfgs_solves_ill_conditioned_quadratic() {
        // f = sum_i c_i (x_i - i)^2 with condition number 1e4.
        let n = 6;
        let c: Vec<f64> = (0..n).map(|i| 10f64.powf(i as f64 * 0.8)).collect();
        let fg = |x: &[f64], g: &mut [f64]| {
            let mut f = 0.0;
            for i in 0..n {
                let d = x[i] - i as f64;
                f += c[i] * d * d;
                g[i] = 2.0 * c[i] * d;
            }
            f
        };
        let m = lbfgs(fg, &vec![0.0; n], &LbfgsOptions::default());
        assert!(m.converged, "{m:?}");
        for (i, v) in m.x.iter().enumerate() {
            assert!((v - i as f64).abs() < 1e-6, "{m:?}");
        }
    }

    #[test]
    fn lbfgs_with_numeric_gradient_solves_rosenbrock() {
        let fg = |x: &[f64], g: &mut [f64]| numeric_gradient(rosenbrock, x, 1e-6, g);
        let m = lbfgs(fg, &[-1.2, 1.0], &LbfgsOptions::default());
        assert!(
            (m.x[0] - 1.0).abs() < 1e-4 && (m.x[1] - 1.0).abs() < 1e-4,
            "{m:?}"
        );
    }

    #[test]
    fn lbfgs_backtracks_from_infeasible_steps() {
        // -ln x + x has minimum 1 at x = 1; undefined for x <= 0.
        let fg = |x: &[f64], g: &mut [f64]| {
            if x[0] <= 0.0 {
                g[0] = f64::NAN;
                return f64::NAN;
            }
            g[0] = 1.0 - 1.0 / x[0];
            x[0] - x[0].ln()
        };
        let m = lbfgs(fg, &[8.0], &LbfgsOptions::default());
        assert!((m.x[0] - 1.0).abs() < 1e-6, "{m:?}");
    }

    #[test]
    fn lbfgs_reports_non_finite_start() {
        let m = lbfgs(
            |_x: &[f64], _g: &mut [f64]| f64::NAN,
            &[1.0],
            &LbfgsOptions::default(),
        );
        assert!(!m.converged);
        assert_eq!(m.x, vec![1.0]);
    }

    #[test]
    fn forward_gradient_is_close_to_analytic() {
        let x = [0.3, -0.7, 1.4];
        let mut g_num = [0.0; 3];
        let mut g_an = [0.0; 3];
        numeric_gradient_forward(rosenbrock, &x, 1e-7, &mut g_num);
        rosenbrock_grad(&x, &mut g_an);
        for (a, b) in g_num.iter().zip(&g_an) {
            assert!(
                (a - b).abs() <= 1e-4 * b.abs().max(1.0),
                "{g_num:?} vs {g_an:?}"
            );
        }
    }

    #[test]
    fn numeric_gradient_matches_analytic() {
        let x = [0.3, -0.7, 1.4];
        let mut g_num = [0.0; 3];
        let mut g_an = [0.0; 3];
        numeric_gradient(rosenbrock, &x, 1e-6, &mut g_num);
        rosenbrock_grad(&x, &mut g_an);
        for (a, b) in g_num.iter().zip(&g_an) {
            assert!(
                (a - b).abs() <= 1e-6 * b.abs().max(1.0),
                "{g_num:?} vs {g_an:?}"
            );
        }
    }
}
