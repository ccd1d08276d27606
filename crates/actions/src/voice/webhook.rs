//! Retell's call events, and `calls sync` for the ones that never came.
//!
//! [`receive`] verifies first and writes nothing before: the call is looked
//! up (a read) only to know whose key signed it, the organization's own or
//! the deployment's. A verified event of a call we placed is applied once
//! per (call, event) ([`neuracrm_store::voice::Voice::apply`]); a repeat is
//! answered 2xx with no effect, as are events of calls we never placed and
//! calls whose metadata names another organization than the one that
//! placed them. Events may come in any order: each carries Retell's whole
//! call object, every field is kept once known, and a status never moves
//! back.
//!
//! Effects, after the call's row commits: `call_updated` when its status
//! moved; once a transcript is known, a `call` activity on the lead and
//! contact with the transcript as body (so the sentiment subscriber reads
//! it); once the analysis is known, the lead's empty budget and decision
//! date filled from the BANT answers (an audited update; never overwriting),
//! the lead scored again, and `call_completed` with the new score.

use chrono::{DateTime, Utc};
use neuracrm_domain::voice::Bant;
use neuracrm_domain::{
    ActivityType, BoundedDate, BoundedTime, Call, CallId, CallStatus, EventKind, LeadPatch,
    NewActivity, OrgId,
};
use neuracrm_store::voice::{Applied, CallUpdate};
use serde::Deserialize;
use serde_json::Value;

use super::retell::CallObject;
use super::signature::{self, Refused};
use super::{VoiceService, metadata_ids};
use crate::{ActionError, ActionResult, Crm};

