//! The API's request and response bodies, with their OpenAPI schemas.
//!
//! The domain crate stays free of web crates, so the wire types live here:
//! responses convert from domain records (the schema matches what is sent by
//! construction), create bodies convert into the domain's `New*` inputs, and
//! patch bodies are the domain's `*Patch` types themselves, documented by the
//! `*PatchBody` mirrors.

use chrono::{DateTime, NaiveDate, Utc};
use neuracrm_domain as d;
use neuracrm_domain::{
    ActivityId, ActivityType, Cents, ContactId, DealId, DealStage, Email, LeadId, LeadSource,
    LeadStatus, Role, UserId,
};
use neuracrm_store::sentiment::StoredSentiment;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;

/// Schema-only copies of the domain's vocabularies (the domain has no
/// `ToSchema`); the words are the same.
pub mod vocab {
    use serde::Serialize;
    use utoipa::ToSchema;

    macro_rules! schema_enum {
        ($(#[$doc:meta])* $name:ident { $($v:ident),+ $(,)? }) => {
            $(#[$doc])*
            #[derive(Debug, Serialize, ToSchema)]
            #[serde(rename_all = "snake_case")]
            pub enum $name { $(#[allow(missing_docs)] $v),+ }
        };
    }

    schema_enum!(
        /// A user's role.
        Role { Admin, Manager, Rep }
    );
    schema_enum!(
        /// Lead qualification status.
        LeadStatus { New, Contacted, Qualified, Unqualified, Converted }
    );
    schema_enum!(
        /// How a lead reached us.
        LeadSource { Website, Referral, EmailCampaign, SocialMedia, Event, ColdCall, Partner, Advertising, Other }
    );
    schema_enum!(
        /// Deal pipeline stage.
        DealStage { Prospecting, Qualification, Proposal, Negotiation, ClosedWon, ClosedLost }
    );
    schema_enum!(
        /// Open, won or lost.
        DealStatus { Open, Won, Lost }
    );
    schema_enum!(
        /// Kind of activity.
        ActivityType { EmailOpen, EmailClick, WebsiteVisit, Call, Meeting, Note, EmailSent, EmailReceived }
    );
    schema_enum!(
        /// Sort direction.
        SortOrder { Asc, Desc }
    );
    schema_enum!(
        /// Contact sort keys.
        ContactSortKey { CreatedAt, UpdatedAt, Name, Company }
    );
    schema_enum!(
        /// Lead sort keys.
        LeadSortKey { CreatedAt, UpdatedAt, Score, Title, Budget, ExpectedDecision }
    );
    schema_enum!(
        /// Deal sort keys.
        DealSortKey { CreatedAt, UpdatedAt, Value, ExpectedClose, ClosedAt, Title }
    );
}

// ---------------------------------------------------------------- responses

/// An organization.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganizationOut {
    id: i64,
    name: String,
    created_at: DateTime<Utc>,
}

impl From<d::Organization> for OrganizationOut {
    fn from(o: d::Organization) -> Self {
        OrganizationOut {
            id: o.id.0,
            name: o.name,
            created_at: o.created_at,
        }
    }
}

/// A user (never with a password hash).
#[derive(Debug, Serialize, ToSchema)]
pub struct UserOut {
    id: i64,
    organization_id: i64,
    email: String,
    name: String,
    #[schema(value_type = vocab::Role)]
    role: Role,
    created_at: DateTime<Utc>,
}

impl From<d::User> for UserOut {
    fn from(u: d::User) -> Self {
        UserOut {
            id: u.id.0,
            organization_id: u.organization_id.0,
            email: u.email.into(),
            name: u.name,
            role: u.role,
            created_at: u.created_at,
        }
    }
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
}

impl From<d::Contact> for ContactOut {
    fn from(c: d::Contact) -> Self {
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
        }
    }
}

/// A lead with its latest score.
#[derive(Debug, Serialize, ToSchema)]
pub struct LeadOut {
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
    budget_cents: Option<i64>,
    expected_decision: Option<NaiveDate>,
    score: Option<f64>,
    /// The factor breakdown behind the score.
    #[schema(value_type = Option<Object>)]
    score_factors: Option<FactorsOut>,
    score_confidence: Option<f64>,
    score_category: Option<String>,
    score_updated_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

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

impl From<d::Lead> for LeadOut {
    fn from(l: d::Lead) -> Self {
        LeadOut {
            id: l.id.0,
            organization_id: l.organization_id.0,
            contact_id: l.contact_id.map(|c| c.0),
            owner_id: l.owner_id.map(|u| u.0),
            title: l.title,
            description: l.description,
            status: l.status,
            source: l.source,
            budget_cents: l.budget_cents.map(Cents::get),
            expected_decision: l.expected_decision,
            score: l.score,
            score_factors: l.score_factors.map(|v| rendered_factors(l.id, v)),
            score_confidence: l.score_confidence,
            score_category: l.score_category,
            score_updated_at: l.score_updated_at,
            created_at: l.created_at,
            updated_at: l.updated_at,
        }
    }
}

/// A deal.
#[derive(Debug, Serialize, ToSchema)]
pub struct DealOut {
    id: i64,
    organization_id: i64,
    contact_id: Option<i64>,
    lead_id: Option<i64>,
    owner_id: Option<i64>,
    title: String,
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

impl From<d::Deal> for DealOut {
    fn from(x: d::Deal) -> Self {
        DealOut {
            id: x.id.0,
            organization_id: x.organization_id.0,
            contact_id: x.contact_id.map(|c| c.0),
            lead_id: x.lead_id.map(|l| l.0),
            owner_id: x.owner_id.map(|u| u.0),
            title: x.title,
            value_cents: x.value_cents.get(),
            stage: x.stage,
            status: x.status,
            expected_close: x.expected_close,
            closed_at: x.closed_at,
            created_at: x.created_at,
            updated_at: x.updated_at,
        }
    }
}

/// An activity.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityOut {
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
    sentiment: Option<ActivitySentimentOut>,
}

/// The stored sentiment of an activity.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActivitySentimentOut {
    /// `negative`, `neutral` or `positive`.
    #[schema(value_type = crate::routes::sentiment::SentimentLabel)]
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
    #[schema(value_type = crate::routes::sentiment::SentimentMethod)]
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

impl ActivityOut {
    /// The activity's id.
    pub fn activity_id(&self) -> ActivityId {
        ActivityId(self.id)
    }

    /// Attaches its row among stored sentiment `rows`, if any.
    pub fn attach_sentiment(&mut self, rows: &[StoredSentiment]) {
        self.sentiment = rows
            .iter()
            .find(|r| r.activity_id == self.id)
            .map(Into::into);
    }
}

impl ActivityPage {
    /// The ids of the page's activities.
    pub fn activity_ids(&self) -> Vec<ActivityId> {
        self.items.iter().map(ActivityOut::activity_id).collect()
    }

    /// Attaches the stored sentiment `rows` to their activities.
    pub fn attach_sentiment(&mut self, rows: &[StoredSentiment]) {
        let by_id: std::collections::HashMap<i64, &StoredSentiment> =
            rows.iter().map(|r| (r.activity_id, r)).collect();
        for a in &mut self.items {
            a.sentiment = by_id.get(&a.id).map(|r| ActivitySentimentOut::from(*r));
        }
    }
}

impl From<d::Activity> for ActivityOut {
    fn from(a: d::Activity) -> Self {
        ActivityOut {
            id: a.id.0,
            organization_id: a.organization_id.0,
            kind: a.kind,
            lead_id: a.lead_id.map(|v| v.0),
            deal_id: a.deal_id.map(|v| v.0),
            contact_id: a.contact_id.map(|v| v.0),
            user_id: a.user_id.map(|v| v.0),
            subject: a.subject,
            body: a.body,
            duration_seconds: a.duration_seconds,
            occurred_at: a.occurred_at,
            created_at: a.created_at,
            sentiment: None,
        }
    }
}

macro_rules! page_type {
    ($(#[$doc:meta])* $name:ident, $item:ty, $domain:ty) => {
        $(#[$doc])*
        #[derive(Debug, Serialize, ToSchema)]
        pub struct $name {
            /// The rows of this page.
            items: Vec<$item>,
            /// The page size asked for.
            limit: u32,
            /// Rows skipped.
            offset: u64,
            /// Whether more rows follow.
            has_more: bool,
        }

        impl From<neuracrm_store::Paged<$domain>> for $name {
            fn from(p: neuracrm_store::Paged<$domain>) -> Self {
                $name {
                    items: p.items.into_iter().map(Into::into).collect(),
                    limit: p.limit,
                    offset: p.offset,
                    has_more: p.has_more,
                }
            }
        }
    };
}

page_type!(
    /// A page of users.
    UserPage, UserOut, d::User
);
page_type!(
    /// A page of contacts.
    ContactPage, ContactOut, d::Contact
);
page_type!(
    /// A page of leads.
    LeadPage, LeadOut, d::Lead
);
page_type!(
    /// A page of deals.
    DealPage, DealOut, d::Deal
);
page_type!(
    /// A page of activities.
    ActivityPage, ActivityOut, d::Activity
);

// ---------------------------------------------------------------- auth

/// Registers an organization and its first admin.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// The organization's name.
    #[schema(min_length = 1, max_length = 200)]
    pub organization_name: String,
    /// The admin's display name.
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// The admin's login e-mail.
    #[schema(value_type = String, format = Email)]
    pub email: Email,
    /// At least 8 characters.
    #[schema(min_length = 8, max_length = 256)]
    pub password: String,
}

/// The registered organization and admin.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegisterResponse {
    /// The new organization.
    pub organization: OrganizationOut,
    /// Its first admin.
    pub user: UserOut,
}

/// Credentials.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Login e-mail.
    pub email: String,
    /// Password.
    pub password: String,
}

/// Exchanges a refresh token for a new pair.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The refresh token from login or a previous refresh.
    pub refresh_token: String,
}

/// A token pair.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// Bearer token for API calls (short-lived).
    pub access_token: String,
    /// Exchanges for a new pair at `/api/auth/refresh`.
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

/// The caller and their organization.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeResponse {
    /// The caller.
    pub user: UserOut,
    /// Their organization.
    pub organization: OrganizationOut,
}

