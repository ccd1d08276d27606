//! What a call's events do to the rest of the CRM, after the call's row
//! and the event's receipt have committed, and their retries.
//!
//! An event that brings the transcript owes a `call` activity on the lead
//! and contact (the sentiment subscriber reads it); one that brings the
//! analysis owes the lead's empty budget and decision date filled from the
//! BANT answers (audited, never overwriting), a new score and
//! `call_completed`. Each is claimed by one event per call, whatever their
//! order ([`neuracrm_store::voice::Voice::apply`]), and stays owed by that
//! event's receipt until it has run.
//!
//! A run that fails (the database refused the lead's update, the scoring
//! write failed) leaves the receipt owing: [`retry`] (the scheduler's
//! `calls sync`, and `neuracrm calls sync`) runs it again once its backoff
//! has passed, doubling from [`BACKOFF`] up to [`MAX_BACKOFF`], at most
//! [`MAX_ATTEMPTS`] runs in all. A run may stop anywhere, so each step is
//! safe to run again: the activity commits with the call's link to it
//! (a call that has one is not logged again), the lead's fill commits with
//! the receipt's mark that it was done, the score is computed again (it
//! changes once), and `call_completed` follows the conditional mark that
//! the receipt is processed, which one run only wins. Each event goes out
//! once, after the change it announces has committed.

use chrono::{DateTime, Utc};
use neuracrm_domain::voice::Bant;
use neuracrm_domain::{
    ActivityType, BoundedDate, BoundedTime, Call, EventKind, LeadPatch, NewActivity,
};
use neuracrm_store::voice::Receipt;

use super::webhook::found;
use crate::{ActionResult, Crm};

/// The wait before a failed run is tried again, doubled at each failure.
pub const BACKOFF: chrono::Duration = chrono::Duration::minutes(1);
/// The longest wait between two runs.
pub const MAX_BACKOFF: chrono::Duration = chrono::Duration::hours(1);
/// Runs of a receipt's effects at most (the one in the webhook's request
/// included); after the last failure the receipt keeps its error and is
/// left for a person (logged as an error).
pub const MAX_ATTEMPTS: i64 = 8;

/// When a receipt whose `attempts`-th run begins at `now` may be claimed
/// again, should that run fail or never end.
pub fn retry_at(now: DateTime<Utc>, attempts: i64) -> DateTime<Utc> {
    let doubled = BACKOFF * (1i32 << (attempts - 1).clamp(0, 10));
    now + doubled.min(MAX_BACKOFF)
}

/// Runs what receipt `r` owes (a run claimed already, or the first). An
/// error leaves it owing; the caller records why.
pub(crate) async fn run(crm: &Crm, r: &Receipt, now: DateTime<Utc>) -> ActionResult<()> {
    let org = r.organization_id;
    // The call as it is now: a later event may have brought more.
    let c = crm.store.voice().get(org, r.call_id).await?;
    if r.owes_activity {
        log_transcript(crm, &c).await?;
    }
    let mut score = None;
    if r.owes_completion {
        score = complete(crm, &c, r, now).await?;
    }
    if crm
        .store
        .voice()
        .receipt_processed(r.call_id, &r.event)
        .await?
        && r.owes_completion
    {
        crm.publish(
            org,
            EventKind::CallCompleted {
                id: c.id,
                lead_id: c.lead_id,
                contact_id: c.contact_id,
                score,
            },
        );
    }
    Ok(())
}

/// Runs `r` (claimed) and records a failure; whether it ran to the end.
pub(crate) async fn run_or_record(crm: &Crm, r: &Receipt, now: DateTime<Utc>) -> bool {
    let Err(e) = run(crm, r, now).await else {
        return true;
    };
    let (call, org, event) = (r.call_id.0, r.organization_id.0, r.event.as_str());
    if r.attempts >= MAX_ATTEMPTS {
        tracing::error!(call, org, event, attempts = r.attempts, error = %e,
            "a call event's effects failed for the last time; left undone");
    } else {
        tracing::warn!(call, org, event, attempts = r.attempts, error = %e,
            "a call event's effects failed; they will be tried again");
    }
    if let Err(e) = crm
        .store
        .voice()
        .receipt_failed(r.call_id, &r.event, &e.to_string())
        .await
    {
        // The claim's retry time stands: it is tried again all the same.
        tracing::warn!(call, event, error = %e, "could not record why a call event's effects failed");
    }
    false
}

