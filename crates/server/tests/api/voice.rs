//! AI voice calls against a local server speaking Retell's API
//! (`retell_fake.rs`): the client's errors and retries, provisioning,
//! settings, placing calls within the guardrails, and the signed webhooks
//! (forged, expired, replayed, duplicated, out of order, cross-organization,
//! unknown call) with their effects on the lead.

use std::time::Duration;

use neuracrm_actions::voice::retell::{
    ClientOptions, LlmBody, PhoneCallBody, RetellClient, RetellError,
};
use neuracrm_actions::voice::signature::sign;
use neuracrm_domain::OrgId;
use neuracrm_server::Secret;
use serde_json::{Value, json};

use crate::helpers::{Actor, Tenant, TestApp, assert_error, column, items, spawn_app_with};
use crate::retell_fake::{FakeRetell, Scripted};

pub(crate) const KEY: &str = "key_deployment_test_0001";
const ORG_KEY: &str = "key_organization_own_0002";

async fn voice_app(fake: &FakeRetell) -> TestApp {
    let url = fake.url.clone();
    spawn_app_with(move |s| {
        s.retell.base_url = url;
        s.retell.api_key = Some(Secret::new(KEY));
        s.retell.from_number = Some("+14155550100".into());
        s.retell.timeout_secs = 1;
        s.retell.retry_backoff_ms = 1;
    })
    .await
}

/// A fake Retell, an app using it, an organization calling at any hour
/// with its sales agent provisioned.
/// Provisions `scenario` for `t`; the agent.
async fn provision(app: &TestApp, t: &Tenant, scenario: &str) -> Value {
    app.post_ok(
        "/api/voice/agents",
        &t.token,
        json!({"scenario": scenario}),
        200,
    )
    .await
}

pub(crate) async fn ready(name: &str) -> (FakeRetell, TestApp, Tenant) {
    let fake = FakeRetell::start(&[KEY, ORG_KEY]).await;
    let app = voice_app(&fake).await;
    let t = app.tenant(name).await;
    any_hour(&app, &t).await;
    provision(&app, &t, "sales_outbound").await;
    (fake, app, t)
}

/// Alpha [`ready`], with a lead whose contact has a phone and a sales call
/// placed to it: (the fake, the app, Alpha, the lead, the call as sent).
pub(crate) async fn a_call() -> (FakeRetell, TestApp, Tenant, i64, Value) {
    let (fake, app, t) = ready("Alpha").await;
    let (lead, _) = lead_with_phone(&app, &t, Some("+14155550101")).await;
    let call = place(&app, &t, lead).await;
    (fake, app, t, lead, call)
}

async fn any_hour(app: &TestApp, t: &Tenant) {
    app.with(&t.token)
        .patch_ok(
            "/api/voice/settings",
            json!({"calling_hours": {"start": "00:00", "end": "24:00"}}),
        )
        .await;
}

/// A contact (with this phone) and a lead about it.
pub(crate) async fn lead_with_phone(app: &TestApp, t: &Tenant, phone: Option<&str>) -> (i64, i64) {
    let by = app.with(&t.token);
    let c = by
        .create(
            "/api/contacts",
            json!({"first_name": "Ada", "last_name": "Lovelace", "company": "Analytical Engines", "phone": phone}),
        )
        .await;
    let contact = c["id"].as_i64().unwrap();
    let l = by
        .create(
            "/api/leads",
            json!({"title": "Difference engine", "contact_id": contact, "owner_id": t.admin_id}),
        )
        .await;
    (l["id"].as_i64().unwrap(), contact)
}

/// A static segment `name` of the contacts at Analytical Engines, and a
/// sales batch `by` starts over it: (the segment's id, the batch as sent).
pub(crate) async fn engines_batch(by: Actor<'_>, name: &str) -> (i64, Value) {
    let engines = json!({"field": "company", "operand": "contains", "value": "Analytical"});
    let seg = by.segment(name, "static", engines).await;
    let body = json!({"segment_id": seg, "scenario": "sales_outbound"});
    let batch = by
        .expect(reqwest::Method::POST, "/api/call-batches", Some(body), 202)
        .await;
    (seg, batch)
}

