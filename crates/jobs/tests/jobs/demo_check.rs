//! The demo check on the demo data itself (`SeedSpec::demo`, as `neuracrm
//! demo` seeds it, with a fixed anchor so the numbers are reproducible): the
//! revenue forecast of each organization against the curve its won deals were
//! drawn from. Per-organization results are printed (run with
//! `--nocapture`); the README quotes them.

use chrono::NaiveDate;
use neuracrm_jobs::demo_check::demo_check;
use neuracrm_store::seed::{SeedSpec, seed};
use neuracrm_store::testing::fresh_store;

#[tokio::test]
async fn the_demo_forecast_is_as_good_as_it_says_against_the_true_curve() {
    let t = fresh_store().await;
    let spec = SeedSpec::demo(NaiveDate::from_ymd_opt(2026, 11, 15).unwrap());
    seed(&t.store, &spec, &|_: &str| "not-a-hash".to_string(), |_| {})
        .await
        .unwrap();
    let (mut vs_truth, mut reported, mut covered, mut months, mut within) = (0.0, 0.0, 0.0, 0, 0);
    let orgs = t.store.organizations().ids().await.unwrap();
    assert_eq!(orgs.len(), 3);
    for org in orgs {
        let c = demo_check(&t.store, org, 12).await.unwrap();
        for (name, x) in [("forward", &c.forward), ("hold-out", &c.holdout)] {
            println!(
                "org {org} {name:<8}: {} months of history, MAPE vs truth {:.2}%, reported backtest MAPE {:.2}% ({} x {} months), {} of 12 months within, truth in 95% interval {:.0}%",
                x.history_months,
                x.mape_vs_truth,
                x.reported_mape,
                x.reported_folds,
                x.reported_horizon,
                x.months_within,
                100.0 * x.truth_coverage
            );
            assert_eq!(x.periods.len(), 12);
            assert!(
                x.reported_mape.is_finite() && x.reported_mape > 0.0,
                "{x:?}"
            );
            // The reported error is that of 12-month forecasts, like the one
            // checked (it was of 6- and 9-month ones before).
            assert_eq!(x.reported_horizon, 12, "{x:?}");
            vs_truth += x.mape_vs_truth;
            reported += x.reported_mape;
            covered += x.truth_coverage * 12.0;
            months += 12;
            within += x.within as usize;
        }
        assert_eq!(c.forward.history_months, 36);
        assert_eq!(c.holdout.history_months, 24);
        assert_eq!((c.forward.reported_folds, c.holdout.reported_folds), (2, 1));
    }
    let n = 6.0;
    println!(
        "mean MAPE vs truth {:.2}% against mean reported {:.2}%; {within} of 6 checks within; truth inside the 95% interval in {covered} of {months} months",
        vs_truth / n,
        reported / n
    );
    // On average the forecast is no further from the truth than its own
    // backtests say it is from the (noisier) actuals.
    assert!(
        vs_truth / n <= reported / n,
        "{} > {}",
        vs_truth / n,
        reported / n
    );
    // The criterion: every check, forward and hold-out, is within its
    // own reported error (4 of 6 before the ETS trend test).
    assert_eq!(within, 6, "checks within their reported error");
    // 95% intervals hold the smooth truth at least about as often as promised.
    assert!(covered / months as f64 >= 0.9, "{covered} of {months}");
}
