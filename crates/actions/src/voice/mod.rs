//! AI voice calls through Retell: an organization's calling settings, its
//! agents (one per scenario, provisioned at Retell from the built-in
//! template or its edited copy), placing a call within the guardrails,
//! reading calls, a contact's calling preferences; the verified webhook
//! ([`webhook`]) and `calls sync` ([`webhook::sync`]) that bring a call's
//! outcome back into the CRM.
//!
//! Who may do what: everyone reads calls and places them; admins and
//! managers edit and provision agents and contacts' preferences; admins
//! change the calling settings (the API key among them).
//!
//! The Retell client ([`retell`]) lives here rather than in a crate of its
//! own: only these actions talk to Retell, and a crate would add a build
//! unit for one module; it depends on nothing of the CRM, so it can move
//! out the day a second user appears.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use neuracrm_domain::voice::{
    ANALYSIS_FIELDS, AgentTemplate, AgentTemplatePatch, CallingPrefs, CallingPrefsPatch,
    PhoneNumber, TimeZone, VoiceAgent, VoiceSettings, VoiceSettingsPatch,
};
use neuracrm_domain::{Call, CallId, ContactId, EventKind, LeadId, OrgId, Scenario, SegmentId};
use neuracrm_store::voice::{
    BatchItem, CallBatch, CallFilter, ItemOutcome, KeyChange, NewCall, Refusal,
};
use neuracrm_store::{Page, Paged};
use serde_json::{Value, json};

use crate::{Access, ActionError, ActionResult, Caller, Crm};

pub mod effects;
pub mod retell;
pub mod seal;
pub mod signature;
pub mod webhook;

use retell::{AgentBody, ClientOptions, LlmBody, PhoneCallBody, RetellClient, RetellError};
use seal::Sealer;

/// How this deployment reaches Retell.
#[derive(Clone)]
pub struct VoiceService {
    client: RetellClient,
    api_key: Option<String>,
    from_number: Option<PhoneNumber>,
    webhook_url: String,
    sealer: Sealer,
}

impl std::fmt::Debug for VoiceService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VoiceService")
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("from_number", &self.from_number)
            .field("webhook_url", &self.webhook_url)
            .finish()
    }
}

/// The deployment's Retell settings, as the server reads them.
#[derive(Clone)]
pub struct VoiceOptions {
    /// Where and how patiently.
    pub client: ClientOptions,
    /// The deployment's API key (organizations may bring their own).
    pub api_key: Option<String>,
    /// The default number to call from.
    pub from_number: Option<String>,
    /// `<public_url>/api/voice/webhook`.
    pub webhook_url: String,
    /// Seals organizations' keys.
    pub sealer: Sealer,
}

impl std::fmt::Debug for VoiceOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VoiceOptions")
            .field("client", &self.client)
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("from_number", &self.from_number)
            .field("webhook_url", &self.webhook_url)
            .finish()
    }
}

impl VoiceService {
    /// The service; fails on an unusable `from_number` or HTTP client.
    pub fn new(o: VoiceOptions) -> Result<VoiceService, String> {
        let from_number = o
            .from_number
            .as_deref()
            .map(|n| PhoneNumber::parse_field(n, "retell.from_number"))
            .transpose()
            .map_err(|e| e.to_string())?;
        Ok(VoiceService {
            client: RetellClient::new(o.client).map_err(|e| e.to_string())?,
            api_key: o.api_key.filter(|k| !k.trim().is_empty()),
            from_number,
            webhook_url: o.webhook_url,
            sealer: o.sealer,
        })
    }

    /// The Retell client.
    pub fn client(&self) -> &RetellClient {
        &self.client
    }
}

/// The key an organization's requests go with: its own, else the
/// deployment's; `true` when it is its own.
async fn key_of(crm: &Crm, v: &VoiceService, org: OrgId) -> ActionResult<(String, bool)> {
    let (_, sealed) = crm.store.voice().settings(org).await?;
    if let Some(s) = sealed {
        let key = v
            .sealer
            .open(org, &s)
            .map_err(|e| ActionError::Internal(e.to_string()))?;
        return Ok((key, true));
    }
    v.api_key.clone().map(|k| (k, false)).ok_or_else(|| {
        ActionError::Conflict {
            field: "api_key".into(),
            message: "no Retell API key: set retell.api_key for the deployment or the organization's api_key in /api/voice/settings".into(),
        }
    })
}

