//! The demo check as a Monte Carlo, without a database: the demo generator's
//! won deals summed by month in memory (as the revenue series query does:
//! seed 42 gives the demo check's own numbers), for a range of generator
//! seeds, each forecast scored against the true curve like `demo_check`, and
//! summed up per check: how often the forecast is within its own reported
//! error, how large and how variable that reported error is, how far the
//! forecast is from the curve and in which direction.
//!
//! ```sh
//! cargo run -p neuracrm-jobs --example demo_sim -- 1 200              # seeds 1..=200, one line per fit
//! VARIANTS=default,theta,regression cargo run -p neuracrm-jobs --example demo_sim -- 1 100
//! VOLUME=4 cargo run -p neuracrm-jobs --example demo_sim -- 1 100     # 4x the leads and deals
//! EXTRA=12 cargo run -p neuracrm-jobs --example demo_sim -- 1 100     # 12 more months: forward vs actuals
//! ```
//!
//! With `EXTRA=12` the generator draws 12 more months (and proportionally
//! more deals) so that the forecast made from the first 36 can also be scored
//! against the actual revenue of the months after them.

use chrono::{Datelike, NaiveDate};
use neuracrm_domain::ForecastMetric;
use neuracrm_forecast::ensemble::Ensemble;
use neuracrm_forecast::metrics::mape;
use neuracrm_jobs::forecasting::{FitOutcome, LEVEL, fit_series_with};
use neuracrm_store::forecasts::{MonthlySeries, add_months};
use neuracrm_store::seed::SeedSpec;
use neuracrm_store::seed::generator::{self, IdBase, LeadChunk};

/// One organization's monthly revenue and the curve it was drawn from.
struct Drawn {
    start: NaiveDate,
    actual: Vec<f64>,
    truth: Vec<f64>,
}

fn draw(spec: &SeedSpec, g: u32) -> Drawn {
    let ids = IdBase {
        user: 1,
        contact: 1,
        lead: 1,
        deal: 1,
    };
    let people = generator::people(spec, g, ids);
    let mut all = LeadChunk::default();
    generator::leads(spec, g, &people, ids, 5_000, |c| all.deals.extend(c.deals));
    let start = spec.start_month();
    let mut actual = vec![0.0; spec.months as usize];
    let (mut won, mut total) = (0usize, 0.0);
    for d in all.deals.iter().filter(|d| d.status == "won") {
        let c = d.closed_at.expect("won deals are closed").date_naive();
        let t = (c.year() - start.year()) * 12 + c.month0() as i32 - start.month0() as i32;
        actual[t as usize] += d.value_cents as f64 / 100.0;
        won += 1;
        total += d.value_cents as f64;
    }
    // As `seed` stores it: the curve scaled to the won deals drawn.
    let truth = generator::truth(spec, won, total / won.max(1) as f64)
        .expected_revenue_cents
        .iter()
        .map(|c| c / 100.0)
        .collect();
    Drawn {
        start,
        actual,
        truth,
    }
}

/// The curve for months `n..n + h`, continued past the stored truth as
/// `demo_check` does.
fn truth_after(d: &Drawn, n: usize, h: usize) -> Vec<f64> {
    if d.truth.len() >= n + h {
        return d.truth[n..n + h].to_vec();
    }
    let scale = d.truth[0] / generator::month_intensity(d.start.month(), 0);
    (n..n + h)
        .map(|t| {
            scale * generator::month_intensity(add_months(d.start, t as i32).month(), t as u32)
        })
        .collect()
}

/// One forecast checked.
struct Row {
    seed: u64,
    forward: bool,
    variant: usize,
    reported: f64,
    vs_truth: f64,
    bias: f64,
    vs_truth_1_9: f64,
    vs_truth_10_12: f64,
    vs_actual: f64,
}

