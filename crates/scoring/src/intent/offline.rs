//! The built-in buying-intent estimator: no network, no model, the weighted
//! phrases of [`crate::rules::INTENT_PHRASES`].
//!
//! Used when no LLM is configured. Each distinct phrase counts once (a
//! description that says "demo" five times is not five times keener); the sum
//! is clamped to 0–5, so "not interested in pricing" reads 0.

use super::{BoxFuture, IntentAssessment, IntentEstimator, IntentSource};
use crate::error::ScoringError;
use crate::wording::TextWording;

/// Phrase-table intent estimator. Its table shares one automaton with the
/// urgency and budget wording, so [`crate::Scorer::score_offline`] reads all
/// three in one scan.
#[derive(Debug, Clone, Default)]
pub struct OfflineIntent;

impl OfflineIntent {
    /// Cache scope: bump when [`crate::rules::INTENT_PHRASES`] changes.
    pub const SCOPE: &'static str = "offline-phrases-v1";

    /// The estimator over the built-in table.
    pub fn new() -> Self {
        Self
    }

    /// Intent 0–5 read from `text`; 0 when no phrase is found.
    pub fn estimate_text(&self, text: &str) -> f64 {
        TextWording::read([text]).intent()
    }

    /// Synchronous assessment for the batch scorer when no LLM is configured:
    /// [`crate::IntentFailure::NoText`] for blank text, otherwise an offline answer.
    pub fn assess_text(&self, text: &str) -> IntentAssessment {
        TextWording::read([text]).intent_assessment()
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
    use crate::intent::IntentFailure;

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
