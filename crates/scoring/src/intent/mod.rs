//! Buying intent (the `ai_insights` factor): a 0–5 reading of how ready the
//! lead's own words say it is to buy.
//!
//! Two estimators implement [`IntentEstimator`]: [`LlmIntent`] asks any
//! OpenAI-compatible chat-completions server (OpenAI, Ollama, vLLM, llama.cpp
//! server), [`OfflineIntent`] reads the text against a table of weighted
//! phrases. [`IntentAssessor`] puts them together with an [`IntentCache`]:
//! it never fails, it returns an [`IntentAssessment`] that says who answered,
//! or scores 0 and records why nobody did. The engine then only reads that
//! assessment from [`crate::LeadFacts::intent`], so scoring stays pure and
//! synchronous while the network lives here.
//!
//! ```no_run
//! # async fn f() -> Result<(), neuracrm_scoring::ScoringError> {
//! use neuracrm_scoring::{IntentAssessor, LlmConfig};
//! // No LLM configured: the offline estimator answers.
//! let assessor = IntentAssessor::from_config(None, 10_000)?;
//! let a = assessor.assess("We are ready to buy; send pricing").await;
//! assert!(a.intent > 0.0);
//! # Ok(()) }
//! ```

mod cache;
mod llm;
mod offline;
mod reply;

pub use cache::{IntentCache, IntentCacheKey, MemoryIntentCache};
pub use llm::{ApiKey, BatchIntentMode, LlmConfig, LlmIntent, MIN_CACHE_RETENTION_DAYS};
pub use offline::OfflineIntent;
pub use reply::parse_intent_reply;

use crate::error::ScoringError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A boxed, sendable future: what the object-safe async traits here return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Highest buying intent.
pub const MAX_INTENT: f64 = 5.0;

/// Which estimator answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntentSource {
    /// An OpenAI-compatible LLM.
    Llm,
    /// The built-in phrase-table estimator.
    Offline,
}

impl fmt::Display for IntentSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IntentSource::Llm => "LLM",
            IntentSource::Offline => "offline estimator",
        })
    }
}

/// Why an estimate failed: the compact reason recorded on the score.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum IntentFailure {
    /// The lead has no title or description to read.
    NoText,
    /// The LLM did not answer within the timeout (after the retry).
    Timeout,
    /// Connection refused, reset, DNS, TLS… (after the retry).
    Transport,
    /// The LLM answered with a non-success HTTP status.
    HttpStatus {
        /// The status code of the last attempt.
        status: u16,
    },
    /// The body was not a chat-completions response with a message.
    MalformedResponse,
    /// The reply contained no number.
    NoNumber,
    /// The reply's number is outside 0–5.
    OutOfRange {
        /// The number found.
        value: f64,
    },
}

impl fmt::Display for IntentFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IntentFailure::NoText => f.write_str("no text to read"),
            IntentFailure::Timeout => f.write_str("timed out"),
            IntentFailure::Transport => f.write_str("connection failed"),
            IntentFailure::HttpStatus { status } => write!(f, "HTTP status {status}"),
            IntentFailure::MalformedResponse => f.write_str("malformed response"),
            IntentFailure::NoNumber => f.write_str("reply contained no number"),
            IntentFailure::OutOfRange { value } => write!(f, "reply {value} is outside 0-5"),
        }
    }
}

/// The outcome of assessing one text: what [`crate::LeadFacts::intent`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct IntentAssessment {
    /// Buying intent 0–5; 0 when nobody answered.
    pub intent: f64,
    /// Who answered; `None` when every estimator failed.
    pub answered_by: Option<IntentSource>,
    /// Why the primary estimator failed, if it did (also when a fallback then
    /// answered).
    pub failure: Option<IntentFailure>,
    /// True when the answer came from the cache, not a new request.
    #[serde(default)]
    pub cached: bool,
}

impl IntentAssessment {
    /// An answer from `source`.
    pub fn answered(intent: f64, source: IntentSource) -> Self {
        Self {
            intent: intent.clamp(0.0, MAX_INTENT),
            answered_by: Some(source),
            failure: None,
            cached: false,
        }
    }

    /// Nobody answered: 0 with the reason.
    pub fn failed(failure: IntentFailure) -> Self {
        Self {
            intent: 0.0,
            answered_by: None,
            failure: Some(failure),
            cached: false,
        }
    }
}

