//! Sentiment as actions: analyse texts with the organization's analyser, and
//! the reads behind the sentiment summary and the web UI's sentiment page
//! (trend, breakdowns by activity type and lead source; scope checked against the
//! caller's organization).

use chrono::{DateTime, Utc};
use neuracrm_domain::{ContactId, LeadId};
use neuracrm_jobs::sentiment::analyze_all;
use neuracrm_sentiment::Analysis;
use neuracrm_store::sentiment::{Breakdown, BucketRow, Granularity, GroupRow, NegativeRow, Scope};

use crate::{ActionError, ActionResult, Caller, Crm};

/// Analyses `texts` with the caller's organization's analyser (its trained
/// model when configured, VADER otherwise); one result per text, in order.
pub async fn analyze(
    crm: &Crm,
    caller: &Caller,
    texts: Vec<String>,
) -> ActionResult<Vec<Analysis>> {
    let n = texts.len();
    let analyzer = crm.sentiment.analyzer(&crm.store, caller.org).await?;
    let results = analyze_all(analyzer, texts).await;
    if results.len() != n {
        return Err(ActionError::Internal(format!(
            "analysis returned {} results for {n} texts",
            results.len()
        )));
    }
    Ok(results)
}

/// Whose activities a summary covers: the organization's, one contact's or
/// one lead's (404 when the contact or lead is not the caller's).
pub async fn scope(
    crm: &Crm,
    caller: &Caller,
    contact: Option<ContactId>,
    lead: Option<LeadId>,
) -> ActionResult<Scope> {
    match (contact, lead) {
        (Some(_), Some(_)) => Err(ActionError::bad_query(
            "lead_id",
            "give contact_id or lead_id, not both",
        )),
        (Some(c), None) => {
            crm.store.contacts().get(caller.org, c).await?;
            Ok(Scope::Contact(c))
        }
        (None, Some(l)) => {
            crm.store.leads().get(caller.org, l).await?;
            Ok(Scope::Lead(l))
        }
        (None, None) => Ok(Scope::Organization),
    }
}

/// The stored sentiment of a scope between two times: counts per bucket, and
/// the most negative activities.
pub async fn trend(
    crm: &Crm,
    caller: &Caller,
    scope: Scope,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    granularity: Granularity,
    most_negative: u32,
) -> ActionResult<(Vec<BucketRow>, Vec<NegativeRow>)> {
    let data = crm.store.sentiment();
    let rows = data.trend(caller.org, scope, from, to, granularity).await?;
    let negatives = data
        .most_negative(caller.org, scope, from, to, most_negative)
        .await?;
    Ok((rows, negatives))
}

/// The stored sentiment of a scope between two times, per activity type or
/// per source of the activities' leads.
pub async fn breakdown(
    crm: &Crm,
    caller: &Caller,
    scope: Scope,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    by: Breakdown,
) -> ActionResult<Vec<GroupRow>> {
    Ok(crm
        .store
        .sentiment()
        .breakdown(caller.org, scope, from, to, by)
        .await?)
}