fn service(crm: &Crm) -> ActionResult<&Arc<VoiceService>> {
    crm.voice.as_ref().ok_or_else(|| ActionError::Conflict {
        field: "retell".into(),
        message: "voice calls are not configured on this deployment".into(),
    })
}

impl From<RetellError> for ActionError {
    fn from(e: RetellError) -> Self {
        ActionError::Upstream(e.to_string())
    }
}

// ---- settings ----

/// The organization's calling settings (admins and managers).
pub async fn settings(crm: &Crm, caller: &Caller) -> ActionResult<VoiceSettings> {
    caller.require(Access::Managers)?;
    Ok(crm.store.voice().settings(caller.org).await?.0)
}

/// Changes the organization's calling settings (admins). A new API key is
/// sealed before it is stored; `null` removes it.
pub async fn update_settings(
    crm: &Crm,
    caller: &Caller,
    patch: &VoiceSettingsPatch,
) -> ActionResult<VoiceSettings> {
    caller.require(Access::Admins)?;
    let (mut s, _) = crm.store.voice().settings(caller.org).await?;
    s.apply(patch)?;
    let key = match &patch.api_key {
        None => KeyChange::Keep,
        Some(None) => KeyChange::Clear,
        Some(Some(k)) => KeyChange::Set(service(crm)?.sealer.seal(caller.org, k.trim())),
    };
    Ok(crm
        .store
        .voice()
        .save_settings(caller.org, Some(caller.user), &s, key)
        .await?)
}

// ---- agents ----

/// Both scenarios' agents of the organization (the built-in template where
/// it has not edited or provisioned one).
pub async fn agents(crm: &Crm, caller: &Caller) -> ActionResult<Vec<VoiceAgent>> {
    let mut out = Vec::new();
    for s in Scenario::ALL {
        out.push(crm.store.voice().agent(caller.org, *s).await?);
    }
    Ok(out)
}

/// Edits the organization's copy of a scenario's agent (managers); the
/// change reaches Retell when the scenario is provisioned again.
pub async fn edit_agent(
    crm: &Crm,
    caller: &Caller,
    scenario: Scenario,
    patch: &AgentTemplatePatch,
) -> ActionResult<VoiceAgent> {
    caller.require(Access::Managers)?;
    let mut t = crm
        .store
        .voice()
        .agent(caller.org, scenario)
        .await?
        .template;
    t.apply(patch)?;
    Ok(crm
        .store
        .voice()
        .save_template(caller.org, Some(caller.user), scenario, &t)
        .await?)
}

/// What a scenario's LLM is created with.
pub fn llm_body(t: &AgentTemplate) -> LlmBody {
    LlmBody {
        general_prompt: format!(
            "{}\n\nWhen the conversation is over, say: \"{}\" and end the call.",
            t.general_prompt, t.end_call_message
        ),
        begin_message: t.begin_message.clone(),
        model: t.model.clone(),
        model_temperature: t.temperature,
        start_speaker: "agent".into(),
        default_dynamic_variables: json!({
            "first_name": "there", "company": "your company",
            "lead_title": "your enquiry", "owner_name": "our team"
        }),
        post_call_analysis_data: ANALYSIS_FIELDS
            .iter()
            .map(|(name, kind, description)| {
                json!({"type": kind, "name": name, "description": description})
            })
            .collect(),
    }
}

