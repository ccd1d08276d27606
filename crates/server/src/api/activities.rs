//! `/api/activities`: the activity resource (list by time of occurrence,
//! record, read, change, delete), all through the generic mechanism. Reads
//! carry the stored sentiment; an activity is recorded by the caller.

use chrono::{DateTime, Utc};
use neuracrm_actions::activities::ActivityView;
use neuracrm_domain as d;
use neuracrm_domain::{ActivityPatch, ActivityType, ContactId, DealId, LeadId, UserId};
use neuracrm_store::activities::ActivityFilter;
use neuracrm_store::sentiment::StoredSentiment;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use crate::AppState;
use crate::http::resource::{Docs, Resource, Summaries, crud, wire_types};
use crate::http::wire::{
    SentimentLabel, SentimentMethod, list_query, page_type, record_out, vocab,
};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    crud::<d::Activity>()
}

impl Resource for d::Activity {
    wire_types!(
        ActivityOut,
        ActivityPage,
        CreateActivity,
        ActivityPatch,
        ActivityPatchBody,
        ActivityQuery
    );

    const DOCS: Docs = Docs::new("activity", "activities")
        .summaries(Summaries {
            list: Some("Lists the organization's activities by time of occurrence."),
            create: Some("Records an activity (by the caller)."),
            get: None,
            update: Some("Changes an activity's subject, body, duration or time."),
            delete: Some("Deletes an activity."),
        })
        .invalid("Invalid field or reference", "Invalid field");
}

record_out!(
    /// An activity.
    ActivityOut from d::Activity as a {
        id: i64,
        organization_id: i64,
        #[serde(rename = "type")]
        #[schema(value_type = vocab::ActivityType)]
        kind: ActivityType,
        lead_id: Option<i64>,
        deal_id: Option<i64>,
        contact_id: Option<i64>,
        user_id: Option<i64>,
        subject: Option<String>,
        body: Option<String>,
        duration_seconds: Option<i64>,
        occurred_at: DateTime<Utc>,
        created_at: DateTime<Utc>,
        /// The stored sentiment, on reads (GET) of activities with customer text
        /// once analysed (shortly after they are logged or edited); null
        /// otherwise, and in the answers to POST and PATCH.
        sentiment: Option<ActivitySentimentOut> = None,
    }
);

/// The stored sentiment of an activity.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActivitySentimentOut {
    /// `negative`, `neutral` or `positive`.
    #[schema(value_type = SentimentLabel)]
    label: String,
    /// How sure, 0–1.
    confidence: f64,
    /// Negative score.
    negative: f64,
    /// Neutral score.
    neutral: f64,
    /// Positive score.
    positive: f64,
    /// VADER's compound score, −1 to 1.
    compound: f64,
    /// `vader` or `model`.
    #[schema(value_type = SentimentMethod)]
    method: String,
    /// When it was computed.
    analyzed_at: DateTime<Utc>,
}

impl From<&StoredSentiment> for ActivitySentimentOut {
    fn from(s: &StoredSentiment) -> Self {
        ActivitySentimentOut {
            label: s.label.clone(),
            confidence: s.confidence,
            negative: s.negative,
            neutral: s.neutral,
            positive: s.positive,
            compound: s.compound,
            method: s.method.clone(),
            analyzed_at: s.analyzed_at,
        }
    }
}

impl From<ActivityView> for ActivityOut {
    fn from(v: ActivityView) -> Self {
        ActivityOut {
            sentiment: v.sentiment.as_ref().map(Into::into),
            ..v.activity.into()
        }
    }
}

page_type!(
    /// A page of activities.
    ActivityPage, ActivityOut, ActivityView
);

/// A new activity; it must name a lead, a deal or a contact.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateActivity {
    /// What happened.
    #[serde(rename = "type")]
    #[schema(value_type = vocab::ActivityType)]
    pub kind: ActivityType,
    #[schema(value_type = Option<i64>)]
    lead_id: Option<LeadId>,
    #[schema(value_type = Option<i64>)]
    deal_id: Option<DealId>,
    #[schema(value_type = Option<i64>)]
    contact_id: Option<ContactId>,
    subject: Option<String>,
    body: Option<String>,
    #[schema(minimum = 0)]
    duration_seconds: Option<i64>,
    /// Defaults to now.
    #[schema(value_type = Option<DateTime<Utc>>)]
    occurred_at: Option<neuracrm_domain::BoundedTime>,
}

impl From<CreateActivity> for d::NewActivity {
    /// The recording user is set by the action: the caller.
    fn from(a: CreateActivity) -> Self {
        d::NewActivity {
            kind: a.kind,
            lead_id: a.lead_id,
            deal_id: a.deal_id,
            contact_id: a.contact_id,
            user_id: None,
            subject: a.subject,
            body: a.body,
            duration_seconds: a.duration_seconds,
            occurred_at: a.occurred_at,
        }
    }
}

/// A partial update of an activity: absent fields stay, `null` clears an optional
/// field (a required one refuses it with 422).
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct ActivityPatchBody {
    subject: Option<String>,
    body: Option<String>,
    #[schema(minimum = 0)]
    duration_seconds: Option<i64>,
    #[schema(nullable = false)]
    occurred_at: Option<DateTime<Utc>>,
}

list_query!(
    /// Filters, order and paging of the activity list (by time of occurrence).
    ActivityQuery => ActivityFilter,
    order: " Direction of the occurrence-time order (default desc).",
    {
        /// Type.
        #[serde(rename = "type")]
        #[param(rename = "type", value_type = Option<vocab::ActivityType>)]
        pub kind: Option<ActivityType>,
        id lead_id: LeadId = "Lead id.",
        id deal_id: DealId = "Deal id.",
        id contact_id: ContactId = "Contact id (its own activities only).",
        id user_id: UserId = "Recording user id.",
        range occurred_from, occurred_to: neuracrm_domain::BoundedTime as DateTime<Utc> = "Happened at or after (RFC 3339).", "Happened before (RFC 3339).",
    }
);
