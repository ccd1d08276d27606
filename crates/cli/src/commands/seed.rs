//! `seed`: deterministic demo data at any size, with a progress bar.

use std::io::IsTerminal;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use neuracrm_server::Settings;
use neuracrm_store::seed::{SeedSpec, seed as run_seed, today};

use super::open_store;
use crate::cli::SeedArgs;

pub async fn seed(settings: Settings, a: SeedArgs) -> Result<()> {
    let anchor = match &a.anchor {
        Some(s) => neuracrm_domain::parse_date(s, "anchor")
            .context("--anchor")?
            .get(),
        None => today(),
    };
    let spec = SeedSpec {
        orgs: a.orgs,
        contacts: a.contacts,
        leads: a.leads,
        deals: a.deals,
        activities: a.activities,
        months: a.months,
        seed: a.seed,
        anchor,
    };
    if spec.contacts == 0 && spec.leads > 0 {
        anyhow::bail!("--leads needs at least one contact (--contacts)");
    }
    if spec.months == 0 {
        anyhow::bail!("--months must be at least 1");
    }
    let store = open_store(&settings).await?;
    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(spec.leads as u64 * spec.orgs as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "{elapsed_precise} [{bar:40}] {pos}/{len} leads ({per_sec}, eta {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let report = run_seed(&store, &spec, &neuracrm_domain::password::hash, |n| {
        bar.inc(n)
    })
    .await?;
    bar.finish_and_clear();
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    let rows = report.contacts + report.leads + report.deals + report.activities;
    println!(
        "seeded {} contacts, {} leads, {} deals, {} activities in {:.1} s ({:.0} rows/s)",
        report.contacts,
        report.leads,
        report.deals,
        report.activities,
        report.seconds,
        rows as f64 / report.seconds.max(1e-9)
    );
    println!(
        "logins (password: {}):",
        neuracrm_store::seed::DEMO_PASSWORD
    );
    for o in &report.organizations {
        println!("  {:<28} {}", o.name, o.admin_email);
    }
    Ok(())
}