/// Something that reads buying intent (0–5) from text.
///
/// Object-safe (`Arc<dyn IntentEstimator>`), hence the boxed future.
pub trait IntentEstimator: Send + Sync {
    /// What to record as the answering source.
    fn source(&self) -> IntentSource;

    /// Scope of cache keys: the model name for an LLM, a version for the
    /// offline table, so that changing either does not reuse old answers.
    fn cache_scope(&self) -> &str;

    /// Reads the text.
    ///
    /// # Errors
    /// [`ScoringError::Intent`] with the reason to record.
    fn estimate<'a>(&'a self, text: &'a str) -> BoxFuture<'a, Result<f64, ScoringError>>;
}

/// The combinator: cache, primary estimator, optional fallback. Never fails.
#[derive(Clone)]
pub struct IntentAssessor {
    primary: Arc<dyn IntentEstimator>,
    fallback: Option<Arc<dyn IntentEstimator>>,
    cache: Option<Arc<dyn IntentCache>>,
}

impl fmt::Debug for IntentAssessor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntentAssessor")
            .field("primary", &self.primary.source())
            .field("fallback", &self.fallback.as_ref().map(|e| e.source()))
            .field("cached", &self.cache.is_some())
            .finish()
    }
}

impl IntentAssessor {
    /// Assesses with `primary` only, uncached.
    pub fn new(primary: Arc<dyn IntentEstimator>) -> Self {
        Self {
            primary,
            fallback: None,
            cache: None,
        }
    }

    /// When the primary fails, ask `fallback` (the failure is still recorded).
    /// Without one, a failure scores 0, as the specification says.
    pub fn with_fallback(mut self, fallback: Arc<dyn IntentEstimator>) -> Self {
        self.fallback = Some(fallback);
        self
    }

    /// Answers of the primary estimator are cached by model and text.
    pub fn with_cache(mut self, cache: Arc<dyn IntentCache>) -> Self {
        self.cache = Some(cache);
        self
    }

    /// The production set-up: the LLM when configured, with an in-memory cache
    /// of `cache_capacity` answers (none if 0); else the offline estimator,
    /// uncached (reading the phrases is cheaper than hashing the text).
    ///
    /// # Errors
    /// [`ScoringError::InvalidConfig`] or [`ScoringError::LlmClient`] from
    /// [`LlmIntent::new`].
    pub fn from_config(
        llm: Option<LlmConfig>,
        cache_capacity: usize,
    ) -> Result<Self, ScoringError> {
        let Some(config) = llm else {
            return Ok(Self::new(Arc::new(OfflineIntent::new())));
        };
        let assessor = Self::new(Arc::new(LlmIntent::new(config)?));
        Ok(if cache_capacity > 0 {
            assessor.with_cache(Arc::new(MemoryIntentCache::new(cache_capacity)))
        } else {
            assessor
        })
    }

    /// Who answers when nothing fails: the primary estimator's source.
    pub fn source(&self) -> IntentSource {
        self.primary.source()
    }

    /// The cache key of `text` for the primary estimator (scoped by its
    /// model), as [`IntentAssessor::assess`] looks it up: for callers that
    /// fetch many cached answers at once (the batch).
    pub fn cache_key(&self, text: &str) -> IntentCacheKey {
        IntentCacheKey::new(self.primary.cache_scope(), text)
    }

    /// Assesses one text (the lead's title and description). Never fails: a
    /// failure is logged once and recorded in the result.
    pub async fn assess(&self, text: &str) -> IntentAssessment {
        if text.trim().is_empty() {
            return IntentAssessment::failed(IntentFailure::NoText);
        }
        let Some(cache) = &self.cache else {
            return self.assess_uncached(text).await;
        };
        let key = self.cache_key(text);
        if let Some(mut hit) = cache.get(&key).await {
            hit.cached = true;
            return hit;
        }
        let answer = self.assess_uncached(text).await;
        // Only the primary's own answers: a fallback's (or a failure) is not
        // cached, so the primary is asked again next time.
        if answer.failure.is_none() && answer.answered_by == Some(self.primary.source()) {
            cache.put(key, answer).await;
        }
        answer
    }

