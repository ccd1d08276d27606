//! E-mail campaigns: `/api/email-templates` (CRUD, preview),
//! `/api/campaigns` (CRUD while draft, the status actions, stats, the send
//! log) and `/api/suppressions`. Templates and campaigns go through the
//! generic mechanism; everything else is translated here and done by
//! `neuracrm_actions::campaigns`.

use axum::body::Bytes;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use neuracrm_actions::campaigns::{self, Rendered, Sample, bounces, send};
use neuracrm_domain::{
    Campaign, CampaignId, CampaignPatch, CampaignStatus, CampaignTarget, ContactId, Email,
    EmailTemplate, EmailTemplateId, EmailTemplatePatch, LeadId, NewCampaign, NewEmailTemplate,
    RecipientStatus,
};
use neuracrm_store::campaigns::{BounceOutcome, CampaignStats, Recipient, Suppression};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use crate::AppState;
use crate::http::auth::AuthUser;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Id, Json, Query, parse_json};
use crate::http::openapi::{endpoint, reads, routes_of};
use crate::http::resource::{Conflicts, Docs, Resource, Summaries, crud, wire_types};
use crate::http::wire::{
    ListQuery, PageQuery, StatusQuery, page, page_type, record_out, vocab,
};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    crud::<EmailTemplate>().merge(crud::<Campaign>()).merge(routes_of!(
        preview,
        test_send,
        campaign_action,
        stats,
        recipients,
        (list_suppressions, add_suppression),
        remove_suppression,
        bounce_webhook,
        rotate_webhook_secret
    ))
}

// ---- templates ----

impl Resource for EmailTemplate {
    wire_types!(
        TemplateOut,
        TemplatePage,
        CreateTemplate,
        EmailTemplatePatch,
        TemplatePatchBody,
        PageQuery
    );

    const DOCS: Docs = Docs::new("email_template", "email-templates")
        .at("/api/email-templates", "campaigns", "E-mail template id")
        .summaries(Summaries {
            list: Some("Lists the organization's e-mail templates, newest first."),
            create: Some(
                "Creates an e-mail template (admins and managers); 422 naming the line and column when it does not compile or uses an unknown variable.",
            ),
            get: Some("One e-mail template."),
            update: Some("Changes an e-mail template (admins and managers), checked as on creation."),
            delete: Some("Deletes an e-mail template no campaign uses (admins and managers)."),
        })
        .bad_query("Bad paging")
        .invalid(
            "Invalid field, or a template that does not compile",
            "Invalid field, or a template that does not compile",
        )
        .conflicts(Conflicts {
            create: None,
            update: None,
            delete: Some("A campaign uses the template"),
        });

}

impl From<CreateTemplate> for NewEmailTemplate {
    fn from(b: CreateTemplate) -> Self {
        NewEmailTemplate {
            name: b.name,
            subject: b.subject,
            html: b.html,
            text: b.text,
        }
    }
}

record_out!(
    /// An e-mail template. Each part is a minijinja template over `contact`
    /// (`first_name`, `last_name`, `name`, `email`, `company`, `job_title`,
    /// `industry`, `phone`), `lead` (`title`, `score`, `category`; empty for a
    /// contact target), `owner` (`name`, `email`, `signature`), `organization`
    /// (`name`) and `unsubscribe_url`.
    TemplateOut from EmailTemplate as t {
        id: i64,
        organization_id: i64,
        name: String,
        /// Subject template.
        subject: String,
        /// HTML template (auto-escaped).
        html: String,
        /// Plain-text template; `null`: derived from the HTML.
        text: Option<String>,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    }
);

page_type!(
    /// A page of e-mail templates.
    TemplatePage, TemplateOut, EmailTemplate
);

/// A new e-mail template.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTemplate {
    #[schema(min_length = 1, max_length = 200)]
    name: String,
    /// Subject template.
    #[schema(min_length = 1, max_length = 998)]
    subject: String,
    /// HTML template.
    #[schema(min_length = 1, max_length = 100000)]
    html: String,
    /// Plain-text template (default: derived from the rendered HTML).
    #[schema(min_length = 1, max_length = 100000)]
    text: Option<String>,
}