/// What one pass over the receipts still owing effects did.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Retried {
    /// Receipts whose effects ran to the end this time.
    pub done: u64,
    /// Receipts whose effects failed again (tried later, unless that was
    /// their last attempt).
    pub failed: u64,
}

/// Runs again the effects of every receipt due at `now` (at most `limit`):
/// each is claimed first, so two instances never run one at once.
pub async fn retry(crm: &Crm, now: DateTime<Utc>, limit: usize) -> ActionResult<Retried> {
    let store = crm.store.voice();
    let mut out = Retried::default();
    for r in store.due_receipts(now, MAX_ATTEMPTS, limit).await? {
        let attempts = r.attempts + 1;
        if !store.claim_receipt(&r, retry_at(now, attempts)).await? {
            continue;
        }
        let r = Receipt { attempts, ..r };
        if run_or_record(crm, &r, now).await {
            out.done += 1;
        } else {
            out.failed += 1;
        }
    }
    Ok(out)
}

/// The transcript as a `call` activity on the lead and contact, once per
/// call: the activity commits with the call's link to it.
async fn log_transcript(crm: &Crm, c: &Call) -> ActionResult<()> {
    let org = c.organization_id;
    if c.activity_id.is_some() {
        return Ok(());
    }
    // The lead or contact may have been deleted since the call was
    // placed: the activity keeps what still exists.
    let lead_id = match c.lead_id {
        Some(id) => found(crm.store.leads().get(org, id).await)?.map(|l| l.id),
        None => None,
    };
    let contact_id = match c.contact_id {
        Some(id) => found(crm.store.contacts().get(org, id).await)?.map(|c| c.id),
        None => None,
    };
    if lead_id.is_none() && contact_id.is_none() {
        return Ok(());
    }
    let body: String = c
        .transcript
        .clone()
        .unwrap_or_default()
        .chars()
        .take(neuracrm_domain::MAX_TEXT)
        .collect();
    let new = NewActivity {
        kind: ActivityType::Call,
        lead_id,
        deal_id: None,
        contact_id,
        user_id: c.placed_by,
        subject: Some(format!("AI call ({})", c.scenario)),
        body: Some(body),
        duration_seconds: c.duration_ms.map(|ms| (ms / 1000).max(0)),
        occurred_at: c
            .started_at
            .and_then(|t| BoundedTime::new(t, "occurred_at").ok()),
    };
    if let Some(activity) = crm.store.voice().log_activity(org, c.id, &new).await? {
        crm.publish(
            org,
            EventKind::ActivityLogged {
                id: activity.id,
                activity_type: ActivityType::Call,
                lead_id: activity.lead_id,
                contact_id: activity.contact_id,
            },
        );
    }
    Ok(())
}

/// The analysis's effects on the lead: its empty budget and decision date
/// filled from the BANT answers (once per receipt), then a new score (the
/// total, for `call_completed`).
async fn complete(
    crm: &Crm,
    c: &Call,
    r: &Receipt,
    now: DateTime<Utc>,
) -> ActionResult<Option<f64>> {
    let org = c.organization_id;
    let Some(lead) = c.lead_id else {
        return Ok(None);
    };
    // A relative timeline ("3 months") counts from the call's end, else
    // from when its analysis came, not from when a retry runs.
    let on = c.ended_at.unwrap_or(r.received_at).date_naive();
    let bant = c
        .custom_analysis
        .as_ref()
        .map(|v| Bant::read(v, on))
        .unwrap_or_default();
    // No acting user: the audit log records the change as the system's,
    // beside the call that caused it.
    let filled = crm
        .store
        .voice()
        .fill_lead(org, c.id, &r.event, lead, |l| LeadPatch {
            budget_cents: bant.budget.filter(|_| l.budget_cents.is_none()).map(Some),
            expected_decision: bant
                .timeline
                .filter(|_| l.expected_decision.is_none())
                .and_then(|d| BoundedDate::new(d, "expected_decision").ok())
                .map(Some),
            ..Default::default()
        })
        .await?;
    if filled.is_some() {
        crm.publish(org, EventKind::LeadUpdated { id: lead });
    }
    match found(crm.store.leads().get(org, lead).await)? {
        Some(_) => {
            let scored = crate::scoring::score_in(crm, org, lead, now).await?;
            Ok(Some(scored.score.total))
        }
        None => Ok(None),
    }
}