/// Provisions a scenario at Retell (managers): creates its LLM and agent,
/// or updates them when they exist (and creates them again when Retell no
/// longer has them), with the webhook URL under `public_url` and the
/// post-call analysis asking for BANT and whether a follow-up was booked.
pub async fn provision(crm: &Crm, caller: &Caller, scenario: Scenario) -> ActionResult<VoiceAgent> {
    caller.require(Access::Managers)?;
    let v = service(crm)?;
    let (key, _) = key_of(crm, v, caller.org).await?;
    let agent = crm.store.voice().agent(caller.org, scenario).await?;
    let t = &agent.template;
    let llm = llm_body(t);
    let llm_id = match &agent.llm_id {
        Some(id) => match v.client.update_llm(&key, id, &llm).await {
            Ok(()) => id.clone(),
            Err(RetellError::NotFound(_)) => v.client.create_llm(&key, &llm).await?,
            Err(e) => return Err(e.into()),
        },
        None => v.client.create_llm(&key, &llm).await?,
    };
    let body = AgentBody {
        response_engine: json!({"type": "retell-llm", "llm_id": llm_id}),
        agent_name: t.name.clone(),
        voice_id: t.voice_id.clone(),
        language: t.language.clone(),
        webhook_url: v.webhook_url.clone(),
        max_call_duration_ms: t.max_call_duration_ms,
        end_call_after_silence_ms: 30_000,
    };
    let agent_id = match &agent.agent_id {
        Some(id) => match v.client.update_agent(&key, id, &body).await {
            Ok(()) => id.clone(),
            Err(RetellError::NotFound(_)) => v.client.create_agent(&key, &body).await?,
            Err(e) => return Err(e.into()),
        },
        None => v.client.create_agent(&key, &body).await?,
    };
    Ok(crm
        .store
        .voice()
        .set_provisioned(
            caller.org,
            Some(caller.user),
            scenario,
            t,
            &llm_id,
            &agent_id,
        )
        .await?)
}

// ---- contacts' preferences ----

/// A contact's calling preferences.
pub async fn prefs(crm: &Crm, caller: &Caller, contact: ContactId) -> ActionResult<CallingPrefs> {
    Ok(crm.store.voice().prefs(caller.org, contact).await?)
}

/// Changes a contact's calling preferences (managers; marking a contact
/// "do not call" is a compliance decision).
pub async fn set_prefs(
    crm: &Crm,
    caller: &Caller,
    contact: ContactId,
    patch: &CallingPrefsPatch,
) -> ActionResult<CallingPrefs> {
    caller.require(Access::Managers)?;
    let mut p = crm.store.voice().prefs(caller.org, contact).await?;
    p.apply(patch)?;
    let saved = crm
        .store
        .voice()
        .set_prefs(caller.org, Some(caller.user), contact, &p)
        .await?;
    crm.publish(caller.org, EventKind::ContactUpdated { id: contact });
    Ok(saved)
}

// ---- calls ----

/// A call to place: about a lead (its contact is called) or to a contact.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaceCall {
    /// The lead.
    pub lead_id: Option<LeadId>,
    /// The contact, when no lead is given.
    pub contact_id: Option<ContactId>,
    /// The scenario (its agent must be provisioned).
    pub scenario: Scenario,
}