/// Changes to a template (absent fields stay; `text: null` derives it again).
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // documents `EmailTemplatePatch`
pub struct TemplatePatchBody {
    name: Option<String>,
    subject: Option<String>,
    html: Option<String>,
    text: Option<String>,
}

/// The recipient a preview is rendered for: one of `contact_id`, `lead_id`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplatePreviewBody {
    /// A contact of the organization.
    contact_id: Option<i64>,
    /// A lead of the organization.
    lead_id: Option<i64>,
}

record_out!(
    /// A message as rendered.
    RenderedOut from Rendered as r {
        subject: String,
        html: String,
        text: String,
    }
);

endpoint! {
    /// Renders a template for one of the organization's contacts or leads.
    post "/api/email-templates/{id}/preview" in "campaigns"
        [params(("id" = i64, Path, description = "E-mail template id")), request_body = TemplatePreviewBody]
        => RenderedOut, 400 "Bad id or body", 404 "No such template, contact or lead",
        422 "Neither or both of contact_id and lead_id";
    async fn preview(state, user: AuthUser, Id(id): Id<EmailTemplateId>, Json(body): Json<TemplatePreviewBody>) {
        let r = campaigns::preview(&state.crm, &user.caller(), id, sample(&body)?).await?;
        Ok(Json(r.into()))
    }
}

fn sample(b: &TemplatePreviewBody) -> ApiResult<Sample> {
    match (b.contact_id, b.lead_id) {
        (Some(c), None) => Ok(Sample::Contact(ContactId(c))),
        (None, Some(l)) => Ok(Sample::Lead(LeadId(l))),
        _ => Err(ApiError::Validation {
            field: "contact_id".into(),
            message: "give exactly one of contact_id and lead_id".into(),
        }),
    }
}

/// A test send: the template rendered for a contact or lead, to one address.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TestSendBody {
    /// Where to send it.
    #[schema(value_type = String, format = "email")]
    to: Email,
    /// Rendered for this contact, or
    contact_id: Option<i64>,
    /// for this lead.
    lead_id: Option<i64>,
}

/// The SMTP server's answer to a test send.
#[derive(Debug, Serialize, ToSchema)]
pub struct TestSendOut {
    /// E.g. `250 2.0.0 OK queued`.
    smtp_reply: String,
}

endpoint! {
    /// Mails the template, rendered for a contact or lead, to one address
    /// (admins and managers).
    post "/api/email-templates/{id}/test" in "campaigns"
        [params(("id" = i64, Path, description = "E-mail template id")), request_body = TestSendBody]
        => TestSendOut, 400 "Bad id or body", 403 "Reps may not",
        404 "No such template, contact or lead", 409 "No SMTP server is configured",
        422 "The server refused the message, or neither or both of contact_id and lead_id";
    async fn test_send(state, user: AuthUser, Id(id): Id<EmailTemplateId>, Json(b): Json<TestSendBody>) {
        let s = sample(&TemplatePreviewBody {
            contact_id: b.contact_id,
            lead_id: b.lead_id,
        })?;
        let smtp_reply = send::send_test(&state.crm, &user.caller(), id, s, &b.to).await?;
        Ok(Json(TestSendOut { smtp_reply }))
    }
}

// ---- campaigns ----

impl Resource for Campaign {
    wire_types!(
        CampaignOut,
        CampaignPage,
        CreateCampaign,
        CampaignPatch,
        CampaignPatchBody,
        StatusQuery<CampaignStatus>
    );

    const DOCS: Docs = Docs::new("campaign", "campaigns")
        .at("/api/campaigns", "campaigns", "Campaign id")
        .summaries(Summaries {
            list: Some("Lists the organization's campaigns, newest first."),
            create: Some("Creates a draft campaign (admins and managers)."),
            get: Some("One campaign."),
            update: Some("Changes a draft campaign (admins and managers)."),
            delete: Some(
                "Deletes a campaign that is not scheduled, sending or paused, with its send log (admins and managers).",
            ),
        })
        .conflicts(Conflicts {
            create: None,
            update: Some("Not a draft"),
            delete: Some("Scheduled, sending or paused"),
        });

}