// ---------------------------------------------------------------- users

/// A new user of the caller's organization.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// Login e-mail (unique across all organizations).
    #[schema(value_type = String, format = Email)]
    pub email: Email,
    /// Display name.
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// Role.
    #[schema(value_type = vocab::Role)]
    pub role: Role,
    /// Initial password, at least 8 characters.
    #[schema(min_length = 8, max_length = 256)]
    pub password: String,
}

/// A change of a user.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    /// New display name.
    #[serde(default, deserialize_with = "neuracrm_domain::entities::non_null")]
    #[schema(nullable = false)]
    pub name: Option<String>,
    /// New role.
    #[serde(default, deserialize_with = "neuracrm_domain::entities::non_null")]
    #[schema(value_type = Option<vocab::Role>, nullable = false)]
    pub role: Option<Role>,
    /// New password.
    #[serde(default, deserialize_with = "neuracrm_domain::entities::non_null")]
    #[schema(nullable = false)]
    pub password: Option<String>,
}

// ---------------------------------------------------------------- contacts

/// A new contact.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateContact {
    /// First (or only) name.
    #[schema(min_length = 1, max_length = 200)]
    pub first_name: String,
    #[serde(default)]
    last_name: Option<String>,
    /// Unique within the organization.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Email)]
    email: Option<Email>,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    company: Option<String>,
    #[serde(default)]
    job_title: Option<String>,
    #[serde(default)]
    industry: Option<String>,
    /// Employees.
    #[serde(default)]
    #[schema(minimum = 0)]
    company_size: Option<i64>,
    /// A user of the organization.
    #[serde(default)]
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

