//! Bad input for each resource answers 4xx in the JSON error shape, naming
//! the field, never 500.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{assert_error, spawn_app_with, spawn_tenant};

/// What gives a Rust type away in a message meant for people.
const RUST_WORDS: [&str; 6] = ["struct ", "enum ", "u64", "i64", "Option<", "::"];

/// Asserts that an error message is in words: it names no Rust type.
fn assert_in_words(e: &Value) {
    let m = e["error"]["message"].as_str().unwrap();
    for w in RUST_WORDS {
        assert!(!m.contains(w), "the message names a Rust type ({w:?}): {m}");
    }
}

/// [`assert_error`], and the message is in words ([`assert_in_words`]):
/// every refusal of this suite goes through it.
async fn refused(r: reqwest::Response, status: u16, code: &str) -> Value {
    let e = assert_error(r, status, code).await;
    assert_in_words(&e);
    e
}

/// Each resource's collection and a minimal valid create body.
const RESOURCES: [(&str, &str); 5] = [
    ("/api/contacts", r#"{"first_name": "Ada"}"#),
    ("/api/leads", r#"{"title": "Lead"}"#),
    ("/api/deals", r#"{"title": "Deal"}"#),
    (
        "/api/activities",
        r#"{"type": "note", "body": "x", "contact_id": 1}"#,
    ),
    (
        "/api/users",
        r#"{"email": "u@x.example.com", "name": "U", "role": "rep", "password": "a fine new secret"}"#,
    ),
];

async fn raw(
    app: &crate::helpers::TestApp,
    method: Method,
    path: &str,
    token: &str,
    ctype: Option<&str>,
    body: &str,
) -> reqwest::Response {
    let mut r = app
        .client
        .request(method, app.url(path))
        .bearer_auth(token)
        .body(body.to_string());
    if let Some(c) = ctype {
        r = r.header("content-type", c);
    }
    r.send().await.unwrap()
}

#[tokio::test]
async fn malformed_bodies_wrong_types_and_unknown_fields() {
    let (app, t) = spawn_tenant("Acme").await;
    let json_ct = Some("application/json");
    for (path, _) in RESOURCES {
        for body in [r#"{"title": "#, "not json", r#"{"a": 1} trailing"#, ""] {
            let r = raw(&app, Method::POST, path, &t.token, json_ct, body).await;
            refused(r, 400, "malformed_body").await;
        }
        let r = raw(&app, Method::POST, path, &t.token, Some("text/plain"), "{}").await;
        refused(r, 415, "unsupported_media_type").await;
        let r = raw(&app, Method::POST, path, &t.token, None, "{}").await;
        refused(r, 415, "unsupported_media_type").await;
        let r = raw(&app, Method::POST, path, &t.token, json_ct, "[1, 2]").await;
        refused(r, 422, "validation_failed").await;
        let r = raw(&app, Method::POST, path, &t.token, json_ct, "{}").await;
        let e = refused(r, 422, "validation_failed").await;
        assert!(
            e["error"]["message"]
                .as_str()
                .unwrap()
                .contains("missing field"),
            "{e}"
        );
    }
    let cases = [
        ("/api/contacts", json!({"first_name": 5}), "first_name"),
        (
            "/api/contacts",
            json!({"first_name": "A", "nickname": "x"}),
            "nickname",
        ),
        (
            "/api/contacts",
            json!({"first_name": "A", "email": "not-an-email"}),
            "email",
        ),
        (
            "/api/contacts",
            json!({"first_name": "A", "company_size": -3}),
            "company_size",
        ),
        ("/api/contacts", json!({"first_name": "  "}), "first_name"),
        (
            "/api/leads",
            json!({"title": "L", "status": "hot"}),
            "status",
        ),
        ("/api/leads", json!({"title": "L", "source": 3}), "source"),
        (
            "/api/leads",
            json!({"title": "L", "budget_cents": -1}),
            "budget_cents",
        ),
        (
            "/api/leads",
            json!({"title": "L", "expected_decision": "tomorrow"}),
            "expected_decision",
        ),
        ("/api/leads", json!({"title": "L", "score": 99}), "score"),
        ("/api/deals", json!({"title": "D", "stage": "won"}), "stage"),
        (
            "/api/deals",
            json!({"title": "D", "value_cents": "lots"}),
            "value_cents",
        ),
        (
            "/api/deals",
            json!({"title": "D", "closed_at": "2026-01-01T00:00:00Z"}),
            "closed_at",
        ),
        (
            "/api/activities",
            json!({"type": "telepathy", "contact_id": 1}),
            "type",
        ),
        ("/api/activities", json!({"type": "note"}), "lead_id"),
        (
            "/api/activities",
            json!({"type": "note", "contact_id": "one"}),
            "contact_id",
        ),
        (
            "/api/users",
            json!({"email": "u@x.example.com", "name": "U", "role": "superuser", "password": "a fine new secret"}),
            "role",
        ),
        (
            "/api/users",
            json!({"email": "u@x.example.com", "name": "U", "role": "rep", "password": "short"}),
            "password",
        ),
    ];
    for (path, body, field) in cases {
        let r = app.post(path, &t.token, body.clone()).await;
        let e = refused(r, 422, "validation_failed").await;
        assert_eq!(e["error"]["field"], field, "{path} {body}: {e}");
    }
    // Patches: unknown fields, wrong types and bad values too.
    let c = app
        .post_ok("/api/contacts", &t.token, json!({"first_name": "A"}), 201)
        .await;
    let l = app
        .post_ok("/api/leads", &t.token, json!({"title": "L"}), 201)
        .await;
    let d = app
        .post_ok("/api/deals", &t.token, json!({"title": "D"}), 201)
        .await;
    let a = app
        .with(&t.token)
        .create(
            "/api/activities",
            json!({"type": "note", "contact_id": c["id"]}),
        )
        .await;
    for (path, body, field) in [
        (format!("/api/contacts/{}", c["id"]), json!({"id": 7}), "id"),
        (
            format!("/api/leads/{}", l["id"]),
            json!({"status": "hot"}),
            "status",
        ),
        (
            format!("/api/deals/{}", d["id"]),
            json!({"value_cents": -5}),
            "value_cents",
        ),
        (
            format!("/api/activities/{}", a["id"]),
            json!({"type": "call"}),
            "type",
        ),
        (
            format!("/api/users/{}", t.admin_id),
            json!({"role": "root"}),
            "role",
        ),
        // `null` on a field that cannot be cleared is refused, not ignored.
        (
            format!("/api/contacts/{}", c["id"]),
            json!({"first_name": null}),
            "first_name",
        ),
        (
            format!("/api/leads/{}", l["id"]),
            json!({"title": null}),
            "title",
        ),
        (
            format!("/api/leads/{}", l["id"]),
            json!({"status": null}),
            "status",
        ),
        (
            format!("/api/deals/{}", d["id"]),
            json!({"stage": null}),
            "stage",
        ),
        (
            format!("/api/activities/{}", a["id"]),
            json!({"occurred_at": null}),
            "occurred_at",
        ),
        (
            format!("/api/users/{}", t.admin_id),
            json!({"name": null}),
            "name",
        ),
    ] {
        let e = refused(
            app.patch(&path, &t.token, body).await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(e["error"]["field"], field, "{path}: {e}");
    }
}

#[tokio::test]
async fn bad_ids_bad_paging_missing_auth_and_unknown_routes() {
    let (app, t) = spawn_tenant("Acme").await;
    for (path, _) in RESOURCES {
        for id in ["abc", "1.5", "99999999999999999999999", "%20"] {
            let p = format!("{path}/{id}");
            refused(app.get(&p, &t.token).await, 400, "invalid_path").await;
            refused(app.delete(&p, &t.token).await, 400, "invalid_path").await;
        }
        refused(
            app.get(&format!("{path}/424242"), &t.token).await,
            404,
            "not_found",
        )
        .await;
        refused(
            app.get(&format!("{path}/-1"), &t.token).await,
            404,
            "not_found",
        )
        .await;
        for (q, field) in [
            ("limit=0", "limit"),
            ("limit=201", "limit"),
            ("limit=abc", "limit"),
            ("offset=-1", "offset"),
            ("offset=x", "offset"),
            ("bogus=1", "bogus"),
        ] {
            let e = refused(
                app.get(&format!("{path}?{q}"), &t.token).await,
                400,
                "invalid_query",
            )
            .await;
            assert_eq!(e["error"]["field"], field, "{path}?{q}: {e}");
        }
        let r = app.call(Method::GET, path, None, None).await;
        refused(r, 401, "unauthorized").await;
        let r = app.call(Method::POST, path, None, Some(json!({}))).await;
        refused(r, 401, "unauthorized").await;
        let r = app
            .call(Method::PUT, path, Some(&t.token), Some(json!({})))
            .await;
        refused(r, 405, "method_not_allowed").await;
    }
    for q in [
        "created_from=yesterday",
        "status=hot",
        "min_score=high",
        "owner_id=me",
    ] {
        refused(
            app.get(&format!("/api/leads?{q}"), &t.token).await,
            400,
            "invalid_query",
        )
        .await;
    }
    refused(
        app.get("/api/contacts/1/leads?limit=0", &t.token).await,
        400,
        "invalid_query",
    )
    .await;
    refused(app.get("/api/nowhere", &t.token).await, 404, "not_found").await;
    refused(
        app.call(Method::GET, "/nowhere", None, None).await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn an_oversized_body_is_413_in_the_json_shape() {
    let app = spawn_app_with(|s| s.max_body_bytes = 4096).await;
    let t = app.tenant("Acme").await;
    let big = format!(r#"{{"first_name": "{}"}}"#, "x".repeat(10_000));
    for (path, _) in RESOURCES {
        let r = raw(
            &app,
            Method::POST,
            path,
            &t.token,
            Some("application/json"),
            &big,
        )
        .await;
        refused(r, 413, "payload_too_large").await;
    }
    // Without a content length (chunked), the limit holds while reading.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = app.address.trim_start_matches("http://").to_string();
    let mut sock = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /api/contacts HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {}\r\n\
         content-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n",
        t.token
    );
    sock.write_all(head.as_bytes()).await.unwrap();
    for _ in 0..10 {
        let chunk = "x".repeat(1000);
        if sock
            .write_all(format!("{:x}\r\n{chunk}\r\n", chunk.len()).as_bytes())
            .await
            .is_err()
        {
            break; // the server may answer and close before all is sent
        }
    }
    let _ = sock.write_all(b"0\r\n\r\n").await;
    let mut out = Vec::new();
    let _ = sock.read_to_end(&mut out).await;
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("\"payload_too_large\""), "{text}");
}

#[tokio::test]
async fn errors_never_leak_internals_and_500s_say_nothing() {
    let (app, t) = spawn_tenant("Acme").await;
    app.store.db().close().await;
    let r = app.get("/api/contacts", &t.token).await;
    let e = refused(r, 500, "internal").await;
    assert_eq!(e["error"]["message"], "internal error");
    let text = e.to_string().to_lowercase();
    assert!(!text.contains("pool") && !text.contains("sql"), "{text}");
}

#[tokio::test]
async fn nul_characters_and_out_of_range_years_are_refused_on_every_backend() {
    // PostgreSQL rejects both with an error; SQLite would store them. Either
    // way the API answers 4xx, naming the field.
    let (app, t) = spawn_tenant("Acme").await;
    let r = app
        .post("/api/contacts", &t.token, json!({"first_name": "A\u{0}B"}))
        .await;
    let e = refused(r, 422, "validation_failed").await;
    assert_eq!(e["error"]["field"], "first_name");
    let c = app
        .post_ok("/api/contacts", &t.token, json!({"first_name": "Ada"}), 201)
        .await;
    let r = app
        .patch(
            &format!("/api/contacts/{}", c["id"]),
            &t.token,
            json!({"company": "x\u{0}"}),
        )
        .await;
    assert_eq!(
        refused(r, 422, "validation_failed").await["error"]["field"],
        "company"
    );
    let e = refused(
        app.get("/api/contacts?q=a%00b", &t.token).await,
        400,
        "invalid_query",
    )
    .await;
    assert_eq!(e["error"]["field"], "q");

    for (path, body, field) in [
        (
            "/api/activities",
            json!({"type": "note", "contact_id": c["id"], "occurred_at": "0000-01-01T00:00:00Z"}),
            "occurred_at",
        ),
        (
            "/api/deals",
            json!({"title": "D", "expected_close": "0000-06-01"}),
            "expected_close",
        ),
        (
            "/api/leads",
            json!({"title": "L", "expected_decision": "0000-06-01"}),
            "expected_decision",
        ),
    ] {
        let e = refused(
            app.post(path, &t.token, body).await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(e["error"]["field"], field, "{path}");
    }
    for (q, field) in [
        (
            "/api/leads?created_from=0000-01-01T00:00:00Z",
            "created_from",
        ),
        (
            "/api/activities?occurred_to=0000-01-01T00:00:00Z",
            "occurred_to",
        ),
        (
            "/api/deals?expected_close_from=0000-01-01",
            "expected_close_from",
        ),
    ] {
        let e = refused(app.get(q, &t.token).await, 400, "invalid_query").await;
        assert_eq!(e["error"]["field"], field, "{q}");
    }

    let r = app
        .with(&t.token)
        .post_raw(
            "/api/import/contacts",
            "text/csv",
            "first_name,email\nA\u{0},nul@example.com\nB,b@example.com\n",
        )
        .await;
    let report: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        (
            report["created"].as_u64(),
            report["rejected"][0]["row"].as_u64()
        ),
        (Some(1), Some(1)),
        "{report}"
    );
}

/// Finding 7 of issue 15: serde's messages named Rust types (`expected
/// struct CreateContact with 9 elements`, `invalid type: map, expected
/// u64`). Every kind of wrong body, field and query parameter now answers a
/// sentence naming the field and what was expected.
#[tokio::test]
async fn validation_messages_name_no_rust_types() {
    let (app, t) = spawn_tenant("Acme").await;
    let json_ct = Some("application/json");
    for (path, _) in RESOURCES {
        for body in ["[1, 2]", "[]", "5", "\"x\"", "true", "null"] {
            let r = raw(&app, Method::POST, path, &t.token, json_ct, body).await;
            let e = refused(r, 422, "validation_failed").await;
            assert_eq!(e["error"]["field"], "body", "{path} {body}: {e}");
            assert!(
                e["error"]["message"]
                    .as_str()
                    .unwrap()
                    .starts_with("body must be a JSON object"),
                "{path} {body}: {e}"
            );
        }
    }
    let c = app
        .post_ok("/api/contacts", &t.token, json!({"first_name": "A"}), 201)
        .await;
    let cases = [
        (
            "/api/contacts",
            json!({"first_name": {}}),
            "first_name",
            "first_name must be text",
        ),
        (
            "/api/contacts",
            json!({"first_name": ["A"]}),
            "first_name",
            "first_name must be text",
        ),
        (
            "/api/contacts",
            json!({"first_name": "A", "company_size": "big"}),
            "company_size",
            "company_size must be a whole number",
        ),
        (
            "/api/contacts",
            json!({"first_name": "A", "company_size": 1.5}),
            "company_size",
            "company_size must be a whole number",
        ),
        (
            "/api/contacts",
            json!({"first_name": "A", "owner_id": {}}),
            "owner_id",
            "owner_id must be a whole number",
        ),
        (
            "/api/leads",
            json!({"title": "L", "budget_cents": {}}),
            "budget_cents",
            "budget_cents must be a whole number of cents",
        ),
        (
            "/api/leads",
            json!({"title": "L", "budget_cents": "100"}),
            "budget_cents",
            "budget_cents must be a whole number of cents",
        ),
        (
            "/api/leads",
            json!({"title": "L", "budget_cents": 1e30}),
            "budget_cents",
            "budget_cents must be a whole number of cents",
        ),
        (
            "/api/leads",
            json!({"title": "L", "expected_decision": 20270101}),
            "expected_decision",
            "expected_decision must be a date in the form YYYY-MM-DD",
        ),
        (
            "/api/leads",
            json!({"title": "L", "status": 3}),
            "status",
            "status must be text",
        ),
        (
            "/api/deals",
            json!({"title": "D", "value_cents": {}}),
            "value_cents",
            "value_cents must be a whole number of cents",
        ),
        (
            "/api/deals",
            json!({"title": "D", "value_cents": -1}),
            "value_cents",
            "value_cents must not be negative",
        ),
        (
            "/api/deals",
            json!({"title": "D", "value_cents": 12.5}),
            "value_cents",
            "value_cents must be a whole number of cents",
        ),
        (
            "/api/deals",
            json!({"title": "D", "contact_id": "one"}),
            "contact_id",
            "contact_id must be a whole number",
        ),
        (
            "/api/deals",
            json!({"title": "D", "stage": "closed_won", "closed_at": {}}),
            "closed_at",
            "closed_at must be a date and time in RFC 3339 form",
        ),
        (
            "/api/deals",
            json!({"title": "D", "stage": "closed_won", "closed_at": "yesterday"}),
            "closed_at",
            "closed_at must be a date and time in RFC 3339 form",
        ),
        (
            "/api/activities",
            json!({"type": "note", "contact_id": c["id"], "duration_seconds": "long"}),
            "duration_seconds",
            "duration_seconds must be a whole number",
        ),
        (
            "/api/activities",
            json!({"type": ["note"], "contact_id": c["id"]}),
            "type",
            "type must be text",
        ),
        (
            "/api/users",
            json!({"email": 5, "name": "U", "role": "rep", "password": "a fine new secret"}),
            "email",
            "email must be text",
        ),
        (
            "/api/forecasting-models",
            json!({"metric": "revenue", "horizon_months": "x"}),
            "horizon_months",
            "horizon_months must be a whole number",
        ),
        (
            "/api/forecasting-models",
            json!({"metric": "revenue", "active": "yes"}),
            "active",
            "active must be true or false",
        ),
        (
            "/api/sentiment/analyze",
            json!({"texts": "x"}),
            "texts",
            "texts must be a JSON array",
        ),
        (
            "/api/contacts",
            json!({"first_name": "A", "nickname": "x"}),
            "nickname",
            "nickname is an unknown field; expected one of: ",
        ),
        (
            "/api/contacts",
            json!({"last_name": "A"}),
            "first_name",
            "first_name is required (missing field)",
        ),
    ];
    for (path, body, field, start) in cases {
        let e = refused(
            app.post(path, &t.token, body.clone()).await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(e["error"]["field"], field, "{path} {body}: {e}");
        let m = e["error"]["message"].as_str().unwrap();
        assert!(m.starts_with(start), "{path} {body}: {m}");
    }
    let d = app
        .post_ok("/api/deals", &t.token, json!({"title": "D"}), 201)
        .await;
    for (body, field) in [
        (json!({"value_cents": {}}), "value_cents"),
        (json!({"value_cents": null}), "value_cents"),
        (json!({"expected_close": [2026]}), "expected_close"),
        (json!({"closed_at": 0}), "closed_at"),
        (json!({"owner_id": "me"}), "owner_id"),
    ] {
        let e = refused(
            app.patch(&format!("/api/deals/{}", d["id"]), &t.token, body.clone())
                .await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(e["error"]["field"], field, "{body}: {e}");
    }
    for (q, field, start) in [
        (
            "/api/leads?limit=abc",
            "limit",
            "limit must be a whole number",
        ),
        (
            "/api/leads?min_score=high",
            "min_score",
            "min_score must be a number",
        ),
        (
            "/api/leads?include_factors=maybe",
            "include_factors",
            "include_factors must be true or false",
        ),
        (
            "/api/leads?order=up",
            "order",
            "order: unknown value 'up', expected one of: asc, desc",
        ),
        (
            "/api/leads?sort=colour",
            "sort",
            "sort: unknown value 'colour'",
        ),
        (
            "/api/leads?owner_id=me",
            "owner_id",
            "owner_id must be a whole number",
        ),
        (
            "/api/leads?created_from=yesterday",
            "created_from",
            "created_from must be a date and time in RFC 3339 form",
        ),
        (
            "/api/deals?expected_close_from=soon",
            "expected_close_from",
            "expected_close_from must be a date in the form YYYY-MM-DD",
        ),
        (
            "/api/forecast?months=twelve",
            "months",
            "months must be a whole number",
        ),
        (
            "/api/forecast?metric=profit",
            "metric",
            "metric: unknown value 'profit'",
        ),
        (
            "/api/contacts?bogus=1",
            "bogus",
            "bogus is an unknown field",
        ),
    ] {
        let e = refused(app.get(q, &t.token).await, 400, "invalid_query").await;
        assert_eq!(e["error"]["field"], field, "{q}: {e}");
        let m = e["error"]["message"].as_str().unwrap();
        assert!(m.starts_with(start), "{q}: {m}");
    }
}