/// What a verified webhook did.
#[derive(Debug, Clone, PartialEq)]
pub enum Received {
    /// Applied to our call.
    Applied {
        /// The call.
        call: CallId,
        /// `call_started`, `call_ended` or `call_analyzed`.
        event: String,
    },
    /// This (call, event) was applied before.
    Duplicate,
    /// Verified but not ours to apply (why, for the log).
    Ignored(&'static str),
}

/// Why a webhook was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WebhookError {
    /// The signature is missing, malformed, expired or wrong (401).
    #[error("webhook signature refused: {0}")]
    Unauthorized(Refused),
    /// Signed, but not an event we can read (400).
    #[error("unreadable webhook: {0}")]
    Malformed(String),
    /// Verified, but applying it failed (Retell will retry).
    #[error(transparent)]
    Failed(#[from] ActionError),
}

#[derive(Debug, Deserialize)]
struct Envelope {
    event: String,
    call: CallObject,
}

/// The events we act on.
const EVENTS: &[&str] = &["call_started", "call_ended", "call_analyzed"];

/// Verifies and applies one webhook delivery (`header`: the
/// `x-retell-signature` value; `body`: the raw bytes as received).
pub async fn receive(
    crm: &Crm,
    header: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<Received, WebhookError> {
    let refuse = WebhookError::Unauthorized;
    let header = header.ok_or(refuse(Refused::Missing))?;
    signature::parse(header).map_err(refuse)?;
    let Some(v) = crm.voice.as_ref() else {
        return Err(refuse(Refused::Mismatch));
    };
    let envelope = serde_json::from_slice::<Envelope>(body);
    let call = match &envelope {
        Ok(e) => find_call(crm, e).await?,
        Err(_) => None,
    };
    let key = match &call {
        Some(c) if c.own_key => org_key(crm, v, c.organization_id).await?,
        _ => v.api_key.clone(),
    };
    let Some(key) = key else {
        return Err(refuse(Refused::Mismatch));
    };
    signature::verify(&key, body, header, now).map_err(refuse)?;
    let envelope = envelope.map_err(|e| WebhookError::Malformed(e.to_string()))?;
    let Some(call) = call else {
        return Ok(Received::Ignored("a call this CRM did not place"));
    };
    let (meta_org, meta_call) = metadata_ids(envelope.call.metadata.as_ref());
    if meta_org.is_some_and(|o| o != call.organization_id.0)
        || meta_call.is_some_and(|c| c != call.id.0)
    {
        return Ok(Received::Ignored(
            "the metadata names another organization or call than the one placed",
        ));
    }
    if !EVENTS.contains(&envelope.event.as_str()) {
        return Ok(Received::Ignored("an event this CRM does not act on"));
    }
    Ok(apply(crm, &call, &envelope.event, &envelope.call, now).await?)
}

/// Our call of a delivery: by Retell's call id, else (a delivery that
/// raced our recording of the id) by the metadata's organization and call
/// when that call has no Retell id yet.
async fn find_call(crm: &Crm, e: &Envelope) -> ActionResult<Option<Call>> {
    let store = crm.store.voice();
    if let Some(c) = store.find_by_retell_id(&e.call.call_id).await? {
        return Ok(Some(c));
    }
    if let (Some(org), Some(id)) = metadata_ids(e.call.metadata.as_ref())
        && let Some(c) = found(store.get(OrgId(org), CallId(id)).await)?
        && c.retell_call_id.is_none()
    {
        return Ok(Some(c));
    }
    Ok(None)
}

async fn org_key(crm: &Crm, v: &VoiceService, org: OrgId) -> ActionResult<Option<String>> {
    let (_, sealed) = crm.store.voice().settings(org).await?;
    Ok(sealed.and_then(|s| v.sealer.open(org, &s).ok()))
}

fn time(ms: Option<i64>) -> Option<DateTime<Utc>> {
    ms.and_then(DateTime::from_timestamp_millis)
}

/// What a call object says, for `event`.
fn update_of(event: &str, o: &CallObject) -> CallUpdate {
    let reported = o
        .call_status
        .as_deref()
        .and_then(|s| s.parse::<CallStatus>().ok());
    let status = match event {
        "call_started" => Some(reported.unwrap_or(CallStatus::Ongoing)),
        _ => reported.or(Some(CallStatus::Ended)),
    };
    let mut u = CallUpdate {
        status,
        started_at: time(o.start_timestamp),
        ..Default::default()
    };
    if event == "call_started" {
        return u;
    }
    u.ended_at = time(o.end_timestamp);
    u.duration_ms = o.duration_ms;
    u.transcript = o.transcript.clone().filter(|t| !t.trim().is_empty());
    u.transcript_turns = o
        .transcript_object
        .as_ref()
        .and_then(|t| serde_json::to_value(t).ok());
    u.recording_url = o.recording_url.clone();
    u.disconnection_reason = o.disconnection_reason.clone();
    if let Some(a) = &o.call_analysis {
        u.summary = a.call_summary.clone();
        u.user_sentiment = a.user_sentiment.clone();
        u.call_successful = a.call_successful;
        u.in_voicemail = a.in_voicemail;
        u.custom_analysis = Some(
            a.custom_analysis_data
                .clone()
                .unwrap_or_else(|| Value::Object(Default::default())),
        );
    }
    u
}

/// Applies `event` with call object `o` to `call` once, then its effects.
pub async fn apply(
    crm: &Crm,
    call: &Call,
    event: &str,
    o: &CallObject,
    now: DateTime<Utc>,
) -> ActionResult<Received> {
    let org = call.organization_id;
    let Some(applied) = crm
        .store
        .voice()
        .apply(org, call.id, event, &update_of(event, o))
        .await?
    else {
        return Ok(Received::Duplicate);
    };
    effects(crm, &applied, now).await?;
    Ok(Received::Applied {
        call: call.id,
        event: event.to_string(),
    })
}

async fn effects(crm: &Crm, a: &Applied, now: DateTime<Utc>) -> ActionResult<()> {
    let c = &a.call;
    let org = c.organization_id;
    if a.status_changed {
        crm.publish(
            org,
            EventKind::CallUpdated {
                id: c.id,
                status: c.status,
                lead_id: c.lead_id,
            },
        );
    }
    if a.log_activity {
        let body: String = c
            .transcript
            .clone()
            .unwrap_or_default()
            .chars()
            .take(neuracrm_domain::MAX_TEXT)
            .collect();
        let new = NewActivity {
            kind: ActivityType::Call,
            lead_id: c.lead_id,
            deal_id: None,
            contact_id: c.contact_id,
            user_id: c.placed_by,
            subject: Some(format!("AI call ({})", c.scenario)),
            body: Some(body),
            duration_seconds: c.duration_ms.map(|ms| (ms / 1000).max(0)),
            occurred_at: c
                .started_at
                .and_then(|t| BoundedTime::new(t, "occurred_at").ok()),
        };
        // The lead, contact or user may have been deleted since the call
        // was placed: the activity keeps what still exists.
        let lead_id = match new.lead_id {
            Some(id) => found(crm.store.leads().get(org, id).await)?.map(|l| l.id),
            None => None,
        };
        let contact_id = match new.contact_id {
            Some(id) => found(crm.store.contacts().get(org, id).await)?.map(|c| c.id),
            None => None,
        };
        let new = NewActivity {
            lead_id,
            contact_id,
            ..new
        };
        if new.lead_id.is_some() || new.contact_id.is_some() {
            let activities = crm.store.activities();
            let activity = match activities.create(org, None, &new).await {
                Err(neuracrm_store::StoreError::BadReference {
                    field: "user_id", ..
                }) => {
                    let new = NewActivity {
                        user_id: None,
                        ..new.clone()
                    };
                    activities.create(org, None, &new).await?
                }
                other => other?,
            };
            crm.store
                .voice()
                .set_activity(org, c.id, activity.id)
                .await?;
            crm.publish(
                org,
                EventKind::ActivityLogged {
                    id: activity.id,
                    activity_type: ActivityType::Call,
                    lead_id: new.lead_id,
                    contact_id: new.contact_id,
                },
            );
        }
    }
    if a.complete {
        complete(crm, c, now).await?;
    }
    Ok(())
}

/// `Some` of a record read, `None` when it is gone (deleted since the call
/// was placed); other errors pass.
fn found<T>(read: Result<T, neuracrm_store::StoreError>) -> ActionResult<Option<T>> {
    match read {
        Ok(v) => Ok(Some(v)),
        Err(neuracrm_store::StoreError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The analysis's effects on the lead: its empty budget and decision date
/// filled from the BANT answers, a new score, `call_completed`.
async fn complete(crm: &Crm, c: &Call, now: DateTime<Utc>) -> ActionResult<()> {
    let org = c.organization_id;
    let lead = match c.lead_id {
        Some(id) => found(crm.store.leads().get(org, id).await)?,
        None => None,
    };
    let mut score = None;
    if let Some(lead) = lead {
        let on = c.ended_at.unwrap_or(now).date_naive();
        let bant = c
            .custom_analysis
            .as_ref()
            .map(|v| Bant::read(v, on))
            .unwrap_or_default();
        let patch = LeadPatch {
            budget_cents: bant
                .budget
                .filter(|_| lead.budget_cents.is_none())
                .map(Some),
            expected_decision: bant
                .timeline
                .filter(|_| lead.expected_decision.is_none())
                .and_then(|d| BoundedDate::new(d, "expected_decision").ok())
                .map(Some),
            ..Default::default()
        };
        if patch != LeadPatch::default() {
            // No acting user: the audit log records the change as the
            // system's, beside the call that caused it.
            crm.store.leads().update(org, None, lead.id, &patch).await?;
            crm.publish(org, EventKind::LeadUpdated { id: lead.id });
        }
        let scored = crate::scoring::score_in(crm, org, lead.id, now).await?;
        score = Some(scored.score.total);
    }
    crm.publish(
        org,
        EventKind::CallCompleted {
            id: c.id,
            lead_id: c.lead_id,
            contact_id: c.contact_id,
            score,
        },
    );
    Ok(())
}

/// What `calls sync` did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct SyncReport {
    /// Overdue calls asked about.
    pub checked: u64,
    /// Events applied from Retell's answers.
    pub applied: u64,
    /// Calls Retell could not tell us about (logged).
    pub failed: u64,
}

/// Asks Retell about every call still `registered` or `ongoing` past its
/// maximum duration and `grace` (at most `limit`), and applies what it
/// says as the webhooks would have (`call_started`, `call_ended`,
/// `call_analyzed`; a webhook arriving later is then a duplicate).
pub async fn sync(
    crm: &Crm,
    now: DateTime<Utc>,
    grace: chrono::Duration,
    limit: usize,
) -> ActionResult<SyncReport> {
    let v = super::service(crm)?;
    let mut report = SyncReport::default();
    for call in crm.store.voice().overdue(now, grace, limit).await? {
        report.checked += 1;
        let org = call.organization_id;
        let key = if call.own_key {
            org_key(crm, v, org).await?
        } else {
            v.api_key.clone()
        };
        let Some(key) = key else {
            report.failed += 1;
            continue;
        };
        let retell_id = call.retell_call_id.clone().unwrap_or_default();
        let o = match v.client.get_call(&key, &retell_id).await {
            Ok(o) => o,
            Err(e) => {
                tracing::warn!(call = call.id.0, org = org.0, error = %e, "calls sync: get-call failed");
                report.failed += 1;
                continue;
            }
        };
        let status = o
            .call_status
            .as_deref()
            .and_then(|s| s.parse::<CallStatus>().ok());
        if status == Some(CallStatus::Ongoing)
            && matches!(
                apply(crm, &call, "call_started", &o, now).await?,
                Received::Applied { .. }
            )
        {
            report.applied += 1;
        }
        if status.is_some_and(|s| !s.is_open())
            && matches!(
                apply(crm, &call, "call_ended", &o, now).await?,
                Received::Applied { .. }
            )
        {
            report.applied += 1;
        }
        if o.call_analysis.is_some()
            && matches!(
                apply(crm, &call, "call_analyzed", &o, now).await?,
                Received::Applied { .. }
            )
        {
            report.applied += 1;
        }
    }
    Ok(report)
}
