//! The segments subscriber: after a write that can change who a rule
//! selects (a contact, lead, deal or activity changed), the dynamic segments
//! of that organization are refreshed, once per debounce window however many
//! writes it saw.
//!
//! It listens to its own instance's writes only (`subscribe_local`): with
//! Redis, every instance sees every event, and the instance that made the
//! write refreshes. A subscriber that lagged behind the bus has lost events
//! of unknown organizations: it refreshes every organization's segments.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::Utc;
use neuracrm_actions::Crm;
use neuracrm_actions::segments::{is_relevant, refresh_all};
use neuracrm_domain::OrgId;
use neuracrm_events::{RecvError, Subscription};
use tokio::task::JoinHandle;

/// Starts the subscriber; it subscribes before returning.
pub fn spawn_subscriber(crm: &Crm, debounce: Duration) -> JoinHandle<()> {
    let sub = crm.events.subscribe_local();
    tokio::spawn(run(crm.clone(), sub, debounce))
}

/// What changed during one window.
#[derive(Default)]
struct Dirty {
    orgs: BTreeSet<OrgId>,
    everything: bool,
}

async fn run(crm: Crm, mut sub: Subscription, debounce: Duration) {
    loop {
        let mut dirty = Dirty::default();
        // Wait for the first relevant write, then gather the window's others.
        loop {
            match sub.recv().await {
                Ok(e) if is_relevant(&e.kind) => {
                    dirty.orgs.insert(e.organization_id);
                    break;
                }
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => {
                    dirty.everything = true;
                    break;
                }
                Err(RecvError::Closed) => return,
            }
        }
        let window = tokio::time::sleep(debounce);
        tokio::pin!(window);
        loop {
            tokio::select! {
                _ = &mut window => break,
                e = sub.recv() => match e {
                    Ok(e) if is_relevant(&e.kind) => {
                        dirty.orgs.insert(e.organization_id);
                    }
                    Ok(_) => {}
                    Err(RecvError::Lagged(_)) => dirty.everything = true,
                    Err(RecvError::Closed) => return,
                },
            }
        }
        let targets: Vec<Option<OrgId>> = if dirty.everything {
            vec![None]
        } else {
            dirty.orgs.into_iter().map(Some).collect()
        };
        for org in targets {
            match refresh_all(&crm.store, crm.events.as_ref(), org, Utc::now(), |_, _| {}).await {
                Ok(s) if s.segments > 0 => {
                    tracing::debug!(org = org.map(|o| o.0), summary = %s.line(),
                    "segments refreshed after writes")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(org = org.map(|o| o.0), error = %e,
                    "segments not refreshed after writes; the scheduler will catch up"),
            }
        }
    }
}
