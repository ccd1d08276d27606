//! Buying intent (the `ai_insights` factor) for the API's score-now and the
//! scoring batch, with the LLM's answers kept in the database.
//!
//! **Where answers live.** Every answer of the configured LLM is stored in
//! `intent_cache` under (organization, hex SHA-256 of model and text), so an
//! unchanged text is never sent twice: not after a restart, not by another
//! instance on the same PostgreSQL, not by the batch after score-now. A small
//! in-memory cache sits in front for score-now, its keys partitioned by
//! organization ([`neuracrm_scoring::IntentCacheKey::within`]), like the
//! table's. Only the LLM's own answers are stored: a failure, or the offline
//! estimator's reading, would otherwise stop the LLM from ever being asked.
//!
//! **Score-now** ([`IntentService::for_org`]): the LLM through both caches;
//! a failure scores 0 with its reason, as before.
//!
//! **The batch** ([`BatchIntent`], from `llm.batch`): `offline` reads every
//! text with the offline estimator, touching neither cache nor LLM (and with
//! no LLM configured that is all it does, as fast as before); `cached` uses a
//! stored LLM answer for an unchanged text, else the offline estimator, and
//! never sends a request; `ask` also sends each new text of a chunk to the
//! LLM, `llm.batch_concurrency` at a time, stores the answers, and records a
//! failure in the lead's evidence like score-now does, never failing the
//! lead. Per chunk: one query for the chunk's stored answers (and at most one
//! update recording their use), one statement for its new ones.
//!
//! **Retention** ([`IntentService::prune_unused`]): every read that serves a
//! stored answer (score-now's, including a hit in its memory front, and the
//! batch's) marks it used, and the scheduler deletes the answers unused for
//! `llm.cache_retention_days` after each batch. Sound because every lead is
//! rescored at least every [`MAX_AGE_DAYS`](crate::scoring::MAX_AGE_DAYS)
//! days, by a batch that in `cached` or `ask` mode reads its answer, or by
//! score-now, which reads it too; so only answers of texts no lead has any
//! more go unused for weeks. In `offline` mode the batch marks nothing, and
//! nothing is pruned.
//!
//! ```no_run
//! # async fn f(store: neuracrm_store::Store) -> Result<(), neuracrm_scoring::ScoringError> {
//! use neuracrm_domain::OrgId;
//! use neuracrm_jobs::intent::IntentService;
//! let intent = IntentService::new(None, 10_000)?; // no LLM: offline everywhere
//! let assessor = intent.for_org(&store, OrgId(1));
//! let a = assessor.assess("Ready to buy, send the contract").await;
//! assert!(a.intent > 0.0);
//! # Ok(()) }
//! ```

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use futures_util::stream::{self, StreamExt};
use neuracrm_domain::OrgId;
use neuracrm_scoring::intent::BoxFuture;
use neuracrm_scoring::{
    BatchIntentMode, IntentAssessment, IntentAssessor, IntentCache, IntentCacheKey, IntentSource,
    LlmConfig, MIN_CACHE_RETENTION_DAYS, MemoryIntentCache, OfflineIntent, ScoringError,
};
use neuracrm_store::Store;
use neuracrm_store::intent_cache::{CachedIntent, IntentWrite, USED_AT_MAX_LAG};

use crate::JobError;

// The shortest retention accepted must outlast the longest time an answer
// in use goes unmarked: the batch's rescoring age, plus the lag of `used_at`.
const _: () = assert!(
    MIN_CACHE_RETENTION_DAYS as i64 > crate::scoring::MAX_AGE_DAYS + USED_AT_MAX_LAG.num_days()
);

/// The process's buying-intent set-up: build one from the `llm` settings and
/// share it (`Arc`).
#[derive(Debug)]
pub struct IntentService {
    /// The LLM (uncached: the caches are per organization) or, without one,
    /// the offline estimator.
    assessor: IntentAssessor,
    /// Whether `assessor` is the LLM.
    llm: bool,
    /// Score-now's in-memory front, shared by organizations (keys partitioned).
    memory: Option<Arc<MemoryIntentCache>>,
    mode: BatchIntentMode,
    concurrency: usize,
    /// How long an unused stored answer is kept; `None` when the batch does
    /// not read stored answers (nothing may be pruned then).
    retention: Option<TimeDelta>,
}

impl IntentService {
    /// The LLM of `llm` when configured, with an in-memory front of
    /// `memory_capacity` answers for score-now (none if 0); else the offline
    /// estimator, uncached (reading the phrases is cheaper than hashing).
    ///
    /// # Errors
    /// The LLM client's configuration errors ([`IntentAssessor::from_config`]).
    pub fn new(llm: Option<LlmConfig>, memory_capacity: usize) -> Result<Self, ScoringError> {
        let (mode, concurrency) = llm.as_ref().map_or((BatchIntentMode::Offline, 1), |c| {
            (c.batch, c.batch_concurrency)
        });
        let is_llm = llm.is_some();
        let retention = llm
            .as_ref()
            .filter(|c| c.batch != BatchIntentMode::Offline)
            .map(|c| TimeDelta::days(i64::from(c.cache_retention_days)));
        Ok(Self {
            assessor: IntentAssessor::from_config(llm, 0)?,
            llm: is_llm,
            memory: (is_llm && memory_capacity > 0)
                .then(|| Arc::new(MemoryIntentCache::new(memory_capacity))),
            mode,
            concurrency,
            retention,
        })
    }