// ---------------------------------------------------------------- leads

/// A new lead.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateLead {
    /// Short title.
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    contact_id: Option<ContactId>,
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    owner_id: Option<UserId>,
    #[serde(default)]
    description: Option<String>,
    /// Defaults to `new`.
    #[serde(default)]
    #[schema(value_type = Option<vocab::LeadStatus>)]
    status: Option<LeadStatus>,
    /// Defaults to `other`.
    #[serde(default)]
    #[schema(value_type = Option<vocab::LeadSource>)]
    source: Option<LeadSource>,
    #[serde(default)]
    #[schema(value_type = Option<i64>, minimum = 0)]
    budget_cents: Option<Cents>,
    #[serde(default)]
    expected_decision: Option<NaiveDate>,
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
    #[schema(minimum = 0)]
    budget_cents: Option<i64>,
    expected_decision: Option<NaiveDate>,
}

// ---------------------------------------------------------------- deals

/// A new deal; the status follows the stage.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDeal {
    /// Title.
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    contact_id: Option<ContactId>,
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    lead_id: Option<LeadId>,
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    owner_id: Option<UserId>,
    /// Defaults to 0.
    #[serde(default)]
    #[schema(value_type = Option<i64>, minimum = 0)]
    value_cents: Option<Cents>,
    /// Defaults to `prospecting`.
    #[serde(default)]
    #[schema(value_type = Option<vocab::DealStage>)]
    stage: Option<DealStage>,
    #[serde(default)]
    expected_close: Option<NaiveDate>,
    /// Only for a deal created won or lost; defaults to now.
    #[serde(default)]
    closed_at: Option<DateTime<Utc>>,
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
    #[schema(minimum = 0, nullable = false)]
    value_cents: Option<i64>,
    #[schema(nullable = false)]
    stage: Option<vocab::DealStage>,
    expected_close: Option<NaiveDate>,
    #[schema(nullable = false)]
    closed_at: Option<DateTime<Utc>>,
}

