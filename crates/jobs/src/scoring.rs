//! Batch lead scoring.
//!
//! For each organization: compile its scoring configuration and read its
//! contacts' scoring fields once, then walk its leads in id order, a chunk at
//! a time. Per chunk, two queries read every lead's facts (the leads, and
//! their activities aggregated with GROUP BY), the engine scores the leads
//! that need it, and one transaction writes the scores back (with history
//! rows for those that changed). A chunk whose read or write fails is retried
//! lead by lead, so one bad lead costs only itself.
//!
//! A lead needs scoring when it was never scored, was scored more than 7 days
//! ago, or its own fields or activities changed since (or always, with `all`).
//!
//! Buying intent is read as [`ScoreOptions::intent`] says: the offline
//! estimator, or stored LLM answers (and, in `ask` mode, the LLM itself) with
//! one cache query and one cache write per chunk; see [`crate::intent`].
//!
//! The job knows nothing of the server: it reports through a [`ScoreSink`]
//! (progress, and the leads whose score changed once their chunk is stored),
//! and the server's sink turns those changes into `lead_scored` events.

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use neuracrm_domain::{Cents, LeadId, OrgId};
use neuracrm_scoring::{
    IntentAssessment, IntentAssessor, LeadFacts, LeadScore, OfflineIntent, Scorer, ScoringConfig,
    intent::intent_text,
};
use neuracrm_store::Store;
use neuracrm_store::scoring::{ContactFacts, LeadFactsRow, ScoreWrite};
use serde::Serialize;

use crate::JobError;
use crate::intent::{BatchIntent, assess_texts};
use futures_util::{StreamExt, stream};

/// How a batch runs.
#[derive(Debug, Clone)]
pub struct ScoreOptions {
    /// Only this organization (all when `None`).
    pub org: Option<OrgId>,
    /// Rescore every lead, stale or not.
    pub all: bool,
    /// Leads per chunk.
    pub chunk: u32,
    /// The time every score of the run is computed at.
    pub now: DateTime<Utc>,
    /// How buying intent is read (default: the offline estimator; callers
    /// pass [`crate::intent::IntentService::batch`]).
    pub intent: BatchIntent,
    /// An organization with at most this many contacts has their fields read
    /// once for the whole run (about 32 bytes a contact) instead of joined
    /// to every chunk of leads.
    pub max_contacts_in_memory: u64,
}

impl Default for ScoreOptions {
    fn default() -> Self {
        Self {
            org: None,
            all: false,
            chunk: 5_000,
            now: Utc::now(),
            intent: BatchIntent::Offline,
            max_contacts_in_memory: 2_000_000,
        }
    }
}

/// The outcome of a batch.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ScoreSummary {
    /// Leads that needed a score.
    pub total_processed: u64,
    /// Leads scored and stored.
    pub successful: u64,
    /// Leads that could not be scored or stored.
    pub failed: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// A lead whose stored score or category changed in a batch (or was scored
/// for the first time): what a `lead_scored` event says.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreChange {
    /// The lead.
    pub lead_id: LeadId,
    /// The score before, if it had one.
    pub old_score: Option<f64>,
    /// The category before, if it had one.
    pub old_category: Option<String>,
    /// The new score.
    pub new_score: f64,
    /// The new category.
    pub new_category: String,
}

/// Where a batch reports what it does. Both methods default to doing nothing.
///
/// A plain closure `|leads: u64| ...` is a sink that only follows progress.
pub trait ScoreSink {
    /// `leads` more leads were read (scored or found up to date).
    fn progress(&mut self, leads: u64) {
        let _ = leads;
    }

    /// These leads of `org` got a new score or category; called once per
    /// chunk, after the chunk's scores were stored (never for a score that
    /// failed to store). Unchanged rescores are not reported: they would
    /// flood subscribers with no news on every `--all` run.
    fn scored(&mut self, org: OrgId, changes: &[ScoreChange]) {
        let _ = (org, changes);
    }
}