    /// The offline estimator everywhere (no LLM configured).
    pub fn offline() -> Self {
        Self {
            assessor: IntentAssessor::new(Arc::new(OfflineIntent::new())),
            llm: false,
            memory: None,
            mode: BatchIntentMode::Offline,
            concurrency: 1,
            retention: None,
        }
    }

    /// The assessor of `org`'s score-now: the LLM, its answers cached in
    /// memory and in `org`'s rows of the database; or the offline estimator.
    pub fn for_org(&self, store: &Store, org: OrgId) -> IntentAssessor {
        if !self.llm {
            return self.assessor.clone();
        }
        self.assessor
            .clone()
            .with_cache(Arc::new(StoredIntentCache {
                store: store.clone(),
                org,
                memory: self.memory.clone(),
            }))
    }

    /// How a batch reads intent, per `llm.batch`.
    pub fn batch(&self) -> BatchIntent {
        match (self.llm, self.mode) {
            (false, _) | (true, BatchIntentMode::Offline) => BatchIntent::Offline,
            (true, BatchIntentMode::Cached) => BatchIntent::Cached(self.assessor.clone()),
            (true, BatchIntentMode::Ask) => BatchIntent::Ask {
                assessor: self.assessor.clone(),
                concurrency: self.concurrency.max(1),
            },
        }
    }

    /// Deletes the stored answers of `org` (of every organization with
    /// `None`) that nothing has used in the `llm.cache_retention_days` before
    /// `now`; returns how many. `Ok(None)`, touching nothing, when the batch
    /// does not read stored answers (no LLM, or `llm.batch = "offline"`):
    /// nothing then marks the answers of unchanged leads used.
    ///
    /// Meant for right after a batch over the same organizations, as the
    /// scheduler runs it: that batch has just marked the answers of every
    /// lead due for rescoring, and every other lead was scored, and its
    /// answer marked, within the last 7 days. (Not quite in the first week
    /// after `llm.batch` leaves `offline`: a lead last scored by an offline
    /// batch may lose an answer unused for longer than the retention; its
    /// score already used the offline estimator's reading, and `ask` gets
    /// the answer back.)
    pub async fn prune_unused(
        &self,
        store: &Store,
        org: Option<OrgId>,
        now: DateTime<Utc>,
    ) -> Result<Option<u64>, JobError> {
        let Some(retention) = self.retention else {
            return Ok(None);
        };
        let deleted = store
            .intent_cache()
            .prune_unused(org, now - retention)
            .await?;
        Ok(Some(deleted))
    }
}

/// How a scoring batch reads buying intent (see the module doc).
#[derive(Debug, Clone, Default)]
pub enum BatchIntent {
    /// The offline estimator only: no hashing, no cache, no LLM.
    #[default]
    Offline,
    /// Stored answers of this (LLM) assessor's model, else the offline
    /// estimator; never a request.
    Cached(IntentAssessor),
    /// Stored answers, and new texts sent to this (LLM) assessor.
    Ask {
        /// The LLM, uncached.
        assessor: IntentAssessor,
        /// Requests in flight at once.
        concurrency: usize,
    },
}

/// One organization's answers: memory first, then the database. Errors of
/// the database are logged and count as a miss (score-now then asks the LLM)
/// or a lost write: a cache must not fail a score.
struct StoredIntentCache {
    store: Store,
    org: OrgId,
    memory: Option<Arc<MemoryIntentCache>>,
}

impl IntentCache for StoredIntentCache {
    fn get<'a>(&'a self, key: &'a IntentCacheKey) -> BoxFuture<'a, Option<IntentAssessment>> {
        Box::pin(async move {
            let near = key.within(self.org.0);
            if let Some(m) = &self.memory
                && let Some(hit) = m.get(&near).await
            {
                // The stored answer is in use all the same: a lead kept
                // fresh by score-now alone is never reread by the batch,
                // and unmarked its answer would be pruned.
                if let Err(e) = self
                    .store
                    .intent_cache()
                    .mark_used(self.org, &[&key.to_hex()], Utc::now())
                    .await
                {
                    tracing::warn!(org = self.org.0, error = %e, "intent answer not marked used");
                }
                return Some(hit);
            }
            let stored = match self
                .store
                .intent_cache()
                .get(self.org, &key.to_hex(), Utc::now())
                .await
            {
                Ok(row) => row.as_ref().and_then(answer_of),
                Err(e) => {
                    tracing::warn!(org = self.org.0, error = %e, "intent cache unreadable");
                    None
                }
            };
            if let (Some(m), Some(a)) = (&self.memory, stored) {
                m.put(near, a).await;
            }
            stored
        })
    }

