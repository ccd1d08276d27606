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
//! After the call's row and the event's receipt commit: `call_updated`
//! when its status moved, then the effects the event claimed
//! ([`super::effects`]: the transcript's activity, the lead's fill, a new
//! score, `call_completed`). Effects that fail stay owed by the receipt and
//! are run again by [`sync`].

use chrono::{DateTime, Utc};
use neuracrm_domain::{Call, CallId, CallStatus, EventKind, OrgId};
use neuracrm_store::voice::CallUpdate;
use serde::Deserialize;
use serde_json::Value;

use super::effects::{self, Retried};
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
    /// Applied to our call, but the effects that follow failed: they
    /// stay owed and are run again later (`calls sync`).
    Queued {
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

/// Applies `event` with call object `o` to `call` once, then its effects
/// (queued for later when they fail).
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
        .apply(
            org,
            call.id,
            event,
            &update_of(event, o),
            effects::retry_at(now, 1),
        )
        .await?
    else {
        return Ok(Received::Duplicate);
    };
    let c = &applied.call;
    if applied.status_changed {
        crm.publish(
            org,
            EventKind::CallUpdated {
                id: c.id,
                status: c.status,
                lead_id: c.lead_id,
            },
        );
    }
    let (call, event) = (call.id, event.to_string());
    match applied.owed {
        Some(r) if !effects::run_or_record(crm, &r, now).await => {
            Ok(Received::Queued { call, event })
        }
        _ => Ok(Received::Applied { call, event }),
    }
}

/// `Some` of a record read, `None` when it is gone (deleted since the call
/// was placed); other errors pass.
pub(crate) fn found<T>(read: Result<T, neuracrm_store::StoreError>) -> ActionResult<Option<T>> {
    match read {
        Ok(v) => Ok(Some(v)),
        Err(neuracrm_store::StoreError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// What `calls sync` did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct SyncReport {
    /// Overdue calls asked about.
    pub checked: u64,
    /// Events applied from Retell's answers.
    pub applied: u64,
    /// Of those, events whose effects failed (owed, run again later).
    pub queued: u64,
    /// Calls Retell could not tell us about (logged).
    pub failed: u64,
    /// Earlier events whose owed effects were run again.
    pub retried: Retried,
}

/// Runs again the owed effects of earlier events that are due
/// ([`effects::retry`]), then asks Retell about every call still
/// `registered` or `ongoing` past its maximum duration and `grace` (at
/// most `limit`), and applies what it says as the webhooks would have
/// (`call_started`, `call_ended`, `call_analyzed`; a webhook arriving
/// later is then a duplicate).
pub async fn sync(
    crm: &Crm,
    now: DateTime<Utc>,
    grace: chrono::Duration,
    limit: usize,
) -> ActionResult<SyncReport> {
    let mut report = SyncReport {
        retried: effects::retry(crm, now, limit).await?,
        ..Default::default()
    };
    let v = super::service(crm)?;
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
        let mut events = Vec::new();
        if status == Some(CallStatus::Ongoing) {
            events.push("call_started");
        }
        if status.is_some_and(|s| !s.is_open()) {
            events.push("call_ended");
        }
        if o.call_analysis.is_some() {
            events.push("call_analyzed");
        }
        for event in events {
            match apply(crm, &call, event, &o, now).await? {
                Received::Applied { .. } => report.applied += 1,
                Received::Queued { .. } => {
                    report.applied += 1;
                    report.queued += 1;
                }
                Received::Duplicate | Received::Ignored(_) => {}
            }
        }
    }
    Ok(report)
}
