//! AI voice calls: `/api/voice/settings` (the organization's calling
//! settings; its API key write-only), `/api/voice/agents` (a scenario's
//! agent: list, provision at Retell, edit the organization's copy),
//! `/api/calls` (place within the guardrails, list, read with transcript
//! and analysis), `/api/leads/{id}/calls`, a contact's calling preferences,
//! and Retell's webhook `POST /api/voice/webhook` (no token: the signature
//! is the authority).

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use neuracrm_actions::voice::{self, PlaceCall, webhook};
use neuracrm_domain::voice::{
    AgentTemplate, AgentTemplatePatch, CallingPrefs, CallingPrefsPatch, HoursText, VoiceAgent,
    VoiceSettings, VoiceSettingsPatch,
};
use neuracrm_domain::{Call, CallId, CallStatus, ContactId, LeadId, Scenario, SegmentId};
use neuracrm_store::voice::{BatchItem, CallBatch, CallFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;

use crate::AppState;
use crate::http::auth::AuthUser;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Id, Json, Query};
use crate::http::openapi::{endpoint, reads, routes_of};
use crate::http::wire::{PageQuery, page, page_type, record_out, vocab};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    routes_of!(
        (voice_settings, update_voice_settings),
        (voice_agents, provision_agent),
        edit_agent,
        (list_calls, place_call),
        get_call,
        lead_calls,
        (calling_prefs, update_calling_prefs),
        (list_batches, start_batch),
        get_batch,
        batch_items,
        retell_webhook
    )
}

/// The calling window, local time.
#[derive(Debug, Serialize, ToSchema)]
pub struct HoursOut {
    /// `HH:MM`.
    start: String,
    /// `HH:MM`, up to `24:00`.
    end: String,
}

impl From<HoursText> for HoursOut {
    fn from(h: HoursText) -> Self {
        HoursOut {
            start: h.start,
            end: h.end,
        }
    }
}

record_out!(
    /// An organization's calling settings. The API key is never sent back:
    /// `has_api_key` says whether one is set.
    VoiceSettingsOut from VoiceSettings as s {
        /// E.164; none: the deployment's `retell.from_number`.
        from_number: Option<String> = s.from_number.map(String::from),
        /// IANA name; none: UTC (a contact's own zone comes first).
        time_zone: Option<String> = s.time_zone.map(String::from),
        calling_hours: HoursOut = HoursText::from(s.calling_hours).into(),
        max_concurrent_calls: i64,
        calls_per_minute: i64,
        has_api_key: bool,
    }
);

/// A change of the calling settings; absent fields stay, `null` clears a
/// nullable one.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct VoiceSettingsPatchDoc {
    /// E.164, e.g. `+14155550100`; `null`: the deployment's.
    from_number: Option<String>,
    /// IANA time zone, e.g. `Europe/Paris`; `null`: UTC.
    time_zone: Option<String>,
    /// `{"start": "09:00", "end": "20:00"}`; `00:00`–`24:00` allows any time.
    #[schema(nullable = false)]
    calling_hours: Option<HoursOut>,
    /// 1–1000 (default 20, Retell's default concurrency).
    #[schema(nullable = false, minimum = 1, maximum = 1000)]
    max_concurrent_calls: Option<i64>,
    /// 1–600 (default 10).
    #[schema(nullable = false, minimum = 1, maximum = 600)]
    calls_per_minute: Option<i64>,
    /// The organization's own Retell API key (write-only: stored sealed,
    /// never returned); `null` removes it.
    api_key: Option<String>,
}

endpoint! {
    /// The organization's calling settings (admins and managers).
    get "/api/voice/settings" in "voice" => VoiceSettingsOut, 403 "A rep";
    async fn voice_settings(state, user: AuthUser) {
        Ok(Json(voice::settings(&state.crm, &user.caller()).await?.into()))
    }
}

endpoint! {
    /// Changes the organization's calling settings (admins).
    patch "/api/voice/settings" in "voice" [request_body = VoiceSettingsPatchDoc]
        => VoiceSettingsOut, 400 "Malformed body", 403 "Not an admin",
        422 "Invalid field (`field` names it)";
    async fn update_voice_settings(state, user: AuthUser, Json(patch): Json<VoiceSettingsPatch>) {
        Ok(Json(voice::update_settings(&state.crm, &user.caller(), &patch).await?.into()))
    }
}

