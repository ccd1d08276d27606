//! `GET /api/events` and `GET /api/ws`: the caller's organization's domain
//! events, pushed live as Server-Sent Events or over a WebSocket.
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
//! Both carry the notes of [`crate::http::live`], with the same tenancy, lag
//! and end rules; they differ only in framing.
//!
//! SSE messages: `event:` is the event's `type` (`contact_created`,
//! `deal_updated`, ...), `data:` the event as JSON. A subscriber that falls
//! behind the bus gets `event: lagged` with `{"missed": n}` and should refetch
//! what it shows. A comment line every 15 s keeps proxies from closing an idle
//! connection. The stream ends when the bus closes or the server shuts down,
//! with a last `event: expired` when the access token it was opened with
//! expires, and with a last `event: revoked` when its session is revoked or
//! its user deleted: the session is checked again every
//! `session_check_secs`, and at once when the user is changed or deleted.
//!
//! WebSocket frames: one text frame per note, the event as JSON (its `type`
//! field names it), `{"type": "lagged", "missed": n}`, and a last
//! `{"type": "expired"}` or `{"type": "revoked"}` before a close frame; a
//! ping every 15 s. The handshake carries the `Authorization: Bearer` header
//! (API clients can send headers on it; browsers use the web UI's `/live`).

use std::convert::Infallible;

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::HeaderValue;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use futures_util::stream::Stream;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::http::auth::AuthUser;
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::http::extract::Query;
use crate::http::live::{self, Credential, KEEP_ALIVE, Note, Watcher};
use crate::http::openapi::NoToken;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(watch_events))
        .routes(routes!(watch_socket))
}

/// Filters of the event stream.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Comma-separated event types to receive (e.g.
    /// `deal_updated,lead_scored`); all types when absent.
    pub types: Option<String>,
}

/// The watcher an API caller is: proved again by its token's claims, until
/// the token expires.
fn watcher(user: &AuthUser) -> Watcher {
    Watcher {
        org: user.org,
        user: user.user_id,
        credential: Credential::Signed {
            org: user.org,
            user: user.user_id,
            session: user.session,
        },
        expires_at: Some(user.expires_at),
        usage: neuracrm_actions::sessions::Use::API,
    }
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
    let types = live::parse_types(q.types.as_deref())?;
    // Subscribed before the response goes out: a write the client makes once
    // it has the headers is on the stream.
    let notes = live::watch(&state, watcher(&user), types);
    let mut res = Sse::new(notes.map(|n| Ok::<_, Infallible>(sse_message(n))))
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response();
    // Reverse proxies such as nginx buffer responses unless told not to.
    res.headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(res)
}

/// A note as an SSE message: named after the event's type (or `lagged`,
/// `expired`, `revoked`), the event as JSON.
fn sse_message(note: Note) -> Event {
    let (name, data) = match note {
        Note::Event(e) => match serde_json::to_string(&e) {
            Ok(json) => (e.kind.name(), json),
            Err(err) => {
                tracing::error!(error = %err, "an event did not serialise");
                return Event::default().comment("an event could not be sent");
            }
        },
        Note::Lagged(missed) => (
            "lagged",
            serde_json::json!({ "missed": missed }).to_string(),
        ),
        Note::End(why) => (why, "{}".to_string()),
    };
    Event::default().event(name).data(data)
}

/// The organization's events over a WebSocket, for API clients that prefer
/// one to Server-Sent Events.
///
/// The handshake authenticates with the `Authorization: Bearer` header. Each
/// text frame is one JSON object whose `type` names it: an event (as in
/// `GET /api/events`), `{"type": "lagged", "missed": n}` (refetch), or a
/// last `{"type": "expired"}` / `{"type": "revoked"}` before the close
/// frame. The same tenancy, lag and end rules as `GET /api/events`; the
/// server pings every 15 s and ignores what the client sends.
#[utoipa::path(get, path = "/api/ws", tag = "events", params(EventsQuery),
    security(("bearer" = [])),
    responses(
        (status = 101, description = "Switching Protocols: the WebSocket of the organization's events"),
        (status = 400, description = "Bad query", body = ErrorBody),
        NoToken,
        (status = 422, description = "Unknown event type in `types`", body = ErrorBody),
        (status = 426, description = "Not a WebSocket handshake", body = ErrorBody),
    ))]
pub async fn watch_socket(
    State(state): State<AppState>,
    user: AuthUser,
    Query(q): Query<EventsQuery>,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    let types = live::parse_types(q.types.as_deref())?;
    let upgrade = upgrade.map_err(|_| {
        ApiError::UpgradeRequired(
            "GET /api/ws is a WebSocket: send its handshake (Connection: Upgrade, Upgrade: websocket)",
        )
    })?;
    // Subscribed before the handshake's answer: a write the client makes
    // once it is connected is on the socket.
    let notes = live::watch(&state, watcher(&user), types);
    Ok(upgrade.on_upgrade(move |socket| forward(socket, notes)))
}

/// Sends `notes` over `socket` until they end (then a close frame) or the
/// client goes away.
async fn forward(mut socket: WebSocket, notes: impl Stream<Item = Note> + Send + 'static) {
    let mut notes = std::pin::pin!(notes);
    let mut ping = tokio::time::interval(KEEP_ALIVE);
    ping.tick().await;
    loop {
        tokio::select! {
            note = notes.next() => {
                let Some(note) = note else { break };
                let Some(text) = socket_text(note) else { continue };
                if socket.send(Message::Text(text.into())).await.is_err() {
                    return;
                }
            }
            _ = ping.tick() => {
                if socket.send(Message::Ping(Default::default())).await.is_err() {
                    return;
                }
            }
            got = socket.recv() => match got {
                // Pings are answered by the socket itself; anything else a
                // client says is ignored.
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
        }
    }
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code: axum::extract::ws::close_code::NORMAL,
            reason: "the stream ended".into(),
        })))
        .await;
}

/// A note as a WebSocket text frame.
fn socket_text(note: Note) -> Option<String> {
    match note {
        Note::Event(e) => serde_json::to_string(&e)
            .inspect_err(|err| tracing::error!(error = %err, "an event did not serialise"))
            .ok(),
        Note::Lagged(missed) => {
            Some(serde_json::json!({ "type": "lagged", "missed": missed }).to_string())
        }
        Note::End(why) => Some(serde_json::json!({ "type": why }).to_string()),
    }
}
