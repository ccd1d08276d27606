//! Sentiment in the CRM: which analyser an organization uses, analysing
//! activities as they are logged, and the backfill of existing ones.
//!
//! **Which analyser.** An organization's own model file when its settings
//! name one (`settings.sentiment.model_path`), else the server-wide model
//! (`Settings::sentiment_model`, `NEURACRM_SENTIMENT_MODEL`), else VADER. A
//! model that cannot be loaded (missing, corrupt, foreign file) is reported
//! once, and VADER answers instead until the process restarts. Each model file
//! is loaded once per process, off the async runtime, and shared
//! ([`SentimentService`]).
//!
//! **Which activities.** Notes, received e-mails and calls with a non-blank
//! body ([`neuracrm_store::sentiment::customer_text`]).
//!
//! **Backfill.** [`backfill`] walks each organization's activities with
//! customer text and no stored sentiment in id order, a chunk at a time: one
//! query reads the chunk, the analyser runs on a blocking thread, one
//! statement writes the chunk.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::Utc;
use neuracrm_domain::{ActivityId, OrgId};
use neuracrm_sentiment::{Analysis, Analyzer, SentimentModel};
use neuracrm_store::Store;
use neuracrm_store::sentiment::{ActivityText, SentimentWrite};
use serde::Serialize;
use tokio::sync::OnceCell;

use crate::JobError;

/// Above this many texts (or bytes of text in all), analysis moves to a
/// blocking thread: a model's forest costs far more per text than VADER, and
/// a large batch would otherwise stall the runtime's other tasks.
const INLINE_TEXTS: usize = 8;
const INLINE_BYTES: usize = 16 * 1024;

/// A loaded model, or `None` when it could not be loaded.
type ModelCell = Arc<OnceCell<Option<Arc<Analyzer>>>>;

/// The analysers of every organization, each model loaded once and shared.
/// Build one per process and share it (`Arc`).
#[derive(Debug)]
pub struct SentimentService {
    default_model: Option<PathBuf>,
    vader: Arc<Analyzer>,
    models: Mutex<HashMap<PathBuf, ModelCell>>,
    /// Organizations whose `settings.sentiment` is unusable (warned once).
    bad_settings: Mutex<HashSet<OrgId>>,
}

impl Default for SentimentService {
    fn default() -> Self {
        Self::new(None)
    }
}

impl SentimentService {
    /// Organizations without a model of their own use `default_model`, or
    /// VADER when `None`.
    pub fn new(default_model: Option<PathBuf>) -> Self {
        SentimentService {
            default_model,
            vader: Arc::new(Analyzer::new()),
            models: Mutex::new(HashMap::new()),
            bad_settings: Mutex::new(HashSet::new()),
        }
    }

    /// The model file `org` is configured with, if any.
    pub async fn model_path(&self, store: &Store, org: OrgId) -> Result<Option<PathBuf>, JobError> {
        let settings = store.organizations().settings(org).await?;
        let own = match settings.get("sentiment").map(|s| s.get("model_path")) {
            None | Some(None) | Some(Some(serde_json::Value::Null)) => None,
            Some(Some(serde_json::Value::String(p))) if !p.trim().is_empty() => {
                Some(PathBuf::from(p))
            }
            Some(Some(_)) => {
                let first = self
                    .bad_settings
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(org);
                if first {
                    tracing::warn!(
                        org = org.0,
                        "settings.sentiment.model_path is not a file path; using the default analyser"
                    );
                }
                None
            }
        };
        Ok(own.or_else(|| self.default_model.clone()))
    }

    /// The analyser of `org`.
    pub async fn analyzer(&self, store: &Store, org: OrgId) -> Result<Arc<Analyzer>, JobError> {
        Ok(match self.model_path(store, org).await? {
            Some(path) => self.load(&path).await,
            None => self.vader.clone(),
        })
    }