    fn put<'a>(&'a self, key: IntentCacheKey, value: IntentAssessment) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            if let Some(m) = &self.memory {
                m.put(key.within(self.org.0), value).await;
            }
            let Some(source) = value.answered_by.map(source_word) else {
                return;
            };
            let row = IntentWrite {
                key: key.to_hex(),
                intent: value.intent,
                source,
            };
            if let Err(e) = self
                .store
                .intent_cache()
                .put_many(self.org, &[row], Utc::now())
                .await
            {
                tracing::warn!(org = self.org.0, error = %e, "intent answer not stored");
            }
        })
    }
}

fn source_word(s: IntentSource) -> &'static str {
    match s {
        IntentSource::Llm => "llm",
        IntentSource::Offline => "offline",
    }
}

/// A stored row as an assessment from the cache (`None` for a source this
/// release does not know).
fn answer_of(c: &CachedIntent) -> Option<IntentAssessment> {
    let source = match c.source.as_str() {
        "llm" => IntentSource::Llm,
        "offline" => IntentSource::Offline,
        _ => return None,
    };
    Some(IntentAssessment {
        cached: true,
        ..IntentAssessment::answered(c.intent, source)
    })
}

/// The intent of each text of one chunk of `org`, in order (see the module
/// doc for what each mode does). Never fails.
pub(crate) async fn assess_texts(
    store: &Store,
    org: OrgId,
    texts: &[String],
    batch: &BatchIntent,
    offline: &OfflineIntent,
) -> Vec<IntentAssessment> {
    let (assessor, ask) = match batch {
        BatchIntent::Offline => return texts.iter().map(|t| offline.assess_text(t)).collect(),
        BatchIntent::Cached(assessor) => (assessor, None),
        BatchIntent::Ask {
            assessor,
            concurrency,
        } => (assessor, Some(*concurrency)),
    };
    // A blank text has nothing to send: the offline estimator records it.
    let keys: Vec<Option<String>> = texts
        .iter()
        .map(|t| (!t.trim().is_empty()).then(|| assessor.cache_key(t).to_hex()))
        .collect();
    let mut distinct: Vec<String> = keys.iter().flatten().cloned().collect();
    distinct.sort_unstable();
    distinct.dedup();
    let cache = store.intent_cache();
    let mut answers: HashMap<String, IntentAssessment> = HashMap::new();
    let mut readable = true;
    if !distinct.is_empty() {
        // Marked used at the time of the read (the clock's, not the
        // batch's `now`): the retention counts real time.
        match cache.get_many(org, &distinct, Utc::now()).await {
            Ok(found) => answers.extend(
                found
                    .iter()
                    .filter_map(|(k, c)| Some((k.clone(), answer_of(c)?))),
            ),
            Err(e) => {
                // Without the stored answers, asking would resend every text:
                // the chunk reads intent offline instead.
                tracing::warn!(org = org.0, error = %e, "intent cache unreadable; offline for this chunk");
                readable = false;
            }
        }
    }
    if let (Some(concurrency), true) = (ask, readable) {
        let mut seen = HashSet::new();
        // Owned, so that the stream's futures borrow nothing but the
        // assessor (borrowed items make the batch's future not `Send` to
        // rustc's eyes: "implementation of `FnOnce` is not general enough").
        let missing: Vec<(String, String)> = keys
            .iter()
            .zip(texts)
            .filter_map(|(k, t)| {
                let k = k.as_deref()?;
                (!answers.contains_key(k) && seen.insert(k)).then(|| (k.to_owned(), t.clone()))
            })
            .collect();
        if !missing.is_empty() {
            let ask_one = |(k, t): (String, String)| async move {
                let a = assessor.assess_uncached(&t).await;
                (k, a)
            };
            let fresh: Vec<(String, IntentAssessment)> = stream::iter(missing)
                .map(ask_one)
                .buffer_unordered(concurrency.max(1))
                .collect()
                .await;
            let rows: Vec<IntentWrite> = fresh
                .iter()
                .filter(|(_, a)| a.failure.is_none() && a.answered_by == Some(assessor.source()))
                .filter_map(|(k, a)| {
                    Some(IntentWrite {
                        key: k.clone(),
                        intent: a.intent,
                        source: source_word(a.answered_by?),
                    })
                })
                .collect();
            let failed = fresh.len() - rows.len();
            if failed > 0 {
                tracing::warn!(
                    org = org.0,
                    failed,
                    asked = fresh.len(),
                    "LLM failed on some texts; recorded in their evidence"
                );
            }
            if let Err(e) = cache.put_many(org, &rows, Utc::now()).await {
                tracing::warn!(org = org.0, error = %e, "intent answers not stored");
            }
            answers.extend(fresh);
        }
    }
    keys.iter()
        .zip(texts)
        .map(|(k, t)| match k.as_ref().and_then(|k| answers.get(k)) {
            Some(a) => *a,
            None => offline.assess_text(t),
        })
        .collect()
}
