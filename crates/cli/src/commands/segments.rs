//! `segments update`: the refresh of dynamic segments that the server's
//! scheduler also runs (`neuracrm_actions::segments::refresh_all`), with a
//! progress bar on a terminal.

use std::io::IsTerminal;

use anyhow::{Context, Result, bail};
use chrono::Utc;
use indicatif::{ProgressBar, ProgressStyle};
use neuracrm_actions::segments::{dynamic_segments, refresh_all};
use neuracrm_domain::OrgId;
use neuracrm_server::Settings;

use super::open_store;

pub async fn update(settings: Settings, org: Option<i64>, json: bool) -> Result<()> {
    let store = open_store(&settings).await?;
    let org = org.map(OrgId);
    super::check_org(&store, org).await?;
    // Redis when configured, so the servers' watchers see the updates.
    let events = neuracrm_server::startup::event_bus(&settings).await?;
    let bar = if std::io::stderr().is_terminal() {
        let total = dynamic_segments(&store, org).await?.len() as u64;
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template(
                "{elapsed_precise} [{bar:40}] {pos}/{len} segments ({msg})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let summary = refresh_all(&store, events.as_ref(), org, Utc::now(), |seg, _| {
        bar.set_message(seg.name.clone());
        bar.inc(1);
    })
    .await
    .context("refreshing segments")?;
    bar.finish_and_clear();
    if json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        println!("{}", summary.line());
    }
    if summary.failed > 0 {
        bail!(
            "{} segments could not be refreshed (see the log)",
            summary.failed
        );
    }
    Ok(())
}
