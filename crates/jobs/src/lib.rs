//! NeuraCRM's batch jobs. Each job is a library function so that the CLI
//! (`neuracrm score`, cron, a Kubernetes CronJob) and the server's scheduler
//! run exactly the same code.
//!
//! - [`scoring`]: score every lead that needs it, set-based and in chunks.
//! - [`intent`]: buying intent for scoring: the LLM, its answers stored per
//!   organization, and how the batch uses them (`llm.batch`).
//! - [`forecasting`]: fit every active forecasting model, store its results,
//!   write actuals beside past forecasts; the CRM's one path to a forecast.
//! - [`demo_check`]: the revenue forecast of demo data against its true curve.
//! - [`schedule`]: run a job every interval, once across all instances.
//! - [`sentiment`]: each organization's analyser, sentiment of activities as
//!   they are logged, and the backfill of existing ones.

pub mod demo_check;
pub mod forecasting;
pub mod intent;
pub mod schedule;
pub mod scoring;
pub mod sentiment;

/// The organizations a job runs for: `only` (which must exist), or all.
pub async fn target_orgs(
    store: &neuracrm_store::Store,
    only: Option<neuracrm_domain::OrgId>,
) -> Result<Vec<neuracrm_domain::OrgId>, JobError> {
    Ok(match only {
        Some(org) => {
            store.organizations().get(org).await?;
            vec![org]
        }
        None => store.organizations().ids().await?,
    })
}

/// What a job can fail with (a failure of one record is counted, not raised).
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The database failed outside any one record.
    #[error(transparent)]
    Store(#[from] neuracrm_store::StoreError),
    /// An organization's stored configuration is invalid.
    #[error("organization {org}: {source}")]
    Config {
        /// The organization.
        org: i64,
        /// What is wrong.
        #[source]
        source: neuracrm_scoring::ScoringError,
    },
}