    /// The analyser over the model at `path`: loaded on first use (on a
    /// blocking thread; concurrent first callers wait for the same load),
    /// VADER when it cannot be loaded (reported once).
    pub async fn load(&self, path: &Path) -> Arc<Analyzer> {
        let cell = self
            .models
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(path.to_path_buf())
            .or_default()
            .clone();
        let loaded = cell
            .get_or_init(|| async {
                let p = path.to_path_buf();
                let result = tokio::task::spawn_blocking(move || SentimentModel::load(&p)).await;
                match result {
                    Ok(Ok(model)) => {
                        tracing::info!(path = %path.display(), "sentiment model loaded");
                        Some(Arc::new(Analyzer::with_model(Some(model))))
                    }
                    Ok(Err(e)) => {
                        tracing::warn!(path = %path.display(), error = %e,
                            "sentiment model cannot be loaded; VADER answers instead");
                        None
                    }
                    Err(e) => {
                        tracing::warn!(path = %path.display(), error = %e,
                            "loading the sentiment model failed; VADER answers instead");
                        None
                    }
                }
            })
            .await;
        loaded.clone().unwrap_or_else(|| self.vader.clone())
    }

    /// The VADER analyser.
    pub fn vader(&self) -> Arc<Analyzer> {
        self.vader.clone()
    }
}

/// Analyses `texts` in order, on a blocking thread when the batch is large.
pub async fn analyze_all(analyzer: Arc<Analyzer>, texts: Vec<String>) -> Vec<Analysis> {
    let bytes: usize = texts.iter().map(String::len).sum();
    if texts.len() <= INLINE_TEXTS && bytes <= INLINE_BYTES {
        return texts.iter().map(|t| analyzer.analyze(t)).collect();
    }
    let worker = analyzer.clone();
    match tokio::task::spawn_blocking(move || {
        texts.iter().map(|t| worker.analyze(t)).collect::<Vec<_>>()
    })
    .await
    {
        Ok(results) => results,
        // `analyze` does not panic on any input; should the blocking pool be
        // shutting down, the caller's own task answers.
        Err(e) => {
            tracing::warn!(error = %e, "blocking analysis did not complete");
            Vec::new()
        }
    }
}

/// The row to store for `activity`'s analysis.
pub fn to_write(activity: ActivityId, a: &Analysis) -> SentimentWrite {
    SentimentWrite {
        activity_id: activity,
        label: a.label.as_str(),
        confidence: a.confidence,
        negative: a.negative,
        neutral: a.neutral,
        positive: a.positive,
        compound: a.compound,
        method: a.method.as_str(),
    }
}

/// What analysing a set of activities did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AnalyzeCounts {
    /// Activities analysed and stored.
    pub analyzed: u64,
    /// Stored as negative.
    pub negative: u64,
    /// Stored as neutral.
    pub neutral: u64,
    /// Stored as positive.
    pub positive: u64,
    /// Activities read without customer text (nothing stored).
    pub skipped: u64,
}

impl AnalyzeCounts {
    fn add(&mut self, other: &AnalyzeCounts) {
        self.analyzed += other.analyzed;
        self.negative += other.negative;
        self.neutral += other.neutral;
        self.positive += other.positive;
        self.skipped += other.skipped;
    }
}

/// Analyses `rows` of `org` with `analyzer` and stores the results in one
/// statement; rows without customer text are skipped, and with `clear_others`
/// their stored results removed (an update that emptied the body).
async fn analyze_rows(
    store: &Store,
    analyzer: Arc<Analyzer>,
    org: OrgId,
    rows: Vec<ActivityText>,
    clear_others: bool,
) -> Result<AnalyzeCounts, JobError> {
    let mut counts = AnalyzeCounts::default();
    let (ids, texts): (Vec<ActivityId>, Vec<String>) = rows
        .iter()
        .filter_map(|r| r.customer_text().map(|t| (r.id, t.to_string())))
        .unzip();
    let without: Vec<ActivityId> = rows
        .iter()
        .filter(|r| r.customer_text().is_none())
        .map(|r| r.id)
        .collect();
    counts.skipped = without.len() as u64;
    if clear_others && !without.is_empty() {
        store.sentiment().clear(org, &without).await?;
    }
    if ids.is_empty() {
        return Ok(counts);
    }
    let results = analyze_all(analyzer, texts).await;
    let writes: Vec<SentimentWrite> = ids
        .iter()
        .zip(&results)
        .map(|(id, a)| to_write(*id, a))
        .collect();
    store.sentiment().write(org, &writes, Utc::now()).await?;
    for w in &writes {
        match w.label {
            "negative" => counts.negative += 1,
            "neutral" => counts.neutral += 1,
            _ => counts.positive += 1,
        }
    }
    counts.analyzed = writes.len() as u64;
    Ok(counts)
}