/// Places an outbound call, within the guardrails: a phone in E.164 (422),
/// not a "do not call" contact (422), within the calling hours in the
/// contact's time zone, else the organization's (409), within the
/// concurrent-call limit (409) and the per-minute rate (429).
pub async fn place_call(
    crm: &Crm,
    caller: &Caller,
    req: &PlaceCall,
    now: DateTime<Utc>,
) -> ActionResult<Call> {
    if req.lead_id.is_some() == req.contact_id.is_some() {
        return Err(ActionError::invalid(
            "lead_id",
            "give either lead_id or contact_id",
        ));
    }
    let v = service(crm)?;
    let store = crm.store.voice();
    let target = store
        .target(caller.org, req.lead_id, req.contact_id)
        .await?;
    let Some(contact_id) = target.contact_id else {
        return Err(ActionError::invalid(
            "lead_id",
            "the lead has no contact to call",
        ));
    };
    let phone = target.phone.as_deref().unwrap_or("");
    let to = PhoneNumber::parse_field(phone, "phone").map_err(|_| {
        ActionError::invalid(
            "phone",
            if phone.trim().is_empty() {
                "the contact has no phone number".to_string()
            } else {
                "the contact's phone is not a number in E.164 form (like +14155550100)".to_string()
            },
        )
    })?;
    if target.do_not_call == Some(true) {
        return Err(ActionError::invalid(
            "do_not_call",
            "the contact is marked do not call",
        ));
    }
    let (settings, _) = store.settings(caller.org).await?;
    let zone = target
        .time_zone
        .as_deref()
        .and_then(|z| TimeZone::parse_field(z, "time_zone").ok())
        .or(settings.time_zone)
        .unwrap_or(TimeZone::UTC);
    if !settings.calling_hours.allows(zone.local_time(now)) {
        let (start, end) = settings.calling_hours.bounds();
        return Err(ActionError::Conflict {
            field: "calling_hours".into(),
            message: format!(
                "outside calling hours: {start}-{end} in {} (it is {} there)",
                zone.name(),
                zone.local_time(now).format("%H:%M")
            ),
        });
    }
    let agent = store.agent(caller.org, req.scenario).await?;
    let Some(agent_id) = agent.agent_id.clone() else {
        return Err(ActionError::Conflict {
            field: "scenario".into(),
            message: format!(
                "the {} agent is not provisioned yet: POST /api/voice/agents {{\"scenario\": \"{}\"}}",
                req.scenario, req.scenario
            ),
        });
    };
    let from = settings
        .from_number
        .clone()
        .or_else(|| v.from_number.clone())
        .ok_or_else(|| ActionError::Conflict {
            field: "from_number".into(),
            message: "no number to call from: set from_number in /api/voice/settings or retell.from_number".into(),
        })?;
    let (key, own_key) = key_of(crm, v, caller.org).await?;
    let new = NewCall {
        lead_id: target.lead_id.map(LeadId),
        contact_id: Some(ContactId(contact_id)),
        scenario: req.scenario,
        placed_by: Some(caller.user),
        agent_id: agent_id.clone(),
        from_number: from.as_str().to_string(),
        to_number: to.as_str().to_string(),
        own_key,
        max_duration_ms: agent.template.max_call_duration_ms,
    };
    let call = match store
        .insert(
            caller.org,
            &new,
            settings.max_concurrent_calls,
            settings.calls_per_minute,
            now,
        )
        .await?
    {
        Ok(c) => c,
        Err(Refusal::Concurrent(n)) => {
            return Err(ActionError::Conflict {
                field: "max_concurrent_calls".into(),
                message: format!("{n} calls are in progress, the organization's limit"),
            });
        }
        Err(Refusal::Rate(n)) => {
            return Err(ActionError::RateLimited {
                message: format!("at most {n} calls a minute; try again shortly"),
                retry_after_secs: 60,
            });
        }
    };
    let body = PhoneCallBody {
        from_number: new.from_number.clone(),
        to_number: new.to_number.clone(),
        override_agent_id: agent_id,
        metadata: json!({
            "organization_id": caller.org.0,
            "call_id": call.id.0,
            "lead_id": new.lead_id.map(|l| l.0),
            "contact_id": contact_id,
        }),
        retell_llm_dynamic_variables: json!({
            "first_name": target.first_name.clone().unwrap_or_default(),
            "company": target.company.clone().unwrap_or_default(),
            "lead_title": target.lead_title.clone().unwrap_or_default(),
            "owner_name": target.owner_name.clone().unwrap_or_default(),
        }),
    };
    match v.client.create_phone_call(&key, &body).await {
        Ok(placed) => {
            let call = store
                .set_retell_id(caller.org, call.id, &placed.call_id)
                .await?;
            crm.publish(
                caller.org,
                EventKind::CallUpdated {
                    id: call.id,
                    status: call.status,
                    lead_id: call.lead_id,
                },
            );
            Ok(call)
        }
        Err(e) => {
            store.fail(caller.org, call.id, &e.to_string()).await?;
            Err(e.into())
        }
    }
}

/// One call of the organization, with its transcript and analysis.
pub async fn call(crm: &Crm, caller: &Caller, id: CallId) -> ActionResult<Call> {
    Ok(crm.store.voice().get(caller.org, id).await?)
}

/// A page of the organization's calls, newest first.
pub async fn calls(
    crm: &Crm,
    caller: &Caller,
    filter: &CallFilter,
    page: Page,
) -> ActionResult<Paged<Call>> {
    Ok(crm.store.voice().list(caller.org, filter, page).await?)
}

