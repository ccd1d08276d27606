//! `/api/contacts`: the contact resource (list with filters, create, read,
//! change, delete through the generic mechanism) and what hangs off a
//! contact: its leads, deals and activity timeline (hand-written: nested
//! reads of other resources).

use chrono::{DateTime, Utc};
use neuracrm_actions::contacts::{self, ContactView};
use neuracrm_domain as d;
use neuracrm_domain::{ContactId, ContactPatch, Email, UserId};
use neuracrm_store::contacts::ContactFilter;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use super::activities::ActivityPage;
use super::deals::DealPage;
use super::leads::LeadPage;
use crate::AppState;
use crate::http::auth::AuthUser;
use crate::http::extract::{Id, Json, Query};
use crate::http::openapi::{reads, routes_of};
use crate::http::resource::{Conflicts, Docs, Resource, SUMMARIES, Summaries, crud, wire_types};
use crate::http::wire::{PageQuery, list_query, page, page_type, vocab};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    crud::<d::Contact>().merge(routes_of!(contact_leads, contact_deals, contact_activities))
}

impl Resource for d::Contact {
    wire_types!(
        ContactOut,
        ContactPage,
        CreateContact,
        ContactPatch,
        ContactPatchBody,
        ContactQuery
    );

    const DOCS: Docs = Docs::new("contact", "contacts")
        .summaries(Summaries {
            delete: Some("Deletes a contact; its leads, deals and activities stay, detached."),
            ..SUMMARIES
        })
        .conflicts(Conflicts {
            create: Some("E-mail taken"),
            update: Some("E-mail taken"),
            delete: None,
        });
}

/// A contact.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactOut {
    id: i64,
    organization_id: i64,
    first_name: String,
    last_name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    company: Option<String>,
    job_title: Option<String>,
    industry: Option<String>,
    company_size: Option<i64>,
    owner_id: Option<i64>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    /// The segments holding the contact: sent by `GET /api/contacts/{id}`
    /// only (absent from lists and from the answers of writes).
    #[serde(skip_serializing_if = "Option::is_none")]
    segments: Option<Vec<SegmentRefOut>>,
}

/// A segment holding a contact.
#[derive(Debug, Serialize, ToSchema)]
pub struct SegmentRefOut {
    /// The segment.
    id: i64,
    /// Its name.
    name: String,
    /// When the contact entered it.
    entered_at: DateTime<Utc>,
}

impl From<ContactView> for ContactOut {
    fn from(v: ContactView) -> Self {
        let c = v.contact;
        ContactOut {
            id: c.id.0,
            organization_id: c.organization_id.0,
            first_name: c.first_name,
            last_name: c.last_name,
            email: c.email.map(Into::into),
            phone: c.phone,
            company: c.company,
            job_title: c.job_title,
            industry: c.industry,
            company_size: c.company_size,
            owner_id: c.owner_id.map(|u| u.0),
            created_at: c.created_at,
            updated_at: c.updated_at,
            segments: v.segments.map(|list| {
                list.into_iter()
                    .map(|s| SegmentRefOut {
                        id: s.id,
                        name: s.name,
                        entered_at: s.entered_at,
                    })
                    .collect()
            }),
        }
    }
}

page_type!(
    /// A page of contacts.
    ContactPage, ContactOut, ContactView
);

/// A new contact.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateContact {
    /// First (or only) name.
    #[schema(min_length = 1, max_length = 200)]
    pub first_name: String,
    last_name: Option<String>,
    /// Unique within the organization.
    #[schema(value_type = Option<String>, format = Email)]
    email: Option<Email>,
    phone: Option<String>,
    company: Option<String>,
    job_title: Option<String>,
    industry: Option<String>,
    /// Employees.
    #[schema(minimum = 0)]
    company_size: Option<i64>,
    /// A user of the organization.
    #[schema(value_type = Option<i64>)]
    owner_id: Option<UserId>,
}

impl From<CreateContact> for d::NewContact {
    fn from(c: CreateContact) -> Self {
        d::NewContact {
            first_name: c.first_name,
            last_name: c.last_name,
            email: c.email,
            phone: c.phone,
            company: c.company,
            job_title: c.job_title,
            industry: c.industry,
            company_size: c.company_size,
            owner_id: c.owner_id,
        }
    }
}

/// A partial update of a contact: absent fields stay, `null` clears an
/// optional field (a required one refuses it with 422).
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct ContactPatchBody {
    #[schema(nullable = false)]
    first_name: Option<String>,
    last_name: Option<String>,
    #[schema(format = Email)]
    email: Option<String>,
    phone: Option<String>,
    company: Option<String>,
    job_title: Option<String>,
    industry: Option<String>,
    #[schema(minimum = 0)]
    company_size: Option<i64>,
    owner_id: Option<i64>,
}

list_query!(
    /// Filters, sorting and paging of the contact list.
    ContactQuery => ContactFilter,
    sort: " Sort key.", vocab::ContactSortKey => neuracrm_store::contacts::ContactSort,
    {
        /// Substring of name, e-mail or company (case-insensitive).
        pub q: Option<String>,
        id owner_id: UserId = "Owner's user id.",
        /// Exact industry.
        pub industry: Option<String>,
        range created_from, created_to: neuracrm_domain::BoundedTime as DateTime<Utc> = "Created at or after (RFC 3339).", "Created before (RFC 3339).",
        id segment_id: neuracrm_domain::SegmentId = "Members of this segment (404 when it is not the organization's).",
    }
);

reads!(
    /// The contact's leads.
    contact_leads: "/api/contacts/{id}/leads" in "contacts", "Contact id" ContactId
        => paged LeadPage, "No such contact", contacts::leads
);
reads!(
    /// The contact's deals.
    contact_deals: "/api/contacts/{id}/deals" in "contacts", "Contact id" ContactId
        => paged DealPage, "No such contact", contacts::deals
);
reads!(
    /// The contact's timeline: its own activities and those of its leads and
    /// deals, newest first.
    contact_activities: "/api/contacts/{id}/activities" in "contacts", "Contact id" ContactId
        => paged ActivityPage, "No such contact", contacts::timeline
);
