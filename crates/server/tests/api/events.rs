//! `GET /api/events`: the organization's events, live, as Server-Sent Events
//! read over a real socket, parsed by hand.

use std::time::Duration;

use neuracrm_server::{App, Settings};
use serde_json::{Value, json};

use crate::helpers::{
    EventStream as Stream, MUST_COME, assert_error, column, create_contact, spawn_app,
    spawn_app_with, spawn_tenant, spawn_two_tenants, two_instances_over_redis,
};

/// How long a test listens for a message that must not come (the proof that
/// it did not is the ordering check after it; this only makes a leak fail
/// early and visibly).
const MUST_NOT_COME: Duration = Duration::from_millis(300);

#[tokio::test]
async fn a_watcher_gets_its_organizations_writes_and_never_another_organizations() {
    let (app, a, b) = spawn_two_tenants("Alpha", "Beta").await;
    let mut on_a = Stream::open(&app, "/api/events", &a.token).await;
    let mut on_b = Stream::open(&app, "/api/events", &b.token).await;

    let id = create_contact(&app, &a.token, "Ada").await;
    let m = on_a.next().await;
    assert_eq!(m.event, "contact_created", "{m:?}");
    assert_eq!(m.data["type"], "contact_created", "{m:?}");
    assert_eq!(m.data["organization_id"], a.org_id, "{m:?}");
    assert_eq!(m.data["id"], id, "{m:?}");
    assert!(m.data["at"].is_string(), "{m:?}");

    let leaked = on_b.next_within(MUST_NOT_COME).await;
    assert!(leaked.is_none(), "Beta's watcher got {leaked:?}");

    // Beta's stream is live: Beta's own write comes, and it is the first
    // message, so Alpha's (published before it) never reached it.
    let id_b = create_contact(&app, &b.token, "Bo").await;
    let m = on_b.next().await;
    assert_eq!(
        (m.event.as_str(), &m.data["organization_id"], &m.data["id"]),
        ("contact_created", &json!(b.org_id), &json!(id_b)),
        "{m:?}"
    );
    let leaked = on_a.next_within(MUST_NOT_COME).await;
    assert!(leaked.is_none(), "Alpha's watcher got {leaked:?}");
}

#[tokio::test]
async fn the_stream_needs_a_bearer_header_and_refuses_a_token_in_the_url() {
    let (app, t) = spawn_tenant("Gamma").await;
    let none = app
        .call(reqwest::Method::GET, "/api/events", None, None)
        .await;
    assert_error(none, 401, "unauthorized").await;
    let bad = app.get("/api/events", "not-a-token").await;
    assert_error(bad, 401, "unauthorized").await;
    // URLs are logged: a token there must not work, or clients would use it.
    for param in ["access_token", "token", "authorization"] {
        let r = app
            .call(
                reqwest::Method::GET,
                &format!("/api/events?{param}={}", t.token),
                None,
                None,
            )
            .await;
        assert_error(r, 401, "unauthorized").await;
    }
}

#[tokio::test]
async fn types_narrows_the_stream_and_an_unknown_type_is_refused() {
    let (app, t) = spawn_tenant("Delta").await;
    let mut updates = Stream::open(&app, "/api/events?types=contact_updated", &t.token).await;

    let id = create_contact(&app, &t.token, "Ada").await;
    app.with(&t.token)
        .patch_ok(&format!("/api/contacts/{id}"), json!({"phone": "+1 555"}))
        .await;
    // contact_created came first on the bus; the filter kept it out.
    let m = updates.next().await;
    assert_eq!(
        (m.event.as_str(), &m.data["id"]),
        ("contact_updated", &json!(id))
    );

    let r = app
        .get("/api/events?types=contact_created,no_such_event", &t.token)
        .await;
    let body = assert_error(r, 422, "validation_failed").await;
    assert_eq!(body["error"]["field"], "types", "{body}");
    let msg = body["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("no_such_event") && msg.contains("lead_scored"),
        "{msg}"
    );
}

