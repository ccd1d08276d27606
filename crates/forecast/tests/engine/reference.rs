//! Comparisons against statsforecast 2.1.1 (AutoETS, Theta). The literals live
//! in `tests/reference/forecast_reference.txt`, written by
//! `tests/reference/make_reference.py` (pinned versions in its header); each
//! assertion below states its tolerance and why it is what it is.

use std::collections::HashMap;

use neuracrm_forecast::Fitted;
use neuracrm_forecast::ets::{AutoEts, ErrorType, EtsSpec, SeasonType, TrendType};
use neuracrm_forecast::theta::fit_theta;

const REFERENCE: &str = include_str!("../reference/forecast_reference.txt");

/// One `case ... end` block: key -> whitespace-separated values.
struct Case {
    kind: String,
    name: String,
    fields: HashMap<String, String>,
}

impl Case {
    fn nums(&self, key: &str) -> Vec<f64> {
        self.fields[key]
            .split_whitespace()
            .map(|v| v.parse().unwrap_or(f64::NAN))
            .collect()
    }
    fn num(&self, key: &str) -> f64 {
        self.nums(key)[0]
    }
    fn text(&self, key: &str) -> &str {
        &self.fields[key]
    }
}

fn cases(kind: &str) -> Vec<Case> {
    let mut out = Vec::new();
    let mut cur: Option<Case> = None;
    for line in REFERENCE.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("case ") {
            let mut it = rest.split_whitespace();
            cur = Some(Case {
                kind: it.next().unwrap().to_string(),
                name: it.next().unwrap().to_string(),
                fields: HashMap::new(),
            });
        } else if line == "end" {
            let c = cur.take().unwrap();
            if c.kind == kind {
                out.push(c);
            }
        } else if let Some(c) = cur.as_mut() {
            let (k, v) = line.split_once(' ').unwrap_or((line, ""));
            c.fields.insert(k.to_string(), v.to_string());
        }
    }
    assert!(!out.is_empty(), "no {kind} cases in the reference file");
    out
}

fn parse_spec(method: &str) -> EtsSpec {
    // "ETS(M,Ad,N)"
    let inner = method.trim_start_matches("ETS(").trim_end_matches(')');
    let parts: Vec<&str> = inner.split(',').collect();
    EtsSpec {
        error: if parts[0] == "M" {
            ErrorType::Multiplicative
        } else {
            ErrorType::Additive
        },
        trend: match parts[1] {
            "N" => TrendType::None,
            "A" => TrendType::Additive,
            _ => TrendType::Damped,
        },
        season: match parts[2] {
            "N" => SeasonType::None,
            "A" => SeasonType::Additive,
            _ => SeasonType::Multiplicative,
        },
    }
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-12)
}

fn max_rel(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| rel(*x, *y))
        .fold(0.0, f64::max)
}

/// Cases where our fit lands on the reference's optimum: same specification,
/// same likelihood, same forecasts.
fn assert_same_optimum(c: &Case, fit: &neuracrm_forecast::ets::EtsFitted) {
    let ll = c.num("loglik");
    // Never worse than the reference's optimum (tiny slack for rounding)...
    assert!(
        fit.loglik() >= ll - 1e-7 * ll.abs(),
        "{}: loglik {} < {ll}",
        c.name,
        fit.loglik()
    );
    // ...and the same optimum: 1e-6 relative (observed <= 3e-7).
    assert!(
        rel(fit.loglik(), ll) < 1e-6,
        "{}: loglik {} vs {ll}",
        c.name,
        fit.loglik()
    );
    assert!(
        rel(fit.aicc(), c.num("aicc")) < 1e-6,
        "{}: aicc {} vs {}",
        c.name,
        fit.aicc(),
        c.num("aicc")
    );
    let f = fit.predict(12, 0.95).unwrap();
    // Forecasts: 1e-3 relative. Where the likelihood is flat (alpha at its
    // 1e-4 bound, M3_N1402) the optimisers stop at levels 0.04% apart; observed
    // worst case 3.9e-4.
    let worst = max_rel(&f.mean, &c.nums("mean"));
    assert!(worst < 1e-3, "{}: mean off by {worst}", c.name);
    // Analytic intervals (linear class, class 2) on both sides: 2e-3 of the
    // interval's width (a bound near zero makes a relative error meaningless;
    // observed worst 1.1e-3 on M3_N1500, whose likelihood is flat in alpha).
    let (lo, hi) = (c.nums("lower95"), c.nums("upper95"));
    for j in 0..lo.len() {
        let width = hi[j] - lo[j];
        assert!(
            (f.lower[j] - lo[j]).abs() < 2e-3 * width,
            "{}: lower[{j}] {} vs {}",
            c.name,
            f.lower[j],
            lo[j]
        );
        assert!(
            (f.upper[j] - hi[j]).abs() < 2e-3 * width,
            "{}: upper[{j}] {} vs {}",
            c.name,
            f.upper[j],
            hi[j]
        );
    }
}