impl<F: FnMut(u64)> ScoreSink for F {
    fn progress(&mut self, leads: u64) {
        self(leads)
    }
}

/// Scores older than this are refreshed.
pub const MAX_AGE_DAYS: i64 = 7;

/// The organization's scoring configuration (`settings.scoring`; defaults
/// when absent).
pub async fn org_config(store: &Store, org: OrgId) -> Result<ScoringConfig, JobError> {
    let settings = store.organizations().settings(org).await?;
    match settings.get("scoring") {
        None | Some(serde_json::Value::Null) => Ok(ScoringConfig::default()),
        Some(v) => serde_json::from_value(v.clone()).map_err(|e| JobError::Config {
            org: org.0,
            source: neuracrm_scoring::ScoringError::InvalidConfig {
                field: "scoring".into(),
                reason: e.to_string(),
            },
        }),
    }
}

/// Whether a lead's stored score is out of date.
pub fn is_stale(row: &LeadFactsRow, now: DateTime<Utc>) -> bool {
    match row.score_updated_at {
        None => true,
        Some(at) => {
            at < now - Duration::days(MAX_AGE_DAYS)
                || row.updated_at > at
                || row
                    .activity
                    .as_ref()
                    .and_then(|a| a.last_recorded_at)
                    .is_some_and(|r| r > at)
        }
    }
}

/// The text buying intent is read from: the lead's title and description.
pub fn lead_text(row: &LeadFactsRow) -> String {
    intent_text(Some(&row.title), row.description.as_deref())
}

/// The scorer's view of a stored lead, its intent read by the offline
/// estimator (the batch without an LLM: a million leads cannot wait for one).
pub fn facts(row: &LeadFactsRow, intent: &OfflineIntent) -> LeadFacts {
    facts_with(row, intent.assess_text(&lead_text(row)))
}

/// The scorer's view of a stored lead with an intent assessed elsewhere.
pub fn facts_with(row: &LeadFactsRow, intent: IntentAssessment) -> LeadFacts {
    into_facts(row.clone(), Some(intent))
}

/// [`facts_with`], taking the row's text instead of copying it (`intent`:
/// `None` when not assessed).
pub fn into_facts(row: LeadFactsRow, intent: Option<IntentAssessment>) -> LeadFacts {
    let count = |v: Option<i64>| v.unwrap_or(0).clamp(0, u32::MAX as i64) as u32;
    let a = row.activity.unwrap_or_default();
    LeadFacts {
        industry: row.industry,
        company_size: row.company_size.map(|s| s.clamp(0, u32::MAX as i64) as u32),
        job_title: row.job_title,
        // Read as the lead reads: a budget stored above the maximum (before
        // it existed) counts as the maximum.
        budget_cents: row.budget_cents.map(|c| Cents::saturating(c).get()),
        title: Some(row.title),
        description: row.description,
        expected_decision: row.expected_decision,
        activity_count: count(a.activity_count),
        email_opens: count(a.opens),
        email_clicks: count(a.clicks),
        website_seconds: a.website_seconds.unwrap_or(0).max(0) as u64,
        last_activity_at: a.last_activity_at,
        intent,
    }
}

fn to_write(
    id: i64,
    (score, category): &(Option<f64>, Option<String>),
    new: &LeadScore,
) -> ScoreWrite {
    ScoreWrite {
        lead_id: LeadId(id),
        score: new.total,
        category: new.category.name().to_string(),
        confidence: new.confidence,
        factors: neuracrm_scoring::stored::encode(new),
        changed: *score != Some(new.total) || category.as_deref() != Some(new.category.name()),
    }
}

/// What a `lead_scored` event says of a score written over `before`.
fn change(
    (old_score, old_category): &(Option<f64>, Option<String>),
    w: &ScoreWrite,
) -> ScoreChange {
    ScoreChange {
        lead_id: w.lead_id,
        old_score: *old_score,
        old_category: old_category.clone(),
        new_score: w.score,
        new_category: w.category.clone(),
    }
}