fn mean(v: impl Iterator<Item = f64>) -> (f64, f64) {
    let v: Vec<f64> = v.filter(|x| x.is_finite()).collect();
    let m = v.iter().sum::<f64>() / v.len() as f64;
    let sd = (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64).sqrt();
    (m, sd)
}

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .map(|s| s.parse().expect("seeds: FIRST LAST"))
        .collect();
    let (lo, hi) = (args[0], args[1]);
    let env = |k: &str, d: f64| -> f64 {
        std::env::var(k)
            .map(|v| v.parse().expect("a number"))
            .unwrap_or(d)
    };
    let extra = env("EXTRA", 0.0) as u32;
    let volume = env("VOLUME", 1.0);
    let (hist, h) = (36usize, 12usize);
    let anchor = NaiveDate::from_ymd_opt(2026, 11, 15).expect("a date");
    let scale = volume * (hist as f64 + extra as f64) / hist as f64;
    let base = SeedSpec::demo(anchor);
    let names: Vec<String> = std::env::var("VARIANTS")
        .unwrap_or_else(|_| "default".into())
        .split(',')
        .map(str::to_string)
        .collect();
    let ensemble = |name: &str| -> Ensemble {
        match name {
            "default" => Ensemble::default(),
            one => Ensemble::new(vec![
                neuracrm_forecast::model_by_name(one).expect("a model name"),
            ]),
        }
    };
    let mut rows = Vec::new();
    println!("seed,org,check,variant,reported,vs_truth,bias,vs_truth_1_9,vs_truth_10_12,vs_actual");
    for seed in lo..=hi {
        let spec = SeedSpec {
            seed,
            months: hist as u32 + extra,
            leads: (base.leads as f64 * scale) as u32,
            deals: (base.deals as f64 * scale) as u32,
            // Activities only move the random stream; the demo's own for seed 42.
            activities: if seed == base.seed && extra == 0 && volume == 1.0 {
                base.activities
            } else {
                0
            },
            anchor: add_months(anchor, extra as i32),
            ..base.clone()
        };
        for g in 1..=spec.orgs {
            let d = draw(&spec, g);
            for (forward, n) in [(true, hist), (false, hist - h)] {
                for (variant, name) in names.iter().enumerate() {
                    let s = MonthlySeries {
                        metric: ForecastMetric::Revenue,
                        start: Some(d.start),
                        values: d.actual[..n].to_vec(),
                    };
                    let FitOutcome::Ready(f) =
                        fit_series_with(&s, h, LEVEL, &ensemble(name), None).expect("a fit")
                    else {
                        panic!("36 months are enough history")
                    };
                    let reported = f.report.model_performance[0]
                        .backtest
                        .as_ref()
                        .map(|b| b.mape)
                        .unwrap_or(f64::NAN);
                    let fc = &f.report.forecast.mean;
                    let tr = truth_after(&d, n, h);
                    let r = Row {
                        seed,
                        forward,
                        variant,
                        reported,
                        vs_truth: mape(&tr, fc),
                        bias: 100.0 * fc.iter().zip(&tr).map(|(f, t)| f / t - 1.0).sum::<f64>()
                            / h as f64,
                        vs_truth_1_9: mape(&tr[..9], &fc[..9]),
                        vs_truth_10_12: mape(&tr[9..], &fc[9..]),
                        vs_actual: if d.actual.len() >= n + h {
                            mape(&d.actual[n..n + h], fc)
                        } else {
                            f64::NAN
                        },
                    };
                    println!(
                        "{seed},{g},{},{name},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3}",
                        if forward { "forward" } else { "holdout" },
                        r.reported,
                        r.vs_truth,
                        r.bias,
                        r.vs_truth_1_9,
                        r.vs_truth_10_12,
                        r.vs_actual
                    );
                    rows.push(r);
                }
            }
        }
    }
    for (variant, name) in names.iter().enumerate() {
        for forward in [true, false] {
            let rs: Vec<&Row> = rows
                .iter()
                .filter(|r| r.variant == variant && r.forward == forward)
                .collect();
            let within = |r: &Row| r.vs_truth <= r.reported;
            let seeds = (lo..=hi)
                .filter(|s| rs.iter().filter(|r| r.seed == *s).all(|r| within(r)))
                .count();
            let n_within = rs.iter().filter(|r| within(r)).count();
            let (rep, rep_sd) = mean(rs.iter().map(|r| r.reported));
            let (t, t_sd) = mean(rs.iter().map(|r| r.vs_truth));
            eprintln!(
                "{name:<14} {:<8} within {}/{} ({:.1}%), every org of a seed {seeds}/{} | reported MAPE {rep:.2} (sd {rep_sd:.2}) | vs truth {t:.2} (sd {t_sd:.2}; months 1-9 {:.2}, 10-12 {:.2}; signed {:+.2}) | vs actuals {:.2}",
                if forward { "forward" } else { "hold-out" },
                n_within,
                rs.len(),
                100.0 * n_within as f64 / rs.len() as f64,
                hi - lo + 1,
                mean(rs.iter().map(|r| r.vs_truth_1_9)).0,
                mean(rs.iter().map(|r| r.vs_truth_10_12)).0,
                mean(rs.iter().map(|r| r.bias)).0,
                mean(rs.iter().map(|r| r.vs_actual)).0,
            );
        }
    }
}