record_out!(
    /// What an agent says and how.
    AgentTemplateOut from AgentTemplate as t {
        name: String,
        /// Retell's voice id.
        voice_id: String,
        language: String,
        model: String,
        temperature: f64,
        /// `{{first_name}}`, `{{company}}`, `{{lead_title}}` and
        /// `{{owner_name}}` are filled per call.
        general_prompt: String,
        begin_message: String,
        end_call_message: String,
        max_call_duration_ms: i64,
    }
);

record_out!(
    /// A scenario's agent in the organization.
    AgentOut from VoiceAgent as a {
        #[schema(value_type = vocab::Scenario)]
        scenario: Scenario,
        template: AgentTemplateOut = a.template.into(),
        /// Whether the organization edited the built-in template.
        customized: bool,
        /// Retell's LLM id, once provisioned.
        llm_id: Option<String>,
        /// Retell's agent id, once provisioned.
        agent_id: Option<String>,
        provisioned_at: Option<DateTime<Utc>>,
        /// The template changed since it was provisioned: provision again.
        stale: bool,
    }
);

/// Both scenarios' agents.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentList {
    items: Vec<AgentOut>,
}

endpoint! {
    /// Both scenarios' agents: the built-in template until the organization
    /// edits its copy, with the Retell ids once provisioned.
    get "/api/voice/agents" in "voice" => AgentList;
    async fn voice_agents(state, user: AuthUser) {
        let agents = voice::agents(&state.crm, &user.caller()).await?;
        Ok(Json(AgentList { items: agents.into_iter().map(Into::into).collect() }))
    }
}

/// The scenario to provision.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProvisionBody {
    #[schema(value_type = vocab::Scenario)]
    scenario: Scenario,
}

endpoint! {
    /// Provisions a scenario at Retell (managers): creates its LLM and
    /// agent, or updates them, with the webhook URL under `public_url` and
    /// the post-call analysis of BANT and `follow_up_booked`.
    post "/api/voice/agents" in "voice" [request_body = ProvisionBody] => AgentOut,
        400 "Malformed body", 403 "A rep", 409 "No Retell API key",
        422 "Unknown scenario", 502 "Retell refused or failed (the message says why)";
    async fn provision_agent(state, user: AuthUser, Json(body): Json<ProvisionBody>) {
        Ok(Json(voice::provision(&state.crm, &user.caller(), body.scenario).await?.into()))
    }
}

/// A scenario in a path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ScenarioPath {
    /// `sales_outbound` or `customer_support`.
    #[param(value_type = vocab::Scenario)]
    scenario: String,
}

fn scenario_of(raw: &str) -> ApiResult<Scenario> {
    raw.parse::<Scenario>()
        .map_err(|_| ApiError::NotFound("scenario".into()))
}

/// A change of the organization's copy of a scenario's agent.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct AgentPatchDoc {
    #[schema(nullable = false)]
    name: Option<String>,
    #[schema(nullable = false)]
    voice_id: Option<String>,
    #[schema(nullable = false)]
    language: Option<String>,
    #[schema(nullable = false)]
    model: Option<String>,
    #[schema(nullable = false, minimum = 0, maximum = 1)]
    temperature: Option<f64>,
    #[schema(nullable = false)]
    general_prompt: Option<String>,
    #[schema(nullable = false)]
    begin_message: Option<String>,
    #[schema(nullable = false)]
    end_call_message: Option<String>,
    #[schema(nullable = false, minimum = 60000, maximum = 7200000)]
    max_call_duration_ms: Option<i64>,
}

endpoint! {
    /// Edits the organization's copy of a scenario's agent (managers); it
    /// reaches Retell when the scenario is provisioned again.
    patch "/api/voice/agents/{scenario}" in "voice" [params(ScenarioPath), request_body = AgentPatchDoc]
        => AgentOut, 400 "Malformed body", 403 "A rep", 404 "No such scenario",
        422 "Invalid field";
    async fn edit_agent(
        state,
        user: AuthUser,
        axum::extract::Path(path): axum::extract::Path<ScenarioPath>,
        Json(patch): Json<AgentTemplatePatch>
    ) {
        let scenario = scenario_of(&path.scenario)?;
        Ok(Json(voice::edit_agent(&state.crm, &user.caller(), scenario, &patch).await?.into()))
    }
}