/// A page of a lead's calls (404 for another organization's lead).
pub async fn lead_calls(
    crm: &Crm,
    caller: &Caller,
    lead: LeadId,
    page: Page,
) -> ActionResult<Paged<Call>> {
    crm.store.leads().get(caller.org, lead).await?;
    let filter = CallFilter {
        lead_id: Some(lead),
        ..Default::default()
    };
    calls(crm, caller, &filter, page).await
}

// ---- bulk calling ----

/// Most leads in one batch.
pub const MAX_BATCH: usize = 1000;

/// How long a batch item may stay claimed before its worker is taken for
/// stopped (placing one call takes seconds; Retell's timeout is far
/// shorter than this).
pub const CLAIM_LEASE: chrono::Duration = chrono::Duration::minutes(10);

/// Whom a batch calls.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchTarget {
    /// These leads (1 to [`MAX_BATCH`]; another organization's are left out).
    Leads(Vec<LeadId>),
    /// The open leads (new, contacted, qualified) of the segment's contacts,
    /// as they are when the batch starts (at most [`MAX_BATCH`]).
    Segment(SegmentId),
}

/// Starts calling the leads of `target` with `scenario`, one by one, in
/// the background and within the guardrails (managers).
pub async fn start_batch(
    crm: &Crm,
    caller: &Caller,
    target: &BatchTarget,
    scenario: Scenario,
) -> ActionResult<CallBatch> {
    caller.require(Access::Managers)?;
    let of_segment;
    let mut segment = None;
    let (leads, field): (&[LeadId], _) = match target {
        BatchTarget::Leads(ids) => {
            if ids.is_empty() || ids.len() > MAX_BATCH {
                return Err(ActionError::invalid(
                    "lead_ids",
                    format!("give 1 to {MAX_BATCH} leads"),
                ));
            }
            (ids, "lead_ids")
        }
        BatchTarget::Segment(id) => {
            // Another organization's segment: not found.
            segment = Some(crm.store.segments().get(caller.org, *id).await?);
            let (leads, more) = crm
                .store
                .voice()
                .open_leads_of_segment(caller.org, *id, MAX_BATCH)
                .await?;
            if more {
                return Err(ActionError::invalid(
                    "segment_id",
                    format!(
                        "the segment's contacts hold more than {MAX_BATCH} open leads: narrow it"
                    ),
                ));
            }
            if leads.is_empty() {
                return Err(ActionError::invalid(
                    "segment_id",
                    "the segment's contacts hold no open lead (new, contacted or qualified)",
                ));
            }
            of_segment = leads;
            (&of_segment, "segment_id")
        }
    };
    service(crm)?;
    if crm
        .store
        .voice()
        .agent(caller.org, scenario)
        .await?
        .agent_id
        .is_none()
    {
        return Err(ActionError::Conflict {
            field: "scenario".into(),
            message: format!("the {scenario} agent is not provisioned yet"),
        });
    }
    crm.store
        .voice()
        .create_batch(
            caller.org,
            caller.user,
            scenario,
            leads,
            segment.as_ref().map(|s| (s.id, s.name.as_str())),
        )
        .await?
        .ok_or_else(|| {
            ActionError::invalid(field, "none of these ids names a lead of the organization")
        })
}

/// A batch of the organization with its progress.
pub async fn batch(crm: &Crm, caller: &Caller, id: i64) -> ActionResult<CallBatch> {
    Ok(crm.store.voice().batch(caller.org, id).await?)
}

/// A page of the organization's batches with their progress, newest first.
pub async fn batches(crm: &Crm, caller: &Caller, page: Page) -> ActionResult<Paged<CallBatch>> {
    Ok(crm.store.voice().batches(caller.org, page).await?)
}

/// A page of a batch's leads and what became of each (404 for another
/// organization's batch).
pub async fn batch_items(
    crm: &Crm,
    caller: &Caller,
    id: i64,
    page: Page,
) -> ActionResult<Paged<BatchItem>> {
    Ok(crm.store.voice().batch_items(caller.org, id, page).await?)
}

