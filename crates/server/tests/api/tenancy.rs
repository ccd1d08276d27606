//! Tenant isolation, walked over every operation of the OpenAPI document:
//! organization B names organization A's ids in paths, filters and foreign
//! keys, gets 404 (or 422 for a foreign key in a body), and nothing of A
//! changes.

use chrono::Datelike;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    EventStream, MUST_COME, Tenant, TestApp, assert_error, column, id_of, items, spawn_two_tenants,
};

/// A's records, as A sees them.
async fn snapshot(app: &TestApp, a: &Tenant) -> Value {
    let mut all = serde_json::Map::new();
    for list in [
        "/api/users",
        "/api/contacts",
        "/api/leads",
        "/api/deals",
        "/api/activities",
        "/api/forecasting-models",
        "/api/imports",
        "/api/email-templates",
        "/api/campaigns",
        "/api/suppressions",
        "/api/calls",
        "/api/call-batches",
    ] {
        all.insert(
            list.into(),
            app.get_ok(&format!("{list}?limit=200"), &a.token).await["items"].clone(),
        );
    }
    all.insert(
        "voice_settings".into(),
        app.get_ok("/api/voice/settings", &a.token).await,
    );
    all.insert(
        "voice_agents".into(),
        app.get_ok("/api/voice/agents", &a.token).await,
    );
    all.insert(
        "scoring_config".into(),
        app.get_ok("/api/scoring/config", &a.token).await,
    );
    Value::Object(all)
}

struct Ids {
    user: i64,
    contact: i64,
    lead: i64,
    deal: i64,
    activity: i64,
    forecasting_model: i64,
    import: i64,
    segment: i64,
    template: i64,
    campaign: i64,
    call: i64,
    batch: i64,
}

