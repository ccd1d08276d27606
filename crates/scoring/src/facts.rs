//! What the engine knows about one lead: already-aggregated facts, with no
//! tie to the database.
//!
//! The batch scorer fills one [`LeadFacts`] per lead from a single set-based
//! query (contact fields joined, activities aggregated per lead), the API from
//! one lead. `None` means "not recorded": the factor then scores its default
//! and counts as missing data for the confidence.

use crate::intent::IntentAssessment;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Aggregated facts about one lead.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LeadFacts {
    /// The contact's industry, free text ("Computer Software").
    pub industry: Option<String>,
    /// The contact's company size as an employee count.
    pub company_size: Option<u32>,
    /// The contact's job title, free text.
    pub job_title: Option<String>,
    /// The lead's stated budget in cents.
    pub budget_cents: Option<i64>,
    /// The lead's title.
    pub title: Option<String>,
    /// The lead's description (also the text read for buying intent).
    pub description: Option<String>,
    /// The expected decision date (the lead's timeline or its open deal's
    /// expected close).
    pub expected_decision: Option<NaiveDate>,
    /// Number of the lead's activities of any type.
    pub activity_count: u32,
    /// Number of `email_open` activities.
    pub email_opens: u32,
    /// Number of `email_click` activities.
    pub email_clicks: u32,
    /// Sum of `duration_seconds` over `website_visit` activities.
    pub website_seconds: u64,
    /// When the most recent activity occurred.
    pub last_activity_at: Option<DateTime<Utc>>,
    /// Buying intent, assessed beforehand by an [`crate::IntentAssessor`]
    /// (or [`crate::OfflineIntent::assess_text`]); `None` when not assessed.
    pub intent: Option<IntentAssessment>,
}