impl From<CreateCampaign> for NewCampaign {
    fn from(b: CreateCampaign) -> Self {
        NewCampaign {
            name: b.name,
            template_id: EmailTemplateId(b.template_id),
            target: b.target,
        }
    }
}

record_out!(
    /// An e-mail campaign.
    CampaignOut from Campaign as c {
        id: i64,
        organization_id: i64,
        name: String,
        template_id: i64,
        /// `{"type": "contacts" | "leads", "ids": [...]}` or
        /// `{"type": ..., "filter": {...}}`.
        #[schema(value_type = Object)]
        target: CampaignTarget,
        #[schema(value_type = vocab::CampaignStatus)]
        status: CampaignStatus,
        /// When it is (or was) due, UTC.
        scheduled_at: Option<DateTime<Utc>>,
        /// When its recipients were frozen and sending began.
        started_at: Option<DateTime<Utc>>,
        /// When it completed, was cancelled or failed.
        finished_at: Option<DateTime<Utc>>,
        /// Why it failed.
        error: Option<String>,
        created_by: Option<i64>,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    }
);

page_type!(
    /// A page of campaigns.
    CampaignPage, CampaignOut, Campaign
);

/// A new (draft) campaign.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCampaign {
    #[schema(min_length = 1, max_length = 200)]
    name: String,
    /// The template it sends.
    template_id: i64,
    /// Whom: `{"type": "contacts" | "leads", "ids": [...]}`, or with
    /// `"filter": {"owner_id", "industry", "status", "category", "min_score"}`
    /// (the last three for leads), or neither (all of them); or
    /// `{"type": "segment", "segment_id"}`: the segment's members when
    /// sending starts.
    #[schema(value_type = Object)]
    target: CampaignTarget,
}

/// Changes to a draft campaign (absent fields stay).
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // documents `CampaignPatch`
pub struct CampaignPatchBody {
    name: Option<String>,
    template_id: Option<i64>,
    #[schema(value_type = Option<Object>)]
    target: Option<String>,
}


/// What `POST /api/campaigns/{id}/{action}` does.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CampaignAction {
    /// A draft becomes scheduled for `scheduled_at` (absent: now).
    Schedule,
    /// A scheduled or sending campaign stops (within a second).
    Pause,
    /// A paused campaign goes on.
    Resume,
    /// A campaign that has not ended ends.
    Cancel,
}

/// The campaign id and the action from the path.
pub struct ActionPath(CampaignId, CampaignAction);

impl FromRequestParts<AppState> for ActionPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let axum::extract::Path((id, action)) =
            axum::extract::Path::<(String, String)>::from_request_parts(parts, state)
                .await
                .map_err(|_| ApiError::InvalidPath("the path is malformed".into()))?;
        let id = id
            .parse::<i64>()
            .map_err(|_| ApiError::InvalidPath("id must be an integer".into()))?;
        let action = serde_json::from_value(serde_json::Value::String(action)).map_err(|_| {
            ApiError::InvalidPath("the action must be schedule, pause, resume or cancel".into())
        })?;
        Ok(ActionPath(CampaignId(id), action))
    }
}

/// The body of a status action (only `schedule` reads it; it may be absent).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionBody {
    /// For `schedule`: when, in UTC (absent: now).
    scheduled_at: Option<DateTime<Utc>>,
}

endpoint! {
    /// Schedules, pauses, resumes or cancels a campaign (admins and managers).
    post "/api/campaigns/{id}/{action}" in "campaigns"
        [params(
            ("id" = i64, Path, description = "Campaign id"),
            ("action" = CampaignAction, Path, description = "schedule, pause, resume or cancel"),
        ),
        request_body(content = Option<ActionBody>, description = "For schedule: `scheduled_at` (absent: now)")]
        => CampaignOut, 400 "Bad id, action or body", 403 "Reps may not", 404 "No such campaign",
        409 "Not possible in the campaign's status", 422 "The template no longer compiles";
    async fn campaign_action(state, user: AuthUser, ActionPath(id, action): ActionPath, body: Bytes) {
        let (crm, caller) = (&state.crm, &user.caller());
        let body: ActionBody = if body.iter().all(u8::is_ascii_whitespace) {
            ActionBody::default()
        } else {
            parse_json(&body)?
        };
        let c = match action {
            CampaignAction::Schedule => campaigns::schedule(crm, caller, id, body.scheduled_at).await?,
            CampaignAction::Pause => campaigns::pause(crm, caller, id).await?,
            CampaignAction::Resume => campaigns::resume(crm, caller, id).await?,
            CampaignAction::Cancel => campaigns::cancel(crm, caller, id).await?,
        };
        Ok(Json(c.into()))
    }
}

