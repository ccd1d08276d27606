//! The live event stream every transport shares: `GET /api/events`
//! (Server-Sent Events), `GET /api/ws` (a WebSocket) and the web UI's
//! `/live` carry the same [`Note`]s, with the same rules:
//!
//! - **Tenancy.** The subscription is the caller's organization's
//!   (`subscribe_org`), and every event is checked again here: a leak across
//!   organizations must be impossible, not merely unlikely.
//! - **Lag.** A subscriber that falls behind the bus gets [`Note::Lagged`]
//!   with how many events it missed, and should refetch what it shows.
//! - **End.** The stream ends when the server shuts down or the bus closes;
//!   with a last [`Note::End`] (`expired`, `revoked`) when the credential it
//!   was opened with expires or its session ends (logout, an admin, a
//!   password change, the user deleted): checked every `session_check_secs`,
//!   and at once when an event says the user was changed or deleted.

use std::collections::HashSet;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::{self, Stream};
use neuracrm_actions::sessions::{self, Proof, Use};
use neuracrm_actions::{ActionError, Crm};
use neuracrm_domain::{DomainEvent, EventKind, OrgId, SessionId, UserId};
use neuracrm_events::{RecvError, Subscription};

use super::error::{ApiError, ApiResult};
use crate::AppState;

/// How often an idle stream sends a keep-alive (a comment line or a ping).
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// One message of a live stream, whatever carries it.
#[derive(Debug)]
pub enum Note {
    /// An event of the stream's organization.
    Event(DomainEvent),
    /// The stream fell behind and missed this many events: refetch.
    Lagged(u64),
    /// The last message: why the stream ends (`expired` or `revoked`).
    End(&'static str),
}

/// What proves the stream's session again while it runs.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A signed access token's claims (the JSON API).
    Signed {
        /// The organization.
        org: OrgId,
        /// The user.
        user: UserId,
        /// The session.
        session: SessionId,
    },
    /// The session's own token (the web UI's cookie).
    Token(String),
}

impl Credential {
    fn proof(&self) -> Proof<'_> {
        match self {
            Credential::Signed { org, user, session } => Proof::Signed {
                org: *org,
                user: *user,
                session: *session,
            },
            Credential::Token(t) => Proof::Token(t),
        }
    }
}

/// Who watches: the organization, the user, how to prove the session again
/// and when the credential expires (Unix seconds; `None`: only when the
/// session ends).
#[derive(Debug, Clone)]
pub struct Watcher {
    /// The organization whose events the stream carries.
    pub org: OrgId,
    /// The user watching (a change or deletion of them checks the session
    /// at once).
    pub user: UserId,
    /// What proves the session.
    pub credential: Credential,
    /// When the credential expires.
    pub expires_at: Option<i64>,
    /// What proving the session again checks (a browser's idle limit) and
    /// whether it counts as use.
    pub usage: Use,
}

/// The event types a client asked for (`types=deal_updated,lead_scored`);
/// `None` means all of them.
pub fn parse_types(raw: Option<&str>) -> ApiResult<Option<HashSet<&'static str>>> {
    let Some(raw) = raw else { return Ok(None) };
    let mut wanted = HashSet::new();
    for word in raw.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        let name = EventKind::NAMES
            .iter()
            .find(|n| **n == word)
            .ok_or_else(|| {
                ApiError::validation(
                    "types",
                    format!(
                        "unknown event type '{word}'; known types: {}",
                        EventKind::NAMES.join(", ")
                    ),
                )
            })?;
        wanted.insert(*name);
    }
    if wanted.is_empty() {
        return Err(ApiError::validation(
            "types",
            "name at least one event type, or leave `types` out for all",
        ));
    }
    Ok(Some(wanted))
}

/// The notes of `who`'s organization, of the `types` wanted (all when
/// `None`), from now until the stream ends (see the module doc).
///
/// Subscribes at once: an event published once this returns is on the
/// stream, so a handler calls it before its response goes out.
pub fn watch(
    state: &AppState,
    who: Watcher,
    types: Option<HashSet<&'static str>>,
) -> impl Stream<Item = Note> + Send + 'static {
    let sub = state.crm.events.subscribe_org(who.org);
    let mut shutdown = state.shutdown.subscribe();
    let left = who.expires_at.map(|at| {
        Duration::from_secs(u64::try_from(at - chrono::Utc::now().timestamp()).unwrap_or(0))
    });
    let revoked = session_ended(
        state.crm.clone(),
        who.clone(),
        Duration::from_secs(state.settings.session_check_secs.max(1)),
    );
    let ended = async move {
        let expiry = async move {
            match left {
                Some(left) => tokio::time::sleep(left).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            // An error means the app is gone, which ends the stream as well.
            _ = shutdown.wait_for(|down| *down) => None,
            () = expiry => Some("expired"),
            () = revoked => Some("revoked"),
        }
    };
    let (last_tx, last_rx) = tokio::sync::oneshot::channel::<&'static str>();
    notes(sub, who.org, types)
        .take_until(async move {
            if let Some(last) = ended.await {
                let _ = last_tx.send(last);
            }
        })
        .chain(stream::once(last_rx).filter_map(|last| async move { last.ok().map(Note::End) }))
}

