//! The sentiment subscriber: every activity with customer text gets its
//! sentiment stored when it is logged, and again when it is edited, driven by
//! the `activity_logged` and `activity_updated` events.
//!
//! Events already queued are taken together and analysed per organization
//! (one read and one write per organization and batch), always with the
//! organization the event carries, so no work crosses tenants. A subscriber
//! that falls behind the bus (lagged) has lost events: it then runs the
//! backfill, which stores what is missing for every organization (edits
//! missed meanwhile keep their previous result until the next edit).

use std::collections::BTreeMap;
use std::sync::Arc;

use neuracrm_domain::{ActivityId, DomainEvent, EventKind, OrgId};
use neuracrm_events::{RecvError, Subscription};
use neuracrm_jobs::sentiment::{BackfillOptions, SentimentService, analyze_activities, backfill};
use neuracrm_store::Store;
use tokio::task::JoinHandle;

use neuracrm_actions::Crm;

/// Events taken together at most.
const BATCH: usize = 256;

/// Starts the subscriber. It subscribes before returning, so no event
/// published after the app is built is missed.
pub fn spawn_subscriber(crm: &Crm) -> JoinHandle<()> {
    // This instance's writes only: with Redis every instance sees every
    // activity, and each must not analyse the others' again.
    let sub = crm.events.subscribe_local();
    let store = crm.store.clone();
    let service = crm.sentiment.clone();
    tokio::spawn(run(store, service, sub))
}

/// The activity an event asks to (re)analyse, if any.
fn wanted(e: &DomainEvent) -> Option<ActivityId> {
    match &e.kind {
        EventKind::ActivityLogged {
            id, activity_type, ..
        } if activity_type.carries_customer_text() => Some(*id),
        EventKind::ActivityUpdated { id } => Some(*id),
        _ => None,
    }
}

async fn run(store: Store, service: Arc<SentimentService>, mut sub: Subscription) {
    loop {
        let mut pending: BTreeMap<OrgId, Vec<ActivityId>> = BTreeMap::new();
        let mut lagged = 0u64;
        let mut closed = false;
        let take = |e: DomainEvent, pending: &mut BTreeMap<OrgId, Vec<ActivityId>>| {
            if let Some(id) = wanted(&e) {
                pending.entry(e.organization_id).or_default().push(id);
            }
        };
        match sub.recv().await {
            Ok(e) => take(e, &mut pending),
            Err(RecvError::Lagged(n)) => lagged += n,
            Err(RecvError::Closed) => return,
        }
        for _ in 1..BATCH {
            match sub.try_recv() {
                None => break,
                Some(Ok(e)) => take(e, &mut pending),
                Some(Err(RecvError::Lagged(n))) => lagged += n,
                Some(Err(RecvError::Closed)) => {
                    closed = true;
                    break;
                }
            }
        }
        for (org, mut ids) in pending {
            ids.sort_unstable();
            ids.dedup();
            if let Err(e) = analyze_activities(&store, &service, org, &ids).await {
                tracing::warn!(org = org.0, activities = ids.len(), error = %e,
                    "sentiment of logged activities not stored; `neuracrm sentiment backfill` will catch up");
            }
        }
        if lagged > 0 {
            // Recovered in full by the backfill: news, not a problem (a
            // failed backfill is a warning below).
            tracing::info!(
                missed = lagged,
                "sentiment subscriber lagged behind the event bus; backfilling"
            );
            match backfill(&store, &service, &BackfillOptions::default(), |_| {}).await {
                Ok(s) => tracing::info!(
                    analyzed = s.counts.analyzed,
                    failed = s.failed,
                    "sentiment backfill after lag done"
                ),
                Err(e) => tracing::warn!(error = %e, "sentiment backfill after lag failed"),
            }
        }
        if closed {
            return;
        }
    }
}