// ---------------------------------------------------------------- activities

/// A new activity; it must name a lead, a deal or a contact.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateActivity {
    /// What happened.
    #[serde(rename = "type")]
    #[schema(value_type = vocab::ActivityType)]
    pub kind: ActivityType,
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    lead_id: Option<LeadId>,
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    deal_id: Option<DealId>,
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    contact_id: Option<ContactId>,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    #[schema(minimum = 0)]
    duration_seconds: Option<i64>,
    /// Defaults to now.
    #[serde(default)]
    occurred_at: Option<DateTime<Utc>>,
}

impl CreateActivity {
    /// The domain input, recorded by `user`.
    pub fn into_new(self, user: UserId) -> d::NewActivity {
        d::NewActivity {
            kind: self.kind,
            lead_id: self.lead_id,
            deal_id: self.deal_id,
            contact_id: self.contact_id,
            user_id: Some(user),
            subject: self.subject,
            body: self.body,
            duration_seconds: self.duration_seconds,
            occurred_at: self.occurred_at,
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

// ---------------------------------------------------------------- import

/// What an import did.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct ImportReport {
    /// Rows that created a record.
    pub created: u64,
    /// Rows that updated an existing record (same e-mail).
    pub updated: u64,
    /// Rows that were refused, with why.
    pub rejected: Vec<RejectedRow>,
}

/// A refused import row.
#[derive(Debug, Serialize, ToSchema)]
pub struct RejectedRow {
    /// 1-based data row number (the header is row 0).
    pub row: u64,
    /// Why it was refused.
    pub reason: String,
}

// ---------------------------------------------------------------- queries

/// Paging of a plain list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Rows per page, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// Rows to skip (default 0).
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

/// Filters, sorting and paging of the contact list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ContactQuery {
    /// Rows per page, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// Rows to skip.
    #[param(minimum = 0)]
    pub offset: Option<i64>,
    /// Sort key.
    #[param(value_type = Option<vocab::ContactSortKey>)]
    pub sort: Option<neuracrm_store::contacts::ContactSort>,
    /// Sort direction (default desc).
    #[param(value_type = Option<vocab::SortOrder>)]
    pub order: Option<neuracrm_store::SortDir>,
    /// Substring of name, e-mail or company (case-insensitive).
    pub q: Option<String>,
    /// Owner's user id.
    #[param(value_type = Option<i64>)]
    pub owner_id: Option<UserId>,
    /// Exact industry.
    pub industry: Option<String>,
    /// Created at or after (RFC 3339).
    pub created_from: Option<DateTime<Utc>>,
    /// Created before (RFC 3339).
    pub created_to: Option<DateTime<Utc>>,
}

/// Filters, sorting and paging of the lead list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LeadQuery {
    /// Rows per page, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// Rows to skip.
    #[param(minimum = 0)]
    pub offset: Option<i64>,
    /// Sort key (leads without a score, budget or decision date come last
    /// in either direction).
    #[param(value_type = Option<vocab::LeadSortKey>)]
    pub sort: Option<neuracrm_store::leads::LeadSort>,
    /// Sort direction (default desc).
    #[param(value_type = Option<vocab::SortOrder>)]
    pub order: Option<neuracrm_store::SortDir>,
    /// Substring of the title or the contact's name or company.
    pub q: Option<String>,
    /// Status.
    #[param(value_type = Option<vocab::LeadStatus>)]
    pub status: Option<LeadStatus>,
    /// Source.
    #[param(value_type = Option<vocab::LeadSource>)]
    pub source: Option<LeadSource>,
    /// Owner's user id.
    #[param(value_type = Option<i64>)]
    pub owner_id: Option<UserId>,
    /// Contact id.
    #[param(value_type = Option<i64>)]
    pub contact_id: Option<ContactId>,
    /// Score category.
    #[param(value_type = Option<crate::routes::scoring::vocab::ScoreCategory>)]
    pub category: Option<neuracrm_scoring::Category>,
    /// Smallest score.
    pub min_score: Option<f64>,
    /// Largest score.
    pub max_score: Option<f64>,
    /// Created at or after (RFC 3339).
    pub created_from: Option<DateTime<Utc>>,
    /// Created before (RFC 3339).
    pub created_to: Option<DateTime<Utc>>,
    /// Include each lead's score breakdown (`score_factors`, about 1.8 KB a
    /// lead). Off by default: list items carry `score_factors: null`; the
    /// breakdown is on the lead itself and at `/api/leads/{id}/score`.
    pub include_factors: Option<bool>,
}

