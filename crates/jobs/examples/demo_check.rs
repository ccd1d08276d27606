//! The demo check: the revenue forecast of each demo organization against the
//! curve its deals were drawn from (see `neuracrm_jobs::demo_check`).
//!
//! ```sh
//! cargo run -p neuracrm-jobs --example demo_check                       # seeds SeedSpec::demo in a temp file
//! cargo run -p neuracrm-jobs --example demo_check -- sqlite://neuracrm-demo.db
//! ```

use neuracrm_jobs::demo_check::{Comparison, demo_check};
use neuracrm_store::seed::{SeedSpec, seed, today};
use neuracrm_store::{ConnectOptions, Store};

fn row(name: &str, c: &Comparison) {
    println!(
        "  {name:<8} {:>3} months -> {}..{}: MAPE vs truth {:6.2}%  reported backtest MAPE {:6.2}% ({} x {} months)  months within {:>2}/{}  truth inside 95% interval {:5.1}%  {}",
        c.history_months,
        c.periods.first().map(String::as_str).unwrap_or("?"),
        c.periods.last().map(String::as_str).unwrap_or("?"),
        c.mape_vs_truth,
        c.reported_mape,
        c.reported_folds,
        c.reported_horizon,
        c.months_within,
        c.periods.len(),
        100.0 * c.truth_coverage,
        if c.within { "WITHIN" } else { "NOT within" }
    );
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let url = match std::env::args().nth(1) {
        Some(url) => url,
        None => format!("sqlite://{}", dir.path().join("demo.db").display()),
    };
    let store = Store::open(&url, &ConnectOptions::default()).await?;
    if store.organizations().ids().await?.is_empty() {
        let spec = SeedSpec::demo(today());
        eprintln!("seeding SeedSpec::demo (anchor {}) into {url}", spec.anchor);
        seed(&store, &spec, &neuracrm_domain::password::hash, |_| {}).await?;
    }
    for org in store.organizations().ids().await? {
        let c = demo_check(&store, org, 12).await?;
        println!("organization {org}:");
        row("forward", &c.forward);
        row("hold-out", &c.holdout);
    }
    Ok(())
}