/// Starts a pass over the running batches in the background, so that the
/// instance that took a new batch starts calling at once (the scheduler's
/// passes carry on after it).
pub fn process_batches_now(crm: &Crm) {
    let crm = crm.clone();
    tokio::spawn(async move {
        if let Err(e) = process_batches(&crm, Utc::now()).await {
            tracing::error!(error = %e, "bulk calling pass failed");
        }
    });
}

/// What one pass over the running batches did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct BatchPass {
    /// Calls placed.
    pub placed: u64,
    /// Leads refused for good.
    pub skipped: u64,
    /// Leads Retell refused.
    pub failed: u64,
    /// Leads held for later (calling hours, the limits).
    pub held: u64,
    /// Leads settled from the call a stopped worker had stored for them.
    pub recovered: u64,
}

/// One pass over every running batch: each pending lead is claimed and
/// called as the batch's author would call it. A refusal that time lifts
/// (calling hours: this lead; the concurrent limit, the rate, a missing
/// agent or key: the whole batch) leaves it pending for the next pass; one
/// that it does not (no phone, do not call, a deleted lead) skips it.
pub async fn process_batches(crm: &Crm, now: DateTime<Utc>) -> ActionResult<BatchPass> {
    let store = crm.store.voice();
    let mut pass = BatchPass::default();
    for b in store.running_batches().await? {
        let caller = Caller {
            user: neuracrm_domain::UserId(b.created_by),
            org: OrgId(b.organization_id),
            role: neuracrm_domain::Role::Manager,
            session: None,
        };
        let scenario: Scenario = b
            .scenario
            .parse()
            .map_err(|e: neuracrm_domain::DomainError| ActionError::Internal(e.to_string()))?;
        // Items whose worker stopped after claiming them: settled from the
        // call it stored (not dialled again), else called now.
        for (lead, call) in store.stale_items(b.id, now - CLAIM_LEASE).await? {
            match call {
                Some(call) => {
                    let why = "settled from its call after the worker that placed it stopped";
                    store
                        .settle_item(b.id, lead, ItemOutcome::Placed(call), Some(why))
                        .await?;
                    pass.recovered += 1;
                }
                None => store.release_item(b.id, lead).await?,
            }
        }
        for lead in store.pending_items(b.id).await? {
            if !store.claim_item(b.id, lead, now).await? {
                continue;
            }
            let req = PlaceCall {
                lead_id: Some(lead),
                contact_id: None,
                scenario,
            };
            let (outcome, reason) = match place_call(crm, &caller, &req, now).await {
                Ok(call) => (Some(ItemOutcome::Placed(call.id)), None),
                Err(ActionError::Conflict { field, .. }) if field == "calling_hours" => {
                    (None, None)
                }
                Err(ActionError::Conflict { .. } | ActionError::RateLimited { .. }) => {
                    store.release_item(b.id, lead).await?;
                    pass.held += 1;
                    break;
                }
                Err(e @ ActionError::Upstream(_)) => {
                    (Some(ItemOutcome::Failed), Some(e.to_string()))
                }
                Err(e @ (ActionError::Invalid { .. } | ActionError::NotFound(_))) => {
                    (Some(ItemOutcome::Skipped), Some(e.to_string()))
                }
                Err(other) => {
                    store.release_item(b.id, lead).await?;
                    return Err(other);
                }
            };
            match outcome {
                Some(o) => {
                    store.settle_item(b.id, lead, o, reason.as_deref()).await?;
                    match o {
                        ItemOutcome::Placed(_) => pass.placed += 1,
                        ItemOutcome::Skipped => pass.skipped += 1,
                        ItemOutcome::Failed => pass.failed += 1,
                    }
                }
                None => {
                    store.release_item(b.id, lead).await?;
                    pass.held += 1;
                }
            }
        }
        store.finish_batch(b.id).await?;
    }
    Ok(pass)
}

/// The metadata's organization and call, when it names them.
pub(crate) fn metadata_ids(metadata: Option<&Value>) -> (Option<i64>, Option<i64>) {
    let get = |k: &str| metadata.and_then(|m| m.get(k)).and_then(Value::as_i64);
    (get("organization_id"), get("call_id"))
}