async fn seed(app: &TestApp, t: &Tenant, tag: &str) -> Ids {
    let (user, _) = app
        .member(t, &format!("rep@{tag}.example.com"), "rep")
        .await;
    let api = app.with(&t.token);
    let ada = json!({"first_name": "Ada", "email": "ada@shared.example.com", "company": "Acme", "owner_id": user});
    let c = api.create("/api/contacts", ada).await;
    let lead = json!({"title": "L", "contact_id": c["id"], "owner_id": user});
    let l = api.create("/api/leads", lead).await;
    let deal = json!({"title": "D", "contact_id": c["id"], "lead_id": l["id"], "value_cents": 100});
    let d = api.create("/api/deals", deal).await;
    let note = json!({"type": "note", "body": "hello", "contact_id": c["id"], "deal_id": d["id"]});
    let a = api.create("/api/activities", note).await;
    let model = json!({"metric": "revenue", "algorithm": "theta", "horizon_months": 3});
    let m = api.create("/api/forecasting-models", model).await;
    // A background import (a header only: it writes nothing), completed.
    let r = app
        .with(&t.token)
        .post_raw(
            "/api/import/contacts?background=true",
            "text/csv",
            "first_name,email\n",
        )
        .await;
    assert_eq!(r.status(), 202);
    let import: Value = r.json().await.unwrap();
    let import_path = format!("/api/imports/{}", import["id"]);
    while app.get_ok(&import_path, &t.token).await["status"] != "completed" {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let everyone = json!({"field": "total_deals", "operand": "gte", "value": 0});
    let seg = api.segment("Everyone", "dynamic", everyone).await;
    // A template, a draft campaign to the contact, a suppressed address.
    let tpl = api
        .template("T", "Hi {{ contact.first_name }}", "<p>x</p>")
        .await;
    let to_contact = json!({"type": "contacts", "ids": [c["id"]]});
    let campaign = api.campaign("C", tpl, to_contact).await;
    let gone = json!({"email": format!("gone@{tag}.example.com")});
    api.create("/api/suppressions", gone).await;
    let id = id_of;
    // A call to the contact, as placing one records it (no Retell here).
    let call = app
        .store
        .voice()
        .insert(
            neuracrm_domain::OrgId(t.org_id),
            &neuracrm_store::voice::NewCall {
                lead_id: Some(neuracrm_domain::LeadId(id(&l))),
                contact_id: Some(neuracrm_domain::ContactId(id(&c))),
                scenario: neuracrm_domain::Scenario::SalesOutbound,
                placed_by: None,
                agent_id: "agent_x".into(),
                from_number: "+14155550100".into(),
                to_number: "+14155550101".into(),
                own_key: false,
                max_duration_ms: 600_000,
            },
            20,
            10,
            chrono::Utc::now(),
        )
        .await
        .unwrap()
        .unwrap();
    let batch = crate::voice::stored_batch(app, t, &[id(&l)]).await;
    Ids {
        batch: batch.id,
        call: call.id.0,
        template: tpl,
        campaign: id(&campaign),
        segment: seg,
        import: id(&import),
        forecasting_model: id(&m),
        user,
        contact: id(&c),
        lead: id(&l),
        deal: id(&d),
        activity: id(&a),
    }
}

fn id_for(path: &str, a: &Ids) -> i64 {
    let resource = path.trim_start_matches("/api/").split('/').next().unwrap();
    match resource {
        "users" => a.user,
        "contacts" => a.contact,
        "leads" => a.lead,
        "deals" => a.deal,
        "activities" => a.activity,
        "forecasting-models" => a.forecasting_model,
        "imports" => a.import,
        "segments" => a.segment,
        "email-templates" => a.template,
        "campaigns" => a.campaign,
        "calls" => a.call,
        "call-batches" => a.batch,
        other => panic!("no id for {other}"),
    }
}

/// A body that B could validly send, but for the ids it names.
fn patch_body(path: &str) -> Value {
    if path.ends_with("/calling-preferences") {
        return json!({"do_not_call": true});
    }
    match path.trim_start_matches("/api/").split('/').next().unwrap() {
        "users" => json!({"name": "Hijacked"}),
        "contacts" => json!({"first_name": "Hijacked"}),
        "leads" | "deals" => json!({"title": "Hijacked"}),
        "activities" => json!({"subject": "Hijacked"}),
        "forecasting-models" => json!({"name": "Hijacked", "active": false}),
        "segments" => json!({"name": "Hijacked"}),
        "email-templates" | "campaigns" => json!({"name": "Hijacked"}),
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn organization_b_cannot_reach_anything_of_organization_a() {
    let (app, ta, tb) = spawn_two_tenants("Alpha", "Beta").await;
    let by_tb = app.with(&tb.token);
    let a = seed(&app, &ta, "alpha").await;
    let b = seed(&app, &tb, "beta").await;
    // A's note gets its sentiment in the background; let it land before the
    // snapshot, so that "nothing of A changed" compares like with like.
    crate::helpers::sentiment_stored(&app, ta.org_id, a.activity, "A's note").await;
    // A won deal of A, last month: it must not reach B's forecasts.
    let last_month = (chrono::Utc::now().date_naive().with_day(1).unwrap() - chrono::Days::new(1))
        .format("%Y-%m-%dT12:00:00Z")
        .to_string();
    app
        .with(&ta.token)
        .create("/api/deals", json!({"title": "W", "value_cents": 50_000, "stage": "closed_won", "closed_at": last_month}))
        .await;
    // A's leads carry scores and A has its own scoring configuration, so B's
    // batches and configuration changes have something of A's to (not) touch.
    app.call(
        Method::PUT,
        "/api/scoring/config",
        Some(&ta.token),
        Some(json!({"thresholds": {"hot": 90, "warm": 70, "lukewarm": 50}})),
    )
    .await;
    app.post_ok("/api/scoring/run", &ta.token, json!({}), 200)
        .await;
    let before = snapshot(&app, &ta).await;
    assert!(before["/api/leads"][0]["score"].is_number(), "{before}");
    let mut b_events = app.events.subscribe_org(neuracrm_domain::OrgId(ta.org_id));

    // A session of A's user, for the paths that name one.
    let a_sessions = format!("/api/users/{}/sessions", a.user);
    let a_session = app.get_ok(&a_sessions, &ta.token).await["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();

    let spec: Value = app.openapi().await;
    let mut walked = 0;
    let mut b_stream = None;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let m: Method = method.to_uppercase().parse().unwrap();
            let op = format!("{method} {path}");
            if path.contains("{id}") {
                let url = path
                    .replace("{id}", &id_for(path, &a).to_string())
                    .replace("{session_id}", &a_session)
                    .replace("{action}", "cancel");
                let body = match m {
                    Method::PATCH => Some(patch_body(path)),
                    // Adds A's own contact to A's segment, if it could.
                    Method::POST if path.ends_with("/members") => {
                        Some(json!({"add": [a.contact], "remove": []}))
                    }
                    // B's own contact: the template is what is not B's.
                    Method::POST if path.ends_with("/preview") => {
                        Some(json!({"contact_id": b.contact}))
                    }
                    Method::POST if path.ends_with("/test") => {
                        Some(json!({"to": "qa@beta.example.com", "contact_id": b.contact}))
                    }
                    _ => None,
                };
                let r = app.call(m.clone(), &url, Some(&tb.token), body).await;
                assert_error(r, 404, "not_found").await;
                walked += 1;
                continue;
            }
            match op.as_str() {
                // Not tenant-addressable: no id of another organization can be named.
                "post /api/auth/register"
                | "post /api/auth/login"
                | "post /api/auth/refresh"
                | "post /api/auth/logout"
                | "get /api/me" => {
                    walked += 1;
                }
                "get /api/users" => {
                    let list = app.get_ok(path, &tb.token).await;
                    assert!(
                        !list.to_string().contains("alpha.example.com"),
                        "{op}: {list}"
                    );
                    walked += 1;
                }
                "post /api/users" => {
                    // A user B creates belongs to B; A's list does not change (checked below).
                    app.post_ok(path, &tb.token, json!({"email": "new@beta.example.com", "name": "N", "role": "rep", "password": "a fine new secret"}), 201).await;
                    walked += 1;
                }
                "get /api/contacts"
                | "get /api/leads"
                | "get /api/deals"
                | "get /api/activities" => {
                    let filters = [
                        format!("owner_id={}", a.user),
                        format!("contact_id={}", a.contact),
                        format!("lead_id={}", a.lead),
                        format!("deal_id={}", a.deal),
                        format!("user_id={}", ta.admin_id),
                        "q=Ada".into(),
                    ];
                    for f in filters {
                        let r = app.get(&format!("{path}?{f}"), &tb.token).await;
                        if r.status() == 400 {
                            continue; // this list has no such filter
                        }
                        assert_eq!(r.status(), 200, "{op}?{f}");
                        let page: Value = r.json().await.unwrap();
                        for item in page["items"].as_array().unwrap() {
                            assert_eq!(item["organization_id"], tb.org_id, "{op}?{f}: {item}");
                        }
                        if !f.starts_with("q=") {
                            assert!(
                                page["items"].as_array().unwrap().is_empty(),
                                "{op}?{f}: {page}"
                            );
                        }
                    }
                    walked += 1;
                }
                "post /api/contacts"
                | "post /api/leads"
                | "post /api/deals"
                | "post /api/activities" => {
                    let bodies: Vec<(Value, &str)> = match path.as_str() {
                        "/api/contacts" => {
                            vec![(json!({"first_name": "X", "owner_id": a.user}), "owner_id")]
                        }
                        "/api/leads" => vec![
                            (json!({"title": "X", "contact_id": a.contact}), "contact_id"),
                            (json!({"title": "X", "owner_id": a.user}), "owner_id"),
                        ],
                        "/api/deals" => vec![
                            (json!({"title": "X", "contact_id": a.contact}), "contact_id"),
                            (json!({"title": "X", "lead_id": a.lead}), "lead_id"),
                            (json!({"title": "X", "owner_id": a.user}), "owner_id"),
                        ],
                        _ => vec![
                            (
                                json!({"type": "note", "contact_id": a.contact}),
                                "contact_id",
                            ),
                            (json!({"type": "note", "lead_id": a.lead}), "lead_id"),
                            (json!({"type": "note", "deal_id": a.deal}), "deal_id"),
                            (
                                json!({"type": "note", "contact_id": b.contact, "deal_id": a.deal}),
                                "deal_id",
                            ),
                        ],
                    };
                    for (body, field) in bodies {
                        let e = by_tb
                            .post_err(path, body.clone(), 422, "invalid_reference")
                            .await;
                        assert_eq!(e["error"]["field"], field, "{op} {body}");
                    }
                    walked += 1;
                }
                "post /api/import/contacts" => {
                    // Same e-mail as A's contact: B gets its own contact, A's is untouched.
                    let csv = "first_name,email,company\nMallory,ada@shared.example.com,Evil\n";
                    let report = by_tb.import_csv(path, csv).await;
                    assert_eq!(
                        report["updated"], 1,
                        "B's own contact with that e-mail: {report}"
                    );
                    walked += 1;
                }
                "get /api/imports" | "get /api/segments" => {
                    let list = app.get_ok(path, &tb.token).await;
                    let own = if path == "/api/imports" {
                        b.import
                    } else {
                        b.segment
                    };
                    let ids: Vec<&Value> = list["items"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|i| &i["id"])
                        .collect();
                    assert_eq!(ids, [&json!(own)], "only B's own: {list}");
                    walked += 1;
                }
                "post /api/sentiment/analyze" => {
                    // Names no record: B's texts, B's analyser.
                    let r = app
                        .post_ok(path, &tb.token, json!({"texts": ["hello", "awful"]}), 200)
                        .await;
                    assert_eq!(r["results"].as_array().unwrap().len(), 2, "{op}");
                    walked += 1;
                }
                "get /api/sentiment/summary" => {
                    for f in [
                        format!("contact_id={}", a.contact),
                        format!("lead_id={}", a.lead),
                    ] {
                        let r = app.get(&format!("{path}?{f}"), &tb.token).await;
                        assert_error(r, 404, "not_found").await;
                    }
                    let own = app.get_ok(&format!("{path}?period=365d"), &tb.token).await;
                    for item in own["most_negative"].as_array().unwrap() {
                        assert_ne!(item["activity_id"], a.activity, "{op}: {own}");
                    }
                    walked += 1;
                }
                "get /api/forecast"
                | "get /api/forecast/accuracy"
                | "get /api/forecast/pipeline" => {
                    // B's own numbers only: A's won deal and open deal are not in them.
                    let f = app.get_ok(path, &tb.token).await;
                    match path.as_str() {
                        "/api/forecast" => {
                            assert_eq!(f["status"], "insufficient_history", "{op}: {f}");
                            assert_eq!(f["history"], json!([]), "{op}: {f}");
                        }
                        "/api/forecast/accuracy" => {
                            assert_eq!(f["by_model"], json!([]), "{op}: {f}")
                        }
                        _ => assert_eq!(f["months"][0]["deals"], 1, "{op}: {f}"),
                    }
                    walked += 1;
                }
                "get /api/forecasting-models" => {
                    let list = app.get_ok(path, &tb.token).await;
                    // B's starter model and the one it made; none of A's.
                    let items = list["items"].as_array().unwrap();
                    assert_eq!(items.len(), 2, "{op}: {list}");
                    assert!(
                        items.iter().all(|m| m["organization_id"] == tb.org_id),
                        "{op}: {list}"
                    );
                    walked += 1;
                }
                "post /api/forecasting-models" => {
                    // A model B creates is B's; A's list does not change (checked below).
                    app.post_ok(path, &tb.token, json!({"metric": "deals_won"}), 201)
                        .await;
                    walked += 1;
                }
                "post /api/import/leads" => {
                    // A's contact e-mail and A's lead title: B's own contact
                    // gets B's own lead; A's lead is untouched.
                    let csv = "email,title,description\nada@shared.example.com,L,changed by B\n";
                    let report = by_tb.import_csv(path, csv).await;
                    assert_eq!(report["updated"], 1, "B's own lead L: {report}");
                    walked += 1;
                }
                "get /api/scoring/config" => {
                    let c = app.get_ok(path, &tb.token).await;
                    assert_eq!(
                        c["thresholds"]["hot"], 80.0,
                        "B sees its own (default) configuration"
                    );
                    walked += 1;
                }
                "put /api/scoring/config" => {
                    // B's change is B's: A's configuration and A's leads stay (checked below).
                    let r = app
                        .call(
                            Method::PUT,
                            path,
                            Some(&tb.token),
                            Some(json!({"weights": {"industry": 0.25, "engagement": 0.20}})),
                        )
                        .await;
                    assert_eq!(r.status(), 200, "{op}");
                    let body: Value = r.json().await.unwrap();
                    assert_eq!(
                        body["leads_marked_for_rescoring"], 1,
                        "only B's lead: {body}"
                    );
                    walked += 1;
                }
                "post /api/scoring/config/preview" => {
                    let preview = app.post_ok(path, &tb.token, json!({}), 200).await;
                    let leads: Vec<i64> = preview["items"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|i| i["lead_id"].as_i64().unwrap())
                        .collect();
                    assert_eq!(leads, [b.lead], "only B's lead: {preview}");
                    walked += 1;
                }
                "post /api/scoring/run" => {
                    let run = app.post_ok(path, &tb.token, json!({}), 200).await;
                    assert_eq!(run["total_processed"], 1, "only B's lead: {run}");
                    walked += 1;
                }
                "get /api/scoring/analytics" => {
                    let a_stats = app.get_ok(path, &tb.token).await;
                    let leads: i64 = a_stats["distribution"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|c| c["leads"].as_i64().unwrap())
                        .sum::<i64>()
                        + a_stats["unscored"].as_i64().unwrap();
                    assert_eq!(leads, 1, "B counts only its own lead: {a_stats}");
                    walked += 1;
                }
                "get /api/ws" => {
                    // The socket's isolation is tested over a real WebSocket
                    // in ws.rs (B's socket never gets A's events); without a
                    // handshake it answers nothing but 426.
                    let r = app.get(path, &tb.token).await;
                    assert_eq!(r.status(), 426, "{path}");
                    walked += 1;
                }
                "get /api/segments/suggestions" | "post /api/segments/suggestions/save" => {
                    // B's suggestions cluster B's contacts only, and a saved
                    // one holds B's contacts only.
                    let mine = app.get_ok("/api/contacts?limit=200", &tb.token).await["items"]
                        .as_array()
                        .unwrap()
                        .len();
                    let s = app.get_ok("/api/segments/suggestions", &tb.token).await;
                    assert_eq!(s["contacts"], mine, "{op}: {s}");
                    if path.ends_with("/save") {
                        let body = json!({"name": "B's cluster", "k": 2, "cluster": 0});
                        if mine > 2 {
                            let saved = app.post_ok(path, &tb.token, body, 201).await;
                            assert_eq!(saved["organization_id"], tb.org_id, "{op}");
                            assert!(saved["size"].as_u64().unwrap() <= mine as u64, "{op}");
                        } else {
                            let r = app.post(path, &tb.token, body).await;
                            assert_error(r, 422, "validation_failed").await;
                        }
                    }
                    walked += 1;
                }
                "post /api/segments/rfm" => {
                    // B's ten RFM segments hold B's customers only: B has none.
                    let made = app.post_ok(path, &tb.token, json!({}), 201).await;
                    let made = made.as_array().unwrap();
                    assert_eq!(made.len(), 10, "{op}");
                    assert!(
                        made.iter()
                            .all(|s| s["size"] == 0 && s["organization_id"] == tb.org_id),
                        "{op}: {made:?}"
                    );
                    walked += 1;
                }
                "post /api/segments" | "post /api/segments/preview" => {
                    // A rule selecting everyone selects B's contacts only,
                    // and one naming A's user as owner selects nobody.
                    let everyone = json!({"field": "total_deals", "operand": "gte", "value": 0});
                    let owned = json!({"field": "owner_id", "operand": "is", "value": a.user});
                    let body =
                        |rule: &Value| json!({"name": "B's", "kind": "static", "rule": rule});
                    let mine = app.get_ok("/api/contacts?limit=200", &tb.token).await["items"]
                        .as_array()
                        .unwrap()
                        .len();
                    if path == "/api/segments" {
                        let s = app.post_ok(path, &tb.token, body(&everyone), 201).await;
                        assert_eq!(s["size"], mine, "B's contacts only: {s}");
                        let s = app.post_ok(path, &tb.token, body(&owned), 201).await;
                        assert_eq!(s["size"], 0, "{s}");
                    } else {
                        let p = app
                            .post_ok(path, &tb.token, json!({"rule": everyone}), 200)
                            .await;
                        assert_eq!(p["count"], mine, "{p}");
                        let p = app
                            .post_ok(path, &tb.token, json!({"rule": owned}), 200)
                            .await;
                        assert_eq!(p["count"], 0, "{p}");
                    }
                    walked += 1;
                }
                "get /api/email-templates" | "get /api/campaigns" => {
                    let list = app.get_ok(path, &tb.token).await;
                    let items = list["items"].as_array().unwrap();
                    assert_eq!(items.len(), 1, "{op}: {list}");
                    assert_eq!(items[0]["organization_id"], tb.org_id, "{op}: {list}");
                    walked += 1;
                }
                "post /api/email-templates" => {
                    app.post_ok(
                        path,
                        &tb.token,
                        json!({"name": "B's", "subject": "s", "html": "h"}),
                        201,
                    )
                    .await;
                    walked += 1;
                }
                "post /api/campaigns" => {
                    // B's campaign cannot target A's contact, nor use A's template.
                    let tpl = app.get_ok("/api/email-templates", &tb.token).await["items"][0]["id"]
                        .clone();
                    for body in [
                        json!({"name": "x", "template_id": tpl, "target": {"type": "contacts", "ids": [a.contact]}}),
                        json!({"name": "x", "template_id": tpl, "target": {"type": "leads", "ids": [a.lead]}}),
                        json!({"name": "x", "template_id": a.template, "target": {"type": "contacts"}}),
                    ] {
                        assert_error(
                            app.post(path, &tb.token, body).await,
                            422,
                            "invalid_reference",
                        )
                        .await;
                    }
                    walked += 1;
                }
                "get /api/suppressions" => {
                    let list = app.get_ok(path, &tb.token).await;
                    assert!(!list.to_string().contains("alpha"), "{op}: {list}");
                    walked += 1;
                }
                "post /api/suppressions" => {
                    // A's suppressed address suppressed by B is B's row; A's list stays.
                    app.post_ok(
                        path,
                        &tb.token,
                        json!({"email": "gone@alpha.example.com"}),
                        201,
                    )
                    .await;
                    walked += 1;
                }
                "delete /api/suppressions/{email}" => {
                    let r = app
                        .delete("/api/suppressions/gone@alpha.example.com", &tb.token)
                        .await;
                    assert_eq!(r.status(), 204, "{op}: B lifts its own row");
                    let r = app
                        .delete("/api/suppressions/gone@alpha.example.com", &tb.token)
                        .await;
                    assert_error(r, 404, "not_found").await;
                    walked += 1;
                }
                "get /api/voice/settings" | "get /api/voice/agents" => {
                    // B's own: no API key, no agent provisioned (A's are in
                    // the snapshot, checked unchanged after the walk).
                    let own = app.get_ok(path, &tb.token).await;
                    if path.ends_with("settings") {
                        assert_eq!(own["has_api_key"], false, "{op}: {own}");
                    } else {
                        assert!(
                            own["items"]
                                .as_array()
                                .unwrap()
                                .iter()
                                .all(|a| a["agent_id"].is_null()),
                            "{op}: {own}"
                        );
                    }
                    walked += 1;
                }
                "patch /api/voice/settings" | "patch /api/voice/agents/{scenario}" => {
                    // B's change is B's: A's settings and agents stay (snapshot).
                    let (url, body) = if path.ends_with("settings") {
                        (
                            path.clone(),
                            json!({"max_concurrent_calls": 1, "time_zone": "Asia/Tokyo"}),
                        )
                    } else {
                        (
                            path.replace("{scenario}", "sales_outbound"),
                            json!({"name": "B's agent"}),
                        )
                    };
                    by_tb.patch_ok(&url, body).await;
                    walked += 1;
                }
                "post /api/voice/agents" => {
                    // No Retell key on this deployment: refused before any call out.
                    by_tb
                        .post_err(path, json!({"scenario": "sales_outbound"}), 409, "conflict")
                        .await;
                    walked += 1;
                }
                "get /api/calls" => {
                    // B's own call only; A's lead and contact select nothing.
                    let own = app.get_ok(path, &tb.token).await;
                    assert_eq!(column::<i64>(&own["items"], "id"), [b.call], "{op}: {own}");
                    for f in [
                        format!("lead_id={}", a.lead),
                        format!("contact_id={}", a.contact),
                    ] {
                        let page = app.get_ok(&format!("{path}?{f}"), &tb.token).await;
                        assert!(items(&page).is_empty(), "{op}?{f}: {page}");
                    }
                    walked += 1;
                }
                "get /api/call-batches" => {
                    // B's own batch only.
                    let own = app.get_ok(path, &tb.token).await;
                    assert_eq!(column::<i64>(&own["items"], "id"), [b.batch], "{op}: {own}");
                    walked += 1;
                }
                "post /api/call-batches" => {
                    // A's leads are left out of B's batch: none remains.
                    by_tb
                        .post_err(
                            path,
                            json!({"lead_ids": [a.lead], "scenario": "sales_outbound"}),
                            409,
                            "conflict",
                        )
                        .await;
                    walked += 1;
                }
                "post /api/calls" => {
                    by_tb
                        .post_err(
                            path,
                            json!({"lead_id": a.lead, "scenario": "sales_outbound"}),
                            404,
                            "not_found",
                        )
                        .await;
                    by_tb
                        .post_err(
                            path,
                            json!({"contact_id": a.contact, "scenario": "sales_outbound"}),
                            404,
                            "not_found",
                        )
                        .await;
                    walked += 1;
                }
                "post /api/voice/webhook" => {
                    // No token: the signature is the authority (voice.rs tests it).
                    let r = app
                        .post(
                            path,
                            &tb.token,
                            json!({"event": "call_ended", "call": {"call_id": "x"}}),
                        )
                        .await;
                    assert_error(r, 401, "unauthorized").await;
                    walked += 1;
                }
                "post /api/webhooks/bounces/secret" => {
                    // B's secret is B's: A's reports do not verify with it.
                    let s = app.post_ok(path, &tb.token, json!({}), 200).await;
                    assert_eq!(s["organization_id"], tb.org_id, "{op}");
                    walked += 1;
                }
                "post /api/webhooks/bounces" => {
                    // Signed with B's own secret but naming A: refused.
                    let s = app
                        .post_ok("/api/webhooks/bounces/secret", &tb.token, json!({}), 200)
                        .await;
                    let body =
                        json!({"email": "ada@alpha.example.com", "type": "hard"}).to_string();
                    let now = chrono::Utc::now().timestamp();
                    let r = crate::campaign_bounces::signed_bounce(
                        &app,
                        ta.org_id,
                        s["secret"].as_str().unwrap(),
                        now,
                        &body,
                    )
                    .await;
                    assert_error(r, 401, "unauthorized").await;
                    walked += 1;
                }
                "get /api/events" => {
                    // B watches while it walks; checked after the walk.
                    b_stream = Some(EventStream::open(&app, path, &tb.token).await);
                    walked += 1;
                }
                other => panic!("the isolation walk does not know {other}: add it"),
            }
        }
    }
    assert!(walked >= 30, "walked only {walked} operations");
    let still = app.get_ok(&a_sessions, &ta.token).await;
    assert!(
        still["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["id"] == a_session.as_str()),
        "B revoked nothing of A's: {still}"
    );

    // Everything B's event stream carried up to a last write of B's is B's.
    let mut b_stream = b_stream.expect("the walk opened B's event stream");
    let last = by_tb
        .create("/api/contacts", json!({"first_name": "Last"}))
        .await;
    loop {
        let m = b_stream
            .next_within(MUST_COME)
            .await
            .expect("B's last write reaches B's stream");
        assert_eq!(m.data["organization_id"], tb.org_id, "{m:?}");
        if m.event == "contact_created" && m.data["id"] == last["id"] {
            break;
        }
    }

    // B's own records cannot be pointed at A's by a patch either.
    for (path, body, field) in [
        (
            format!("/api/contacts/{}", b.contact),
            json!({"owner_id": a.user}),
            "owner_id",
        ),
        (
            format!("/api/leads/{}", b.lead),
            json!({"contact_id": a.contact}),
            "contact_id",
        ),
        (
            format!("/api/deals/{}", b.deal),
            json!({"lead_id": a.lead}),
            "lead_id",
        ),
        (
            format!("/api/deals/{}", b.deal),
            json!({"contact_id": a.contact}),
            "contact_id",
        ),
    ] {
        let e = by_tb.patch_err(&path, body, 422, "invalid_reference").await;
        assert_eq!(e["error"]["field"], field, "{path}");
    }

    assert_eq!(snapshot(&app, &ta).await, before, "nothing of A changed");
    // A's segment (outside the snapshot: its refresh time moves with A's
    // own writes) keeps its name and its one member.
    let seg = app
        .get_ok(&format!("/api/segments/{}", a.segment), &ta.token)
        .await;
    assert_eq!(
        (seg["name"].as_str(), seg["size"].as_i64()),
        (Some("Everyone"), Some(1))
    );
    assert!(
        b_events.try_recv().is_none(),
        "no event of organization A was published"
    );
}
