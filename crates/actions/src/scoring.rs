//! Lead scoring as actions: score a lead now, read its history, read and
//! replace the organization's configuration, run a batch, the analytics; and
//! the scheduler's periodic run. The scoring itself is the jobs crate's
//! (`score_one`, `score_leads`), so the API, the batch and the CLI give the
//! same answer for the same data; this module adds tenancy, roles and the
//! `lead_scored` events.

use chrono::{DateTime, Utc};
use neuracrm_domain::{DomainEvent, EventKind, LeadId, OrgId};
use neuracrm_events::EventBus;
use neuracrm_jobs::JobError;
use neuracrm_jobs::intent::IntentService;
use neuracrm_jobs::scoring::{
    ScoreChange, ScoreOptions, ScoreSink, ScoreSummary, ScoredLead, org_config, score_leads,
    score_one,
};
use neuracrm_scoring::ScoringConfig;
use neuracrm_store::Store;
use neuracrm_store::scoring::{ScorePoint, ScoringAnalytics};

use crate::{Access, ActionError, ActionResult, Caller, Crm};

/// The `lead_scored` event of one change.
pub fn lead_scored(change: &ScoreChange) -> EventKind {
    EventKind::LeadScored {
        id: change.lead_id,
        old_score: change.old_score,
        new_score: change.new_score,
        old_category: change.old_category.clone(),
        new_category: change.new_category.clone(),
    }
}

/// A [`ScoreSink`] publishing one `lead_scored` event per changed score,
/// tagged with the lead's organization.
#[derive(Debug)]
pub struct PublishScores<'a> {
    events: &'a dyn EventBus,
}

impl<'a> PublishScores<'a> {
    /// Publishes on `events`.
    pub fn new(events: &'a dyn EventBus) -> Self {
        Self { events }
    }
}

impl ScoreSink for PublishScores<'_> {
    fn scored(&mut self, org: OrgId, changes: &[ScoreChange]) {
        let at = Utc::now();
        for c in changes {
            self.events
                .publish(DomainEvent::new(org, at, lead_scored(c)));
        }
    }
}

/// Runs a scoring batch and publishes its changed scores.
pub async fn run_batch(
    store: &Store,
    events: &dyn EventBus,
    opts: &ScoreOptions,
) -> Result<ScoreSummary, JobError> {
    score_leads(store, opts, PublishScores::new(events)).await
}

/// Scores the lead now with the organization's configuration, stores the
/// score (and its history when it changed) and publishes `lead_scored` when
/// it changed.
pub async fn score_now(
    crm: &Crm,
    caller: &Caller,
    id: LeadId,
    now: DateTime<Utc>,
) -> ActionResult<ScoredLead> {
    let intent = crm.intent.for_org(&crm.store, caller.org);
    let scored = score_one(&crm.store, caller.org, id, now, &intent).await?;
    if let Some(change) = &scored.change {
        crm.publish(caller.org, lead_scored(change));
    }
    Ok(scored)
}

/// Most history entries one read returns.
pub const MAX_HISTORY: i64 = 500;

/// The lead's score history, newest first (404 when the lead is not the
/// caller's, even with no history).
pub async fn history(
    crm: &Crm,
    caller: &Caller,
    id: LeadId,
    limit: i64,
) -> ActionResult<Vec<ScorePoint>> {
    if !(1..=MAX_HISTORY).contains(&limit) {
        return Err(ActionError::bad_query(
            "limit",
            format!("limit must be between 1 and {MAX_HISTORY}"),
        ));
    }
    crm.store.leads().get(caller.org, id).await?;
    Ok(crm
        .store
        .scoring()
        .history(caller.org, id, limit as u32)
        .await?)
}

/// The organization's scoring configuration (defaults where it changed
/// nothing).
pub async fn config(crm: &Crm, caller: &Caller) -> ActionResult<ScoringConfig> {
    Ok(org_config(&crm.store, caller.org).await?)
}

/// Replaces the organization's scoring configuration (admins only) and marks
/// every lead for re-scoring by the next batch; returns how many.
pub async fn set_config(crm: &Crm, caller: &Caller, config: &ScoringConfig) -> ActionResult<u64> {
    caller.require(Access::Admins)?;
    let json = serde_json::to_value(config)
        .map_err(|e| ActionError::Internal(format!("scoring configuration to JSON: {e}")))?;
    Ok(crm
        .store
        .scoring()
        .set_config(caller.org, Some(caller.user), json)
        .await?)
}

