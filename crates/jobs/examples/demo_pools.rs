//! Which candidate pool forecasts demo-like data closest to its true curve,
//! over generator seeds given on the command line (the demo's is 42): the
//! default ensemble, the ensemble with regression (and Prophet-style) added,
//! and those two models alone, each scored by the demo check.
//!
//! ```sh
//! cargo run -p neuracrm-jobs --example demo_pools -- 3 4 5 6 7 8 9 10 11 12   # 1,000 activities per org
//! ACTS=30000 cargo run -p neuracrm-jobs --example demo_pools -- 42            # the demo data itself
//! ```

use neuracrm_forecast::ensemble::{Ensemble, default_models};
use neuracrm_forecast::model_by_name;
use neuracrm_jobs::demo_check::demo_check_with;
use neuracrm_jobs::forecasting::{LEVEL, fit_series_with};
use neuracrm_store::seed::{SeedSpec, seed};
use neuracrm_store::{ConnectOptions, Store};

fn pool(names: &[&str]) -> Ensemble {
    let mut m = default_models();
    for n in names {
        m.push(model_by_name(n).unwrap());
    }
    Ensemble::new(m)
}

/// A named way to build the ensemble under test.
type Pool = (&'static str, Box<dyn Fn() -> Ensemble>);

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seeds: Vec<u64> = std::env::args()
        .skip(1)
        .map(|s| s.parse().unwrap())
        .collect();
    let pools: Vec<Pool> = vec![
        ("default", Box::new(Ensemble::default)),
        ("+regression", Box::new(|| pool(&["regression"]))),
        (
            "+regression+prophet",
            Box::new(|| pool(&["regression", "prophet"])),
        ),
        (
            "regression",
            Box::new(|| Ensemble::new(vec![model_by_name("regression").unwrap()])),
        ),
        (
            "prophet",
            Box::new(|| Ensemble::new(vec![model_by_name("prophet").unwrap()])),
        ),
    ];
    let mut stats = vec![(0.0, 0.0, 0usize, 0usize); pools.len()];
    for s in seeds {
        let dir = tempfile::tempdir()?;
        let url = format!("sqlite://{}", dir.path().join("d.db").display());
        let store = Store::open(&url, &ConnectOptions::default()).await?;
        let mut spec = SeedSpec::demo(chrono::NaiveDate::from_ymd_opt(2026, 11, 15).unwrap());
        spec.seed = s;
        spec.activities = std::env::var("ACTS")
            .map(|v| v.parse().unwrap())
            .unwrap_or(1_000);
        seed(&store, &spec, &|_: &str| "x".to_string(), |_| {}).await?;
        for org in store.organizations().ids().await? {
            for (i, (name, mk)) in pools.iter().enumerate() {
                let e = mk();
                let c = demo_check_with(&store, org, 12, &|ser, h| {
                    fit_series_with(ser, h, LEVEL, &e, None)
                })
                .await?;
                for x in [&c.forward, &c.holdout] {
                    stats[i].0 += x.mape_vs_truth;
                    stats[i].1 += x.reported_mape;
                    stats[i].2 += x.within as usize;
                    stats[i].3 += 1;
                }
                println!(
                    "seed {s} org {org} {name:<22} fwd {:6.2} / {:6.2}  hold {:6.2} / {:6.2}",
                    c.forward.mape_vs_truth,
                    c.forward.reported_mape,
                    c.holdout.mape_vs_truth,
                    c.holdout.reported_mape
                );
            }
        }
    }
    for (i, (name, _)) in pools.iter().enumerate() {
        let (t, r, w, n) = stats[i];
        println!(
            "{name:<22} mean MAPE vs truth {:6.2}  mean reported {:6.2}  within {w}/{n}",
            t / n as f64,
            r / n as f64
        );
    }
    Ok(())
}