#[test]
fn auto_ets_selects_the_reference_model_on_m3_series() {
    let mut checked = 0;
    for c in cases("ets_auto")
        .iter()
        .filter(|c| c.name.starts_with("M3_"))
    {
        let fit = AutoEts::default()
            .fit_ets(&c.nums("y"), c.num("m") as usize)
            .unwrap();
        assert_eq!(fit.spec(), c.text("method"), "{}", c.name);
        assert_same_optimum(c, &fit);
        checked += 1;
    }
    assert_eq!(checked, 3);
}

#[test]
fn fixed_nonseasonal_ets_matches_reference_likelihood() {
    for name in ["airpassengers_ANN", "airpassengers_AAdN"] {
        let c = cases("ets_fixed")
            .into_iter()
            .find(|c| c.name == name)
            .unwrap();
        let spec = parse_spec(c.text("method"));
        let fit = AutoEts::default().fit_spec(&c.nums("y"), 12, spec).unwrap();
        assert_same_optimum(&c, &fit);
        // Smoothing weights at the reference's values (bounded optimum:
        // alpha -> 0.9999, beta -> 1e-4, phi -> 0.98), within 1e-3 absolute.
        let par = c.nums("par");
        let p: std::collections::HashMap<String, f64> = fit.params().into_iter().collect();
        assert!(
            (p["alpha"] - par[0]).abs() < 1e-3,
            "{name}: alpha {}",
            p["alpha"]
        );
        if spec.trend == TrendType::Damped {
            assert!((p["beta"] - par[1]).abs() < 1e-3);
            assert!((p["phi"] - par[3]).abs() < 1e-3, "{name}: phi {}", p["phi"]);
        }
    }
}

#[test]
fn seasonal_ets_on_airpassengers_finds_a_better_optimum_than_the_reference() {
    // statsforecast 2.1.1 selects ETS(M,N,M) with loglik -712.18; its own
    // ETS(M,A,M) stops at -736.57, below the nested ETS(M,N,M), i.e. its
    // Nelder–Mead stalled. We reach a higher likelihood for both, so the
    // assertions are one-sided: at least as good, and a multiplicative model.
    let auto = cases("ets_auto")
        .into_iter()
        .find(|c| c.name == "airpassengers")
        .unwrap();
    let y = auto.nums("y");
    let fit = AutoEts::default().fit_ets(&y, 12).unwrap();
    assert!(
        fit.aicc() < auto.num("aicc"),
        "aicc {} vs reference {}",
        fit.aicc(),
        auto.num("aicc")
    );
    let s = fit.ets_spec();
    assert_eq!(
        (s.error, s.season),
        (ErrorType::Multiplicative, SeasonType::Multiplicative),
        "{}",
        fit.spec()
    );
    let mnm = AutoEts::default()
        .fit_spec(&y, 12, parse_spec(auto.text("method")))
        .unwrap();
    assert!(
        mnm.loglik() >= auto.num("loglik"),
        "MNM loglik {}",
        mnm.loglik()
    );
    let mam_ref = cases("ets_fixed")
        .into_iter()
        .find(|c| c.name == "airpassengers_MAM")
        .unwrap();
    let mam = AutoEts::default()
        .fit_spec(&y, 12, parse_spec(mam_ref.text("method")))
        .unwrap();
    assert!(
        mam.loglik() >= mam_ref.num("loglik"),
        "MAM loglik {}",
        mam.loglik()
    );
    // Different models (we add a trend the reference's stalled fit could not
    // use), similar forecasts: the first quarter within 2.5% (observed 1.8%),
    // the year within 6% (observed 5.0%, growing with the horizon).
    let f = fit.predict(12, 0.95).unwrap();
    let near = max_rel(&f.mean[..3], &auto.nums("mean")[..3]);
    assert!(near < 0.025, "first quarter off by {near}");
    let worst = max_rel(&f.mean, &auto.nums("mean"));
    assert!(worst < 0.06, "mean off by {worst}");
}