/// A chunk read, waiting to be scored.
struct Read {
    first: i64,
    last: i64,
    /// Leads read (scored or found up to date).
    read: u64,
    /// The leads that need a score.
    rows: Vec<LeadFactsRow>,
    /// Their buying intent, in the same order, when it does not come from
    /// the offline estimator.
    intents: Option<Vec<IntentAssessment>>,
    /// Leads that could not even be read.
    unreadable: u64,
    read_ms: f64,
    intent_ms: f64,
}

/// A chunk read and scored, waiting to be stored.
struct Scored {
    first: i64,
    last: i64,
    /// Leads read.
    read: u64,
    /// The stale leads' previous state (for the change reports)...
    before: Vec<(Option<f64>, Option<String>)>,
    /// ...and their new scores, in the same order (shared with the blocking
    /// thread that stores them on SQLite).
    writes: Arc<[ScoreWrite]>,
    /// Leads that could not even be read.
    unreadable: u64,
    read_ms: f64,
    intent_ms: f64,
    score_ms: f64,
}

/// Reads the leads of `org` with ids in `[first, last]` and keeps those that
/// need a score, with their buying intent when it is not read offline. A
/// chunk that cannot be read is read again lead by lead.
async fn read_chunk(
    store: &Store,
    org: OrgId,
    (first, last): (i64, i64),
    contacts: Option<&ContactFacts>,
    offline: &OfflineIntent,
    opts: &ScoreOptions,
) -> Result<Read, JobError> {
    let data = store.scoring();
    let t_read = Instant::now();
    let mut unreadable = 0;
    let mut rows = match data.facts(org, first, last, contacts).await {
        Ok(rows) => rows,
        Err(e) => {
            // A row that cannot be read fails the chunk; read it lead by lead.
            tracing::warn!(org = org.0, first, last, error = %e, "chunk unreadable; isolating");
            let mut rows = Vec::new();
            for id in ids_between(store, org, first, last).await? {
                match data.facts(org, id, id, contacts).await {
                    Ok(mut one) => rows.append(&mut one),
                    Err(e) => {
                        tracing::warn!(org = org.0, lead = id, error = %e, "lead unreadable");
                        unreadable += 1;
                    }
                }
            }
            rows
        }
    };
    let read_ms = t_read.elapsed().as_secs_f64() * 1e3;
    let read = rows.len() as u64;
    rows.retain(|r| opts.all || is_stale(r, opts.now));
    // Without an LLM, intent is read by the scoring stage as it always was:
    // no hashing, no cache query.
    let t_intent = Instant::now();
    let intents = match &opts.intent {
        BatchIntent::Offline => None,
        batch => {
            let texts: Vec<String> = rows.iter().map(lead_text).collect();
            Some(assess_texts(store, org, &texts, batch, offline).await)
        }
    };
    Ok(Read {
        first,
        last,
        read,
        rows,
        intents,
        unreadable,
        read_ms,
        intent_ms: t_intent.elapsed().as_secs_f64() * 1e3,
    })
}

/// Scores the leads of a chunk that need it: CPU work, run on a blocking thread so
/// that it overlaps the next chunk's read and the previous chunk's write (and
/// never holds up an async worker of the server).
async fn score_chunk(c: Read, scorer: &Arc<Scorer>, now: DateTime<Utc>) -> Scored {
    let scorer = Arc::clone(scorer);
    tokio::task::spawn_blocking(move || {
        let t_score = Instant::now();
        let mut intents = c.intents.map(Vec::into_iter);
        let (before, writes): (_, Vec<ScoreWrite>) = c
            .rows
            .into_iter()
            .map(|r| {
                let id = r.id;
                let before = (r.score, r.score_category.clone());
                // Without an LLM the engine reads intent offline, in the same
                // scan of the text as the urgency and budget wording.
                let score = match intents.as_mut().and_then(Iterator::next) {
                    Some(a) => scorer.score(&into_facts(r, Some(a)), now),
                    None => scorer.score_offline(&into_facts(r, None), now),
                };
                let w = to_write(id, &before, &score);
                (before, w)
            })
            .unzip();
        Scored {
            first: c.first,
            last: c.last,
            read: c.read,
            before,
            writes: writes.into(),
            unreadable: c.unreadable,
            read_ms: c.read_ms,
            intent_ms: c.intent_ms,
            score_ms: t_score.elapsed().as_secs_f64() * 1e3,
        }
    })
    .await
    // A panic in the engine is a bug: it goes on unwinding here, as it did
    // when the scoring ran on this task.
    .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}