/// Filters, sorting and paging of the deal list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DealQuery {
    /// Rows per page, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// Rows to skip.
    #[param(minimum = 0)]
    pub offset: Option<i64>,
    /// Sort key.
    #[param(value_type = Option<vocab::DealSortKey>)]
    pub sort: Option<neuracrm_store::deals::DealSort>,
    /// Sort direction (default desc).
    #[param(value_type = Option<vocab::SortOrder>)]
    pub order: Option<neuracrm_store::SortDir>,
    /// Substring of the title or the contact's name or company.
    pub q: Option<String>,
    /// Stage.
    #[param(value_type = Option<vocab::DealStage>)]
    pub stage: Option<DealStage>,
    /// Status.
    #[param(value_type = Option<vocab::DealStatus>)]
    pub status: Option<d::DealStatus>,
    /// Owner's user id.
    #[param(value_type = Option<i64>)]
    pub owner_id: Option<UserId>,
    /// Contact id.
    #[param(value_type = Option<i64>)]
    pub contact_id: Option<ContactId>,
    /// Lead id.
    #[param(value_type = Option<i64>)]
    pub lead_id: Option<LeadId>,
    /// Closed at or after (RFC 3339).
    pub closed_from: Option<DateTime<Utc>>,
    /// Closed before (RFC 3339).
    pub closed_to: Option<DateTime<Utc>>,
    /// Expected close on or after (YYYY-MM-DD).
    pub expected_close_from: Option<NaiveDate>,
    /// Expected close before (YYYY-MM-DD).
    pub expected_close_to: Option<NaiveDate>,
    /// Created at or after (RFC 3339).
    pub created_from: Option<DateTime<Utc>>,
    /// Created before (RFC 3339).
    pub created_to: Option<DateTime<Utc>>,
}

/// Filters, order and paging of the activity list (by time of occurrence).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ActivityQuery {
    /// Rows per page, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// Rows to skip.
    #[param(minimum = 0)]
    pub offset: Option<i64>,
    /// Direction of the occurrence-time order (default desc).
    #[param(value_type = Option<vocab::SortOrder>)]
    pub order: Option<neuracrm_store::SortDir>,
    /// Type.
    #[serde(rename = "type")]
    #[param(rename = "type", value_type = Option<vocab::ActivityType>)]
    pub kind: Option<ActivityType>,
    /// Lead id.
    #[param(value_type = Option<i64>)]
    pub lead_id: Option<LeadId>,
    /// Deal id.
    #[param(value_type = Option<i64>)]
    pub deal_id: Option<DealId>,
    /// Contact id (its own activities only).
    #[param(value_type = Option<i64>)]
    pub contact_id: Option<ContactId>,
    /// Recording user id.
    #[param(value_type = Option<i64>)]
    pub user_id: Option<UserId>,
    /// Happened at or after (RFC 3339).
    pub occurred_from: Option<DateTime<Utc>>,
    /// Happened before (RFC 3339).
    pub occurred_to: Option<DateTime<Utc>>,
}

// ---------------------------------------------------------------- date ranges

/// The year of an optional date or time, for [`check_years`].
pub trait Year {
    /// The year, if a value is present.
    fn year(&self) -> Option<i32>;
}

impl Year for Option<DateTime<Utc>> {
    fn year(&self) -> Option<i32> {
        use chrono::Datelike;
        self.map(|d| d.year())
    }
}

impl Year for Option<NaiveDate> {
    fn year(&self) -> Option<i32> {
        use chrono::Datelike;
        self.map(|d| d.year())
    }
}

impl Year for Option<Option<NaiveDate>> {
    fn year(&self) -> Option<i32> {
        self.flatten().year()
    }
}

/// Dates must fall in years 1–9999: chrono accepts far wider years than the
/// databases store (PostgreSQL rejects them with an error), so they are
/// refused here, on both backends alike. `query` picks the error kind.
pub fn check_years(values: &[(&'static str, Option<i32>)], query: bool) -> Result<(), ApiError> {
    for (field, year) in values {
        if year.is_some_and(|y| !(1..=9999).contains(&y)) {
            let message = format!("{field} must fall in the years 1 to 9999");
            return Err(if query {
                ApiError::InvalidQuery {
                    field: Some((*field).into()),
                    message,
                }
            } else {
                ApiError::validation(*field, message)
            });
        }
    }
    Ok(())
}