record_out!(
    /// A campaign's counts.
    StatsOut from CampaignStats as s {
        /// Recipient rows frozen, skipped ones included.
        total: i64,
        pending: i64,
        sending: i64,
        sent: i64,
        failed: i64,
        bounced: i64,
        /// Skipped, by why.
        skipped_no_address: i64,
        skipped_suppressed: i64,
        skipped_duplicate: i64,
        opened: i64,
        clicked: i64,
        unsubscribed: i64,
    }
);

reads!(
    /// A campaign's counts by status, skips by why, opens, clicks and
    /// unsubscribes.
    stats: "/api/campaigns/{id}/stats" in "campaigns", "Campaign id" CampaignId
        => StatsOut, "No such campaign", campaigns::stats
);

record_out!(
    /// One recipient of a campaign: its row of the send log.
    RecipientOut from Recipient as r {
        id: i64,
        /// `contact` or `lead`.
        record_type: String,
        record_id: i64,
        contact_id: Option<i64>,
        email: Option<String>,
        name: Option<String>,
        #[schema(value_type = vocab::RecipientStatus)]
        status: RecipientStatus,
        /// For `skipped`: `no_address`, `suppressed` or `duplicate`.
        skip_reason: Option<String>,
        attempts: i64,
        /// When a temporarily failed row is tried again.
        next_attempt_at: Option<DateTime<Utc>>,
        /// The SMTP server's last reply, or the connection error.
        smtp_reply: Option<String>,
        /// The subject as sent.
        subject: Option<String>,
        sent_at: Option<DateTime<Utc>>,
        opened_at: Option<DateTime<Utc>>,
        clicked_at: Option<DateTime<Utc>>,
        unsubscribed_at: Option<DateTime<Utc>>,
        /// When the recipient reported it as spam (bounce webhook).
        complained_at: Option<DateTime<Utc>>,
    }
);

page_type!(
    /// A page of a campaign's send log.
    RecipientPage, RecipientOut, Recipient
);

endpoint! {
    /// A campaign's send log, in the order it was frozen: each recipient's
    /// status, attempts, timestamps and SMTP reply.
    get "/api/campaigns/{id}/recipients" in "campaigns"
        [params(("id" = i64, Path, description = "Campaign id"), StatusQuery<RecipientStatus>)]
        => RecipientPage, 400 "Bad id or query", 404 "No such campaign";
    async fn recipients(state, user: AuthUser, Id(id): Id<CampaignId>, Query(q): Query<StatusQuery<RecipientStatus>>) {
        let (p, status, ()) = q.into_parts()?;
        let items = campaigns::recipients(&state.crm, &user.caller(), id, status, p).await?;
        Ok(Json(items.into()))
    }
}

// ---- suppressions ----

record_out!(
    /// An address the organization never mails.
    SuppressionOut from Suppression as s {
        email: String,
        /// `unsubscribed`, `bounced`, `complaint` or `manual`.
        reason: String,
        created_at: DateTime<Utc>,
    }
);

page_type!(
    /// A page of suppressed addresses.
    SuppressionPage, SuppressionOut, Suppression
);

/// An address to suppress.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddSuppression {
    #[schema(value_type = String, format = "email")]
    email: Email,
}

reads!(
    /// The organization's suppression list, newest first.
    list_suppressions: "/api/suppressions" in "campaigns"
        => paged SuppressionPage, campaigns::suppressions
);