/// What storing a chunk came to.
struct Stored {
    /// Leads read (scored or found up to date).
    read: u64,
    /// Leads that needed a score, stored or not.
    processed: u64,
    successful: u64,
    failed: u64,
    /// The stored scores that changed.
    changes: Vec<ScoreChange>,
}

impl Stored {
    /// Counts it in `summary` and reports it to `sink`.
    fn report(self, org: OrgId, summary: &mut ScoreSummary, sink: &mut impl ScoreSink) {
        summary.total_processed += self.processed;
        summary.successful += self.successful;
        summary.failed += self.failed;
        sink.progress(self.read);
        if !self.changes.is_empty() {
            sink.scored(org, &self.changes);
        }
    }
}

/// Stores a scored chunk (lead by lead if the chunk fails).
async fn store_chunk(store: &Store, org: OrgId, c: Scored, now: DateTime<Utc>) -> Stored {
    let data = store.scoring();
    let t_write = Instant::now();
    let mut out = Stored {
        read: c.read,
        processed: c.writes.len() as u64 + c.unreadable,
        successful: 0,
        failed: c.unreadable,
        changes: Vec::new(),
    };
    match data.write(org, Arc::clone(&c.writes), now).await {
        Ok(()) => {
            out.successful += c.writes.len() as u64;
            out.changes.extend(
                c.before
                    .iter()
                    .zip(c.writes.iter())
                    .filter(|(_, w)| w.changed)
                    .map(|(b, w)| change(b, w)),
            );
        }
        Err(e) => {
            let (first, last) = (c.first, c.last);
            tracing::warn!(org = org.0, first, last, error = %e, "chunk write failed; isolating");
            for (b, w) in c.before.iter().zip(c.writes.iter()) {
                match data.write(org, std::slice::from_ref(w), now).await {
                    Ok(()) => {
                        out.successful += 1;
                        if w.changed {
                            out.changes.push(change(b, w));
                        }
                    }
                    Err(e) => {
                        tracing::warn!(org = org.0, lead = w.lead_id.0, error = %e, "score not stored");
                        out.failed += 1;
                    }
                }
            }
        }
    }
    tracing::debug!(
        org = org.0,
        first = c.first,
        last = c.last,
        leads = c.read,
        read_ms = c.read_ms,
        intent_ms = c.intent_ms,
        score_ms = c.score_ms,
        write_ms = t_write.elapsed().as_secs_f64() * 1e3,
        "chunk scored"
    );
    out
}

