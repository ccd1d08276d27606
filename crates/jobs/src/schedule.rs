//! Periodic jobs claimed through the database, so that with any number of
//! instances over one database each time slot runs exactly once.
//!
//! Time is cut into slots of the job's interval, aligned to the Unix epoch
//! (a 15-minute job has slots 10:00, 10:15, ...). Every instance wakes at each
//! slot start and tries to claim it ([`neuracrm_store::job_runs`]); the one
//! whose claim succeeds runs the job and records its outcome.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use neuracrm_store::Store;

use crate::JobError;

/// The slot of a job with interval `every` that contains `now`, as the
/// RFC 3339 time of the slot's start.
pub fn slot(now: DateTime<Utc>, every: Duration) -> String {
    let secs = every.as_secs().max(1) as i64;
    let start = now.timestamp().div_euclid(secs) * secs;
    DateTime::from_timestamp(start, 0)
        .unwrap_or(now)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// How long from `now` until the next slot starts.
pub fn until_next_slot(now: DateTime<Utc>, every: Duration) -> Duration {
    let ms = every.as_millis().max(1000) as i64;
    let into = now.timestamp_millis().rem_euclid(ms);
    Duration::from_millis((ms - into) as u64)
}

/// A name for this process, unique enough to tell instances apart in
/// `job_runs` (host name when known, process id, start time).
pub fn instance_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!("{host}-{}-{nanos:x}", std::process::id())
}

/// Whether one claimed slot ran, and how.
#[derive(Debug, Clone, PartialEq)]
pub enum SlotOutcome {
    /// Another instance had claimed the slot.
    Skipped,
    /// This instance ran the job; the text is its recorded outcome.
    Ran(String),
}

/// Claims the slot of `job` containing `now` and, when the claim succeeds,
/// runs `task` and records its outcome (`ok: <summary>` or `error: <why>`).
pub async fn run_slot<Fut>(
    store: &Store,
    instance: &str,
    job: &str,
    every: Duration,
    now: DateTime<Utc>,
    task: impl FnOnce() -> Fut,
) -> Result<SlotOutcome, JobError>
where
    Fut: Future<Output = Result<String, JobError>>,
{
    let slot = slot(now, every);
    if !store.job_runs().claim(job, &slot, instance).await? {
        return Ok(SlotOutcome::Skipped);
    }
    let started = std::time::Instant::now();
    let outcome = match task().await {
        Ok(summary) => format!("ok: {summary}"),
        Err(e) => format!("error: {e}"),
    };
    let ms = started.elapsed().as_millis() as i64;
    store.job_runs().finish(job, &slot, &outcome, ms).await?;
    Ok(SlotOutcome::Ran(outcome))
}

/// Runs `job` at every slot of `every`, for ever (abort the task to stop).
/// The first attempt is for the slot running now, so a fresh instance does
/// not wait a whole interval; a slot already claimed elsewhere is skipped.
/// Errors are logged, never fatal: the next slot tries again.
pub async fn run_periodic<F, Fut>(
    store: Store,
    instance: String,
    job: &'static str,
    every: Duration,
    mut task: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<String, JobError>>,
{
    loop {
        match run_slot(&store, &instance, job, every, Utc::now(), &mut task).await {
            Ok(SlotOutcome::Ran(outcome)) => tracing::info!(job, %outcome, "scheduled job ran"),
            Ok(SlotOutcome::Skipped) => tracing::debug!(job, "slot claimed by another instance"),
            Err(e) => tracing::warn!(job, error = %e, "scheduled job could not be claimed"),
        }
        tokio::time::sleep(until_next_slot(Utc::now(), every)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn slots_align_to_the_interval() {
        let q = Duration::from_secs(15 * 60);
        assert_eq!(slot(at("2026-11-25T10:14:59Z"), q), "2026-11-25T10:00:00Z");
        assert_eq!(slot(at("2026-11-25T10:15:00Z"), q), "2026-11-25T10:15:00Z");
        let day = Duration::from_secs(86_400);
        assert_eq!(
            slot(at("2026-11-25T23:59:59Z"), day),
            "2026-11-25T00:00:00Z"
        );
    }

    #[test]
    fn next_slot_is_never_zero_and_never_more_than_the_interval() {
        let q = Duration::from_secs(900);
        assert_eq!(until_next_slot(at("2026-11-25T10:00:00Z"), q), q);
        assert_eq!(
            until_next_slot(at("2026-11-25T10:14:00Z"), q),
            Duration::from_secs(60)
        );
    }
}
