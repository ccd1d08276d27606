//! NeuraCRM's event bus: every write publishes a [`DomainEvent`]; caches,
//! WebSocket clients and jobs subscribe.
//!
//! [`EventBus`] is the seam: [`BroadcastBus`] delivers within one process
//! (embedded mode); [`RedisBus`] also fans events out across instances over
//! Redis pub/sub, behind the same trait. A [`Subscription`] may be limited to one organization, so a
//! subscriber of organization B never sees an event of organization A.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use neuracrm_domain::{ContactId, DomainEvent, EventKind, OrgId};
//! use neuracrm_events::{BroadcastBus, EventBus};
//! let bus = BroadcastBus::new(16);
//! let mut sub = bus.subscribe_org(OrgId(1));
//! bus.publish(DomainEvent::new(OrgId(2), chrono::Utc::now(), EventKind::ContactCreated { id: ContactId(9) }));
//! bus.publish(DomainEvent::new(OrgId(1), chrono::Utc::now(), EventKind::ContactCreated { id: ContactId(7) }));
//! let e = sub.recv().await.unwrap();
//! assert_eq!(e.organization_id, OrgId(1));
//! # }
//! ```

#[cfg(feature = "testing")]
pub mod testing {
    //! For tests that use a real Redis.

    /// The Redis under test (`NEURACRM_TEST_REDIS_URL`), if one is set. Tests
    /// that need it report when it is not (never a silent pass), and fail
    /// when it is set but unreachable.
    pub fn redis_url() -> Option<String> {
        std::env::var("NEURACRM_TEST_REDIS_URL")
            .ok()
            .filter(|s| !s.is_empty())
    }
}

use neuracrm_domain::{DomainEvent, OrgId};
use tokio::sync::broadcast;

pub mod redis_bus;

pub use redis_bus::{RedisBus, RedisBusError, RedisBusOptions};

/// Why a subscription could not deliver an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecvError {
    /// The subscriber was too slow and missed this many events; the next
    /// `recv` continues with the oldest event still buffered. Subscribers that
    /// cache must treat this as "invalidate everything".
    Lagged(u64),
    /// The bus is gone; no event will come.
    Closed,
}

impl std::fmt::Display for RecvError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecvError::Lagged(n) => write!(f, "subscriber lagged behind and missed {n} events"),
            RecvError::Closed => f.write_str("event bus closed"),
        }
    }
}

impl std::error::Error for RecvError {}

/// Where writes announce what happened and subscribers listen.
///
/// Publishing never blocks and never fails for lack of subscribers: an event
/// nobody listens to is dropped.
pub trait EventBus: Send + Sync + std::fmt::Debug {
    /// Announces an event to every current subscriber.
    fn publish(&self, event: DomainEvent);

    /// Every event of every organization (jobs, cross-tenant caches).
    fn subscribe(&self) -> Subscription;

    /// Only the events of `org` (WebSocket/SSE clients of that organization).
    fn subscribe_org(&self, org: OrgId) -> Subscription {
        let mut s = self.subscribe();
        s.org = Some(org);
        s
    }

    /// Only the events published through this process, of every
    /// organization: for work that one instance must do once per event (jobs
    /// that analyse or write), which every instance would otherwise repeat for
    /// events fanned out from the others. The in-process bus has nothing else.
    fn subscribe_local(&self) -> Subscription {
        self.subscribe()
    }
}

/// A stream of events, possibly limited to one organization.
#[derive(Debug)]
pub struct Subscription {
    rx: broadcast::Receiver<DomainEvent>,
    org: Option<OrgId>,
}

impl Subscription {
    /// Wraps a broadcast receiver (for bus implementations that fan remote
    /// events into a local channel).
    pub fn from_receiver(rx: broadcast::Receiver<DomainEvent>) -> Self {
        Subscription { rx, org: None }
    }

    /// The organization this subscription is limited to, if any.
    pub fn organization(&self) -> Option<OrgId> {
        self.org
    }

    /// The next event (of the subscribed organization, if limited).
    pub async fn recv(&mut self) -> Result<DomainEvent, RecvError> {
        loop {
            match self.rx.recv().await {
                Ok(e) if self.accepts(&e) => return Ok(e),
                Ok(_) => continue,
                Err(broadcast::error::RecvError::Lagged(n)) => return Err(RecvError::Lagged(n)),
                Err(broadcast::error::RecvError::Closed) => return Err(RecvError::Closed),
            }
        }
    }

