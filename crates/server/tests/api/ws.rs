//! `GET /api/ws`: the organization's events over a real WebSocket
//! (tokio-tungstenite as the client), with the tenancy, lag and end rules of
//! `GET /api/events`.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

use crate::helpers::{MUST_COME, TestApp, assert_error, create_contact, spawn_app, spawn_app_with};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens `/api/ws{query}` with `token` in the `Authorization` header.
async fn open(app: &TestApp, query: &str, token: &str) -> Result<Socket, WsError> {
    let url = format!("{}/api/ws{query}", app.address.replacen("http", "ws", 1));
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    connect_async(req).await.map(|(socket, _)| socket)
}

/// The next JSON text frame within `within` (pings are skipped); `None` when
/// nothing came or the socket closed.
async fn next_json(socket: &mut Socket, within: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let frame = tokio::time::timeout_at(deadline, socket.next())
            .await
            .ok()??;
        match frame.ok()? {
            Message::Text(t) => return Some(serde_json::from_str(&t).unwrap()),
            Message::Close(_) => return None,
            _ => continue,
        }
    }
}

#[tokio::test]
async fn a_socket_gets_its_organizations_events_and_never_another_organizations() {
    let app = spawn_app().await;
    let a = app.tenant("Alpha").await;
    let b = app.tenant("Beta").await;
    let mut on_a = open(&app, "", &a.token).await.unwrap();
    let mut on_b = open(&app, "", &b.token).await.unwrap();

    let id = create_contact(&app, &a.token, "Ada").await;
    let m = next_json(&mut on_a, MUST_COME)
        .await
        .expect("Alpha's event");
    assert_eq!(m["type"], "contact_created", "{m}");
    assert_eq!(m["organization_id"], a.org_id, "{m}");
    assert_eq!(m["id"], id, "{m}");

    // Beta's own write is the first frame on Beta's socket: Alpha's,
    // published before it, never reached it.
    let id_b = create_contact(&app, &b.token, "Bo").await;
    let m = next_json(&mut on_b, MUST_COME).await.expect("Beta's event");
    assert_eq!(
        (&m["type"], &m["organization_id"], &m["id"]),
        (&json!("contact_created"), &json!(b.org_id), &json!(id_b)),
        "{m}"
    );
    // What a client sends is ignored; the socket goes on.
    on_a.send(Message::Text("hello".into())).await.unwrap();
    let id2 = create_contact(&app, &a.token, "Ada two").await;
    let m = next_json(&mut on_a, MUST_COME)
        .await
        .expect("Alpha's second event");
    assert_eq!(m["id"], id2, "{m}");
}

#[tokio::test]
async fn types_narrow_the_socket_and_bad_handshakes_get_clear_errors() {
    let app = spawn_app().await;
    let a = app.tenant("Gamma").await;
    let mut deals_only = open(&app, "?types=deal_created", &a.token).await.unwrap();
    create_contact(&app, &a.token, "Not wanted").await;
    let deal = app
        .post_ok(
            "/api/deals",
            &a.token,
            json!({"title": "Wanted", "value_cents": 1000}),
            201,
        )
        .await;
    let m = next_json(&mut deals_only, MUST_COME)
        .await
        .expect("the deal");
    assert_eq!(
        (&m["type"], &m["id"]),
        (&json!("deal_created"), &deal["id"]),
        "{m}"
    );

    // No token: the handshake is refused with 401.
    match open(&app, "", "not-a-token").await {
        Err(WsError::Http(res)) => assert_eq!(res.status(), 401),
        other => panic!("expected a refused handshake, got {:?}", other.map(|_| ())),
    }
    // An unknown type: 422 before any upgrade.
    match open(&app, "?types=nope", &a.token).await {
        Err(WsError::Http(res)) => assert_eq!(res.status(), 422),
        other => panic!("expected a refused handshake, got {:?}", other.map(|_| ())),
    }
    // A plain GET is told to upgrade, in the API's error shape.
    let r = app.get("/api/ws", &a.token).await;
    assert_error(r, 426, "upgrade_required").await;
}

#[tokio::test]
async fn a_socket_ends_with_revoked_and_a_close_frame_when_its_session_ends() {
    let app = spawn_app_with(|s| s.session_check_secs = 1).await;
    let a = app.tenant("Delta").await;
    let (_, rep_token) = app.member(&a, "rep@delta.example.com", "rep").await;
    let mut socket = open(&app, "", &rep_token).await.unwrap();
    let r = app
        .call(
            reqwest::Method::POST,
            "/api/auth/logout",
            Some(&rep_token),
            None,
        )
        .await;
    assert_eq!(r.status(), 204);
    let last = next_json(&mut socket, Duration::from_secs(5))
        .await
        .expect("a last message once the session ended");
    assert_eq!(last, json!({"type": "revoked"}));
    // Then the close frame, and nothing after it.
    let deadline = tokio::time::Instant::now() + MUST_COME;
    loop {
        match tokio::time::timeout_at(deadline, socket.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => {
                assert_eq!(u16::from(frame.expect("a close frame").code), 1000);
                break;
            }
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
            other => panic!("expected the close frame, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn the_socket_is_documented() {
    let app = spawn_app().await;
    let doc = app.openapi().await;
    let op = &doc["paths"]["/api/ws"]["get"];
    assert_eq!(op["tags"], json!(["events"]), "{op}");
    for status in ["101", "401", "422", "426"] {
        assert!(op["responses"][status].is_object(), "{status}: {op}");
    }
}