endpoint! {
    /// Suppresses an address (admins and managers); every later campaign
    /// skips it.
    post "/api/suppressions" in "campaigns" [request_body = AddSuppression]
        => 201 SuppressionOut, 400 "Bad body", 403 "Reps may not", 422 "Not an e-mail address";
    async fn add_suppression(state, user: AuthUser, Json(b): Json<AddSuppression>) {
        let s = campaigns::suppress(&state.crm, &user.caller(), &b.email).await?;
        Ok((StatusCode::CREATED, Json(s.into())))
    }
}

/// The address from the path of `DELETE /api/suppressions/{email}`.
pub struct EmailPath(Email);

impl FromRequestParts<AppState> for EmailPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|_| ApiError::InvalidPath("the path is malformed".into()))?;
        Email::parse(&raw)
            .map(EmailPath)
            .map_err(|_| ApiError::InvalidPath("email is not an e-mail address".into()))
    }
}

endpoint! {
    /// Lifts a suppression (admins and managers).
    delete "/api/suppressions/{email}" in "campaigns"
        [params(("email" = String, Path, description = "The suppressed address"))]
        => 204 "No longer suppressed", 400 "Not an address", 403 "Reps may not", 404 "Not suppressed";
    async fn remove_suppression(state, user: AuthUser, EmailPath(email): EmailPath) {
        campaigns::unsuppress(&state.crm, &user.caller(), &email).await?;
        Ok(StatusCode::NO_CONTENT)
    }
}

// ---- bounces and complaints reported by webhook ----

/// A bounce or complaint (the body of `POST /api/webhooks/bounces`).
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // documents what `bounces::receive` reads
pub struct BounceReport {
    #[schema(format = "email")]
    email: String,
    /// `hard` and `complaint` suppress the address at once, `soft` after
    /// `smtp.soft_bounce_limit` of them.
    #[schema(value_type = vocab::BounceType)]
    r#type: String,
}

record_out!(
    /// What a bounce report did.
    BounceOut from BounceOutcome as b {
        /// The send-log row marked (the latest message sent to the address).
        recipient_id: Option<i64> = b.recipient,
        /// Whether the address is now suppressed.
        suppressed: bool,
        /// Soft bounces of the address so far (0 for hard ones and complaints).
        soft_bounces: i64,
    }
);

endpoint! {
    /// Receives a bounce or complaint from the relay or mail provider.
    ///
    /// No token: the call is signed with the organization's webhook secret.
    /// Headers: `X-Neuracrm-Organization` (the organization id),
    /// `X-Neuracrm-Timestamp` (Unix seconds, within 5 minutes of now) and
    /// `X-Neuracrm-Signature` (`sha256=` and the hex HMAC-SHA256 of
    /// `"{timestamp}.{raw body}"` under the secret), verified before anything
    /// else happens.
    public post "/api/webhooks/bounces" in "campaigns" [
        request_body = BounceReport,
        params(
            ("X-Neuracrm-Organization" = i64, Header, description = "The organization id"),
            ("X-Neuracrm-Timestamp" = i64, Header, description = "Unix seconds when signed"),
            ("X-Neuracrm-Signature" = String, Header, description = "sha256=HEX(HMAC-SHA256(secret, timestamp + \".\" + body))"),
        )
    ] => BounceOut, 401 "Signature missing, wrong or expired",
        422 "Not a report; `field` names what is wrong";
    async fn bounce_webhook(state, headers: axum::http::HeaderMap, body: Bytes) {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let call = bounces::Signed {
            organization: header("x-neuracrm-organization"),
            timestamp: header("x-neuracrm-timestamp"),
            signature: header("x-neuracrm-signature"),
            body: &body,
        };
        let limit = state.settings.smtp.soft_bounce_limit;
        Ok(Json(bounces::receive(&state.crm, call, limit, Utc::now()).await?.into()))
    }
}

/// The new webhook secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookSecretOut {
    /// Sign each call to `/api/webhooks/bounces` with it; the one before no
    /// longer verifies.
    secret: String,
    /// The value of `X-Neuracrm-Organization`.
    organization_id: i64,
}