/// One turn of a transcript.
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code)]
pub struct TurnDoc {
    /// `agent` or `user`.
    role: String,
    content: String,
}

record_out!(
    /// An AI voice call, with its transcript and Retell's analysis once known.
    CallOut from Call as c {
        id: i64,
        organization_id: i64,
        lead_id: Option<i64>,
        contact_id: Option<i64>,
        #[schema(value_type = vocab::Scenario)]
        scenario: Scenario,
        placed_by: Option<i64> = c.placed_by.map(|u| u.0),
        /// Retell's call id.
        retell_call_id: Option<String>,
        #[schema(value_type = vocab::CallStatus)]
        status: CallStatus,
        from_number: String,
        to_number: String,
        started_at: Option<DateTime<Utc>>,
        ended_at: Option<DateTime<Utc>>,
        duration_ms: Option<i64>,
        transcript: Option<String>,
        /// The transcript as turns.
        #[schema(value_type = Option<Vec<TurnDoc>>)]
        transcript_turns: Option<serde_json::Value>,
        recording_url: Option<String>,
        /// Retell's words: `user_hangup`, `agent_hangup`, `voicemail_reached`, ...
        disconnection_reason: Option<String>,
        summary: Option<String>,
        /// Retell's reading: `Positive`, `Neutral`, `Negative`, `Unknown`.
        user_sentiment: Option<String>,
        /// Whether the agent reached its goal.
        call_successful: Option<bool>,
        in_voicemail: Option<bool>,
        /// The scenario's answers: `budget`, `authority`, `need`,
        /// `timeline`, `follow_up_booked`.
        #[schema(value_type = Option<Object>)]
        custom_analysis: Option<serde_json::Value>,
        analyzed_at: Option<DateTime<Utc>>,
        /// The `call` activity holding the transcript.
        activity_id: Option<i64>,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    }
);

page_type!(
    /// A page of calls, newest first.
    CallPage, CallOut, Call
);

/// A call to place: `lead_id` (its contact is called) or `contact_id`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaceCallBody {
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    lead_id: Option<LeadId>,
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    contact_id: Option<ContactId>,
    #[schema(value_type = vocab::Scenario)]
    scenario: Scenario,
}

endpoint! {
    /// Places an outbound call with the scenario's agent, from the
    /// organization's number to the contact's phone. Refused: a phone missing
    /// or not E.164, a contact marked do not call (422); outside calling hours
    /// in the contact's (else the organization's) time zone, the concurrent
    /// limit reached, the scenario not provisioned (409); the per-minute rate
    /// (429).
    post "/api/calls" in "voice" [request_body = PlaceCallBody]
        => 201 CallOut, 400 "Malformed body", 404 "No such lead or contact",
        409 "Outside calling hours, at the concurrent limit, not provisioned",
        422 "No E.164 phone, do not call, or a bad field", 429 "The per-minute rate",
        502 "Retell refused or failed";
    async fn place_call(state, user: AuthUser, Json(body): Json<PlaceCallBody>) {
        let req = PlaceCall {
            lead_id: body.lead_id,
            contact_id: body.contact_id,
            scenario: body.scenario,
        };
        let call = voice::place_call(&state.crm, &user.caller(), &req, Utc::now()).await?;
        Ok((StatusCode::CREATED, Json(call.into())))
    }
}

/// Filters of the call list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CallQuery {
    /// About this lead.
    lead_id: Option<i64>,
    /// To this contact.
    contact_id: Option<i64>,
    /// In this status.
    #[param(value_type = Option<vocab::CallStatus>)]
    status: Option<String>,
    /// For this scenario.
    #[param(value_type = Option<vocab::Scenario>)]
    scenario: Option<String>,
    /// Rows per page, 1–200 (default 50).
    limit: Option<i64>,
    /// Rows to skip.
    offset: Option<i64>,
}

fn word<T: std::str::FromStr>(raw: Option<&str>, field: &str) -> ApiResult<Option<T>>
where
    T::Err: std::fmt::Display,
{
    raw.map(|r| {
        r.parse::<T>().map_err(|e| ApiError::InvalidQuery {
            field: Some(field.into()),
            message: e.to_string(),
        })
    })
    .transpose()
}

