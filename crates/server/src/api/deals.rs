//! `/api/deals`: the deal resource (filtered, sorted list, create, read,
//! change, delete), all through the generic mechanism. Changes publish the
//! old and new stage, status and value.

use chrono::{DateTime, NaiveDate, Utc};
use neuracrm_domain as d;
use neuracrm_domain::{
    BoundedDate, BoundedTime, Cents, ContactId, DealPatch, DealStage, LeadId, UserId,
};
use neuracrm_store::deals::DealFilter;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use crate::AppState;
use crate::http::resource::{Docs, Resource, SUMMARIES, Summaries, crud, wire_types};
use crate::http::wire::{list_query, page_type, record_out, vocab};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    crud::<d::Deal>()
}

impl Resource for d::Deal {
    wire_types!(
        DealOut,
        DealPage,
        CreateDeal,
        DealPatch,
        DealPatchBody,
        DealQuery
    );

    const DOCS: Docs = Docs::new("deal", "deals").summaries(Summaries {
        update: Some(
            "Changes a deal (absent fields stay, `null` clears); closing stamps\n`closed_at`, reopening clears it.",
        ),
        ..SUMMARIES
    });
}

record_out!(
    /// A deal.
    DealOut from d::Deal as x {
        id: i64,
        organization_id: i64,
        contact_id: Option<i64>,
        lead_id: Option<i64>,
        owner_id: Option<i64>,
        title: String,
        #[schema(minimum = 0, maximum = 1_000_000_000_000_000_i64)]
        value_cents: i64,
        #[schema(value_type = vocab::DealStage)]
        stage: DealStage,
        #[schema(value_type = vocab::DealStatus)]
        status: d::DealStatus,
        expected_close: Option<NaiveDate>,
        closed_at: Option<DateTime<Utc>>,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    }
);

page_type!(
    /// A page of deals.
    DealPage, DealOut, d::Deal
);

/// A new deal; the status follows the stage.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDeal {
    /// Title.
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    #[schema(value_type = Option<i64>)]
    contact_id: Option<ContactId>,
    #[schema(value_type = Option<i64>)]
    lead_id: Option<LeadId>,
    #[schema(value_type = Option<i64>)]
    owner_id: Option<UserId>,
    /// Defaults to 0.
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 1_000_000_000_000_000_i64)]
    value_cents: Option<Cents>,
    /// Defaults to `prospecting`.
    #[schema(value_type = Option<vocab::DealStage>)]
    stage: Option<DealStage>,
    #[schema(value_type = Option<NaiveDate>)]
    expected_close: Option<BoundedDate>,
    /// Only for a deal created won or lost; defaults to now.
    #[schema(value_type = Option<DateTime<Utc>>)]
    closed_at: Option<BoundedTime>,
}

impl From<CreateDeal> for d::NewDeal {
    fn from(x: CreateDeal) -> Self {
        d::NewDeal {
            contact_id: x.contact_id,
            lead_id: x.lead_id,
            owner_id: x.owner_id,
            title: x.title,
            value_cents: x.value_cents.unwrap_or(Cents::ZERO),
            stage: x.stage.unwrap_or(DealStage::Prospecting),
            expected_close: x.expected_close,
            closed_at: x.closed_at,
        }
    }
}

/// A partial update of a deal: absent fields stay, `null` clears an optional
/// field (a required one refuses it with 422).
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct DealPatchBody {
    contact_id: Option<i64>,
    lead_id: Option<i64>,
    owner_id: Option<i64>,
    #[schema(nullable = false)]
    title: Option<String>,
    #[schema(minimum = 0, maximum = 1_000_000_000_000_000_i64, nullable = false)]
    value_cents: Option<i64>,
    #[schema(nullable = false)]
    stage: Option<vocab::DealStage>,
    expected_close: Option<NaiveDate>,
    #[schema(nullable = false)]
    closed_at: Option<DateTime<Utc>>,
}

list_query!(
    /// Filters, sorting and paging of the deal list.
    DealQuery => DealFilter,
    sort: " Sort key.", vocab::DealSortKey => neuracrm_store::deals::DealSort,
    {
        /// Substring of the title or the contact's name or company.
        pub q: Option<String>,
        /// Stage.
        #[param(value_type = Option<vocab::DealStage>)]
        pub stage: Option<DealStage>,
        /// Status.
        #[param(value_type = Option<vocab::DealStatus>)]
        pub status: Option<d::DealStatus>,
        id owner_id: UserId = "Owner's user id.",
        id contact_id: ContactId = "Contact id.",
        id lead_id: LeadId = "Lead id.",
        range closed_from, closed_to: BoundedTime as DateTime<Utc> = "Closed at or after (RFC 3339).", "Closed before (RFC 3339).",
        range expected_close_from, expected_close_to: BoundedDate as NaiveDate = "Expected close on or after (YYYY-MM-DD).", "Expected close before (YYYY-MM-DD).",
        range created_from, created_to: BoundedTime as DateTime<Utc> = "Created at or after (RFC 3339).", "Created before (RFC 3339).",
    }
);
