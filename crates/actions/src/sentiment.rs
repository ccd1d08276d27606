//! Sentiment as actions: analyse texts with the organization's analyser, and
//! the reads behind the sentiment summary and the web UI's sentiment page
//! (trend, breakdowns by activity type and lead source; scope checked against the
//! caller's organization).

use chrono::{DateTime, Utc};
use neuracrm_domain::{ContactId, LeadId};
use neuracrm_jobs::sentiment::analyze_all;
use neuracrm_sentiment::Analysis;
use neuracrm_store::sentiment::{Breakdown, BucketRow, Granularity, GroupRow, NegativeRow, Scope};

use crate::summaries::Computed;
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

/// The organization's sentiment over a period ending now, as its pages show
/// it: the trend, the most negative activities and the breakdowns by
/// activity type and lead source.
#[derive(Debug, Clone)]
pub struct PeriodSummary {
    /// Counts per bucket (weeks up to 90 days, months beyond).
    pub trend: Vec<BucketRow>,
    /// The granularity of `trend`.
    pub granularity: Granularity,
    /// The most negative activities, most negative first.
    pub negatives: Vec<NegativeRow>,
    /// Per activity type, the largest group first.
    pub by_type: Vec<GroupRow>,
    /// Per source of the activities' leads, the largest group first.
    pub by_source: Vec<GroupRow>,
}

/// Activities listed among a period's most negative.
pub const MOST_NEGATIVE: u32 = 10;

/// The organization's sentiment over the last `days` days: a
/// [summary](crate::summaries), `None` while it is first computed.
pub async fn period_summary(
    crm: &Crm,
    caller: &Caller,
    days: i64,
) -> ActionResult<Option<Computed<PeriodSummary>>> {
    let store = crm.store.clone();
    let org = caller.org;
    crm.summaries
        .sentiment
        .get(org, days, move || async move {
            let to = Utc::now();
            let from = to - chrono::Duration::days(days);
            let granularity = if days <= 90 {
                Granularity::Week
            } else {
                Granularity::Month
            };
            let data = store.sentiment();
            let scope = Scope::Organization;
            Ok(PeriodSummary {
                trend: data.trend(org, scope, from, to, granularity).await?,
                granularity,
                negatives: data
                    .most_negative(org, scope, from, to, MOST_NEGATIVE)
                    .await?,
                by_type: data
                    .breakdown(org, scope, from, to, Breakdown::ActivityType)
                    .await?,
                by_source: data
                    .breakdown(org, scope, from, to, Breakdown::LeadSource)
                    .await?,
            })
        })
        .await
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
