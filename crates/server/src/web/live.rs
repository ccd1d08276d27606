//! `GET /live`: the page's stream of its organization's events, over
//! Server-Sent Events, authenticated by the session cookie (a browser's
//! `EventSource` cannot send headers).
//!
//! The same stream as `GET /api/events` ([`crate::http::live`]): only the
//! caller's organization's events (subscribed by organization and checked
//! again per event), and the end of the stream when the server shuts
//! down or the session ends (proved again with the cookie's token every
//! `session_check_secs`, and at once when the user is changed). Each message
//! is named after the event's type, so an element reacts with
//! `hx-trigger="sse:deal_updated"`; `activity_logged` carries the new feed
//! entry as HTML, which the feed inserts. After a gap (the stream fell
//! behind, or the browser reconnected: it sends `Last-Event-ID`, since every
//! message has an id) the page gets `refresh`, and every live part
//! (`hx-trigger="... sse:refresh"`) refetches what it shows.

use std::convert::Infallible;

use askama::Template;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use futures_util::StreamExt;
use neuracrm_actions::records;
use neuracrm_actions::sessions::Use;
use neuracrm_actions::{Caller, Crm};
use neuracrm_domain::{Activity, DomainEvent, EventKind};

use super::ActivityRow;
use super::session::{WebUser, cookie, cookie_name};
use crate::AppState;
use crate::http::live::{self, Credential, KEEP_ALIVE, Note, Watcher};

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
    let token = cookie(&headers, cookie_name(state.settings.serves_https()))
        .unwrap_or_default()
        .to_string();
    let caller = user.caller;
    let who = Watcher {
        org: caller.org,
        user: caller.user,
        credential: Credential::Token(token),
        expires_at: None,
        // The recheck does not count as use: an open page alone does not
        // keep an idle session alive, and its stream ends with the session.
        usage: Use {
            idle: state.settings.session_idle_timeout(),
            mark: false,
        },
    };
    // A browser reconnecting by itself names the last message it got: it
    // missed what happened in between, so its page refetches first.
    let gap = headers.contains_key("last-event-id");
    let crm = state.crm.clone();
    let notes = live::watch(&state, who, None).filter_map(move |note| {
        let crm = crm.clone();
        async move { message(&crm, &caller, note).await }
    });
    let first = futures_util::stream::iter(gap.then(refresh));
    let mut seq = 0u64;
    let numbered = first.chain(notes).map(move |m| {
        seq += 1;
        Ok::<_, Infallible>(m.id(seq.to_string()))
    });
    Sse::new(numbered)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response()
}

/// `refresh`: the stream fell behind (or reconnected), so every live part
/// of the page refetches itself (`hx-trigger="... sse:refresh"`).
fn refresh() -> Event {
    Event::default().event("refresh").data("{}")
}

/// The message of a note: an event by its type's name (a new activity as
/// its feed entry's HTML, the others as JSON), `refresh` after a gap, or
/// the last `expired` (the page closes the stream and goes to the sign-in
/// form); `None` for an activity that is gone already.
async fn message(crm: &Crm, caller: &Caller, note: Note) -> Option<Event> {
    let e: DomainEvent = match note {
        Note::Event(e) => e,
        Note::Lagged(_) => return Some(refresh()),
        // The page goes to the sign-in form, whatever the reason.
        Note::End(_) => return Some(Event::default().event("expired").data("{}")),
    };
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
