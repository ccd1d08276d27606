//! The built-in buying-intent estimator: no network, no model, the weighted
//! phrases of [`crate::rules::INTENT_PHRASES`].
//!
//! Used when no LLM is configured. Each distinct phrase counts once (a
//! description that says "demo" five times is not five times keener); the sum
//! is clamped to 0–5, so "not interested in pricing" reads 0.

use super::{
    BoxFuture, IntentAssessment, IntentEstimator, IntentFailure, IntentSource, MAX_INTENT,
};
use crate::error::ScoringError;
use crate::matcher::PhraseMatcher;
use crate::rules::INTENT_PHRASES;
use std::sync::{Arc, LazyLock};

// Distinct phrases are tracked in a u64 bit set.
const _: () = assert!(INTENT_PHRASES.len() <= 64);

/// The phrase table compiled once per process.
static MATCHER: LazyLock<Option<Arc<PhraseMatcher>>> = LazyLock::new(|| {
    PhraseMatcher::new(INTENT_PHRASES.iter().map(|(p, _)| p))
        .ok()
        .map(Arc::new)
});

/// Phrase-table intent estimator.
#[derive(Debug, Clone, Default)]
pub struct OfflineIntent {
    matcher: Option<Arc<PhraseMatcher>>,
}

impl OfflineIntent {
    /// Cache scope: bump when [`INTENT_PHRASES`] changes.
    pub const SCOPE: &'static str = "offline-phrases-v1";

    /// The estimator over the built-in table.
    pub fn new() -> Self {
        Self {
            matcher: MATCHER.clone(),
        }
    }

    /// Intent 0–5 read from `text`; 0 when no phrase is found.
    pub fn estimate_text(&self, text: &str) -> f64 {
        let Some(matcher) = &self.matcher else {
            return 0.0;
        };
        let mut seen = 0u64;
        let mut sum = 0.0;
        matcher.for_each_word_match(text, |i| {
            let bit = 1u64 << i;
            if seen & bit == 0 {
                seen |= bit;
                sum += INTENT_PHRASES.get(i).map_or(0.0, |&(_, w)| w);
            }
        });
        f64::clamp(sum, 0.0, MAX_INTENT)
    }

    /// Synchronous assessment for the batch scorer when no LLM is configured:
    /// [`IntentFailure::NoText`] for blank text, otherwise an offline answer.
    pub fn assess_text(&self, text: &str) -> IntentAssessment {
        if text.trim().is_empty() {
            IntentAssessment::failed(IntentFailure::NoText)
        } else {
            IntentAssessment::answered(self.estimate_text(text), IntentSource::Offline)
        }
    }
}

impl IntentEstimator for OfflineIntent {
    fn source(&self) -> IntentSource {
        IntentSource::Offline
    }

    fn cache_scope(&self) -> &str {
        Self::SCOPE
    }

    fn estimate<'a>(&'a self, text: &'a str) -> BoxFuture<'a, Result<f64, ScoringError>> {
        let v = self.estimate_text(text);
        Box::pin(async move { Ok(v) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_weighted_phrases_once_each_and_clamps() {
        let o = OfflineIntent::new();
        assert_eq!(o.estimate_text("Ready to buy"), 3.0);
        assert_eq!(o.estimate_text("demo demo demo"), 1.0);
        assert_eq!(o.estimate_text("pricing and a demo, timeline Q3"), 3.0);
        assert_eq!(
            o.estimate_text("ready to buy, contract, pricing, demo, timeline, proposal"),
            5.0
        );
        assert_eq!(o.estimate_text("Not interested in pricing"), 0.0);
        assert_eq!(o.estimate_text("just browsing"), 0.0);
        assert_eq!(o.estimate_text("nothing relevant here"), 0.0);
        // "Demolition" is not "demo".
        assert_eq!(o.estimate_text("demolition contractor"), 0.0);
    }

    #[test]
    fn assess_text_records_source_or_missing_text() {
        let o = OfflineIntent::new();
        let a = o.assess_text("Send me a quote");
        assert_eq!(a.answered_by, Some(IntentSource::Offline));
        assert_eq!(a.intent, 1.0);
        assert_eq!(o.assess_text(" ").failure, Some(IntentFailure::NoText));
    }
}
