//! Lead scoring for NeuraCRM: a pure, deterministic seven-factor engine that
//! explains itself, and the buying-intent client that feeds its last factor.
//!
//! Why a crate of its own: scoring runs in two places, the batch scorer (one
//! set-based query of aggregated facts per organization, the engine, one bulk
//! write-back; ≥ 100,000 leads/s) and the API (one lead on demand), and both
//! must give the same answer. The engine therefore takes plain facts
//! ([`LeadFacts`]) and the time (`now`) as arguments: no database, no clock, no
//! network. The network (an LLM for buying intent) sits in [`intent`] and is
//! consulted *before* scoring; its answer, or its recorded failure, is one of
//! the facts.
//!
//! The rules are tables ([`rules`], rendered in `SCORING.md`); an
//! organization's [`ScoringConfig`] changes the weights, the industry table and
//! the category thresholds, and is compiled once into a [`Scorer`].
//!
//! ## How the server uses it
//!
//! - **Batch scorer** (`neuracrm score`, every 15 minutes): build one
//!   [`Scorer`] per organization from its stored [`ScoringConfig`] JSON
//!   ([`Scorer::new`] validates it); run one set-based query that yields a
//!   [`LeadFacts`] per lead (contact fields, activities aggregated);
//!   fill [`LeadFacts::intent`] from answers stored under
//!   [`IntentAssessor::cache_key`] (fetched a chunk at a time, new texts sent
//!   with [`IntentAssessor::assess_uncached`]) and call [`Scorer::score`]
//!   with one `now` for the whole run; without an LLM, call
//!   [`Scorer::score_offline`] instead, which reads intent offline in the
//!   same scan of the text as the urgency and budget wording. Write back
//!   `total`, `category.name()`, `confidence` and [`stored::encode`] of the
//!   breakdown in bulk.
//! - **API**: the same for one lead; `PUT` of a configuration calls
//!   [`ScoringConfig::validate`] and answers 422 with the error's `field`.
//!
//! The rules, with every phrase and point, are tabled in `SCORING.md` beside
//! this crate's `Cargo.toml`, ready for the README.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use neuracrm_scoring::{Category, LeadFacts, Scorer, ScoringConfig};
//!
//! let scorer = Scorer::new(&ScoringConfig::default())?;
//! let facts = LeadFacts {
//!     industry: Some("Computer Software".into()),
//!     company_size: Some(1200),
//!     job_title: Some("VP Engineering".into()),
//!     email_opens: 9,
//!     email_clicks: 3,
//!     website_seconds: 640,
//!     activity_count: 14,
//!     ..LeadFacts::default()
//! };
//! let now = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
//! let score = scorer.score(&facts, now);
//! assert_eq!(score.total, 20.0 + 15.0 + 20.0 + 12.0);
//! assert_eq!(score.category, Category::Warm);
//! assert_eq!(score.factors[2].evidence.to_string(), "12 opens+clicks, 640 s on site");
//! # Ok::<(), neuracrm_scoring::ScoringError>(())
//! ```

mod config;
mod engine;
mod error;
mod explain;
mod factor;
mod facts;
pub mod intent;
mod matcher;
pub mod rules;
pub mod stored;
#[cfg(feature = "testing")]
pub mod testing;
mod wording;

pub use config::{
    CategoryThresholds, IndustryRule, IndustryTable, ScoringConfig, WEIGHT_SUM_TOLERANCE, Weights,
};
pub use engine::Scorer;
pub use error::ScoringError;
pub use explain::{Evidence, FactorScore, LeadScore, Recommendation};
pub use factor::{Category, Factor};
pub use facts::LeadFacts;
pub use intent::{
    ApiKey, BatchIntentMode, IntentAssessment, IntentAssessor, IntentCache, IntentCacheKey,
    IntentEstimator, IntentFailure, IntentSource, LlmConfig, LlmIntent, MIN_CACHE_RETENTION_DAYS,
    MemoryIntentCache, OfflineIntent,
};
pub use rules::Seniority;