/// Completes when the session of `who` is no longer live (revoked, expired,
/// its user deleted): checked every `every`, and at once when an event says
/// that the user was changed or deleted. A check that fails for another
/// reason (the database busy) is retried at the next one.
async fn session_ended(crm: Crm, who: Watcher, every: Duration) {
    let mut own: Option<Subscription> = Some(crm.events.subscribe_org(who.org));
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick is at once; the request was checked a moment ago.
    tick.tick().await;
    loop {
        let about_me = async {
            match own.as_mut() {
                Some(sub) => match sub.recv().await {
                    Ok(e) => concerns(&e.kind, who.user),
                    // Missed events may have been about this user.
                    Err(RecvError::Lagged(_)) => true,
                    Err(RecvError::Closed) => {
                        own = None;
                        false
                    }
                },
                None => std::future::pending().await,
            }
        };
        let check = tokio::select! {
            _ = tick.tick() => true,
            check = about_me => check,
        };
        if !check {
            continue;
        }
        match sessions::prove(&crm, who.credential.proof(), who.usage).await {
            Ok(_) => {}
            Err(ActionError::Unauthenticated(_)) => return,
            Err(e) => {
                tracing::warn!(error = %e, "checking a live stream's session failed; retrying");
            }
        }
    }
}

/// Whether `kind` changes what `user` may do (a change or deletion of them).
fn concerns(kind: &EventKind, user: UserId) -> bool {
    matches!(kind, EventKind::UserUpdated { id } | EventKind::UserDeleted { id } if *id == user)
}

/// The notes of `sub`: each event of `org` whose type is wanted, a `Lagged`
/// note when the subscription fell behind; ends when the bus closes.
pub fn notes(
    sub: Subscription,
    org: OrgId,
    types: Option<HashSet<&'static str>>,
) -> impl Stream<Item = Note> + Send + 'static {
    stream::unfold(sub, move |mut sub| {
        let types = types.clone();
        async move {
            loop {
                match sub.recv().await {
                    Ok(e) => {
                        // `subscribe_org` filters already; checked again
                        // because a leak across tenants must be impossible,
                        // not merely unlikely.
                        if e.organization_id != org {
                            tracing::error!(
                                event_org = e.organization_id.0,
                                stream_org = org.0,
                                "an organization subscription yielded another organization's event; dropped"
                            );
                            continue;
                        }
                        if types.as_ref().is_some_and(|t| !t.contains(e.kind.name())) {
                            continue;
                        }
                        return Some((Note::Event(e), sub));
                    }
                    Err(RecvError::Lagged(missed)) => return Some((Note::Lagged(missed), sub)),
                    Err(RecvError::Closed) => return None,
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use neuracrm_domain::{ContactId, LeadId};
    use neuracrm_events::{BroadcastBus, EventBus};

    #[test]
    fn types_parse_to_known_names_only() {
        assert_eq!(parse_types(None).unwrap(), None);
        let got = parse_types(Some("deal_updated, lead_scored,"))
            .unwrap()
            .unwrap();
        assert_eq!(got, HashSet::from(["deal_updated", "lead_scored"]));
        let err = parse_types(Some("deal_updated,nope")).unwrap_err();
        assert!(err.to_string().contains("'nope'"), "{err}");
        assert!(parse_types(Some(" , ")).is_err());
    }

    #[tokio::test]
    async fn a_lagging_stream_says_how_many_it_missed_and_goes_on() {
        let bus = BroadcastBus::new(2);
        let org = OrgId(1);
        let mut stream = Box::pin(notes(bus.subscribe_org(org), org, None));
        for i in 0..5 {
            bus.publish(DomainEvent::new(
                org,
                Utc::now(),
                EventKind::ContactCreated { id: ContactId(i) },
            ));
        }
        assert!(matches!(stream.next().await, Some(Note::Lagged(3))));
        let next = stream.next().await;
        assert!(
            matches!(&next, Some(Note::Event(e)) if e.kind.name() == "contact_created"),
            "{next:?}"
        );
        bus.publish(DomainEvent::new(
            org,
            Utc::now(),
            EventKind::LeadCreated { id: LeadId(1) },
        ));
        drop(bus);
        // The rest of the buffer, then the end: the bus closed.
        let mut rest = 0;
        while stream.next().await.is_some() {
            rest += 1;
        }
        assert_eq!(rest, 2);
    }
}
