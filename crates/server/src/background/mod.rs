//! Work the server does besides answering requests.
//!
//! - **Periodic jobs** (scoring, the forecast cycle, ...): each runs through
//!   [`neuracrm_jobs::schedule::run_periodic`], which claims every time slot
//!   through the database, so any number of instances over one database run
//!   each slot once. Enabled by `Settings::scheduler`.
//! - **Event subscribers**: downstream work triggered by writes (an activity
//!   with customer text gets its sentiment, a won deal invalidates cached
//!   forecasts, a changed contact, lead, deal or activity refreshes its
//!   organization's dynamic segments, debounced). They run whether or not
//!   the scheduler does.
//! - **The import worker** ([`neuracrm_actions::import::run_worker`]):
//!   processes background CSV imports, claimed through the database (so
//!   with several instances each import runs on one, and one whose instance
//!   died is resumed by another). It runs whether or not the scheduler does.
//!
//! Every task is aborted when the [`Background`] is dropped, so a test that
//! drops its app leaves nothing running.

use std::time::Duration;

use chrono::Utc;
use neuracrm_actions::Crm;
use neuracrm_actions::forecasting::invalidate_on_events;
use neuracrm_actions::scoring::{JOB, scheduled_run};
use neuracrm_jobs::schedule::{instance_name, run_periodic};
use tokio::task::JoinHandle;

use crate::AppState;

pub mod segments;
pub mod sentiment;

/// The running background tasks; dropping it stops them.
#[derive(Debug, Default)]
pub struct Background {
    tasks: Vec<(&'static str, JoinHandle<()>)>,
}

impl Background {
    /// Starts every background task of `state`.
    pub fn spawn(state: &AppState) -> Background {
        let mut bg = Background::default();
        let crm = &state.crm;
        if state.settings.scheduler {
            // Periodic jobs register here.
            bg.add(
                "score_leads",
                scoring_periodic(crm, state.settings.scoring_interval_secs),
            );
            bg.add(
                "forecast_cycle",
                forecast_cycle(crm, state.settings.forecast_interval_secs),
            );
            bg.add(
                neuracrm_actions::segments::JOB,
                segments_periodic(crm, state.settings.segments_interval_secs),
            );
            bg.add(
                neuracrm_actions::sessions::CLEANUP_JOB,
                sessions_cleanup(crm),
            );
            if crm.voice.is_some() {
                bg.add("call_batches", call_batches(crm));
                bg.add(
                    "calls_sync",
                    calls_sync(
                        crm,
                        state.settings.retell.sync_interval_secs,
                        state.settings.retell.sync_grace_secs,
                    ),
                );
            }
            if crm.mailer.is_some() {
                bg.add(
                    "campaigns",
                    campaign_sender(crm, state.settings.smtp.process_interval_secs),
                );
            }
        }
        // Event subscribers register here. Each subscribes before its task
        // starts, so no event published after start-up is missed.
        bg.add("sentiment", sentiment::spawn_subscriber(crm));
        bg.add(
            "segments",
            segments::spawn_subscriber(
                crm,
                Duration::from_millis(state.settings.segments_debounce_ms),
            ),
        );
        // Background CSV imports: claimed through the database, so any
        // instance may process (or resume) any import.
        bg.add(
            "imports",
            tokio::spawn(neuracrm_actions::import::run_worker(
                crm.clone(),
                instance_name(),
                state.settings.import_options(),
            )),
        );
        bg.add(
            "forecast_cache_invalidation",
            tokio::spawn(invalidate_on_events(
                crm.events.subscribe(),
                crm.forecasts.clone(),
            )),
        );
        bg
    }

    /// Adds a task under `name` (for logs and [`Background::names`]).
    pub fn add(&mut self, name: &'static str, task: JoinHandle<()>) {
        self.tasks.push((name, task));
    }

    /// The names of the running tasks.
    pub fn names(&self) -> Vec<&'static str> {
        self.tasks.iter().map(|(n, _)| *n).collect()
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        for (_, t) in &self.tasks {
            t.abort();
        }
    }
}

/// The campaign sender: every `interval_secs`, start the due campaigns and
/// send what is due ([`neuracrm_actions::campaigns::send::process`], as the
/// CLI's `campaigns process`). Every instance may: recipients are claimed
/// through the database, so instances share a campaign without doubling it.
fn campaign_sender(crm: &Crm, interval_secs: u64) -> JoinHandle<()> {
    let crm = crm.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(interval_secs.max(1)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = neuracrm_actions::campaigns::send::process(&crm, None, &()).await {
                tracing::error!(error = %e, "campaign sender failed; retrying next tick");
            }
        }
    })
}