/// Regression: graceful shutdown waits for every response to end, and an
/// event stream never ends by itself, so a watched server could not stop.
#[tokio::test]
async fn shutting_down_ends_open_streams_so_the_server_can_stop() {
    let db = neuracrm_store::testing::fresh_store().await;
    let app = App::build(Settings::for_database(&db.url), db.store.clone())
        .await
        .unwrap();
    let address = format!("http://{}", app.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    // As the helpers do: reqwest is built without a crypto provider here.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let r = client
        .post(format!("{address}/api/auth/register"))
        .json(&json!({"organization_name": "Epsilon", "name": "E", "email": "e@epsilon.example.com", "password": crate::helpers::PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let r = client
        .post(format!("{address}/api/auth/login"))
        .json(&json!({"email": "e@epsilon.example.com", "password": crate::helpers::PASSWORD}))
        .send()
        .await
        .unwrap();
    let login: Value = r.json().await.unwrap();
    let mut res = client
        .get(format!("{address}/api/events"))
        .bearer_auth(login["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    stop.send(()).unwrap();
    let ended = tokio::time::timeout(MUST_COME, async {
        while res.chunk().await.unwrap_or(None).is_some() {}
    })
    .await;
    assert!(ended.is_ok(), "the stream did not end on shutdown");
    let served = tokio::time::timeout(MUST_COME, server).await;
    assert!(
        matches!(served, Ok(Ok(Ok(())))),
        "the server did not stop: {served:?}"
    );
}

#[tokio::test]
async fn with_redis_a_watcher_on_one_instance_gets_writes_made_through_another() {
    // Without Redis, scale_out's reporting test says so.
    let Some(redis) = neuracrm_events::testing::redis_url() else {
        return;
    };
    let (a, b) = two_instances_over_redis(&redis, "sse").await;
    let one = a.tenant("One").await;
    let two = a.tenant("Two").await;
    let mut one_on_b = Stream::open(&b, "/api/events", &one.token).await;
    let mut two_on_b = Stream::open(&b, "/api/events", &two.token).await;

    let id = create_contact(&a, &one.token, "Ada").await;
    let m = one_on_b.next_named("contact_created", one.org_id).await;
    assert_eq!(m.data["id"], id, "{m:?}");

    let id2 = create_contact(&a, &two.token, "Bo").await;
    let m = two_on_b.next_named("contact_created", two.org_id).await;
    assert_eq!(m.data["id"], id2, "{m:?}: One's contact never reached Two");
}

#[tokio::test]
async fn the_stream_is_documented_as_an_authenticated_event_stream() {
    let app = spawn_app().await;
    let spec: Value = app.openapi().await;
    let op = &spec["paths"]["/api/events"]["get"];
    assert_eq!(op["tags"], json!(["events"]), "{op}");
    assert!(
        op["responses"]["200"]["content"]["text/event-stream"].is_object(),
        "{op}"
    );
    assert_eq!(op["security"], json!([{"bearer": []}]), "{op}");
    assert!(op["responses"]["422"].is_object(), "{op}");
    let params: Vec<String> = column(&op["parameters"], "name");
    assert_eq!(params, ["types"], "no token parameter: {op}");
}

#[tokio::test]
async fn a_stream_ends_with_expired_when_its_token_expires() {
    let app = spawn_app_with(|s| s.access_token_ttl_secs = 3).await;
    let a = app.tenant("Zeta").await;
    let mut stream = Stream::open(&app, "/api/events", &a.token).await;
    // Within the token's 3 s (and a margin): one `expired`, then the end.
    // Sign-up events of this organization may come first.
    let last = loop {
        let m = stream
            .next_within(Duration::from_secs(8))
            .await
            .expect("an expired message once the token expired");
        if m.event == "expired" {
            break m;
        }
        assert_eq!(m.data["organization_id"], a.org_id, "{m:?}");
    };
    assert_eq!(last.data, json!({}));
    let end = tokio::time::timeout(MUST_COME, stream.res_mut().chunk()).await;
    assert!(
        matches!(end, Ok(Ok(None))),
        "the stream ends after expired: {end:?}"
    );
}

/// Reads `stream` until its `revoked` message (other messages must be of
/// `org`), then asserts that the stream ends.
async fn until_revoked(stream: &mut Stream, org: i64, within: Duration) {
    let last = loop {
        let m = stream
            .next_within(within)
            .await
            .expect("a revoked message once the session ended");
        if m.event == "revoked" {
            break m;
        }
        assert_eq!(m.data["organization_id"], org, "{m:?}");
    };
    assert_eq!(last.data, json!({}));
    let end = tokio::time::timeout(MUST_COME, stream.res_mut().chunk()).await;
    assert!(
        matches!(end, Ok(Ok(None))),
        "the stream ends after revoked: {end:?}"
    );
}

#[tokio::test]
async fn a_stream_ends_with_revoked_when_its_session_is_revoked_or_its_user_deleted() {
    // Deletion: the stream sees `user_deleted` of its own user and checks at
    // once (the periodic check is an hour away here).
    let app = spawn_app_with(|s| s.session_check_secs = 3600).await;
    let a = app.tenant("Eta").await;
    let (rep, rep_token) = app.member(&a, "rep@eta.example.com", "rep").await;
    let (_, other_token) = app.member(&a, "other@eta.example.com", "rep").await;
    let mut doomed = Stream::open(&app, "/api/events", &rep_token).await;
    let mut bystander = Stream::open(&app, "/api/events", &other_token).await;
    let r = app.delete(&format!("/api/users/{rep}"), &a.token).await;
    assert_eq!(r.status(), 204);
    until_revoked(&mut doomed, a.org_id, MUST_COME).await;
    // Another user's stream goes on.
    let m = bystander.next_named("user_deleted", a.org_id).await;
    assert_eq!(m.data["id"], rep);
    create_contact(&app, &a.token, "Still watched").await;
    bystander.next_named("contact_created", a.org_id).await;

    // Logout (and an admin's revocation) publish nothing: the periodic check
    // finds the session revoked.
    let app = spawn_app_with(|s| s.session_check_secs = 1).await;
    let b = app.tenant("Theta").await;
    let (_, rep_token) = app.member(&b, "rep@theta.example.com", "rep").await;
    let mut stream = Stream::open(&app, "/api/events", &rep_token).await;
    app.logout(&rep_token).await;
    until_revoked(&mut stream, b.org_id, Duration::from_secs(5)).await;
}