endpoint! {
    /// The organization's calls, newest first.
    get "/api/calls" in "voice" [params(CallQuery)] => CallPage, 400 "Bad filter or paging";
    async fn list_calls(state, user: AuthUser, Query(q): Query<CallQuery>) {
        let filter = CallFilter {
            lead_id: q.lead_id.map(LeadId),
            contact_id: q.contact_id.map(ContactId),
            status: word(q.status.as_deref(), "status")?,
            scenario: word(q.scenario.as_deref(), "scenario")?,
        };
        let page = page(q.limit, q.offset)?;
        Ok(Json(voice::calls(&state.crm, &user.caller(), &filter, page).await?.into()))
    }
}

reads!(
    /// One call with its transcript turns and analysis.
    get_call: "/api/calls/{id}" in "voice", "Call id" CallId => CallOut, "No such call", voice::call
);

reads!(
    /// A lead's calls, newest first.
    lead_calls: "/api/leads/{id}/calls" in "voice", "Lead id" LeadId
        => paged CallPage, "No such lead", voice::lead_calls
);

record_out!(
    /// A contact's calling preferences.
    CallingPrefsOut from CallingPrefs as p {
        /// Never call this contact.
        do_not_call: bool,
        /// The contact's IANA time zone; none: the organization's.
        time_zone: Option<String> = p.time_zone.map(String::from),
    }
);

/// A change of a contact's calling preferences.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct CallingPrefsPatchDoc {
    #[schema(nullable = false)]
    do_not_call: Option<bool>,
    /// IANA name, or `null` for the organization's.
    time_zone: Option<String>,
}

reads!(
    /// A contact's calling preferences.
    calling_prefs: "/api/contacts/{id}/calling-preferences" in "voice", "Contact id" ContactId
        => CallingPrefsOut, "No such contact", voice::prefs
);

endpoint! {
    /// Marks a contact do not call, or sets its time zone (managers).
    patch "/api/contacts/{id}/calling-preferences" in "voice"
        [params(("id" = i64, Path, description = "Contact id")), request_body = CallingPrefsPatchDoc]
        => CallingPrefsOut, 400 "Bad id or malformed body", 403 "A rep", 404 "No such contact",
        422 "Invalid field";
    async fn update_calling_prefs(state, user: AuthUser, Id(id): Id<ContactId>, Json(patch): Json<CallingPrefsPatch>) {
        Ok(Json(voice::set_prefs(&state.crm, &user.caller(), id, &patch).await?.into()))
    }
}

record_out!(
    /// A bulk-calling batch and its progress.
    CallBatchOut from CallBatch as b {
        id: i64,
        organization_id: i64,
        #[schema(value_type = vocab::Scenario)]
        scenario: String,
        /// `running` until no lead is pending, then `completed`.
        status: String,
        created_by: i64,
        total: i64,
        /// Still to call: held by calling hours or the limits, or being dialled.
        pending: i64,
        placed: i64,
        /// Refused for good by a guardrail (no phone, do not call, a deleted lead).
        skipped: i64,
        /// Refused by Retell.
        failed: i64,
        created_at: DateTime<Utc>,
        finished_at: Option<DateTime<Utc>>,
        /// The segment it was started from (none: chosen leads).
        segment_id: Option<i64>,
        /// That segment's name when the batch started.
        segment_name: Option<String>,
    }
);

/// Leads to call, one by one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchBody {
    /// 1 to 1000 lead ids (another organization's are left out); or
    #[schema(value_type = Option<Vec<i64>>)]
    lead_ids: Option<Vec<LeadId>>,
    /// a segment: the open leads (new, contacted, qualified) of its
    /// contacts as they are now, at most 1000. Exactly one of the two.
    #[schema(value_type = Option<i64>)]
    segment_id: Option<SegmentId>,
    #[schema(value_type = vocab::Scenario)]
    scenario: Scenario,
}

impl BatchBody {
    fn target(self) -> ApiResult<voice::BatchTarget> {
        match (self.lead_ids, self.segment_id) {
            (Some(ids), None) => Ok(voice::BatchTarget::Leads(ids)),
            (None, Some(id)) => Ok(voice::BatchTarget::Segment(id)),
            _ => Err(ApiError::validation(
                "lead_ids",
                "give either lead_ids or segment_id",
            )),
        }
    }
}