/// Analyses and stores the sentiment of `org`'s activities among `ids` (ids
/// of other organizations are not read), removing stored results of those
/// that no longer carry customer text. For the `activity_logged` and
/// `activity_updated` subscriber.
pub async fn analyze_activities(
    store: &Store,
    service: &SentimentService,
    org: OrgId,
    ids: &[ActivityId],
) -> Result<AnalyzeCounts, JobError> {
    let rows = store.sentiment().texts(org, ids).await?;
    if rows.is_empty() {
        return Ok(AnalyzeCounts::default());
    }
    let analyzer = service.analyzer(store, org).await?;
    analyze_rows(store, analyzer, org, rows, true).await
}

/// How a backfill runs.
#[derive(Debug, Clone)]
pub struct BackfillOptions {
    /// Only this organization (all when `None`).
    pub org: Option<OrgId>,
    /// Activities per chunk.
    pub chunk: u32,
}

impl Default for BackfillOptions {
    fn default() -> Self {
        Self {
            org: None,
            chunk: 2_000,
        }
    }
}

/// The outcome of a backfill.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BackfillSummary {
    /// Organizations visited.
    pub organizations: u64,
    /// Activities analysed and stored, and their labels.
    #[serde(flatten)]
    pub counts: AnalyzeCounts,
    /// Activities whose chunk could not be stored.
    pub failed: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// Analyses every activity with customer text and no stored sentiment (of
/// `opts.org`, or of every organization); `progress` is told how many
/// activities each chunk covered. A chunk that cannot be stored is counted as
/// failed and the walk goes on.
pub async fn backfill(
    store: &Store,
    service: &SentimentService,
    opts: &BackfillOptions,
    mut progress: impl FnMut(u64),
) -> Result<BackfillSummary, JobError> {
    let started = Instant::now();
    let orgs = crate::target_orgs(store, opts.org).await?;
    let mut summary = BackfillSummary::default();
    for org in orgs {
        summary.organizations += 1;
        let analyzer = service.analyzer(store, org).await?;
        let mut after = 0;
        loop {
            let rows = store.sentiment().unanalyzed(org, after, opts.chunk).await?;
            let Some(last) = rows.last() else { break };
            after = last.id.0;
            let n = rows.len() as u64;
            progress(n);
            match analyze_rows(store, analyzer.clone(), org, rows, false).await {
                Ok(c) => summary.counts.add(&c),
                Err(e) => {
                    tracing::warn!(org = org.0, after, error = %e, "sentiment chunk not stored");
                    summary.failed += n;
                }
            }
        }
    }
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use neuracrm_sentiment::{Label, Method};

    #[tokio::test]
    async fn a_missing_model_falls_back_to_vader_and_is_tried_once() {
        let service = SentimentService::new(None);
        let path = Path::new("/nonexistent/model.bin");
        let a = service.load(path).await;
        assert!(a.model().is_none());
        let b = service.load(path).await;
        assert!(Arc::ptr_eq(&a, &b), "the same VADER analyser is shared");
        assert_eq!(service.models.lock().unwrap().len(), 1, "one cell per path");
        let r = a.analyze("This is terrible, I want a refund.");
        assert_eq!((r.label, r.method), (Label::Negative, Method::Vader));
    }

    #[tokio::test]
    async fn large_batches_give_the_same_answers_as_small_ones() {
        let analyzer = Arc::new(Analyzer::new());
        let texts: Vec<String> = (0..50)
            .map(|i| {
                if i % 2 == 0 {
                    format!("Great service, thanks! #{i}")
                } else {
                    format!("Awful delays again #{i}")
                }
            })
            .collect();
        let big = analyze_all(analyzer.clone(), texts.clone()).await;
        assert_eq!(big.len(), 50);
        for (t, r) in texts.iter().zip(&big) {
            assert_eq!(*r, analyzer.analyze(t));
        }
        assert_eq!(big[0].label, Label::Positive);
        assert_eq!(big[1].label, Label::Negative);
    }
}
