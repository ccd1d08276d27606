//! The crate's one error type.
//!
//! Scoring itself never fails: [`crate::Scorer::score`] is total over its
//! input. Errors come from a configuration that does not validate and from the
//! buying-intent client, whose failures the [`crate::IntentAssessor`] turns into
//! a recorded [`crate::IntentFailure`] and zero points rather than an error.
//! No message here ever contains the LLM API key.

use crate::intent::IntentFailure;

/// Everything that can go wrong in this crate.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScoringError {
    /// A [`crate::ScoringConfig`] (or [`crate::LlmConfig`]) value is out of
    /// its allowed range; `field` names it the way it is spelled in the JSON
    /// (`weights.industry`, `industries.rules[2].points`, `thresholds.warm`).
    #[error("invalid scoring configuration: {field}: {reason}")]
    InvalidConfig {
        /// Path of the offending field.
        field: String,
        /// What is wrong with it and what is allowed.
        reason: String,
    },

    /// The HTTP client for the LLM could not be built (TLS set-up, bad URL).
    #[error("cannot build the LLM client: {reason}")]
    LlmClient {
        /// What failed.
        reason: String,
    },

    /// One buying-intent estimate failed. `failure` is the compact reason that
    /// is recorded on the score; `detail` is the longer human text (status,
    /// transport error, the rejected reply), never the API key.
    #[error("buying-intent estimate failed: {failure}: {detail}")]
    Intent {
        /// The reason recorded in the score's evidence.
        failure: IntentFailure,
        /// Human-readable detail for logs.
        detail: String,
    },
}

impl ScoringError {
    pub(crate) fn config(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidConfig {
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn intent(failure: IntentFailure, detail: impl Into<String>) -> Self {
        Self::Intent {
            failure,
            detail: detail.into(),
        }
    }
}
