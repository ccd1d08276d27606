//! Lead scoring inside the server: the jobs crate does the scoring; this
//! module turns the scores it reports into `lead_scored` events on the
//! server's bus, for the API (score now, run a batch) and the scheduler alike.
//! The scheduler's run also deletes the buying-intent answers no lead has
//! used for `llm.cache_retention_days` ([`scheduled_run`]).

use chrono::{DateTime, Utc};
use neuracrm_domain::{DomainEvent, EventKind, OrgId};
use neuracrm_events::EventBus;
use neuracrm_jobs::JobError;
use neuracrm_jobs::intent::IntentService;
use neuracrm_jobs::scoring::{ScoreChange, ScoreOptions, ScoreSink, ScoreSummary, score_leads};
use neuracrm_store::Store;

use crate::AppState;

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

/// The scheduler's name for the scoring batch (`job_runs.job`).
pub const JOB: &str = "score_leads";

/// One scheduled run as of `now`: a batch over every organization's stale
/// leads, publishing their `lead_scored` events, then, once it has
/// succeeded, the prune of the intent answers no lead has used for the
/// retention ([`IntentService::prune_unused`]; only after a whole batch,
/// which has just marked every answer still due). Returns the outcome
/// recorded in `job_runs`. A failed prune is logged and noted there, and
/// does not fail the run: the scores are stored.
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
    let s = run_batch(store, events, &opts).await?;
    let mut outcome = format!(
        "{} processed, {} successful, {} failed in {:.1} s",
        s.total_processed, s.successful, s.failed, s.seconds
    );
    match intent.prune_unused(store, None, now).await {
        Ok(Some(deleted)) => {
            outcome.push_str(&format!("; {deleted} unused intent answers deleted"))
        }
        Ok(None) => {}
        Err(e) => {
            tracing::warn!(error = %e, "unused intent answers not deleted");
            outcome.push_str(&format!("; unused intent answers not deleted: {e}"));
        }
    }
    Ok(outcome)
}

/// Starts the periodic scoring batch: every `scoring_interval_secs`, one
/// instance (claimed through `job_runs`) runs [`scheduled_run`].
pub fn spawn_periodic(state: &AppState, instance: &str) -> tokio::task::JoinHandle<()> {
    let store = state.store.clone();
    let events = state.events.clone();
    let intent = state.intent.clone();
    let every = std::time::Duration::from_secs(state.settings.scoring_interval_secs.max(1));
    tokio::spawn(neuracrm_jobs::schedule::run_periodic(
        state.store.clone(),
        instance.to_string(),
        JOB,
        every,
        move || {
            let store = store.clone();
            let events = events.clone();
            let intent = intent.clone();
            async move { scheduled_run(&store, events.as_ref(), &intent, Utc::now()).await }
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use neuracrm_domain::LeadId;
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
