//! `GET /live`: the page's stream of its organization's events, over
//! Server-Sent Events, authenticated by the session cookie (a browser's
//! `EventSource` cannot send headers).
//!
//! The same guarantees as `GET /api/events`: only the caller's
//! organization's events (subscribed by organization and checked again per
//! event), a `lagged` message when the stream fell behind (the page
//! refetches what it shows), and the end of the stream when the server shuts
//! down or the session ends (checked again every [`RECHECK`]). Each message
//! is named after the event's type, so an element reacts with
//! `hx-trigger="sse:deal_updated"`; `activity_logged` carries the new feed
//! entry as HTML, which the feed inserts.

use std::convert::Infallible;
use std::time::Duration;

use askama::Template;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use futures_util::stream::{self, Stream};
use neuracrm_actions::records;
use neuracrm_actions::sessions::{self, Proof, Use};
use neuracrm_actions::{Caller, Crm};
use neuracrm_domain::{Activity, DomainEvent, EventKind};
use neuracrm_events::{RecvError, Subscription};

use super::ActivityRow;
use super::session::{WebUser, cookie, cookie_name};
use crate::AppState;

/// How often a stream proves its session again.
pub const RECHECK: Duration = Duration::from_secs(60);

/// One feed entry, as the feed inserts it.
#[derive(Template)]
#[template(path = "fragments/activity.html")]
struct ActivityFragment {
    a: ActivityRow,
}

/// `GET /live`.
pub async fn stream(
    State(state): State<AppState>,
    user: WebUser,
    headers: axum::http::HeaderMap,
) -> Response {
    let sub = state.crm.events.subscribe_org(user.caller.org);
    let token = cookie(&headers, cookie_name(state.settings.serves_https()))
        .unwrap_or_default()
        .to_string();
    let shutdown = state.shutdown.subscribe();
    // The recheck does not count as use: an open page alone does not keep
    // an idle session alive, and its stream ends with the session.
    let usage = Use {
        idle: state.settings.session_idle_timeout(),
        mark: false,
    };
    let s = events(
        state.crm.clone(),
        user.caller,
        (token, usage),
        sub,
        shutdown,
    );
    Sse::new(s)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

struct Live {
    crm: Crm,
    caller: Caller,
    token: String,
    usage: Use,
    sub: Subscription,
    shutdown: tokio::sync::watch::Receiver<bool>,
    recheck: tokio::time::Interval,
}

fn events(
    crm: Crm,
    caller: Caller,
    (token, usage): (String, Use),
    sub: Subscription,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> impl Stream<Item = Result<Event, Infallible>> + Send + 'static {
    let mut recheck = tokio::time::interval(RECHECK);
    recheck.reset();
    let live = Live {
        crm,
        caller,
        token,
        usage,
        sub,
        shutdown,
        recheck,
    };
    stream::unfold(live, |mut l| async move {
        if l.token.is_empty() {
            return None;
        }
        loop {
            tokio::select! {
                () = down(&mut l.shutdown) => return None,
                _ = l.recheck.tick() => {
                    if sessions::prove(&l.crm, Proof::Token(&l.token), l.usage).await.is_err() {
                        let end = Event::default().event("expired").data("{}");
                        // One last message, then the stream ends.
                        l.token.clear();
                        return Some((Ok(end), l));
                    }
                }
                got = l.sub.recv() => match got {
                    Ok(e) => {
                        if let Some(msg) = message(&l.crm, &l.caller, e).await {
                            return Some((Ok(msg), l));
                        }
                    }
                    Err(RecvError::Lagged(missed)) => {
                        let data = format!("{{\"missed\": {missed}}}");
                        return Some((Ok(Event::default().event("lagged").data(data)), l));
                    }
                    Err(RecvError::Closed) => return None,
                }
            }
        }
    })
}

/// Completes when the server starts shutting down (or the app is gone).
async fn down(rx: &mut tokio::sync::watch::Receiver<bool>) {
    while !*rx.borrow_and_update() {
        if rx.changed().await.is_err() {
            return;
        }
    }
}

/// The message of an event of the caller's organization; `None` for another
/// organization's (never expected: the subscription filters; checked because
/// a leak must be impossible) or an activity that is gone already.
async fn message(crm: &Crm, caller: &Caller, e: DomainEvent) -> Option<Event> {
    if e.organization_id != caller.org {
        tracing::error!(
            event_org = e.organization_id.0,
            stream_org = caller.org.0,
            "an organization subscription yielded another organization's event; dropped"
        );
        return None;
    }
    let name = e.kind.name();
    let data = match &e.kind {
        EventKind::ActivityLogged { id, .. } => {
            let view = records::get::<Activity>(crm, caller, *id).await.ok()?;
            let mut a = ActivityRow::new(view, Utc::now());
            a.fresh = true;
            ActivityFragment { a }.render().ok()?.replace('\n', "")
        }
        _ => serde_json::to_string(&e).ok()?,
    };
    Some(Event::default().event(name).data(data))
}
