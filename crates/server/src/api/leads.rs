//! `/api/leads`: the lead resource (filtered, sorted list, create, read,
//! change, delete), all through the generic mechanism.

use chrono::{DateTime, NaiveDate, Utc};
use neuracrm_domain as d;
use neuracrm_domain::{
    BoundedDate, BoundedTime, Cents, ContactId, LeadId, LeadPatch, LeadSource, LeadStatus, UserId,
};
use neuracrm_store::leads::LeadFilter;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use crate::AppState;
use crate::http::resource::{Docs, Resource, crud, wire_types};
use crate::http::wire::{list_query, page_type, record_out, vocab};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    crud::<d::Lead>()
}

impl Resource for d::Lead {
    wire_types!(
        LeadOut,
        LeadPage,
        CreateLead,
        LeadPatch,
        LeadPatchBody,
        LeadQuery
    );

    const DOCS: Docs = Docs::new("lead", "leads");
}

record_out!(
    /// A lead with its latest score.
    LeadOut from d::Lead as l {
        id: i64,
        organization_id: i64,
        contact_id: Option<i64>,
        owner_id: Option<i64>,
        title: String,
        description: Option<String>,
        #[schema(value_type = vocab::LeadStatus)]
        status: LeadStatus,
        #[schema(value_type = vocab::LeadSource)]
        source: LeadSource,
        #[schema(minimum = 0, maximum = 1_000_000_000_000_000_i64)]
        budget_cents: Option<i64>,
        expected_decision: Option<NaiveDate>,
        score: Option<f64>,
        /// The factor breakdown behind the score.
        #[schema(value_type = Option<Object>)]
        score_factors: Option<FactorsOut> = l.score_factors.map(|v| rendered_factors(l.id, v)),
        score_confidence: Option<f64>,
        score_category: Option<String>,
        score_updated_at: Option<DateTime<Utc>>,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    }
);

/// A lead's score breakdown as users read it.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum FactorsOut {
    /// Factors with evidence and explanation, and recommendations, rendered
    /// from the compact stored form (serialized straight from the typed
    /// breakdown, without an intermediate JSON tree).
    Rendered(Box<neuracrm_scoring::stored::Breakdown>),
    /// A stored value that does not decode, shown as stored (and logged): a
    /// read never fails for it, and nothing is lost.
    AsStored(serde_json::Value),
}

fn rendered_factors(lead: LeadId, stored: serde_json::Value) -> FactorsOut {
    match neuracrm_scoring::stored::decode(&stored) {
        Ok(b) => FactorsOut::Rendered(Box::new(b)),
        Err(error) => {
            tracing::warn!(lead = lead.0, %error, "stored score breakdown unreadable; shown as stored");
            FactorsOut::AsStored(stored)
        }
    }
}

page_type!(
    /// A page of leads.
    LeadPage, LeadOut, d::Lead
);

/// A new lead.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateLead {
    /// Short title.
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    #[schema(value_type = Option<i64>)]
    contact_id: Option<ContactId>,
    #[schema(value_type = Option<i64>)]
    owner_id: Option<UserId>,
    description: Option<String>,
    /// Defaults to `new`.
    #[schema(value_type = Option<vocab::LeadStatus>)]
    status: Option<LeadStatus>,
    /// Defaults to `other`.
    #[schema(value_type = Option<vocab::LeadSource>)]
    source: Option<LeadSource>,
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 1_000_000_000_000_000_i64)]
    budget_cents: Option<Cents>,
    #[schema(value_type = Option<NaiveDate>)]
    expected_decision: Option<BoundedDate>,
}

impl From<CreateLead> for d::NewLead {
    fn from(l: CreateLead) -> Self {
        d::NewLead {
            contact_id: l.contact_id,
            owner_id: l.owner_id,
            title: l.title,
            description: l.description,
            status: l.status.unwrap_or(LeadStatus::New),
            source: l.source.unwrap_or(LeadSource::Other),
            budget_cents: l.budget_cents,
            expected_decision: l.expected_decision,
        }
    }
}

/// A partial update of a lead: absent fields stay, `null` clears an optional
/// field (a required one refuses it with 422).
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct LeadPatchBody {
    contact_id: Option<i64>,
    owner_id: Option<i64>,
    #[schema(nullable = false)]
    title: Option<String>,
    description: Option<String>,
    #[schema(nullable = false)]
    status: Option<vocab::LeadStatus>,
    #[schema(nullable = false)]
    source: Option<vocab::LeadSource>,
    #[schema(minimum = 0, maximum = 1_000_000_000_000_000_i64)]
    budget_cents: Option<i64>,
    expected_decision: Option<NaiveDate>,
}

list_query!(
    /// Filters, sorting and paging of the lead list.
    LeadQuery => LeadFilter,
    sort: " Sort key (leads without a score, budget or decision date come last\nin either direction).",
    vocab::LeadSortKey => neuracrm_store::leads::LeadSort,
    {
        /// Substring of the title or the contact's name or company.
        pub q: Option<String>,
        /// Status.
        #[param(value_type = Option<vocab::LeadStatus>)]
        pub status: Option<LeadStatus>,
        /// Source.
        #[param(value_type = Option<vocab::LeadSource>)]
        pub source: Option<LeadSource>,
        id owner_id: UserId = "Owner's user id.",
        id contact_id: ContactId = "Contact id.",
        /// Score category.
        #[param(value_type = Option<vocab::ScoreCategory>)]
        pub category: Option<neuracrm_scoring::Category>
            => category = category.map(|c| c.name().to_string()),
        /// Smallest score.
        pub min_score: Option<f64>,
        /// Largest score.
        pub max_score: Option<f64>,
        range created_from, created_to: BoundedTime as DateTime<Utc> = "Created at or after (RFC 3339).", "Created before (RFC 3339).",
        id segment_id: neuracrm_domain::SegmentId = "Leads of the members of this segment (404 when it is not the\norganization's).",
        /// Include each lead's score breakdown (`score_factors`, about 1.8 KB a
        /// lead). Off by default: list items carry `score_factors: null`; the
        /// breakdown is on the lead itself and at `/api/leads/{id}/score`.
        pub include_factors: Option<bool> => with_factors = include_factors.unwrap_or(false),
    }
);