endpoint! {
    /// Calls the leads one by one in the background, within the guardrails
    /// (admins and managers); `GET /api/call-batches/{id}` follows it. A lead
    /// held by calling hours or the limits waits for a later pass.
    post "/api/call-batches" in "voice" [request_body = BatchBody]
        => 202 CallBatchOut, 400 "Malformed body", 403 "A rep",
        409 "The scenario is not provisioned", 404 "No such segment",
        422 "No lead, too many, none of the organization's, or both lead_ids and segment_id";
    async fn start_batch(state, user: AuthUser, Json(body): Json<BatchBody>) {
        let scenario = body.scenario;
        let b = voice::start_batch(&state.crm, &user.caller(), &body.target()?, scenario).await?;
        voice::process_batches_now(&state.crm);
        Ok((StatusCode::ACCEPTED, Json(b.into())))
    }
}

page_type!(
    /// A page of batches.
    CallBatchPage, CallBatchOut, CallBatch
);

reads!(
    /// The organization's bulk-calling batches with their progress, newest
    /// first.
    list_batches: "/api/call-batches" in "voice" => paged CallBatchPage, voice::batches
);

record_out!(
    /// A lead of a batch and what became of it.
    BatchItemOut from BatchItem as i {
        lead_id: i64,
        /// None once the lead is deleted.
        lead_title: Option<String>,
        /// `pending`, `calling` (being dialled), `placed`, `skipped` or `failed`.
        status: String,
        /// Why it was skipped or failed.
        reason: Option<String>,
        /// The call placed.
        call_id: Option<i64>,
        /// That call's status now.
        call_status: Option<String>,
    }
);

page_type!(
    /// A page of a batch's leads.
    BatchItemPage, BatchItemOut, BatchItem
);

reads!(
    /// A batch's leads in id order, each with what became of it.
    batch_items: "/api/call-batches/{id}/items" in "voice", "Batch id" i64
        => paged BatchItemPage, "No such batch", voice::batch_items
);

reads!(
    /// A bulk-calling batch's progress.
    get_batch: "/api/call-batches/{id}" in "voice", "Batch id" i64
        => CallBatchOut, "No such batch", voice::batch
);

/// What became of a verified webhook.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookOut {
    /// `applied`; `queued` (applied to the call, and the effects that
    /// follow failed: they are run again by `calls sync`); `duplicate`; or
    /// `ignored`.
    result: &'static str,
}

endpoint! {
    /// Retell's call events (`call_started`, `call_ended`, `call_analyzed`).
    /// No token: the `x-retell-signature` header (HMAC-SHA256 of the body and
    /// its timestamp, keyed with the API key that placed the call) is verified
    /// before anything else; a repeat is answered 200 with no effect. Once the
    /// event is stored the answer is 200: effects that fail after it are the
    /// CRM's to retry.
    public post "/api/voice/webhook" in "voice" [
        params(("x-retell-signature" = String, Header, description = "`v=<unix ms>,d=<hex HMAC-SHA256>`")),
        request_body(content = Object, description = "`{\"event\", \"call\"}` as Retell sends it")
    ] => WebhookOut, 400 "Signed, but not an event",
        401 "Missing, malformed, expired or wrong signature";
    async fn retell_webhook(state, headers: HeaderMap, body: Bytes) {
        let header = headers
            .get("x-retell-signature")
            .and_then(|v| v.to_str().ok());
        match webhook::receive(&state.crm, header, &body, Utc::now()).await {
            Ok(r) => {
                let result = match r {
                    webhook::Received::Applied { call, event } => {
                        tracing::info!(call = call.0, event = %event, "retell webhook applied");
                        "applied"
                    }
                    webhook::Received::Queued { call, event } => {
                        // Stored and applied to the call; what follows is
                        // retried by `calls sync`, not by Retell's redelivery.
                        tracing::warn!(call = call.0, event = %event, "retell webhook applied, its effects queued");
                        "queued"
                    }
                    webhook::Received::Duplicate => "duplicate",
                    webhook::Received::Ignored(why) => {
                        tracing::info!(why, "retell webhook ignored");
                        "ignored"
                    }
                };
                Ok(Json(WebhookOut { result }))
            }
            Err(webhook::WebhookError::Unauthorized(why)) => {
                // Never the body: it is the caller's, unverified.
                tracing::warn!(reason = %why, bytes = body.len(), "retell webhook refused");
                Err(ApiError::BadSignature("invalid webhook signature"))
            }
            Err(webhook::WebhookError::Malformed(m)) => Err(ApiError::MalformedBody(m)),
            Err(webhook::WebhookError::Failed(e)) => Err(e.into()),
        }
    }
}