/// Runs a scoring batch over the caller's organization now (admins and
/// managers): leads never scored, older than 7 days or changed since.
pub async fn run(crm: &Crm, caller: &Caller) -> ActionResult<ScoreSummary> {
    caller.require(Access::Managers)?;
    let opts = ScoreOptions {
        org: Some(caller.org),
        intent: crm.intent.batch(),
        ..Default::default()
    };
    Ok(run_batch(&crm.store, crm.events.as_ref(), &opts).await?)
}

/// Days of score history the analytics look back over.
pub const WINDOW_DAYS: i64 = 7;
/// Leads listed among the top movers.
pub const MOVERS: u32 = 10;

/// Leads per category, average score per source and industry, and the leads
/// whose score moved most in the last [`WINDOW_DAYS`] days.
pub async fn analytics(crm: &Crm, caller: &Caller) -> ActionResult<ScoringAnalytics> {
    let since = Utc::now() - chrono::Duration::days(WINDOW_DAYS);
    Ok(crm
        .store
        .scoring()
        .analytics(caller.org, since, MOVERS)
        .await?)
}

/// The scheduler's name for the scoring batch (`job_runs.job`).
pub const JOB: &str = "score_leads";

/// One scheduled run as of `now`: a batch over every organization's stale
/// leads (see [`batch_run`]). Returns the outcome recorded in `job_runs`.
pub async fn scheduled_run(
    store: &Store,
    events: &dyn EventBus,
    intent: &IntentService,
    now: DateTime<Utc>,
) -> Result<String, JobError> {
    let opts = ScoreOptions {
        now,
        intent: intent.batch(),
        ..ScoreOptions::default()
    };
    Ok(batch_run(store, events, intent, &opts).await?.1)
}

/// A batch as the scheduler runs it (the server's, or `neuracrm score
/// --continuous`): score as `opts` says, publish the changed scores, then,
/// when the batch covered every organization and succeeded, delete the
/// intent answers no lead has used for the retention
/// ([`IntentService::prune_unused`]; only after such a batch, which has just
/// marked every answer still due). Returns the summary and the outcome line
/// recorded in `job_runs`. A failed prune is logged and noted there, and does
/// not fail the run: the scores are stored.
pub async fn batch_run(
    store: &Store,
    events: &dyn EventBus,
    intent: &IntentService,
    opts: &ScoreOptions,
) -> Result<(ScoreSummary, String), JobError> {
    let s = run_batch(store, events, opts).await?;
    let mut outcome = format!(
        "{} processed, {} successful, {} failed in {:.1} s",
        s.total_processed, s.successful, s.failed, s.seconds
    );
    if opts.org.is_none() {
        match intent.prune_unused(store, None, opts.now).await {
            Ok(Some(deleted)) => {
                outcome.push_str(&format!("; {deleted} unused intent answers deleted"))
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, "unused intent answers not deleted");
                outcome.push_str(&format!("; unused intent answers not deleted: {e}"));
            }
        }
    }
    Ok((s, outcome))
}

#[cfg(test)]
mod tests {
    use super::*;
    use neuracrm_events::BroadcastBus;

    #[tokio::test]
    async fn each_change_becomes_a_lead_scored_event_of_its_organization() {
        let bus = BroadcastBus::default();
        let mut mine = bus.subscribe_org(OrgId(2));
        let mut theirs = bus.subscribe_org(OrgId(1));
        let changes = [
            ScoreChange {
                lead_id: LeadId(7),
                old_score: None,
                old_category: None,
                new_score: 64.5,
                new_category: "warm".into(),
            },
            ScoreChange {
                lead_id: LeadId(8),
                old_score: Some(81.0),
                old_category: Some("hot".into()),
                new_score: 79.0,
                new_category: "warm".into(),
            },
        ];
        PublishScores::new(&bus).scored(OrgId(2), &changes);
        for c in &changes {
            let e = mine.recv().await.unwrap();
            assert_eq!(e.organization_id, OrgId(2));
            assert_eq!(e.kind, lead_scored(c));
            assert_eq!(e.kind.name(), "lead_scored");
        }
        let v = serde_json::to_value(lead_scored(&changes[1])).unwrap();
        assert_eq!(
            (v["old_score"].as_f64(), v["new_category"].as_str()),
            (Some(81.0), Some("warm"))
        );
        assert!(
            theirs.try_recv().is_none(),
            "no event crosses organizations"
        );
    }
}
