//! Job claims: one row per (job, time slot) in `job_runs`.
//!
//! Several instances over one database each try to insert the row for the
//! slot they want to run; the unique constraint lets exactly one succeed, and
//! only that one runs the job. The row then records how the run ended, which
//! also makes the table a log of every scheduled run.

use chrono::{DateTime, Utc};

use crate::Result;
use crate::db::{Db, Sql};

/// The `job_runs` repository.
#[derive(Debug, Clone, Copy)]
pub struct JobRuns<'a> {
    pub(crate) db: &'a Db,
}

/// One recorded run.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Serialize)]
pub struct JobRun {
    /// The job's name (`score_leads`, `forecast_cycle`, ...).
    pub job: String,
    /// The time slot it ran for.
    pub slot: String,
    /// The instance that claimed it.
    pub instance: String,
    /// When it was claimed.
    pub started_at: DateTime<Utc>,
    /// When it ended (`None` while it runs, or if that instance died).
    pub finished_at: Option<DateTime<Utc>>,
    /// A short summary of how it ended.
    pub outcome: Option<String>,
    /// How long it took.
    pub duration_ms: Option<i64>,
}

impl JobRuns<'_> {
    /// Claims `slot` of `job` for `instance`: `true` when this call inserted
    /// the row (run the job), `false` when another claim got there first.
    pub async fn claim(&self, job: &str, slot: &str, instance: &str) -> Result<bool> {
        let inserted = self
            .db
            .execute(
                Sql::new(
                    "INSERT INTO job_runs (job, slot, instance, started_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (job, slot) DO NOTHING",
                )
                .arg(job)
                .arg(slot)
                .arg(instance)
                .arg(Utc::now()),
            )
            .await?;
        Ok(inserted == 1)
    }

    /// Records how a claimed run ended.
    pub async fn finish(
        &self,
        job: &str,
        slot: &str,
        outcome: &str,
        duration_ms: i64,
    ) -> Result<()> {
        self.db
            .execute(
                Sql::new(
                    "UPDATE job_runs SET finished_at = $1, outcome = $2, duration_ms = $3 \
                     WHERE job = $4 AND slot = $5",
                )
                .arg(Utc::now())
                .arg(outcome)
                .arg(duration_ms)
                .arg(job)
                .arg(slot),
            )
            .await?;
        Ok(())
    }

    /// The latest runs of `job`, newest first.
    pub async fn recent(&self, job: &str, limit: i64) -> Result<Vec<JobRun>> {
        Ok(self
            .db
            .fetch_all(
                Sql::new(
                    "SELECT job, slot, instance, started_at, finished_at, outcome, duration_ms \
                     FROM job_runs WHERE job = $1 ORDER BY started_at DESC, id DESC LIMIT $2",
                )
                .arg(job)
                .arg(limit),
            )
            .await?)
    }
}