/// Runs a batch, telling `sink` its progress and the scores that changed.
///
/// Chunks go through three stages at once: while one chunk is written
/// (by SQLite's single writer, or two at once on two PostgreSQL
/// connections), the next is scored on a blocking thread and the one after
/// is read on other connections. The stages hand chunks on through queues of
/// one, so each runs at its own pace and at most six chunks are in flight.
pub async fn score_leads(
    store: &Store,
    opts: &ScoreOptions,
    mut sink: impl ScoreSink,
) -> Result<ScoreSummary, JobError> {
    let started = Instant::now();
    let orgs = crate::target_orgs(store, opts.org).await?;
    let offline = OfflineIntent::new();
    let mut summary = ScoreSummary::default();
    for org in orgs {
        let scorer = Arc::new(
            Scorer::new(&org_config(store, org).await?)
                .map_err(|source| JobError::Config { org: org.0, source })?,
        );
        let data = store.scoring();
        let contacts = data.contact_facts(org, opts.max_contacts_in_memory).await?;
        // One chunk may wait between two stages, so a slow chunk in one
        // stage does not hold up the others.
        let (to_score, mut scoring) = tokio::sync::mpsc::channel::<Read>(1);
        let (to_write, writing) = tokio::sync::mpsc::channel::<Scored>(1);
        let offline = &offline;
        let read = async move {
            let mut after = 0;
            while let Some(range) = data.next_range(org, after, opts.chunk).await? {
                after = range.1;
                let c = read_chunk(store, org, range, contacts.as_ref(), offline, opts).await?;
                if to_score.send(c).await.is_err() {
                    break;
                }
            }
            Ok::<_, JobError>(())
        };
        let score = async move {
            while let Some(c) = scoring.recv().await {
                let scored = score_chunk(c, &scorer, opts.now).await;
                if to_write.send(scored).await.is_err() {
                    break;
                }
            }
        };
        // SQLite has one writer; a PostgreSQL server writes two chunks on
        // two connections at once (its backend, not this process, is what
        // the writes wait for).
        let writers = match store.db().backend() {
            neuracrm_store::Backend::Sqlite => 1,
            neuracrm_store::Backend::Postgres => 2,
        };
        let write = async {
            let chunks =
                stream::unfold(
                    writing,
                    |mut rx| async move { rx.recv().await.map(|c| (c, rx)) },
                );
            let mut stored = std::pin::pin!(
                chunks
                    .map(|c| store_chunk(store, org, c, opts.now))
                    .buffer_unordered(writers)
            );
            while let Some(done) = stored.next().await {
                done.report(org, &mut summary, &mut sink);
            }
        };
        // A failed read ends the run once the chunks already read are
        // stored.
        let (read, (), ()) = tokio::join!(read, score, write);
        read?;
    }
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

async fn ids_between(
    store: &Store,
    org: OrgId,
    first: i64,
    last: i64,
) -> Result<Vec<i64>, JobError> {
    let rows: Vec<(i64,)> = store
        .db()
        .fetch_all(
            neuracrm_store::Sql::new(
                "SELECT id FROM leads WHERE organization_id = $1 AND id >= $2 AND id <= $3 ORDER BY id",
            )
            .arg(org)
            .arg(first)
            .arg(last),
        )
        .await
        .map_err(neuracrm_store::StoreError::from)?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// One lead scored on demand.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredLead {
    /// The full result: total, factors with evidence, confidence, category,
    /// recommendations.
    pub score: LeadScore,
    /// Set when the score or category differs from the stored one.
    pub change: Option<ScoreChange>,
}

/// Scores one lead of `org` as of `now` with the organization's
/// configuration, and stores the score (and its history entry when it
/// changed): the API's "score now". Same facts query, engine and write as the
/// batch; the buying intent comes from `intent` (the API passes
/// [`crate::intent::IntentService::for_org`]: the LLM through `org`'s stored
/// answers, which later batches reuse).
///
/// # Errors
/// [`neuracrm_store::StoreError::NotFound`] when `org` has no such lead.
pub async fn score_one(
    store: &Store,
    org: OrgId,
    lead: LeadId,
    now: DateTime<Utc>,
    intent: &IntentAssessor,
) -> Result<ScoredLead, JobError> {
    let data = store.scoring();
    let row = data
        .facts(org, lead.0, lead.0, None)
        .await?
        .into_iter()
        .next()
        .ok_or(neuracrm_store::StoreError::NotFound { entity: "lead" })?;
    let scorer = Scorer::new(&org_config(store, org).await?)
        .map_err(|source| JobError::Config { org: org.0, source })?;
    let assessment = intent.assess(&lead_text(&row)).await;
    let (id, before) = (row.id, (row.score, row.score_category.clone()));
    let score = scorer.score(&into_facts(row, Some(assessment)), now);
    let w = to_write(id, &before, &score);
    data.write(org, std::slice::from_ref(&w), now).await?;
    Ok(ScoredLead {
        change: w.changed.then(|| change(&before, &w)),
        score,
    })
}
