//! `GET /api/events`: the caller's organization's domain events, pushed live
//! as Server-Sent Events.
//!
//! Each write publishes a [`DomainEvent`](neuracrm_domain::DomainEvent) on
//! the app's bus; this endpoint subscribes to the caller's organization only
//! (`subscribe_org`), so no event of another organization can reach the
//! stream. With `redis_url` set the bus carries every instance's events, so
//! a client sees writes made through any instance.
//!
//! Authentication is the `Authorization: Bearer` header, as everywhere else,
//! never a query parameter: URLs end up in logs. Browsers therefore read the
//! stream with `fetch()` and a streaming body reader; `EventSource` cannot send
//! headers.
//!
//! Messages: `event:` is the event's `type` (`contact_created`,
//! `deal_updated`, ...), `data:` the event as JSON. A subscriber that falls
//! behind the bus gets `event: lagged` with `{"missed": n}` and should refetch
//! what it shows. A comment line every 15 s keeps proxies from closing an idle
//! connection. The stream ends when the bus closes or the server shuts down,
//! with a last `event: expired` when the access token it was opened with
//! expires, and with a last `event: revoked` when its session is revoked or
//! its user deleted: the session is checked again every
//! `session_check_secs`, and at once when the user is changed or deleted.

use std::collections::HashSet;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderValue;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use futures_util::stream::{self, Stream};
use neuracrm_actions::{ActionError, Crm, sessions};
use neuracrm_domain::{EventKind, OrgId, UserId};
use neuracrm_events::{RecvError, Subscription};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::http::auth::AuthUser;
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::http::extract::Query;
use crate::http::openapi::NoToken;

/// How often an idle stream sends a keep-alive comment.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(watch_events))
}

/// Filters of the event stream.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Comma-separated event types to receive (e.g.
    /// `deal_updated,lead_scored`); all types when absent.
    pub types: Option<String>,
}

/// The event types a client asked for; `None` means all of them.
fn parse_types(raw: Option<&str>) -> ApiResult<Option<HashSet<&'static str>>> {
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

/// Streams the organization's events as they happen (Server-Sent Events).
///
/// Authenticate with the `Authorization: Bearer` header (a token in the query
/// string is not accepted): browsers read the stream with `fetch()`, since
/// `EventSource` cannot send headers. Each message's `event:` is the event's
/// `type` and its `data:` the event as JSON (`organization_id`, `at`, `type`
/// and the type's fields). `event: lagged` with `{"missed": n}` means the
/// client fell behind and missed `n` events: refetch. Only the caller's
/// organization's events are sent.
#[utoipa::path(get, path = "/api/events", tag = "events", params(EventsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "An endless stream of Server-Sent Events", content_type = "text/event-stream", body = String),
        (status = 400, description = "Bad query", body = ErrorBody),
        NoToken,
        (status = 422, description = "Unknown event type in `types`", body = ErrorBody),
    ))]
pub async fn watch_events(
    State(state): State<AppState>,
    user: AuthUser,
    Query(q): Query<EventsQuery>,
) -> ApiResult<Response> {
    let types = parse_types(q.types.as_deref())?;
    // Subscribed before the response goes out: a write the client makes once
    // it has the headers is on the stream.
    let sub = state.crm.events.subscribe_org(user.org);
    let mut shutdown = state.shutdown.subscribe();
    // The stream ends when the server shuts down; with a last `expired`
    // message when the token it was opened with expires; with a last
    // `revoked` message when its session ends (logout, an admin, a password
    // change) or its user is deleted: a session that ended must not go on
    // watching.
    let left = u64::try_from(user.expires_at - chrono::Utc::now().timestamp()).unwrap_or(0);
    let expiry = tokio::time::sleep(Duration::from_secs(left));
    let revoked = session_ended(
        state.crm.clone(),
        user,
        Duration::from_secs(state.settings.session_check_secs.max(1)),
    );
    let ended = async move {
        tokio::select! {
            // An error means the app is gone, which ends the stream as well.
            _ = shutdown.wait_for(|down| *down) => None,
            () = expiry => Some("expired"),
            () = revoked => Some("revoked"),
        }
    };
    let (last_tx, last_rx) = tokio::sync::oneshot::channel::<&'static str>();
    let stream = event_stream(sub, user.org, types)
        .take_until(async move {
            if let Some(last) = ended.await {
                let _ = last_tx.send(last);
            }
        })
        .chain(stream::once(last_rx).filter_map(|last| async move {
            last.ok()
                .map(|name| Ok(Event::default().event(name).data("{}")))
        }));
    let mut res = Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response();
    // Reverse proxies such as nginx buffer responses unless told not to.
    res.headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(res)
}

/// Completes when the session of `user` is no longer live (revoked, expired,
/// its user deleted): checked every `every`, and at once when an event says
/// that the user was changed or deleted. A check that fails for another
/// reason (the database busy) is retried at the next one.
async fn session_ended(crm: Crm, user: AuthUser, every: Duration) {
    let mut own: Option<Subscription> = Some(crm.events.subscribe_org(user.org));
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick is at once; the request was checked a moment ago.
    tick.tick().await;
    loop {
        let about_me = async {
            match own.as_mut() {
                Some(sub) => match sub.recv().await {
                    Ok(e) => concerns(&e.kind, user.user_id),
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
        match sessions::touch(&crm, user.proof()).await {
            Ok(_) => {}
            Err(ActionError::Unauthenticated(_)) => return,
            Err(e) => {
                tracing::warn!(error = %e, "checking an event stream's session failed; retrying");
            }
        }
    }
}

/// Whether `kind` changes what `user` may do (a change or deletion of them).
fn concerns(kind: &EventKind, user: UserId) -> bool {
    matches!(kind, EventKind::UserUpdated { id } | EventKind::UserDeleted { id } if *id == user)
}

/// The SSE messages of `sub`: each event of `org` whose type is wanted, a
/// `lagged` message when the subscription fell behind; ends when the bus
/// closes.
fn event_stream(
    sub: Subscription,
    org: OrgId,
    types: Option<HashSet<&'static str>>,
) -> impl Stream<Item = Result<Event, Infallible>> + Send + 'static {
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
                        let name = e.kind.name();
                        if types.as_ref().is_some_and(|t| !t.contains(name)) {
                            continue;
                        }
                        match serde_json::to_string(&e) {
                            Ok(json) => {
                                return Some((Ok(Event::default().event(name).data(json)), sub));
                            }
                            Err(err) => {
                                tracing::error!(error = %err, "an event did not serialise; skipped");
                                continue;
                            }
                        }
                    }
                    Err(RecvError::Lagged(missed)) => {
                        let data = serde_json::json!({ "missed": missed }).to_string();
                        return Some((Ok(Event::default().event("lagged").data(data)), sub));
                    }
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
    use neuracrm_domain::{ContactId, DomainEvent, LeadId};
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
        let stream = event_stream(bus.subscribe_org(org), org, None);
        let mut stream = Box::pin(stream);
        for i in 0..5 {
            bus.publish(DomainEvent::new(
                org,
                Utc::now(),
                EventKind::ContactCreated { id: ContactId(i) },
            ));
        }
        let lagged = format!("{:?}", stream.next().await.unwrap().unwrap());
        assert!(
            lagged.contains("event: lagged") && lagged.contains(":3}"),
            "{lagged}"
        );
        let next = format!("{:?}", stream.next().await.unwrap().unwrap());
        assert!(next.contains("contact_created"), "{next}");
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