#[test]
fn theta_matches_reference_forecasts() {
    let all = cases("theta");
    assert_eq!(all.len(), 5);
    for c in all {
        let y = c.nums("y");
        let fit = fit_theta(&y, c.num("m") as usize).unwrap();
        let seasonal = fit.spec().contains("seasonal adjustment");
        assert_eq!(
            seasonal,
            c.num("decompose") == 1.0,
            "{}: {}",
            c.name,
            fit.spec()
        );
        // The reference's Nelder–Mead stops within ~5e-3 of the exact alpha
        // (observed 2.3e-3 on AirPassengers); bounds (0.1, 0.99) are hit exactly.
        assert!(
            (fit.alpha() - c.num("alpha")).abs() < 5e-3,
            "{}: alpha {}",
            c.name,
            fit.alpha()
        );
        let f = fit.predict(18, 0.95).unwrap();
        // Point forecasts: 1e-4 relative (observed worst 5.8e-5).
        let worst = max_rel(&f.mean, &c.nums("mean"));
        assert!(worst < 1e-4, "{}: mean off by {worst}", c.name);
        // The reference's intervals come from 200 simulated paths, ours are
        // analytic: compare the average half-width within 25%.
        let half = |lo: &[f64], hi: &[f64]| {
            lo.iter().zip(hi).map(|(l, u)| (u - l) / 2.0).sum::<f64>() / lo.len() as f64
        };
        let ours = half(&f.lower, &f.upper);
        let theirs = half(&c.nums("lower95"), &c.nums("upper95"));
        assert!(
            rel(ours, theirs) < 0.25,
            "{}: half-width {ours} vs {theirs}",
            c.name
        );
    }
}

#[test]
fn prophet_style_tracks_prophet() {
    // Prophet works on daily time (yearly period 365.25 days, 10 Fourier
    // pairs, changepoints on dates); ours on month indices with 5 pairs. The
    // models are the same family, not the same parameterisation, so the check
    // is loose: mean within 5% over the year ahead and 95% interval
    // widths within a factor of 2. Observed: mean within 1.5% (AirPassengers)
    // and 0.6% (M3_N2500).
    let all = cases("prophet");
    assert_eq!(all.len(), 2);
    for c in all {
        let y = c.nums("y");
        let fit = neuracrm_forecast::prophet::ProphetLike::default()
            .fit_prophet(&y, 12)
            .unwrap();
        let f = fit.predict(12, 0.95).unwrap();
        let worst = max_rel(&f.mean, &c.nums("mean"));
        assert!(worst < 0.05, "{}: mean off by {worst}", c.name);
        let (lo, hi) = (c.nums("lower95"), c.nums("upper95"));
        for j in 0..12 {
            let (ours, theirs) = (f.upper[j] - f.lower[j], hi[j] - lo[j]);
            assert!(
                ours < 2.0 * theirs && theirs < 2.0 * ours,
                "{} step {j}: width {ours} vs {theirs}",
                c.name
            );
        }
    }
}
