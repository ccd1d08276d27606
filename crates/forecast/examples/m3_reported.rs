//! Is the error the ensemble reports for itself the error its forecast then
//! makes? On every series of a `series_id,date,value` CSV: hold out the last
//! `h` points, fit the ensemble on the rest, and set the backtest MAPE and
//! sMAPE it reports (at the forecast's horizon, as the CRM's report asks, and
//! at the weighting folds' one season) beside the hold-out's.
//!
//! ```text
//! cargo run -p neuracrm-forecast --example m3_reported -- /work/shared/data/m3_monthly.csv 18 [every]
//! ```

use neuracrm_forecast::Fitted;
use neuracrm_forecast::ensemble::Ensemble;
use neuracrm_forecast::eval::read_series_csv;
use neuracrm_forecast::metrics::{mape, median, smape};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let all = read_series_csv(args[0].as_ref()).expect("a readable CSV");
    let h: usize = args[1].parse().expect("h");
    let every: usize = args.get(2).map(|s| s.parse().expect("every")).unwrap_or(1);
    let e = Ensemble::default();
    // (reported at h, reported at one season, hold-out), MAPE then sMAPE.
    let mut rows: Vec<[f64; 6]> = Vec::new();
    for (_, y) in all.iter().step_by(every) {
        if y.len() < h + 24 {
            continue;
        }
        let (train, test) = y.split_at(y.len() - h);
        let at_h = e.fit_ensemble_for(train, 12, Some(h)).expect("fit");
        let season = e.fit_ensemble(train, 12).expect("fit");
        let fc = at_h.predict(h, 0.95).expect("forecast");
        let b = |f: &neuracrm_forecast::ensemble::EnsembleFitted| {
            f.performance()[0].backtest.clone().expect("a backtest")
        };
        let (bh, bs) = (b(&at_h), b(&season));
        rows.push([
            bh.mape,
            bs.mape,
            mape(test, &fc.mean),
            bh.smape,
            bs.smape,
            smape(test, &fc.mean),
        ]);
    }
    let n = rows.len() as f64;
    let mean = |k: usize| rows.iter().map(|r| r[k]).sum::<f64>() / n;
    let med = |k: usize| median(&rows.iter().map(|r| r[k]).collect::<Vec<_>>());
    let covered = |k: usize, t: usize| rows.iter().filter(|r| r[t] <= r[k]).count() as f64 / n;
    println!("{} series, h = {h}", rows.len());
    for (name, base) in [("MAPE", 0), ("sMAPE", 3)] {
        println!(
            "{name:<6} hold-out mean {:6.2} median {:6.2} | reported at h: mean {:6.2} median {:6.2}, hold-out within it {:5.1}% | reported at one season: mean {:6.2} median {:6.2}, within {:5.1}%",
            mean(base + 2),
            med(base + 2),
            mean(base),
            med(base),
            100.0 * covered(base, base + 2),
            mean(base + 1),
            med(base + 1),
            100.0 * covered(base + 1, base + 2),
        );
    }
}
