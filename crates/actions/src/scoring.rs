//! Lead scoring as actions: score a lead now, read its history, read and
//! replace the organization's configuration, run a batch, the analytics; and
//! the scheduler's periodic run. The scoring itself is the jobs crate's
//! (`score_one`, `score_leads`), so the API, the batch and the CLI give the
//! same answer for the same data; this module adds tenancy, roles and the
//! `lead_scored` events.

use chrono::{DateTime, Utc};
use neuracrm_domain::{DomainEvent, EventKind, Lead, LeadId, OrgId};
use neuracrm_events::EventBus;
use neuracrm_jobs::JobError;
use neuracrm_jobs::intent::IntentService;
use neuracrm_jobs::scoring::{
    ScoreChange, ScoreOptions, ScoreSink, ScoreSummary, ScoredLead, into_facts, lead_text,
    org_config, score_leads, score_one,
};
use neuracrm_scoring::{
    Evidence, Factor, IntentAssessment, LeadScore, OfflineIntent, Scorer, ScoringConfig,
    ScoringError,
};
use neuracrm_store::leads::{LeadFilter, LeadSort};
use neuracrm_store::scoring::{ScoreMove, ScorePoint, ScoringAnalytics};
use neuracrm_store::{Page, Sort, SortDir, Store};

use crate::summaries::Computed;
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
    score_in(crm, caller.org, id, now).await
}