    /// [`IntentAssessor::assess`] without the cache: asks the primary (then
    /// the fallback, if any) every time. The batch uses it for the texts its
    /// own bulk cache lookup missed.
    pub async fn assess_uncached(&self, text: &str) -> IntentAssessment {
        if text.trim().is_empty() {
            return IntentAssessment::failed(IntentFailure::NoText);
        }
        match self.primary.estimate(text).await {
            Ok(intent) => IntentAssessment::answered(intent, self.primary.source()),
            Err(err) => {
                tracing::warn!(error = %err, "buying-intent estimate failed");
                let failure = match &err {
                    ScoringError::Intent { failure, .. } => *failure,
                    _ => IntentFailure::Transport,
                };
                let Some(fallback) = &self.fallback else {
                    return IntentAssessment::failed(failure);
                };
                match fallback.estimate(text).await {
                    Ok(intent) => IntentAssessment {
                        failure: Some(failure),
                        ..IntentAssessment::answered(intent, fallback.source())
                    },
                    Err(err) => {
                        tracing::warn!(error = %err, "fallback buying-intent estimate failed");
                        IntentAssessment::failed(failure)
                    }
                }
            }
        }
    }
}

/// The text to read for intent: title and description, newline-joined.
pub fn intent_text(title: Option<&str>, description: Option<&str>) -> String {
    match (title, description) {
        (Some(t), Some(d)) => format!("{t}\n{d}"),
        (Some(t), None) => t.to_owned(),
        (None, Some(d)) => d.to_owned(),
        (None, None) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Fixed {
        answer: Result<f64, IntentFailure>,
        calls: AtomicUsize,
        source: IntentSource,
    }

    impl IntentEstimator for Fixed {
        fn source(&self) -> IntentSource {
            self.source
        }
        fn cache_scope(&self) -> &str {
            "fixed"
        }
        fn estimate<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<f64, ScoringError>> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let a = self.answer.map_err(|f| ScoringError::intent(f, "test"));
            Box::pin(async move { a })
        }
    }

    fn fixed(answer: Result<f64, IntentFailure>, source: IntentSource) -> Arc<Fixed> {
        Arc::new(Fixed {
            answer,
            calls: AtomicUsize::new(0),
            source,
        })
    }

    #[tokio::test]
    async fn failure_without_fallback_scores_zero_with_reason() {
        let llm = fixed(Err(IntentFailure::Timeout), IntentSource::Llm);
        let a = IntentAssessor::new(llm).assess("need pricing").await;
        assert_eq!(a, IntentAssessment::failed(IntentFailure::Timeout));
    }

    #[tokio::test]
    async fn fallback_answers_and_keeps_the_primary_failure_uncached() {
        let llm = fixed(
            Err(IntentFailure::HttpStatus { status: 503 }),
            IntentSource::Llm,
        );
        let cache = Arc::new(MemoryIntentCache::new(8));
        let assessor = IntentAssessor::new(llm.clone())
            .with_fallback(Arc::new(OfflineIntent::new()))
            .with_cache(cache);
        let a = assessor.assess("We are ready to buy").await;
        assert_eq!(a.answered_by, Some(IntentSource::Offline));
        assert_eq!(a.failure, Some(IntentFailure::HttpStatus { status: 503 }));
        assert!(a.intent >= 3.0);
        let b = assessor.assess("We are ready to buy").await;
        assert!(!b.cached);
        assert_eq!(llm.calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn empty_text_is_not_sent() {
        let llm = fixed(Ok(4.0), IntentSource::Llm);
        let a = IntentAssessor::new(llm.clone()).assess("  \n ").await;
        assert_eq!(a.failure, Some(IntentFailure::NoText));
        assert_eq!(llm.calls.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn cache_answers_second_time_and_is_scoped_by_model() {
        let llm = fixed(Ok(4.0), IntentSource::Llm);
        let cache = Arc::new(MemoryIntentCache::new(8));
        let assessor = IntentAssessor::new(llm.clone()).with_cache(cache);
        let a = assessor.assess("text").await;
        let b = assessor.assess("text").await;
        assert!(!a.cached && b.cached);
        assert_eq!(b.intent, 4.0);
        assert_eq!(llm.calls.load(Ordering::SeqCst), 1);
        assert_ne!(
            IntentCacheKey::new("m1", "text"),
            IntentCacheKey::new("m2", "text")
        );
    }

    #[test]
    fn intent_text_joins_what_is_there() {
        assert_eq!(intent_text(Some("a"), Some("b")), "a\nb");
        assert_eq!(intent_text(None, Some("b")), "b");
        assert_eq!(intent_text(Some("a"), None), "a");
        assert_eq!(intent_text(None, None), "");
    }
}
