//! `score`: batch lead scoring, once (with a progress bar on a terminal) or
//! continuously on the scheduler, over the jobs crate's `score_leads`.

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::Utc;
use indicatif::{ProgressBar, ProgressStyle};
use neuracrm_actions::scoring::batch_run;
use neuracrm_domain::OrgId;
use neuracrm_jobs::intent::IntentService;
use neuracrm_jobs::scoring::{ScoreOptions, ScoreSummary, score_leads};
use neuracrm_server::Settings;
use neuracrm_store::Store;

use super::open_store;
use crate::cli::ScoreArgs;

pub async fn score(settings: Settings, a: ScoreArgs) -> Result<()> {
    let store = open_store(&settings).await?;
    let org = super::org_arg(&store, a.org).await?;
    if a.continuous {
        return continuous(&settings, store, a).await;
    }
    let intent = intent_service(&settings)?;
    let bar = progress_bar(&store, org).await?;
    let opts = ScoreOptions {
        org,
        all: a.all,
        chunk: a.chunk,
        now: Utc::now(),
        intent: intent.batch(),
        ..ScoreOptions::default()
    };
    let summary = score_leads(&store, &opts, |n| bar.inc(n)).await?;
    bar.finish_and_clear();
    print_summary(&summary, a.json)
}

/// Buying intent as the `llm` settings say (the batch uses no in-memory
/// cache: it reads stored answers a chunk at a time).
fn intent_service(settings: &Settings) -> Result<IntentService> {
    IntentService::new(settings.llm.clone(), 0).context("llm settings")
}

/// A bar over every lead the run will read, or a hidden one when stderr is
/// not a terminal (logs, CI, pipes stay clean).
async fn progress_bar(store: &Store, org: Option<OrgId>) -> Result<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return Ok(ProgressBar::hidden());
    }
    let orgs = match org {
        Some(o) => vec![o],
        None => store.organizations().ids().await?,
    };
    let mut total = 0;
    for o in orgs {
        total += store.scoring().lead_count(o).await?;
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {pos}/{len} leads ({per_sec}, eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    Ok(bar)
}

fn print_summary(s: &ScoreSummary, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string(s)?);
    } else {
        println!(
            "scored {} leads: {} successful, {} failed in {:.2} s ({:.0} leads/s)",
            s.total_processed,
            s.successful,
            s.failed,
            s.seconds,
            s.total_processed as f64 / s.seconds.max(1e-9)
        );
    }
    Ok(())
}

/// A batch every `scoring_interval_secs` until Ctrl-C or SIGTERM. Each slot is
/// claimed through `job_runs`, under the same job name as the server's
/// scheduler, so a cron-driven CLI and N servers still run each slot once.
/// The scheduler's own run (every organization) then also deletes the
/// buying-intent answers no lead has used for `llm.cache_retention_days`, as
/// the server's does, whichever process claims the slot.
async fn continuous(settings: &Settings, store: Store, a: ScoreArgs) -> Result<()> {
    let every = Duration::from_secs(settings.scoring_interval_secs.max(1));
    // A run limited to one organization (or forced over every lead) is not
    // the scheduler's run: it gets its own claims.
    let job: &'static str = match (a.org, a.all) {
        (None, false) => neuracrm_actions::scoring::JOB,
        (org, all) => Box::leak(
            format!(
                "{}{}{}",
                neuracrm_actions::scoring::JOB,
                org.map(|o| format!(":org{o}")).unwrap_or_default(),
                if all { ":all" } else { "" }
            )
            .into_boxed_str(),
        ),
    };
    tracing::info!(
        job,
        every_secs = every.as_secs(),
        "scoring continuously; Ctrl-C stops"
    );
    let (org, all, chunk, json) = (a.org.map(OrgId), a.all, a.chunk, a.json);
    let intent = std::sync::Arc::new(intent_service(settings)?);
    // Redis when configured, so the servers' watchers see these scores too.
    let events = neuracrm_server::startup::event_bus(settings).await?;
    let task_store = store.clone();
    let periodic = neuracrm_jobs::schedule::run_periodic(
        store,
        neuracrm_jobs::schedule::instance_name(),
        job,
        every,
        move || {
            let store = task_store.clone();
            let intent = intent.clone();
            let events = events.clone();
            async move {
                let opts = ScoreOptions {
                    org,
                    all,
                    chunk,
                    now: Utc::now(),
                    intent: intent.batch(),
                    ..ScoreOptions::default()
                };
                let (s, outcome) = batch_run(&store, events.as_ref(), &intent, &opts).await?;
                if let Err(e) = print_summary(&s, json) {
                    tracing::warn!(error = %e, "cannot print the summary");
                }
                Ok(outcome)
            }
        },
    );
    tokio::select! {
        _ = periodic => {},
        _ = neuracrm_server::startup::shutdown_signal() => {},
    }
    Ok(())
}