    /// The next event already published, without waiting; `None` when none is
    /// pending.
    pub fn try_recv(&mut self) -> Option<Result<DomainEvent, RecvError>> {
        loop {
            match self.rx.try_recv() {
                Ok(e) if self.accepts(&e) => return Some(Ok(e)),
                Ok(_) => continue,
                Err(broadcast::error::TryRecvError::Empty) => return None,
                Err(broadcast::error::TryRecvError::Lagged(n)) => {
                    return Some(Err(RecvError::Lagged(n)));
                }
                Err(broadcast::error::TryRecvError::Closed) => return Some(Err(RecvError::Closed)),
            }
        }
    }

    fn accepts(&self, e: &DomainEvent) -> bool {
        self.org.is_none_or(|org| org == e.organization_id)
    }
}

/// The in-process bus over `tokio::sync::broadcast`.
#[derive(Debug, Clone)]
pub struct BroadcastBus {
    tx: broadcast::Sender<DomainEvent>,
}

impl BroadcastBus {
    /// A bus buffering up to `capacity` events per slow subscriber before it
    /// lags (at least 1).
    pub fn new(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity.max(1));
        BroadcastBus { tx }
    }
}

impl Default for BroadcastBus {
    /// Room for a scoring batch's burst of `lead_scored` events over a demo
    /// or a mid-size book (about 100 bytes an event) before a subscriber
    /// lags.
    fn default() -> Self {
        BroadcastBus::new(16_384)
    }
}

impl EventBus for BroadcastBus {
    fn publish(&self, event: DomainEvent) {
        // An error only means "no subscriber right now", which is fine.
        let _ = self.tx.send(event);
    }

    fn subscribe(&self) -> Subscription {
        Subscription::from_receiver(self.tx.subscribe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use neuracrm_domain::{ContactId, EventKind};

    fn ev(org: i64, id: i64) -> DomainEvent {
        DomainEvent::new(
            OrgId(org),
            chrono::Utc::now(),
            EventKind::ContactCreated { id: ContactId(id) },
        )
    }

    #[tokio::test]
    async fn every_subscriber_gets_every_event_in_order() {
        let bus = BroadcastBus::new(8);
        let (mut a, mut b) = (bus.subscribe(), bus.subscribe());
        bus.publish(ev(1, 1));
        bus.publish(ev(2, 2));
        for s in [&mut a, &mut b] {
            let e = s.recv().await.unwrap();
            assert_eq!((e.organization_id, e.kind), (OrgId(1), ev(1, 1).kind));
        }
        assert_eq!(a.try_recv().unwrap().unwrap().organization_id, OrgId(2));
        assert_eq!(b.try_recv().unwrap().unwrap().organization_id, OrgId(2));
        assert!(a.try_recv().is_none());
    }

    #[tokio::test]
    async fn an_org_subscription_never_sees_another_org() {
        let bus = BroadcastBus::new(8);
        let mut b = bus.subscribe_org(OrgId(2));
        assert_eq!(b.organization(), Some(OrgId(2)));
        bus.publish(ev(1, 10));
        bus.publish(ev(1, 11));
        assert!(b.try_recv().is_none(), "org 1's events are filtered out");
        bus.publish(ev(2, 12));
        let got = b.recv().await.unwrap();
        assert_eq!(got.kind, EventKind::ContactCreated { id: ContactId(12) });
    }

    #[tokio::test]
    async fn a_slow_subscriber_is_told_it_lagged() {
        let bus = BroadcastBus::new(2);
        let mut s = bus.subscribe();
        for i in 0..5 {
            bus.publish(ev(1, i));
        }
        assert_eq!(s.recv().await, Err(RecvError::Lagged(3)));
        assert_eq!(
            s.recv().await.unwrap().kind,
            EventKind::ContactCreated { id: ContactId(3) }
        );
    }

    #[tokio::test]
    async fn publishing_without_subscribers_is_fine_and_closing_ends_streams() {
        let bus = BroadcastBus::new(2);
        bus.publish(ev(1, 1));
        let mut s = bus.subscribe();
        drop(bus);
        assert_eq!(s.recv().await, Err(RecvError::Closed));
    }
}