endpoint! {
    /// Makes or replaces the organization's bounce-webhook secret (admins);
    /// it is shown only in this answer.
    post "/api/webhooks/bounces/secret" in "campaigns" => WebhookSecretOut, 403 "Admins only";
    async fn rotate_webhook_secret(state, user: AuthUser) {
        let caller = user.caller();
        let secret = bounces::rotate_secret(&state.crm, &caller).await?;
        Ok(Json(WebhookSecretOut { secret, organization_id: caller.org.0 }))
    }
}

// ---- the one-click unsubscribe link (no login, no CSRF: the signed token is
// the authority; RFC 8058) ----

/// `GET /u/{token}`: a confirmation page; `POST /u/{token}`: unsubscribes
/// at once (what mail clients' one-click unsubscribe sends).
/// `GET /t/o/{token}`: the open pixel; `GET /t/c/{token}?u=URL`: a tracked
/// link, redirecting to the URL it was signed for.
pub fn public_router() -> axum::Router<AppState> {
    axum::Router::new()
        .route(
            "/u/{token}",
            axum::routing::get(unsubscribe_page).post(unsubscribe_now),
        )
        .route("/t/o/{token}", axum::routing::get(open_pixel))
        .route("/t/c/{token}", axum::routing::get(tracked_click))
}

/// A transparent 1×1 GIF.
const PIXEL: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];

async fn open_pixel(
    State(state): State<AppState>,
    axum::extract::Path(token): axum::extract::Path<String>,
) -> Result<impl axum::response::IntoResponse, ApiError> {
    campaigns::track_open(&state.crm, &token).await?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "image/gif"),
            (axum::http::header::CACHE_CONTROL, "no-store"),
        ],
        PIXEL,
    ))
}

#[derive(Deserialize)]
struct ClickQuery {
    u: String,
}

async fn tracked_click(
    State(state): State<AppState>,
    axum::extract::Path(token): axum::extract::Path<String>,
    axum::extract::Query(q): axum::extract::Query<ClickQuery>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    match campaigns::track_click(&state.crm, &token, &q.u).await {
        Ok(()) => Ok(axum::response::Redirect::to(&q.u).into_response()),
        Err(neuracrm_actions::ActionError::NotFound(_)) => Ok(html_page(
            StatusCode::NOT_FOUND,
            "Link not valid",
            "<p>This link is not valid.</p>",
        )
        .into_response()),
        Err(e) => Err(e.into()),
    }
}

fn html_page(
    status: StatusCode,
    title: &str,
    body: &str,
) -> (StatusCode, axum::response::Html<String>) {
    (
        status,
        axum::response::Html(format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head><body><h1>{title}</h1>{body}</body></html>"
        )),
    )
}

async fn unsubscribe_page(
    axum::extract::Path(token): axum::extract::Path<String>,
) -> (StatusCode, axum::response::Html<String>) {
    // The token is echoed only when it has the shape of one (digits, a dot, hex).
    if !token.chars().all(|c| c.is_ascii_hexdigit() || c == '.') {
        return html_page(
            StatusCode::NOT_FOUND,
            "Link not valid",
            "<p>This link is not valid.</p>",
        );
    }
    html_page(
        StatusCode::OK,
        "Unsubscribe",
        &format!(
            "<p>Stop receiving these e-mails?</p><form method=\"post\" action=\"/u/{token}\"><button type=\"submit\">Unsubscribe</button></form>"
        ),
    )
}

async fn unsubscribe_now(
    State(state): State<AppState>,
    axum::extract::Path(token): axum::extract::Path<String>,
) -> Result<(StatusCode, axum::response::Html<String>), ApiError> {
    match campaigns::unsubscribe(&state.crm, &token).await {
        Ok(()) => Ok(html_page(
            StatusCode::OK,
            "Unsubscribed",
            "<p>You will not receive these e-mails any more.</p>",
        )),
        Err(neuracrm_actions::ActionError::NotFound(_)) => Ok(html_page(
            StatusCode::NOT_FOUND,
            "Link not valid",
            "<p>This link is not valid.</p>",
        )),
        Err(e) => Err(e.into()),
    }
}