/// A sales call to `lead` of `t`, placed through the API: the call as sent.
pub(crate) async fn place(app: &TestApp, t: &Tenant, lead: i64) -> Value {
    let body = json!({"lead_id": lead, "scenario": "sales_outbound"});
    app.with(&t.token).create("/api/calls", body).await
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Retell's webhook body for our `call` (as placed), with `fields` of the
/// call object.
pub(crate) fn event(name: &str, call: &Value, fields: Value) -> String {
    let mut c = json!({
        "call_id": call["retell_call_id"],
        "call_type": "phone_call",
        "agent_id": "agent_x",
        "metadata": {
            "organization_id": call["organization_id"],
            "call_id": call["id"],
            "lead_id": call["lead_id"],
            "contact_id": call["contact_id"],
        },
    });
    for (k, v) in fields.as_object().unwrap() {
        c[k] = v.clone();
    }
    serde_json::to_string(&json!({"event": name, "call": c})).unwrap()
}

pub(crate) async fn deliver(
    app: &TestApp,
    body: &str,
    signature: Option<&str>,
) -> reqwest::Response {
    let mut r = app
        .client
        .post(app.url("/api/voice/webhook"))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(s) = signature {
        r = r.header("x-retell-signature", s);
    }
    r.send().await.unwrap()
}

/// Delivers `body` signed with `key` now; the result word.
pub(crate) async fn signed(app: &TestApp, body: &str, key: &str) -> String {
    let r = deliver(app, body, Some(&sign(key, body.as_bytes(), now_ms()))).await;
    assert_eq!(r.status(), 200, "{body}");
    r.json::<Value>().await.unwrap()["result"]
        .as_str()
        .unwrap()
        .to_string()
}

pub(crate) fn ended(transcript: &str) -> Value {
    json!({
        "call_status": "ended",
        "start_timestamp": now_ms() - 95_000,
        "end_timestamp": now_ms() - 5_000,
        "duration_ms": 90_000,
        "transcript": transcript,
        "transcript_object": [
            {"role": "agent", "content": "Hi Ada, do you have two minutes?"},
            {"role": "user", "content": "Yes, we have a budget of fifty thousand."}
        ],
        "recording_url": "https://recordings.example/call.wav",
        "disconnection_reason": "user_hangup",
    })
}

pub(crate) fn analyzed(custom: Value) -> Value {
    let mut v = ended("Agent: Hi Ada\nUser: Our budget is $50,000 and we decide in March.");
    v["call_analysis"] = json!({
        "call_summary": "Ada has a $50k budget and decides by March; follow-up booked.",
        "user_sentiment": "Positive",
        "call_successful": true,
        "in_voicemail": false,
        "custom_analysis_data": custom,
    });
    v
}

async fn call_of(app: &TestApp, t: &Tenant, call: &Value) -> Value {
    app.get_ok(&format!("/api/calls/{}", call["id"]), &t.token)
        .await
}

async fn activities_of(app: &TestApp, t: &Tenant, lead: i64) -> Vec<Value> {
    app.get_ok(&format!("/api/activities?lead_id={lead}"), &t.token)
        .await["items"]
        .as_array()
        .unwrap()
        .clone()
}

// ---- the client ----

fn client(fake: &FakeRetell, timeout: Duration) -> RetellClient {
    RetellClient::new(ClientOptions {
        base_url: fake.url.clone(),
        timeout,
        max_retries: 3,
        backoff: Duration::from_millis(1),
    })
    .unwrap()
}

fn llm() -> LlmBody {
    neuracrm_actions::voice::llm_body(&neuracrm_domain::voice::AgentTemplate::builtin(
        neuracrm_domain::Scenario::SalesOutbound,
    ))
}

#[tokio::test]
async fn the_client_names_each_refusal_of_retell() {
    let fake = FakeRetell::start(&[KEY]).await;
    let c = client(&fake, Duration::from_secs(5));
    assert_eq!(
        c.create_llm("wrong", &llm()).await,
        Err(RetellError::Unauthorized)
    );
    fake.script(&[Scripted::Status(402)]);
    assert_eq!(
        c.create_llm(KEY, &llm()).await,
        Err(RetellError::PaymentRequired(
            "Insufficient balance: please add funds".into()
        ))
    );
    fake.script(&[Scripted::Status(422)]);
    assert!(
        matches!(c.create_llm(KEY, &llm()).await, Err(RetellError::Unprocessable(m)) if m.contains("from_number"))
    );
    fake.script(&[Scripted::Status(400)]);
    assert!(matches!(
        c.create_llm(KEY, &llm()).await,
        Err(RetellError::BadRequest(_))
    ));
    assert!(matches!(
        c.get_call(KEY, "nope").await,
        Err(RetellError::NotFound(_))
    ));
    // None of these is retried: Retell said no.
    assert_eq!(fake.requests().len(), 5);
    let e = c.create_llm("wrong", &llm()).await.unwrap_err();
    assert!(
        !e.to_string().contains("wrong"),
        "the key never reaches a message: {e}"
    );
}

#[tokio::test]
async fn the_client_retries_throttling_and_server_errors_a_few_times() {
    let fake = FakeRetell::start(&[KEY]).await;
    let c = client(&fake, Duration::from_secs(5));
    fake.script(&[Scripted::Status(429), Scripted::Status(503)]);
    assert!(c.create_llm(KEY, &llm()).await.unwrap().starts_with("llm_"));
    assert_eq!(fake.requests().len(), 3, "two retries, then the answer");
    fake.clear();
    fake.script(&[Scripted::Status(500); 4]);
    assert_eq!(
        c.create_llm(KEY, &llm()).await,
        Err(RetellError::Server {
            status: 500,
            attempts: 4
        })
    );
    assert_eq!(
        fake.requests().len(),
        4,
        "the first attempt and three retries"
    );
    fake.clear();
    fake.script(&[Scripted::Status(429); 4]);
    assert_eq!(
        c.create_llm(KEY, &llm()).await,
        Err(RetellError::Throttled(4))
    );
}

#[tokio::test]
async fn a_phone_call_is_never_retried_after_a_server_error_or_timeout_but_is_after_throttling() {
    let fake = FakeRetell::start(&[KEY]).await;
    let c = client(&fake, Duration::from_millis(300));
    let body = PhoneCallBody {
        from_number: "+14155550100".into(),
        to_number: "+14155550101".into(),
        override_agent_id: "agent_1".into(),
        metadata: json!({}),
        retell_llm_dynamic_variables: json!({}),
    };
    fake.script(&[Scripted::Status(500)]);
    assert_eq!(
        c.create_phone_call(KEY, &body).await,
        Err(RetellError::Server {
            status: 500,
            attempts: 1
        })
    );
    fake.script(&[Scripted::Hang]);
    assert_eq!(
        c.create_phone_call(KEY, &body).await,
        Err(RetellError::Timeout(Duration::from_millis(300)))
    );
    assert_eq!(
        fake.requests().len(),
        2,
        "one request each: the person is rung at most once"
    );
    fake.script(&[Scripted::Status(429)]);
    let placed = c.create_phone_call(KEY, &body).await.unwrap();
    assert_eq!(placed.call_status.as_deref(), Some("registered"));
    // A read that hangs is retried, and times out in the end.
    fake.script(&[Scripted::Hang; 4]);
    assert!(matches!(
        c.get_call(KEY, &placed.call_id).await,
        Err(RetellError::Timeout(_))
    ));
}

// ---- provisioning and settings ----

#[tokio::test]
async fn provisioning_creates_the_llm_and_agent_then_updates_them() {
    let fake = FakeRetell::start(&[KEY]).await;
    let app = voice_app(&fake).await;
    let t = app.tenant("Alpha").await;
    let list = app.get_ok("/api/voice/agents", &t.token).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    assert!(list["items"][0]["agent_id"].is_null());

    let a = provision(&app, &t, "sales_outbound").await;
    let reqs = fake.requests();
    assert_eq!(
        reqs.iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect::<Vec<_>>(),
        ["POST /create-retell-llm", "POST /create-agent"]
    );
    assert!(reqs.iter().all(|r| r.key.as_deref() == Some(KEY)));
    let llm = &reqs[0].body;
    assert_eq!(llm["start_speaker"], "agent");
    let asked = column::<String>(&llm["post_call_analysis_data"], "name");
    assert_eq!(
        asked,
        [
            "budget",
            "authority",
            "need",
            "timeline",
            "follow_up_booked"
        ]
    );
    let agent = &reqs[1].body;
    assert_eq!(
        agent["response_engine"],
        json!({"type": "retell-llm", "llm_id": a["llm_id"]})
    );
    assert_eq!(
        agent["webhook_url"],
        format!("{}/api/voice/webhook", "http://127.0.0.1:0"),
        "under public_url, else the bind address"
    );
    assert!(a["agent_id"].as_str().unwrap().starts_with("agent_"));
    assert_eq!(a["stale"], false);

    let edited = app
        .with(&t.token)
        .patch_ok(
            "/api/voice/agents/sales_outbound",
            json!({"general_prompt": "Ask about the budget first.", "temperature": 0.5}),
        )
        .await;
    assert_eq!(
        (edited["customized"].as_bool(), edited["stale"].as_bool()),
        (Some(true), Some(true))
    );
    fake.clear();
    let again = provision(&app, &t, "sales_outbound").await;
    let reqs = fake.requests();
    assert_eq!(
        reqs[0].path,
        format!("/update-retell-llm/{}", a["llm_id"].as_str().unwrap())
    );
    assert!(
        reqs[0].body["general_prompt"]
            .as_str()
            .unwrap()
            .starts_with("Ask about the budget first.")
    );
    assert_eq!(
        reqs[1].path,
        format!("/update-agent/{}", a["agent_id"].as_str().unwrap())
    );
    assert_eq!(
        (again["agent_id"].clone(), again["stale"].as_bool()),
        (a["agent_id"].clone(), Some(false))
    );

    let by = app.with(&t.token);
    by.patch_err(
        "/api/voice/agents/sales_outbound",
        json!({"temperature": 3}),
        422,
        "validation_failed",
    )
    .await;
    by.patch_err(
        "/api/voice/agents/cold_calling",
        json!({"name": "x"}),
        404,
        "not_found",
    )
    .await;
    by.post_err(
        "/api/voice/agents",
        json!({"scenario": "telemarketing"}),
        422,
        "validation_failed",
    )
    .await;
    let (_, rep) = app.member(&t, "rep@alpha.example.com", "rep").await;
    assert_error(
        app.post(
            "/api/voice/agents",
            &rep,
            json!({"scenario": "sales_outbound"}),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    // Retell refusing the key is a 502 naming it, not a 500.
    fake.script(&[Scripted::Status(401)]);
    let e = by
        .post_err(
            "/api/voice/agents",
            json!({"scenario": "customer_support"}),
            502,
            "upstream_failed",
        )
        .await;
    assert!(
        e["error"]["message"].as_str().unwrap().contains("401"),
        "{e}"
    );
}

#[tokio::test]
async fn the_organizations_api_key_is_write_only_sealed_and_used() {
    let fake = FakeRetell::start(&[KEY, ORG_KEY]).await;
    let app = voice_app(&fake).await;
    let t = app.tenant("Alpha").await;
    let by = app.with(&t.token);
    let s = app.get_ok("/api/voice/settings", &t.token).await;
    assert_eq!(
        s,
        json!({"from_number": null, "time_zone": null, "calling_hours": {"start": "09:00", "end": "20:00"},
               "max_concurrent_calls": 20, "calls_per_minute": 10, "has_api_key": false})
    );
    let s = by
        .patch_ok(
            "/api/voice/settings",
            json!({"api_key": ORG_KEY, "time_zone": "Europe/Paris", "from_number": "+33 1 23 45 67 89"}),
        )
        .await;
    assert_eq!(s["has_api_key"], true);
    assert_eq!(s["from_number"], "+33123456789");
    assert!(!s.to_string().contains(ORG_KEY));
    let stored: (Option<String>,) = app
        .store
        .db()
        .fetch_one(
            neuracrm_store::Sql::new(
                "SELECT api_key_sealed FROM voice_settings WHERE organization_id = $1",
            )
            .arg(t.org_id),
        )
        .await
        .unwrap();
    let sealed = stored.0.unwrap();
    assert!(
        sealed.starts_with("v1.") && !sealed.contains(ORG_KEY),
        "sealed: {sealed}"
    );
    provision(&app, &t, "customer_support").await;
    assert!(
        fake.requests()
            .iter()
            .all(|r| r.key.as_deref() == Some(ORG_KEY))
    );

    for (body, field) in [
        (json!({"time_zone": "Mars/Olympus"}), "time_zone"),
        (json!({"from_number": "555-0100"}), "from_number"),
        (
            json!({"calling_hours": {"start": "20:00", "end": "09:00"}}),
            "calling_hours",
        ),
        (json!({"max_concurrent_calls": 0}), "max_concurrent_calls"),
        (json!({"api_key": ""}), "api_key"),
    ] {
        let e = by
            .patch_err(
                "/api/voice/settings",
                body.clone(),
                422,
                "validation_failed",
            )
            .await;
        assert!(
            e["error"]["field"].as_str().unwrap().starts_with(field),
            "{body}: {e}"
        );
    }
    let s = by
        .patch_ok("/api/voice/settings", json!({"api_key": null}))
        .await;
    assert_eq!(s["has_api_key"], false);
    let (_, rep) = app.member(&t, "rep@alpha.example.com", "rep").await;
    assert_error(app.get("/api/voice/settings", &rep).await, 403, "forbidden").await;
    let (_, manager) = app.member(&t, "m@alpha.example.com", "manager").await;
    assert_error(
        app.patch("/api/voice/settings", &manager, json!({"api_key": "x"}))
            .await,
        403,
        "forbidden",
    )
    .await;
}

// ---- placing calls ----

#[tokio::test]
async fn a_call_goes_to_the_leads_contact_with_metadata_and_dynamic_variables() {
    let (fake, app, t) = ready("Alpha").await;
    let (lead, contact) = lead_with_phone(&app, &t, Some("+1 (415) 555-0101")).await;
    let mut events = app.events.subscribe_org(OrgId(t.org_id));
    fake.clear();
    let call = place(&app, &t, lead).await;
    assert_eq!(call["status"], "registered");
    assert_eq!(
        (call["lead_id"].as_i64(), call["contact_id"].as_i64()),
        (Some(lead), Some(contact))
    );
    let sent = &fake.requests_to("/v2/create-phone-call")[0];
    assert_eq!(sent.key.as_deref(), Some(KEY));
    assert_eq!(sent.body["from_number"], "+14155550100");
    assert_eq!(sent.body["to_number"], "+14155550101");
    assert!(
        sent.body["override_agent_id"]
            .as_str()
            .unwrap()
            .starts_with("agent_")
    );
    assert_eq!(
        sent.body["metadata"],
        json!({"organization_id": t.org_id, "call_id": call["id"], "lead_id": lead, "contact_id": contact})
    );
    assert_eq!(
        sent.body["retell_llm_dynamic_variables"],
        json!({"first_name": "Ada", "company": "Analytical Engines", "lead_title": "Difference engine", "owner_name": "Alpha Admin"})
    );
    assert!(
        call["retell_call_id"]
            .as_str()
            .unwrap()
            .starts_with("call_fake_")
    );
    let e = tokio::time::timeout(Duration::from_secs(5), events.recv()).await;
    assert_eq!(e.unwrap().unwrap().kind.name(), "call_updated");

    let me = app.with(&t.token);
    let list = me.get_ok(&format!("/api/leads/{lead}/calls")).await;
    assert_eq!(list["items"][0]["id"], call["id"]);
    let registered = "/api/calls?status=registered&scenario=sales_outbound";
    assert_eq!(items(&me.get_ok(registered).await).len(), 1);
    assert!(items(&me.get_ok("/api/calls?status=ended").await).is_empty());
    me.get_err("/api/calls?status=dialling", 400, "invalid_query")
        .await;
    // A call to a contact without a lead.
    let to_contact = json!({"contact_id": contact, "scenario": "sales_outbound"});
    let c = me.create("/api/calls", to_contact).await;
    assert!(c["lead_id"].is_null());
}

#[tokio::test]
async fn calls_outside_the_guardrails_are_refused_and_name_why() {
    let (fake, app, t) = ready("Alpha").await;
    let by = app.with(&t.token);
    let body = |lead: i64| json!({"lead_id": lead, "scenario": "sales_outbound"});
    let (no_phone, _) = lead_with_phone(&app, &t, None).await;
    let e = by
        .post_err("/api/calls", body(no_phone), 422, "validation_failed")
        .await;
    assert_eq!(e["error"]["field"], "phone");
    let (bad_phone, _) = lead_with_phone(&app, &t, Some("0415 555 0101")).await;
    let e = by
        .post_err("/api/calls", body(bad_phone), 422, "validation_failed")
        .await;
    assert_eq!(e["error"]["field"], "phone");
    let (dnc, dnc_contact) = lead_with_phone(&app, &t, Some("+14155550102")).await;
    by.patch_ok(
        &format!("/api/contacts/{dnc_contact}/calling-preferences"),
        json!({"do_not_call": true}),
    )
    .await;
    let e = by
        .post_err("/api/calls", body(dnc), 422, "validation_failed")
        .await;
    assert_eq!(e["error"]["field"], "do_not_call");
    by.post_err(
        "/api/calls",
        json!({"lead_id": no_phone}),
        422,
        "validation_failed",
    )
    .await;
    by.post_err(
        "/api/calls",
        json!({"scenario": "sales_outbound"}),
        422,
        "validation_failed",
    )
    .await;
    // Before the agent: customer_support is not provisioned, yet the
    // contact's refusal is what is reported.
    let e = by
        .post_err(
            "/api/calls",
            json!({"lead_id": dnc, "scenario": "customer_support"}),
            422,
            "validation_failed",
        )
        .await;
    assert_eq!(e["error"]["field"], "do_not_call", "{e}");
    assert!(
        fake.requests_to("/v2/create-phone-call").is_empty(),
        "nothing was dialled"
    );

    // Calling hours, in the contact's time zone, else the organization's.
    let (ok, ok_contact) = lead_with_phone(&app, &t, Some("+14155550103")).await;
    let now = chrono::Utc::now();
    let kiritimati =
        neuracrm_domain::voice::TimeZone::parse_field("Pacific/Kiritimati", "tz").unwrap();
    let h = chrono::Timelike::hour(&kiritimati.local_time(now));
    // The Kiritimati hour now, and the next one (UTC is 14 hours behind:
    // the window never holds the UTC hour).
    let (start, end) = if h == 23 { (22, 24) } else { (h, h + 2) };
    by.patch_ok(
        "/api/voice/settings",
        json!({"calling_hours": {"start": format!("{start:02}:00"), "end": format!("{end:02}:00")}}),
    )
    .await;
    let e = by.post_err("/api/calls", body(ok), 409, "conflict").await;
    assert_eq!(e["error"]["field"], "calling_hours");
    assert!(
        e["error"]["message"].as_str().unwrap().contains("UTC"),
        "{e}"
    );
    by.patch_ok(
        &format!("/api/contacts/{ok_contact}/calling-preferences"),
        json!({"time_zone": "Pacific/Kiritimati"}),
    )
    .await;
    place(&app, &t, ok).await;
    by.patch_ok(
        &format!("/api/contacts/{ok_contact}/calling-preferences"),
        json!({"time_zone": null}),
    )
    .await;
    by.patch_ok(
        "/api/voice/settings",
        json!({"time_zone": "Pacific/Kiritimati"}),
    )
    .await;
    place(&app, &t, ok).await;

    // The concurrent limit (two calls are open now), then the rate.
    by.patch_ok("/api/voice/settings", json!({"max_concurrent_calls": 2}))
        .await;
    let e = by.post_err("/api/calls", body(ok), 409, "conflict").await;
    assert_eq!(e["error"]["field"], "max_concurrent_calls");
    by.patch_ok(
        "/api/voice/settings",
        json!({"max_concurrent_calls": 10, "calls_per_minute": 2}),
    )
    .await;
    let r = app.post("/api/calls", &t.token, body(ok)).await;
    assert_eq!(r.headers()["retry-after"], "60");
    assert_error(r, 429, "rate_limited").await;

    // Retell refusing (billing) is a 502 naming it; the call is marked failed.
    by.patch_ok("/api/voice/settings", json!({"calls_per_minute": 10}))
        .await;
    fake.script(&[Scripted::Status(402)]);
    let e = by
        .post_err("/api/calls", body(ok), 502, "upstream_failed")
        .await;
    assert!(
        e["error"]["message"].as_str().unwrap().contains("402"),
        "{e}"
    );
    let failed = app.get_ok("/api/calls?status=error", &t.token).await;
    assert!(
        failed["items"][0]["disconnection_reason"]
            .as_str()
            .unwrap()
            .contains("billing")
    );
}

#[tokio::test]
async fn another_organizations_lead_contact_or_call_is_not_found() {
    let (_fake, app, ta) = ready("Alpha").await;
    let tb = app.tenant("Beta").await;
    any_hour(&app, &tb).await;
    provision(&app, &tb, "sales_outbound").await;
    let (lead, contact) = lead_with_phone(&app, &ta, Some("+14155550101")).await;
    let call = place(&app, &ta, lead).await;
    let by_b = app.with(&tb.token);
    for target in [json!({"lead_id": lead}), json!({"contact_id": contact})] {
        let mut body = target;
        body["scenario"] = json!("sales_outbound");
        by_b.post_err("/api/calls", body, 404, "not_found").await;
    }
    by_b.get_err(&format!("/api/calls/{}", call["id"]), 404, "not_found")
        .await;
    by_b.get_err(&format!("/api/leads/{lead}/calls"), 404, "not_found")
        .await;
    by_b.get_err(
        &format!("/api/contacts/{contact}/calling-preferences"),
        404,
        "not_found",
    )
    .await;
    by_b.patch_err(
        &format!("/api/contacts/{contact}/calling-preferences"),
        json!({"do_not_call": true}),
        404,
        "not_found",
    )
    .await;
    let b_list = app.get_ok("/api/calls", &tb.token).await;
    assert!(b_list["items"].as_array().unwrap().is_empty());
}

// ---- webhooks ----

#[tokio::test]
async fn a_call_moves_its_lead_transcript_activity_bant_score_and_event() {
    let (_fake, app, t, lead, call) = a_call().await;
    let mut events = app.events.subscribe_org(OrgId(t.org_id));

    assert_eq!(
        signed(
            &app,
            &event(
                "call_started",
                &call,
                json!({"call_status": "ongoing", "start_timestamp": now_ms()})
            ),
            KEY
        )
        .await,
        "applied"
    );
    assert_eq!(call_of(&app, &t, &call).await["status"], "ongoing");

    let transcript =
        "Agent: Hi Ada, do you have two minutes?\nUser: Yes, we have a budget of fifty thousand.";
    assert_eq!(
        signed(&app, &event("call_ended", &call, ended(transcript)), KEY).await,
        "applied"
    );
    let c = call_of(&app, &t, &call).await;
    assert_eq!(c["status"], "ended");
    assert_eq!(c["transcript"], transcript);
    assert_eq!(c["transcript_turns"][1]["role"], "user");
    assert_eq!(
        (
            c["duration_ms"].as_i64(),
            c["disconnection_reason"].as_str()
        ),
        (Some(90_000), Some("user_hangup"))
    );
    let acts = activities_of(&app, &t, lead).await;
    assert_eq!(acts.len(), 1);
    assert_eq!(
        (acts[0]["type"].as_str(), acts[0]["body"].as_str()),
        (Some("call"), Some(transcript))
    );
    assert_eq!(acts[0]["duration_seconds"], 90);
    assert_eq!(c["activity_id"], acts[0]["id"]);
    // The sentiment subscriber reads the transcript like any call activity.
    let activity = acts[0]["id"].as_i64().unwrap();
    crate::helpers::sentiment_stored(&app, t.org_id, activity, "the transcript").await;

    let before = app.get_ok(&format!("/api/leads/{lead}"), &t.token).await;
    assert!(before["budget_cents"].is_null() && before["expected_decision"].is_null());
    let custom = json!({"budget": "$50,000", "authority": "Ada", "need": "an engine", "timeline": "2027-03-01", "follow_up_booked": true});
    assert_eq!(
        signed(&app, &event("call_analyzed", &call, analyzed(custom)), KEY).await,
        "applied"
    );
    let c = call_of(&app, &t, &call).await;
    assert_eq!(
        c["summary"],
        "Ada has a $50k budget and decides by March; follow-up booked."
    );
    assert_eq!(
        (c["user_sentiment"].as_str(), c["call_successful"].as_bool()),
        (Some("Positive"), Some(true))
    );
    assert_eq!(c["custom_analysis"]["follow_up_booked"], true);
    let after = app.get_ok(&format!("/api/leads/{lead}"), &t.token).await;
    assert_eq!(after["budget_cents"], 5_000_000);
    assert_eq!(after["expected_decision"], "2027-03-01");
    assert!(after["score"].is_number(), "scored again: {after}");
    assert_eq!(
        system_updates(&app, &t, lead).await,
        1,
        "the fill is in the audit log, as the system's"
    );
    let mut seen = Vec::new();
    let completed = loop {
        let e = tokio::time::timeout(Duration::from_secs(5), events.recv())
            .await
            .unwrap()
            .unwrap();
        seen.push(e.kind.name());
        if let neuracrm_domain::EventKind::CallCompleted { score, lead_id, .. } = e.kind {
            break (score, lead_id);
        }
    };
    assert_eq!(completed.1.map(|l| l.0), Some(lead));
    assert_eq!(
        completed.0,
        after["score"].as_f64(),
        "the event carries the new score"
    );
    for kind in [
        "call_updated",
        "activity_logged",
        "lead_updated",
        "lead_scored",
    ] {
        assert!(seen.contains(&kind), "{kind} in {seen:?}");
    }
}

/// The audit log's updates of `lead` made by no user (the system's).
async fn system_updates(app: &TestApp, t: &Tenant, lead: i64) -> usize {
    let audit = app
        .store
        .audit()
        .list(
            OrgId(t.org_id),
            neuracrm_store::Page::parse(Some(200), None).unwrap(),
        )
        .await
        .unwrap();
    audit
        .items
        .iter()
        .filter(|e| {
            e.entity == "lead" && e.entity_id == lead && e.action == "update" && e.user_id.is_none()
        })
        .count()
}

#[tokio::test]
async fn the_bant_answers_never_overwrite_what_a_person_entered() {
    let (_fake, app, t) = ready("Alpha").await;
    let (lead, _) = lead_with_phone(&app, &t, Some("+14155550101")).await;
    app.with(&t.token)
        .patch_ok(
            &format!("/api/leads/{lead}"),
            json!({"budget_cents": 1_000}),
        )
        .await;
    let call = place(&app, &t, lead).await;
    let custom = json!({"budget": "90000", "timeline": "3 months"});
    signed(&app, &event("call_analyzed", &call, analyzed(custom)), KEY).await;
    let after = app.get_ok(&format!("/api/leads/{lead}"), &t.token).await;
    assert_eq!(after["budget_cents"], 1_000, "kept");
    assert!(
        after["expected_decision"].is_string(),
        "the empty one filled: {after}"
    );
}

#[tokio::test]
async fn forged_expired_and_unsigned_webhooks_are_refused_and_change_nothing() {
    let (_fake, app, t, lead, call) = a_call().await;
    let body = event("call_ended", &call, ended("Agent: hello"));
    let now = now_ms();
    for sig in [
        None,
        Some(sign("key_forged", body.as_bytes(), now)),
        Some(sign(KEY, body.as_bytes(), now - 6 * 60 * 1000)),
        Some(sign(KEY, body.as_bytes(), now + 6 * 60 * 1000)),
        Some(sign(KEY, b"{\"event\":\"call_started\"}", now)),
        Some(format!("v={now},d=not-hex")),
        Some(sign(KEY, body.as_bytes(), now).replace(",d=", ",d=0")),
        // The ends of i64 as the time: expired, not an overflow.
        Some(sign(KEY, body.as_bytes(), i64::MIN)),
        Some(sign(KEY, body.as_bytes(), i64::MAX)),
    ] {
        let r = deliver(&app, &body, sig.as_deref()).await;
        // No bearer challenge: no token would help.
        assert!(r.headers().get("www-authenticate").is_none());
        assert_error(r, 401, "unauthorized").await;
    }
    let c = call_of(&app, &t, &call).await;
    assert_eq!(
        (c["status"].as_str(), c["transcript"].is_null()),
        (Some("registered"), true)
    );
    assert!(activities_of(&app, &t, lead).await.is_empty());
    let receipts: (i64,) = app
        .store
        .db()
        .fetch_one(neuracrm_store::Sql::new(
            "SELECT COUNT(*) FROM call_webhook_receipts",
        ))
        .await
        .unwrap();
    assert_eq!(receipts.0, 0, "nothing was written before verification");
    // The same delivery, signed, is applied: the refusals were the signature's.
    assert_eq!(signed(&app, &body, KEY).await, "applied");
}

#[tokio::test]
async fn a_replayed_or_redelivered_webhook_is_answered_without_effect() {
    let (_fake, app, t, lead, call) = a_call().await;
    let body = event("call_ended", &call, ended("Agent: hello\nUser: hi"));
    let sig = sign(KEY, body.as_bytes(), now_ms());
    let first = deliver(&app, &body, Some(&sig)).await;
    assert_eq!(first.json::<Value>().await.unwrap()["result"], "applied");
    // The very same request again (a replay), then Retell's own retry,
    // signed anew.
    let replay = deliver(&app, &body, Some(&sig)).await;
    assert_eq!(replay.status(), 200);
    assert_eq!(replay.json::<Value>().await.unwrap()["result"], "duplicate");
    let retried = event("call_ended", &call, ended("Agent: a different text"));
    assert_eq!(signed(&app, &retried, KEY).await, "duplicate");
    assert_eq!(activities_of(&app, &t, lead).await.len(), 1);
    assert_eq!(
        call_of(&app, &t, &call).await["transcript"],
        "Agent: hello\nUser: hi"
    );
}

#[tokio::test]
async fn events_out_of_order_are_applied_once_and_a_call_never_reopens() {
    let (_fake, app, t, lead, call) = a_call().await;
    let custom = json!({"budget": 12000, "timeline": "2027-01-15"});
    assert_eq!(
        signed(&app, &event("call_analyzed", &call, analyzed(custom)), KEY).await,
        "applied"
    );
    let c = call_of(&app, &t, &call).await;
    assert_eq!(c["status"], "ended");
    assert!(c["transcript"].is_string() && c["summary"].is_string());
    assert_eq!(
        activities_of(&app, &t, lead).await.len(),
        1,
        "the transcript came with the analysis"
    );
    assert_eq!(
        app.get_ok(&format!("/api/leads/{lead}"), &t.token).await["budget_cents"],
        1_200_000
    );
    assert_eq!(
        signed(&app, &event("call_ended", &call, ended("Agent: late")), KEY).await,
        "applied"
    );
    assert_eq!(
        signed(
            &app,
            &event("call_started", &call, json!({"call_status": "ongoing"})),
            KEY
        )
        .await,
        "applied"
    );
    let c = call_of(&app, &t, &call).await;
    assert_eq!(
        c["status"], "ended",
        "a late call_started does not reopen it"
    );
    assert_ne!(c["transcript"], "Agent: late", "the first transcript stays");
    assert_eq!(activities_of(&app, &t, lead).await.len(), 1, "logged once");
}

#[tokio::test]
async fn a_webhook_whose_metadata_names_another_organization_changes_nothing() {
    let (_fake, app, ta, lead, call) = a_call().await;
    let tb = app.tenant("Beta").await;
    let mut forged = call.clone();
    forged["organization_id"] = json!(tb.org_id);
    let body = event("call_ended", &forged, ended("Agent: moved"));
    assert_eq!(signed(&app, &body, KEY).await, "ignored");
    let c = call_of(&app, &ta, &call).await;
    assert_eq!(
        (c["status"].as_str(), c["transcript"].is_null()),
        (Some("registered"), true)
    );
    assert!(activities_of(&app, &ta, lead).await.is_empty());
    let b_calls = app.get_ok("/api/calls", &tb.token).await;
    assert!(items(&b_calls).is_empty());
    // Naming another call of the same organization is refused alike.
    let mut other = call.clone();
    other["id"] = json!(call["id"].as_i64().unwrap() + 1000);
    assert_eq!(
        signed(&app, &event("call_ended", &other, ended("x")), KEY).await,
        "ignored"
    );
}

#[tokio::test]
async fn a_webhook_of_a_call_never_placed_is_ignored_once_verified() {
    let (_fake, app, t) = ready("Alpha").await;
    let stranger = json!({"retell_call_id": "call_not_ours", "id": 999_999, "organization_id": t.org_id, "lead_id": null, "contact_id": null});
    let body = event("call_ended", &stranger, ended("Agent: hello"));
    assert_eq!(signed(&app, &body, KEY).await, "ignored");
    assert_error(
        deliver(
            &app,
            &body,
            Some(&sign("key_forged", body.as_bytes(), now_ms())),
        )
        .await,
        401,
        "unauthorized",
    )
    .await;
    // Signed but not an event: 400.
    let junk = "{\"not\": \"an event\"}";
    let r = deliver(&app, junk, Some(&sign(KEY, junk.as_bytes(), now_ms()))).await;
    assert_error(r, 400, "malformed_body").await;
}

#[tokio::test]
async fn a_call_placed_with_the_organizations_key_is_verified_with_that_key() {
    let (fake, app, t) = ready("Alpha").await;
    app.with(&t.token)
        .patch_ok("/api/voice/settings", json!({"api_key": ORG_KEY}))
        .await;
    let (lead, _) = lead_with_phone(&app, &t, Some("+14155550101")).await;
    fake.clear();
    let call = place(&app, &t, lead).await;
    assert_eq!(
        fake.requests_to("/v2/create-phone-call")[0].key.as_deref(),
        Some(ORG_KEY)
    );
    let body = event("call_started", &call, json!({"call_status": "ongoing"}));
    assert_error(
        deliver(&app, &body, Some(&sign(KEY, body.as_bytes(), now_ms()))).await,
        401,
        "unauthorized",
    )
    .await;
    assert_eq!(signed(&app, &body, ORG_KEY).await, "applied");
}

// ---- calls sync ----

#[tokio::test]
async fn calls_sync_applies_what_retell_says_of_overdue_calls() {
    let (fake, app, t, lead, call) = a_call().await;
    let fresh = place(&app, &t, lead).await;
    let retell_id = call["retell_call_id"].as_str().unwrap();
    let mut object = analyzed(json!({"budget": "7,500", "timeline": "2 weeks"}));
    object["call_id"] = json!(retell_id);
    fake.set_call(retell_id, object);
    let crm = sync_crm(&app, &fake);
    // Eleven minutes on: the sales agent's ten-minute limit and a minute's grace have passed.
    let later = chrono::Utc::now() + chrono::Duration::minutes(11);
    let fresh_id = fresh["retell_call_id"].as_str().unwrap().to_string();
    fake.set_call(
        &fresh_id,
        json!({"call_id": fresh_id, "call_status": "ongoing"}),
    );
    let report =
        neuracrm_actions::voice::webhook::sync(&crm, later, chrono::Duration::minutes(1), 100)
            .await
            .unwrap();
    assert_eq!(
        (report.checked, report.applied, report.failed),
        (2, 3, 0),
        "{report:?}"
    );
    let c = call_of(&app, &t, &call).await;
    assert_eq!(
        (c["status"].as_str(), c["summary"].is_string()),
        (Some("ended"), true)
    );
    assert_eq!(
        app.get_ok(&format!("/api/leads/{lead}"), &t.token).await["budget_cents"],
        750_000
    );
    assert_eq!(
        call_of(&app, &t, &fresh).await["status"],
        "ongoing",
        "Retell says ongoing"
    );
    // The webhook that arrives late is a duplicate.
    assert_eq!(
        signed(&app, &event("call_ended", &call, ended("Agent: late")), KEY).await,
        "duplicate"
    );
    let again = neuracrm_actions::voice::webhook::sync(
        &crm,
        chrono::Utc::now(),
        chrono::Duration::minutes(1),
        100,
    )
    .await
    .unwrap();
    assert_eq!(again.checked, 0, "nothing is overdue now");
}

/// Makes the database refuse every scoring write (a trigger on the column
/// each one sets), or accept them again: a real failure after a call's
/// analysis has filled the lead, where its new score is written.
async fn scoring_refused(app: &TestApp, refused: bool) {
    let db = app.store.db();
    let statements: &[&str] = match (db.backend(), refused) {
        (neuracrm_store::Backend::Sqlite, true) => &[
            "CREATE TRIGGER scoring_refused BEFORE UPDATE OF score_updated_at ON leads \
             BEGIN SELECT RAISE(ABORT, 'scoring refused by the test'); END",
        ],
        (neuracrm_store::Backend::Postgres, true) => &[
            "CREATE FUNCTION scoring_refused() RETURNS trigger LANGUAGE plpgsql \
             AS 'BEGIN RAISE EXCEPTION ''scoring refused by the test''; END'",
            "CREATE TRIGGER scoring_refused BEFORE UPDATE OF score_updated_at ON leads \
             FOR EACH ROW EXECUTE FUNCTION scoring_refused()",
        ],
        (neuracrm_store::Backend::Sqlite, false) => &["DROP TRIGGER scoring_refused"],
        (neuracrm_store::Backend::Postgres, false) => &[
            "DROP TRIGGER scoring_refused ON leads",
            "DROP FUNCTION scoring_refused()",
        ],
    };
    for sql in statements {
        db.execute(neuracrm_store::Sql::new(sql)).await.unwrap();
    }
}

/// The receipt of (`call`, `event`): runs begun, whether its effects are
/// all done, why the last run failed.
async fn receipt(app: &TestApp, call: &Value, event: &str) -> (i64, bool, Option<String>) {
    let (attempts, done, error): (i64, bool, Option<String>) = app
        .store
        .db()
        .fetch_one(
            neuracrm_store::Sql::new(
                "SELECT attempts, processed_at IS NOT NULL, last_error FROM call_webhook_receipts \
                 WHERE call_id = $1 AND event = $2",
            )
            .arg(call["id"].as_i64().unwrap())
            .arg(event),
        )
        .await
        .unwrap();
    (attempts, done, error)
}

/// The names of the events waiting in `events`, in order.
fn drained(events: &mut neuracrm_events::Subscription) -> Vec<&'static str> {
    let mut out = Vec::new();
    while let Some(e) = events.try_recv() {
        out.push(e.unwrap().kind.name());
    }
    out
}

/// How many of `names` are `name`.
fn count(names: &[&str], name: &str) -> usize {
    names.iter().filter(|n| **n == name).count()
}

#[tokio::test]
async fn effects_that_fail_after_the_receipt_commits_are_retried_and_applied_once() {
    let (fake, app, t, lead, call) = a_call().await;
    let crm = sync_crm(&app, &fake);
    let before = app.get_ok(&format!("/api/leads/{lead}"), &t.token).await;
    assert!(before["score"].is_null(), "not scored yet: {before}");
    let mut events = app.events.subscribe_org(OrgId(t.org_id));

    // The analysis comes (with the transcript) while the database refuses
    // scoring writes: the event is stored and applied to the call, the
    // activity and the lead's fill commit, the new score does not.
    scoring_refused(&app, true).await;
    let custom = json!({"budget": "$50,000", "timeline": "2027-03-01"});
    let body = event("call_analyzed", &call, analyzed(custom));
    let at = chrono::Utc::now();
    assert_eq!(signed(&app, &body, KEY).await, "queued");
    let c = call_of(&app, &t, &call).await;
    assert!(c["summary"].is_string(), "the call has its analysis: {c}");
    assert_eq!(activities_of(&app, &t, lead).await.len(), 1);
    let l = app.get_ok(&format!("/api/leads/{lead}"), &t.token).await;
    assert_eq!(l["budget_cents"], 5_000_000);
    assert!(l["score"].is_null(), "the score write was refused: {l}");
    let (attempts, done, error) = receipt(&app, &call, "call_analyzed").await;
    assert_eq!((attempts, done), (1, false));
    assert!(
        error
            .as_deref()
            .unwrap_or_default()
            .contains("scoring refused"),
        "why it failed: {error:?}"
    );
    let first = drained(&mut events);
    assert_eq!(count(&first, "call_completed"), 0, "{first:?}");
    assert_eq!(count(&first, "activity_logged"), 1, "{first:?}");
    assert_eq!(count(&first, "lead_updated"), 1, "{first:?}");

    // Retell's redelivery is a duplicate: the retry is ours.
    assert_eq!(signed(&app, &body, KEY).await, "duplicate");
    let sync =
        |now| neuracrm_actions::voice::webhook::sync(&crm, now, chrono::Duration::minutes(1), 100);
    // Before its backoff has passed the receipt is left alone.
    let r = sync(at).await.unwrap();
    assert_eq!((r.retried.done, r.retried.failed), (0, 0), "{r:?}");
    // After it, still refused: a second attempt, a longer wait.
    let r = sync(at + chrono::Duration::minutes(2)).await.unwrap();
    assert_eq!((r.retried.done, r.retried.failed), (0, 1), "{r:?}");
    assert_eq!(receipt(&app, &call, "call_analyzed").await.0, 2);
    let r = sync(at + chrono::Duration::minutes(3)).await.unwrap();
    assert_eq!(r.retried.failed, 0, "the second wait is two minutes: {r:?}");

    // The database takes scoring writes again: the next pass finishes.
    scoring_refused(&app, false).await;
    let r = sync(at + chrono::Duration::minutes(5)).await.unwrap();
    assert_eq!((r.retried.done, r.retried.failed), (1, 0), "{r:?}");
    assert_eq!(receipt(&app, &call, "call_analyzed").await, (3, true, None));
    let l = app.get_ok(&format!("/api/leads/{lead}"), &t.token).await;
    assert!(l["score"].is_number(), "scored at last: {l}");
    assert_eq!(l["budget_cents"], 5_000_000);
    // Each effect once: one activity, one fill in the audit log, one
    // call_completed carrying the score, no second activity_logged or
    // lead_updated.
    assert_eq!(activities_of(&app, &t, lead).await.len(), 1);
    assert_eq!(
        system_updates(&app, &t, lead).await,
        1,
        "the lead was filled once"
    );
    let retried = drained(&mut events);
    assert_eq!(count(&retried, "call_completed"), 1, "{retried:?}");
    assert_eq!(count(&retried, "activity_logged"), 0, "{retried:?}");
    assert_eq!(count(&retried, "lead_updated"), 0, "{retried:?}");
    assert_eq!(count(&retried, "lead_scored"), 1, "{retried:?}");

    // Done is done: later passes find nothing.
    let r = sync(at + chrono::Duration::hours(3)).await.unwrap();
    assert_eq!((r.retried.done, r.retried.failed), (0, 0), "{r:?}");
    assert!(drained(&mut events).is_empty());
}

#[tokio::test]
async fn effects_that_keep_failing_are_tried_a_bounded_number_of_times() {
    use neuracrm_actions::voice::effects::{MAX_ATTEMPTS, retry_at};
    let (fake, app, t, lead, call) = a_call().await;
    let crm = sync_crm(&app, &fake);
    scoring_refused(&app, true).await;
    let body = event("call_analyzed", &call, analyzed(json!({"budget": "9000"})));
    let mut now = chrono::Utc::now();
    assert_eq!(signed(&app, &body, KEY).await, "queued");
    for attempt in 2..=MAX_ATTEMPTS {
        now = retry_at(now, attempt - 1) + chrono::Duration::seconds(1);
        let r = neuracrm_actions::voice::webhook::sync(&crm, now, chrono::Duration::hours(1), 100)
            .await
            .unwrap();
        assert_eq!(r.retried.failed, 1, "attempt {attempt}: {r:?}");
    }
    assert_eq!(receipt(&app, &call, "call_analyzed").await.0, MAX_ATTEMPTS);
    // No more, however long one waits; the receipt keeps why.
    let r = neuracrm_actions::voice::webhook::sync(
        &crm,
        now + chrono::Duration::days(30),
        chrono::Duration::days(60),
        100,
    )
    .await
    .unwrap();
    assert_eq!((r.retried.done, r.retried.failed), (0, 0), "{r:?}");
    let (attempts, done, error) = receipt(&app, &call, "call_analyzed").await;
    assert_eq!((attempts, done), (MAX_ATTEMPTS, false));
    assert!(error.is_some_and(|e| e.contains("scoring refused")));
    assert_eq!(activities_of(&app, &t, lead).await.len(), 1, "logged once");
}

/// The actions over the app's database with the app's Retell settings, as
/// the CLI's `calls sync` and the scheduler build them.
fn sync_crm(app: &TestApp, fake: &FakeRetell) -> neuracrm_actions::Crm {
    let mut settings = neuracrm_server::Settings::for_database("sqlite::memory:");
    settings.retell.base_url = fake.url.clone();
    settings.retell.api_key = Some(Secret::new(KEY));
    settings.retell.from_number = Some("+14155550100".into());
    settings.retell.retry_backoff_ms = 1;
    let intent = neuracrm_jobs::intent::IntentService::new(None, 100).unwrap();
    let sentiment = neuracrm_jobs::sentiment::SentimentService::new(None);
    let mut crm = neuracrm_actions::Crm::new(
        app.store.clone(),
        app.events.clone(),
        std::sync::Arc::new(intent),
        std::sync::Arc::new(sentiment),
    );
    crm.voice = Some(std::sync::Arc::new(
        neuracrm_actions::voice::VoiceService::new(settings.voice_options().unwrap()).unwrap(),
    ));
    crm
}

// ---- bulk calling ----

/// What each create-phone-call request Retell received held at `pointer`
/// (a JSON pointer into its body), in order.
fn dialled(fake: &FakeRetell, pointer: &str) -> Vec<Value> {
    fake.requests_to("/v2/create-phone-call")
        .iter()
        .map(|r| r.body.pointer(pointer).cloned().unwrap_or(Value::Null))
        .collect()
}

/// A sales batch of `t`'s `leads` stored as the API stores one, with no
/// pass started: running, every lead pending.
pub(crate) async fn stored_batch(
    app: &TestApp,
    t: &Tenant,
    leads: &[i64],
) -> neuracrm_store::voice::CallBatch {
    let leads: Vec<neuracrm_domain::LeadId> =
        leads.iter().map(|l| neuracrm_domain::LeadId(*l)).collect();
    app.store
        .voice()
        .create_batch(
            OrgId(t.org_id),
            neuracrm_domain::UserId(t.admin_id),
            neuracrm_domain::Scenario::SalesOutbound,
            &leads,
            None,
        )
        .await
        .unwrap()
        .expect("a lead of the organization")
}

pub(crate) async fn batch_when_settled(app: &TestApp, t: &Tenant, id: &Value) -> Value {
    for _ in 0..100 {
        let b = app
            .get_ok(&format!("/api/call-batches/{id}"), &t.token)
            .await;
        // Settled items first, then the batch's status, by the same pass.
        if b["pending"] == 0 && b["status"] != "running" {
            return b;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("batch {id} still pending after 5 s");
}

#[tokio::test]
async fn a_batch_calls_each_lead_within_the_guardrails_and_reports_progress() {
    let (fake, app, t) = ready("Alpha").await;
    let tb = app.tenant("Beta").await;
    let (ok1, _) = lead_with_phone(&app, &t, Some("+14155550101")).await;
    let (ok2, _) = lead_with_phone(&app, &t, Some("+14155550102")).await;
    let (no_phone, _) = lead_with_phone(&app, &t, None).await;
    let (dnc, dnc_contact) = lead_with_phone(&app, &t, Some("+14155550103")).await;
    let (b_lead, _) = lead_with_phone(&app, &tb, Some("+14155550104")).await;
    let by = app.with(&t.token);
    by.patch_ok(
        &format!("/api/contacts/{dnc_contact}/calling-preferences"),
        json!({"do_not_call": true}),
    )
    .await;
    fake.clear();
    let b = app
        .post_ok(
            "/api/call-batches",
            &t.token,
            json!({"lead_ids": [ok1, ok2, no_phone, dnc, b_lead], "scenario": "sales_outbound"}),
            202,
        )
        .await;
    assert_eq!(
        b["total"], 4,
        "the other organization's lead is left out: {b}"
    );
    assert_eq!(
        (&b["segment_id"], &b["segment_name"]),
        (&json!(null), &json!(null)),
        "chosen leads: no segment"
    );
    let done = batch_when_settled(&app, &t, &b["id"]).await;
    assert_eq!(
        (
            &done["placed"],
            &done["skipped"],
            &done["failed"],
            &done["status"]
        ),
        (&json!(2), &json!(2), &json!(0), &json!("completed")),
        "{done}"
    );
    let dialled = dialled(&fake, "/to_number");
    assert_eq!(dialled, [json!("+14155550101"), json!("+14155550102")]);
    // Each lead with what became of it, in id order.
    let items = app
        .get_ok(&format!("/api/call-batches/{}/items", b["id"]), &t.token)
        .await;
    let got: Vec<(Value, Value, bool, bool)> = items["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["lead_id"].clone(),
                i["status"].clone(),
                i["call_id"].is_number(),
                i["reason"].is_string(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (json!(ok1), json!("placed"), true, false),
            (json!(ok2), json!("placed"), true, false),
            (json!(no_phone), json!("skipped"), false, true),
            (json!(dnc), json!("skipped"), false, true),
        ],
        "{items}"
    );
    assert_eq!(items["items"][0]["call_status"], "registered");
    assert!(
        items["items"][3]["reason"]
            .as_str()
            .unwrap()
            .contains("do not call")
    );
    // Another pass finds nothing left to call.
    let crm = sync_crm(&app, &fake);
    let pass = neuracrm_actions::voice::process_batches(&crm, chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(pass, Default::default());
    assert_eq!(fake.requests_to("/v2/create-phone-call").len(), 2);

    // The rate holds the rest of a batch for a later pass. Started through
    // the action, so that the passes are this test's alone (the endpoint
    // also starts one in the background, which under load could still be
    // running when the rate is raised below).
    by.patch_ok("/api/voice/settings", json!({"calls_per_minute": 3}))
        .await;
    let (ok3, _) = lead_with_phone(&app, &t, Some("+14155550105")).await;
    let caller = neuracrm_actions::Caller {
        user: neuracrm_domain::UserId(t.admin_id),
        org: neuracrm_domain::OrgId(t.org_id),
        role: neuracrm_domain::Role::Admin,
        session: None,
    };
    let target = neuracrm_actions::voice::BatchTarget::Leads(
        [ok1, ok3]
            .iter()
            .map(|&id| neuracrm_domain::LeadId(id))
            .collect(),
    );
    let started = neuracrm_actions::voice::start_batch(
        &crm,
        &caller,
        &target,
        neuracrm_domain::voice::Scenario::SalesOutbound,
    )
    .await
    .unwrap();
    let b = json!({"id": started.id});
    let pass = neuracrm_actions::voice::process_batches(&crm, chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!((pass.placed, pass.held), (1, 1), "{pass:?}");
    let held = app
        .get_ok(&format!("/api/call-batches/{}", b["id"]), &t.token)
        .await;
    assert_eq!(
        (&held["placed"], &held["pending"], &held["status"]),
        (&json!(1), &json!(1), &json!("running")),
        "{held}"
    );
    by.patch_ok("/api/voice/settings", json!({"calls_per_minute": 10}))
        .await;
    let pass = neuracrm_actions::voice::process_batches(&crm, chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(pass.placed, 1, "{pass:?}");
    let done = app
        .get_ok(&format!("/api/call-batches/{}", b["id"]), &t.token)
        .await;
    assert_eq!(
        (&done["placed"], &done["status"]),
        (&json!(2), &json!("completed"))
    );

    // Refusals: no leads, only another organization's, a rep, another
    // organization's batch.
    let batches = "/api/call-batches";
    let of = |leads: Value, scenario: &str| json!({"lead_ids": leads, "scenario": scenario});
    by.post_invalid(batches, of(json!([]), "sales_outbound"))
        .await;
    by.post_invalid(batches, of(json!([b_lead]), "sales_outbound"))
        .await;
    let unprovisioned = of(json!([ok1]), "customer_support");
    by.post_err(batches, unprovisioned, 409, "conflict").await;
    let (_, rep) = app.member(&t, "rep@alpha.example.com", "rep").await;
    let body = of(json!([ok1]), "sales_outbound");
    app.with(&rep)
        .post_err(batches, body, 403, "forbidden")
        .await;
    app.with(&tb.token)
        .get_err(&format!("/api/call-batches/{}", b["id"]), 404, "not_found")
        .await;
    app.with(&tb.token)
        .get_err(
            &format!("/api/call-batches/{}/items", b["id"]),
            404,
            "not_found",
        )
        .await;
    // The list: newest first, another organization's left out, and no
    // batch left behind by the refusals above (one naming only another
    // organization's lead was stored empty and "running" before).
    let list = app.get_ok("/api/call-batches?limit=1", &t.token).await;
    assert_eq!(
        (&list["items"][0]["id"], &list["has_more"]),
        (&b["id"], &json!(true)),
        "{list}"
    );
    let theirs = app.get_ok("/api/call-batches", &tb.token).await;
    assert_eq!(theirs["items"], json!([]));
}

/// A worker that stops between claiming a lead and recording what became
/// of it leaves the item `calling`: once its lease is over, the next pass
/// settles it from the call the worker stored (no second dial) or calls the
/// lead; an item claimed a moment ago is another worker's and is left.
#[tokio::test]
async fn a_batch_item_whose_worker_stopped_is_settled_or_called_after_its_lease() {
    use chrono::Utc;
    use neuracrm_domain::{ContactId, LeadId, Scenario, UserId};
    let (fake, app, t) = ready("Alpha").await;
    let org = OrgId(t.org_id);
    let (placed, placed_contact) = lead_with_phone(&app, &t, Some("+14155550101")).await;
    let (dropped, _) = lead_with_phone(&app, &t, Some("+14155550102")).await;
    let (busy, _) = lead_with_phone(&app, &t, Some("+14155550103")).await;
    let voice = app.store.voice();
    // Through the store: a batch the API would start processing at once.
    let b = stored_batch(&app, &t, &[placed, dropped, busy]).await;
    let now = Utc::now();
    let long_ago = now - chrono::Duration::minutes(30);
    for lead in [placed, dropped] {
        assert!(
            voice
                .claim_item(b.id, LeadId(lead), long_ago)
                .await
                .unwrap()
        );
    }
    assert!(
        voice
            .claim_item(b.id, LeadId(busy), now - chrono::Duration::minutes(1))
            .await
            .unwrap()
    );
    // The first worker stored its call before it stopped.
    let stored = voice
        .insert(
            org,
            &neuracrm_store::voice::NewCall {
                lead_id: Some(LeadId(placed)),
                contact_id: Some(ContactId(placed_contact)),
                scenario: Scenario::SalesOutbound,
                placed_by: Some(UserId(t.admin_id)),
                agent_id: "agent".into(),
                from_number: "+14155550100".into(),
                to_number: "+14155550101".into(),
                own_key: false,
                max_duration_ms: 600_000,
            },
            20,
            100,
            long_ago + chrono::Duration::seconds(1),
        )
        .await
        .unwrap()
        .unwrap();
    fake.clear();
    let crm = sync_crm(&app, &fake);
    let pass = neuracrm_actions::voice::process_batches(&crm, now)
        .await
        .unwrap();
    assert_eq!((pass.recovered, pass.placed), (1, 1), "{pass:?}");
    let dialled = dialled(&fake, "/to_number");
    assert_eq!(
        dialled,
        [json!("+14155550102")],
        "the stored call's lead is not dialled again"
    );
    let got = app
        .get_ok(&format!("/api/call-batches/{}", b.id), &t.token)
        .await;
    assert_eq!(
        (&got["placed"], &got["pending"], &got["status"]),
        (&json!(2), &json!(1), &json!("running")),
        "the item claimed a minute ago is still its worker's: {got}"
    );
    // Its lease over, it is called too.
    let later = now + neuracrm_actions::voice::CLAIM_LEASE;
    let pass = neuracrm_actions::voice::process_batches(&crm, later)
        .await
        .unwrap();
    assert_eq!(pass.placed, 1, "{pass:?}");
    let done = app
        .get_ok(&format!("/api/call-batches/{}", b.id), &t.token)
        .await;
    assert_eq!(
        (&done["placed"], &done["status"]),
        (&json!(3), &json!("completed"))
    );
    let calls = app
        .get_ok(&format!("/api/leads/{placed}/calls"), &t.token)
        .await;
    assert_eq!(calls["items"].as_array().unwrap().len(), 1, "{calls}");
    assert_eq!(calls["items"][0]["id"], stored.id.0);
}

/// A batch of a segment calls the open leads of its contacts; another
/// organization's segment is not found; the target is one or the other.
#[tokio::test]
async fn a_batch_of_a_segment_calls_the_open_leads_of_its_contacts() {
    let (fake, app, t) = ready("Alpha").await;
    let tb = app.tenant("Beta").await;
    let by = app.with(&t.token);
    let (open1, _) = lead_with_phone(&app, &t, Some("+14155550101")).await;
    let (converted, _) = lead_with_phone(&app, &t, Some("+14155550102")).await;
    by.patch_ok(
        &format!("/api/leads/{converted}"),
        json!({"status": "converted"}),
    )
    .await;
    // Outside the segment: another company.
    let other = by
        .create(
            "/api/contacts",
            json!({"first_name": "Grace", "company": "Navy", "phone": "+14155550103"}),
        )
        .await;
    by.create(
        "/api/leads",
        json!({"title": "Compiler", "contact_id": other["id"], "owner_id": t.admin_id}),
    )
    .await;
    fake.clear();
    let (seg, b) = engines_batch(by, "Engines").await;
    assert_eq!(
        b["total"], 1,
        "only the open lead of the segment's contacts: {b}"
    );
    assert_eq!(
        (&b["segment_id"], &b["segment_name"]),
        (&json!(seg), &json!("Engines")),
        "the batch names the segment it called"
    );
    let done = batch_when_settled(&app, &t, &b["id"]).await;
    assert_eq!(
        (&done["placed"], &done["status"]),
        (&json!(1), &json!("completed"))
    );
    let dialled = dialled(&fake, "/metadata/lead_id");
    assert_eq!(dialled, [json!(open1)]);

    // Another organization's segment; both targets; neither.
    let any_company = json!({"field": "company", "operand": "is_not_empty"});
    let b_seg = app
        .with(&tb.token)
        .segment("B", "dynamic", any_company)
        .await;
    let theirs = json!({"segment_id": b_seg, "scenario": "sales_outbound"});
    by.post_err("/api/call-batches", theirs, 404, "not_found")
        .await;
    for body in [
        json!({"segment_id": seg, "lead_ids": [open1], "scenario": "sales_outbound"}),
        json!({"scenario": "sales_outbound"}),
    ] {
        let e = by
            .post_err("/api/call-batches", body, 422, "validation_failed")
            .await;
        assert_eq!(e["error"]["field"], "lead_ids", "{e}");
    }
}