/// Bulk calling: every 30 s, a pass over the running batches. Every
/// instance may: each lead is claimed in the database before it is dialled.
fn call_batches(crm: &Crm) -> JoinHandle<()> {
    let crm = crm.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(30));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = neuracrm_actions::voice::process_batches(&crm, Utc::now()).await {
                tracing::error!(error = %e, "bulk calling pass failed; retrying next tick");
            }
        }
    })
}

/// `calls sync` for the calls whose webhooks were lost and the call events
/// whose effects failed: every `interval_secs`, on the one instance that
/// claims the slot. Retell's
/// failures are counted in the run's summary, not raised: the next run asks
/// again.
fn calls_sync(crm: &Crm, interval_secs: u64, grace_secs: u64) -> JoinHandle<()> {
    let every = Duration::from_secs(interval_secs.max(30));
    let grace = chrono::Duration::seconds(grace_secs as i64);
    periodic(crm, "calls_sync", every, move |crm| async move {
        match neuracrm_actions::voice::webhook::sync(&crm, Utc::now(), grace, 1000).await {
            Ok(r) => Ok(format!(
                "checked {}, applied {} ({} with effects queued), failed {}; \
                 earlier effects retried: {} done, {} failed",
                r.checked, r.applied, r.queued, r.failed, r.retried.done, r.retried.failed
            )),
            Err(e) => {
                tracing::error!(error = %e, "calls sync failed; retrying next run");
                Ok(format!("failed: {e}"))
            }
        }
    })
}

/// Runs `task` with the app's `Crm` as the periodic job `job`: every
/// `every`, on the one instance that claims the slot in `job_runs`.
fn periodic<F, Fut>(crm: &Crm, job: &'static str, every: Duration, task: F) -> JoinHandle<()>
where
    F: Fn(Crm) -> Fut + Send + 'static,
    Fut: Future<Output = Result<String, neuracrm_jobs::JobError>> + Send + 'static,
{
    let crm = crm.clone();
    tokio::spawn(run_periodic(
        crm.store.clone(),
        instance_name(),
        job,
        every,
        move || task(crm.clone()),
    ))
}

/// The refresh of every dynamic segment (every `interval_secs`, at least a
/// minute), claimed through `job_runs`.
fn segments_periodic(crm: &Crm, interval_secs: u64) -> JoinHandle<()> {
    let every = Duration::from_secs(interval_secs.max(60));
    periodic(
        crm,
        neuracrm_actions::segments::JOB,
        every,
        |crm| async move {
            neuracrm_actions::segments::scheduled_run(&crm.store, crm.events.as_ref(), Utc::now())
                .await
        },
    )
}

/// Expired sessions deleted every hour, on the one instance that claims the
/// slot (sign-in and refresh only prune the signing-in user's own).
fn sessions_cleanup(crm: &Crm) -> JoinHandle<()> {
    let every = Duration::from_secs(3600);
    periodic(
        crm,
        neuracrm_actions::sessions::CLEANUP_JOB,
        every,
        |crm| async move {
            let n = neuracrm_actions::sessions::delete_expired(&crm.store, Utc::now()).await?;
            Ok(format!("deleted {n} expired sessions"))
        },
    )
}

/// The periodic scoring batch: every `interval_secs`, one instance (claimed
/// through `job_runs`) runs [`scheduled_run`].
fn scoring_periodic(crm: &Crm, interval_secs: u64) -> JoinHandle<()> {
    let every = Duration::from_secs(interval_secs.max(1));
    periodic(crm, JOB, every, |crm| async move {
        scheduled_run(&crm.store, crm.events.as_ref(), &crm.intent, Utc::now()).await
    })
}

/// The daily forecast cycle (every `interval_secs`, at least a minute).
fn forecast_cycle(crm: &Crm, interval_secs: u64) -> JoinHandle<()> {
    let every = Duration::from_secs(interval_secs.max(60));
    periodic(crm, "forecast_cycle", every, |crm| async move {
        let opts = neuracrm_jobs::forecasting::CycleOptions::default();
        neuracrm_jobs::forecasting::run_cycle(&crm.store, crm.events.as_ref(), &opts)
            .await
            .map(|s| s.line())
    })
}