/// [`score_now`] for work done on an organization's behalf with no user
/// (a call's analysis arriving by webhook).
pub(crate) async fn score_in(
    crm: &Crm,
    org: OrgId,
    id: LeadId,
    now: DateTime<Utc>,
) -> ActionResult<ScoredLead> {
    let intent = crm.intent.for_org(&crm.store, org);
    let scored = score_one(&crm.store, org, id, now, &intent).await?;
    if let Some(change) = &scored.change {
        crm.publish(org, lead_scored(change));
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

/// Size limits of an industry table, so one configuration cannot make every
/// scoring run compile an enormous matcher.
pub const MAX_RULES: usize = 200;
/// Synonyms per industry at most.
pub const MAX_SYNONYMS: usize = 100;
/// Characters of an industry name or synonym at most.
pub const MAX_PHRASE: usize = 100;

/// Checks a scoring configuration as every front end must before storing or
/// previewing it: the industry table's size, then the engine's own checks
/// (weights 0–1 summing to 1, thresholds ordered, points in range), by
/// compiling it once, so the batch will accept what is stored. The error
/// names the field (`industries.rules[2].synonyms[0]`, `weights`, ...).
pub fn validate_config(config: &ScoringConfig) -> ActionResult<Scorer> {
    let t = &config.industries;
    if t.rules.len() > MAX_RULES {
        return Err(ActionError::invalid(
            "industries.rules",
            format!("at most {MAX_RULES} industries"),
        ));
    }
    for (i, r) in t.rules.iter().enumerate() {
        if r.synonyms.len() > MAX_SYNONYMS {
            return Err(ActionError::invalid(
                format!("industries.rules[{i}].synonyms"),
                format!("at most {MAX_SYNONYMS} synonyms per industry"),
            ));
        }
        let long = std::iter::once(&r.name)
            .chain(&r.synonyms)
            .position(|p| p.chars().count() > MAX_PHRASE);
        if let Some(j) = long {
            let field = if j == 0 {
                format!("industries.rules[{i}].name")
            } else {
                format!("industries.rules[{i}].synonyms[{}]", j - 1)
            };
            return Err(ActionError::invalid(
                field,
                format!("at most {MAX_PHRASE} characters"),
            ));
        }
    }
    Scorer::new(config).map_err(|e| match e {
        ScoringError::InvalidConfig { field, reason } => ActionError::invalid(field, reason),
        other => ActionError::invalid("industries", other.to_string()),
    })
}

/// Replaces the organization's scoring configuration (admins only), once
/// [`validate_config`] accepts it, and marks every lead for re-scoring by
/// the next batch; returns how many.
pub async fn set_config(crm: &Crm, caller: &Caller, config: &ScoringConfig) -> ActionResult<u64> {
    caller.require(Access::Admins)?;
    validate_config(config)?;
    let json = serde_json::to_value(config)
        .map_err(|e| ActionError::Internal(format!("scoring configuration to JSON: {e}")))?;
    Ok(crm
        .store
        .scoring()
        .set_config(caller.org, Some(caller.user), json)
        .await?)
}

/// Leads a preview scores at most.
pub const PREVIEW_MAX: u32 = 100;
/// Leads a preview scores unless told otherwise.
pub const PREVIEW_DEFAULT: u32 = 20;

/// One lead of a preview: its stored score and the one a configuration
/// would give it.
#[derive(Debug, Clone, PartialEq)]
pub struct Previewed {
    /// The lead.
    pub lead_id: LeadId,
    /// Its title.
    pub title: String,
    /// Its stored score, if it was ever scored.
    pub current_score: Option<f64>,
    /// Its stored category.
    pub current_category: Option<String>,
    /// What the configuration gives it (total, category, factors).
    pub score: LeadScore,
}

/// The scores `config` would give the organization's `sample` most recently
/// created leads (1 to [`PREVIEW_MAX`]) as of `now`, beside their stored
/// ones, without storing anything (admins only, who alone may change the
/// configuration). The configuration is checked by [`validate_config`]
/// first, as `set_config` checks it.
///
/// The same facts and engine as the batch; buying intent is the one the
/// stored score read (the LLM's or the offline estimator's answer, kept in
/// its breakdown), so that the preview shows what the configuration
/// changes and neither asks the LLM nor marks its stored answers used; a
/// lead never scored is read by the offline estimator.
pub async fn preview(
    crm: &Crm,
    caller: &Caller,
    config: &ScoringConfig,
    sample: u32,
    now: DateTime<Utc>,
) -> ActionResult<Vec<Previewed>> {
    caller.require(Access::Admins)?;
    if !(1..=PREVIEW_MAX).contains(&sample) {
        return Err(ActionError::bad_query(
            "sample",
            format!("sample must be between 1 and {PREVIEW_MAX}"),
        ));
    }
    let scorer = validate_config(config)?;
    let page = Page::parse(Some(i64::from(sample)), None).map_err(ActionError::query)?;
    let leads = crm
        .store
        .leads()
        .list(
            caller.org,
            &LeadFilter::default(),
            Sort {
                by: LeadSort::CreatedAt,
                dir: SortDir::Desc,
            },
            page,
        )
        .await?
        .items;
    let offline = OfflineIntent::new();
    let scoring = crm.store.scoring();
    let mut out = Vec::with_capacity(leads.len());
    for lead in leads {
        // Gone since the list was read: nothing to preview.
        let Some(row) = scoring
            .facts(caller.org, lead.id.0, lead.id.0, None)
            .await?
            .into_iter()
            .next()
        else {
            continue;
        };
        let intent = stored_intent(&lead).unwrap_or_else(|| offline.assess_text(&lead_text(&row)));
        let score = scorer.score(&into_facts(row, Some(intent)), now);
        out.push(Previewed {
            lead_id: lead.id,
            title: lead.title,
            current_score: lead.score,
            current_category: lead.score_category,
            score,
        });
    }
    Ok(out)
}

/// The buying intent the lead's stored score read, if it has one.
fn stored_intent(lead: &Lead) -> Option<IntentAssessment> {
    let stored = neuracrm_scoring::stored::decode(lead.score_factors.as_ref()?).ok()?;
    match &stored.factors[Factor::AiInsights.index()].evidence {
        Evidence::AiInsights { assessment } => *assessment,
        _ => None,
    }
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

/// The leads whose score moved most in the last [`WINDOW_DAYS`] days, the
/// largest move first (at most [`MOVERS`]): a [summary](crate::summaries),
/// `None` while it is first computed.
pub async fn movers(crm: &Crm, caller: &Caller) -> ActionResult<Option<Computed<Vec<ScoreMove>>>> {
    let store = crm.store.clone();
    let org = caller.org;
    crm.summaries
        .movers
        .get(org, (), move || async move {
            let since = Utc::now() - chrono::Duration::days(WINDOW_DAYS);
            Ok(store.scoring().top_movers(org, since, MOVERS).await?)
        })
        .await
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
