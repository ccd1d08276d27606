//! CRUD, lists, filters, sorting, nested reads and the events every write
//! publishes.

use neuracrm_domain::{DealStage, EventKind, OrgId};
use serde_json::{Value, json};

use crate::helpers::{assert_error, spawn_app, spawn_tenant};

fn ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn contact_crud_publishes_events() {
    let (app, t) = spawn_tenant("Acme").await;
    let by_t = app.with(&t.token);
    let mut all = app.events.subscribe();
    let c = by_t
        .create("/api/contacts", json!({"first_name": "Ada", "last_name": "Lovelace", "email": "Ada@Example.com", "company": "Analytical", "company_size": 12}))
        .await;
    let id = c["id"].as_i64().unwrap();
    assert_eq!(c["email"], "ada@example.com");
    assert_eq!(c["organization_id"], t.org_id);
    assert_eq!(c["owner_id"], Value::Null);

    let mut got = app.get_ok(&format!("/api/contacts/{id}"), &t.token).await;
    // A contact read on its own also says which segments hold it.
    assert_eq!(got["segments"], json!([]), "{got}");
    got.as_object_mut().unwrap().remove("segments");
    assert_eq!(got, c);

    let p = by_t
        .patch_ok(
            &format!("/api/contacts/{id}"),
            json!({"company": null, "phone": "+1 555"}),
        )
        .await;
    assert_eq!(
        (p["company"].clone(), p["phone"].clone()),
        (Value::Null, json!("+1 555"))
    );
    assert_eq!(p["last_name"], "Lovelace", "absent fields stay");

    // A second contact with the same e-mail is a conflict naming the field.
    let r = app
        .post(
            "/api/contacts",
            &t.token,
            json!({"first_name": "Other", "email": "ada@example.com"}),
        )
        .await;
    assert_eq!(
        assert_error(r, 409, "conflict").await["error"]["field"],
        "email"
    );

    by_t.deleted(&format!("/api/contacts/{id}")).await;
    by_t.get_err(&format!("/api/contacts/{id}"), 404, "not_found")
        .await;
    by_t.delete_err(&format!("/api/contacts/{id}"), 404, "not_found")
        .await;

    let kinds: Vec<String> = (0..3)
        .map(|_| {
            let e = all.try_recv().expect("an event per write").unwrap();
            assert_eq!(e.organization_id, OrgId(t.org_id));
            e.kind.name().to_string()
        })
        .collect();
    assert_eq!(
        kinds,
        ["contact_created", "contact_updated", "contact_deleted"]
    );
    assert!(all.try_recv().is_none(), "failed writes publish nothing");
}

#[tokio::test]
async fn lead_and_deal_lifecycle_with_stage_events() {
    let (app, t) = spawn_tenant("Acme").await;
    let by_t = app.with(&t.token);
    let c = by_t
        .create(
            "/api/contacts",
            json!({"first_name": "Grace", "company": "Navy"}),
        )
        .await;
    let cid = c["id"].as_i64().unwrap();
    let mut sub = app.events.subscribe_org(OrgId(t.org_id));

    let l = by_t
        .create("/api/leads", json!({"title": "Compiler licences", "contact_id": cid, "source": "referral", "budget_cents": 500000, "expected_decision": "2026-03-01"}))
        .await;
    assert_eq!(
        (l["status"].as_str(), l["source"].as_str()),
        (Some("new"), Some("referral"))
    );
    let lid = l["id"].as_i64().unwrap();
    by_t.patch_ok(&format!("/api/leads/{lid}"), json!({"status": "qualified"}))
        .await;

    let d = by_t
        .create("/api/deals", json!({"title": "Licences", "contact_id": cid, "lead_id": lid, "value_cents": 120000, "stage": "proposal"}))
        .await;
    assert_eq!(d["status"], "open");
    let did = d["id"].as_i64().unwrap();
    let won = by_t
        .patch_ok(&format!("/api/deals/{did}"), json!({"stage": "closed_won"}))
        .await;
    assert_eq!(won["status"], "won");
    assert!(won["closed_at"].is_string());

    let a = by_t
        .create("/api/activities", json!({"type": "call", "lead_id": lid, "duration_seconds": 300, "body": "Talked budget"}))
        .await;
    assert_eq!(a["user_id"], t.admin_id, "recorded by the caller");
    let aid = a["id"].as_i64().unwrap();
    let a2 = by_t
        .patch_ok(
            &format!("/api/activities/{aid}"),
            json!({"subject": "Budget call"}),
        )
        .await;
    assert_eq!(a2["subject"], "Budget call");

    let mut events = Vec::new();
    while let Some(e) = sub.try_recv() {
        events.push(e.unwrap().kind);
    }
    let names: Vec<&str> = events.iter().map(|k| k.name()).collect();
    assert_eq!(
        names,
        [
            "lead_created",
            "lead_updated",
            "deal_created",
            "deal_updated",
            "activity_logged",
            "activity_updated"
        ]
    );
    match &events[3] {
        EventKind::DealUpdated {
            old_stage,
            new_stage,
            ..
        } => {
            assert_eq!(
                (*old_stage, *new_stage),
                (DealStage::Proposal, DealStage::ClosedWon)
            );
        }
        other => panic!("{other:?}"),
    }

    // Nested reads: the contact's leads, deals and timeline.
    assert_eq!(
        ids(&app
            .get_ok(&format!("/api/contacts/{cid}/leads"), &t.token)
            .await),
        [lid]
    );
    assert_eq!(
        ids(&app
            .get_ok(&format!("/api/contacts/{cid}/deals"), &t.token)
            .await),
        [did]
    );
    assert_eq!(
        ids(&app
            .get_ok(&format!("/api/contacts/{cid}/activities"), &t.token)
            .await),
        [aid],
        "the lead's activity is on the contact's timeline"
    );

    for path in [
        format!("/api/activities/{aid}"),
        format!("/api/deals/{did}"),
        format!("/api/leads/{lid}"),
    ] {
        assert_eq!(app.delete(&path, &t.token).await.status(), 204, "{path}");
    }
    let names: Vec<String> = std::iter::from_fn(|| sub.try_recv())
        .map(|e| e.unwrap().kind.name().to_string())
        .collect();
    assert_eq!(names, ["activity_deleted", "deal_deleted", "lead_deleted"]);
}

#[tokio::test]
async fn lists_page_filter_and_sort() {
    let (app, t) = spawn_tenant("Acme").await;
    let by_t = app.with(&t.token);
    let mut lead_ids = Vec::new();
    for (i, (title, status, source, budget)) in [
        ("Alpha deal", "new", "website", 100),
        ("Beta expansion", "qualified", "referral", 300),
        ("Gamma pilot", "qualified", "website", 200),
    ]
    .into_iter()
    .enumerate()
    {
        let c = by_t
            .create(
                "/api/contacts",
                json!({"first_name": format!("P{i}"), "company": format!("Company{i}")}),
            )
            .await;
        let l = by_t
            .create("/api/leads", json!({"title": title, "status": status, "source": source, "budget_cents": budget, "contact_id": c["id"]}))
            .await;
        lead_ids.push(l["id"].as_i64().unwrap());
    }
    let page = app.get_ok("/api/leads?limit=2", &t.token).await;
    assert_eq!(
        (
            page["limit"].as_i64(),
            page["offset"].as_i64(),
            page["has_more"].as_bool()
        ),
        (Some(2), Some(0), Some(true))
    );
    assert_eq!(
        ids(&page),
        [lead_ids[2], lead_ids[1]],
        "newest first by default"
    );
    let page = app.get_ok("/api/leads?limit=2&offset=2", &t.token).await;
    assert_eq!(
        (ids(&page), page["has_more"].as_bool()),
        (vec![lead_ids[0]], Some(false))
    );

    let q = app
        .get_ok(
            "/api/leads?status=qualified&sort=budget&order=asc",
            &t.token,
        )
        .await;
    assert_eq!(ids(&q), [lead_ids[2], lead_ids[1]]);
    let q = app
        .get_ok("/api/leads?source=website&sort=title&order=desc", &t.token)
        .await;
    assert_eq!(ids(&q), [lead_ids[2], lead_ids[0]]);
    let q = app.get_ok("/api/leads?q=company1", &t.token).await;
    assert_eq!(
        ids(&q),
        [lead_ids[1]],
        "free text matches the contact's company"
    );
    let q = app.get_ok("/api/leads?q=EXPANSION", &t.token).await;
    assert_eq!(ids(&q), [lead_ids[1]]);
    let q = app
        .get_ok(
            "/api/leads?created_from=2000-01-01T00:00:00Z&created_to=2001-01-01T00:00:00Z",
            &t.token,
        )
        .await;
    assert!(ids(&q).is_empty());

    let c = app
        .get_ok("/api/contacts?q=p1&sort=name&order=asc", &t.token)
        .await;
    assert_eq!(c["items"].as_array().unwrap().len(), 1);

    for (i, stage) in ["prospecting", "negotiation"].iter().enumerate() {
        app.with(&t.token)
            .create(
                "/api/deals",
                json!({"title": format!("D{i}"), "stage": stage, "value_cents": (i + 1) * 1000}),
            )
            .await;
    }
    let d = app.get_ok("/api/deals?stage=negotiation", &t.token).await;
    assert_eq!(d["items"][0]["title"], "D1");
    let d = app
        .get_ok("/api/deals?sort=value&order=asc&status=open", &t.token)
        .await;
    assert_eq!(d["items"][0]["title"], "D0");

    for bad in [
        "/api/leads?sort=nope",
        "/api/leads?order=sideways",
        "/api/deals?sort=score",
        "/api/contacts?sort=score",
    ] {
        let e = assert_error(app.get(bad, &t.token).await, 400, "invalid_query").await;
        assert!(
            e["error"]["field"] == "sort" || e["error"]["field"] == "order",
            "{bad}: {e}"
        );
    }
}

#[tokio::test]
async fn users_are_managed_by_admins_only() {
    let (app, t) = spawn_tenant("Acme").await;
    let by_t = app.with(&t.token);
    let (rep_id, rep) = app.member(&t, "rep@acme.example.com", "rep").await;
    let (_, manager) = app.member(&t, "manager@acme.example.com", "manager").await;
    for token in [&rep, &manager] {
        assert_error(app.get("/api/users", token).await, 403, "forbidden").await;
        assert_error(
            app.post("/api/users", token, json!({"email": "x@acme.example.com", "name": "X", "role": "admin", "password": "a fine new secret"})).await,
            403,
            "forbidden",
        )
        .await;
        assert_error(
            app.delete(&format!("/api/users/{rep_id}"), token).await,
            403,
            "forbidden",
        )
        .await;
    }
    // Reps work with records all the same.
    app.with(&rep)
        .create("/api/contacts", json!({"first_name": "Rep's contact"}))
        .await;

    let list = app.get_ok("/api/users", &t.token).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 3);
    assert!(!list.to_string().contains("argon2"));
    let mut events = app.events.subscribe_org(OrgId(t.org_id));
    let u: Value = app
        .patch(
            &format!("/api/users/{rep_id}"),
            &t.token,
            json!({"role": "manager", "name": "Promoted"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (u["role"].as_str(), u["name"].as_str()),
        (Some("manager"), Some("Promoted"))
    );
    by_t.patch_err(
        &format!("/api/users/{}", t.admin_id),
        json!({"role": "rep"}),
        409,
        "conflict",
    )
    .await;
    assert_error(
        app.delete(&format!("/api/users/{}", t.admin_id), &t.token)
            .await,
        409,
        "conflict",
    )
    .await;
    by_t.deleted(&format!("/api/users/{rep_id}")).await;
    by_t.get_err(&format!("/api/users/{rep_id}"), 404, "not_found")
        .await;
    assert_error(app.get("/api/me", &rep).await, 401, "unauthorized").await;
    let user_events: Vec<(String, Value)> = std::iter::from_fn(|| events.try_recv())
        .map(|e| {
            let e = e.unwrap();
            (
                e.kind.name().to_string(),
                serde_json::to_value(&e).unwrap()["id"].clone(),
            )
        })
        .collect();
    assert_eq!(
        user_events,
        [
            ("user_updated".to_string(), json!(rep_id)),
            ("user_deleted".to_string(), json!(rep_id))
        ],
        "the refused patch and delete published nothing"
    );
    let r = app
        .post("/api/users", &t.token, json!({"email": "manager@acme.example.com", "name": "Dup", "role": "rep", "password": "a fine new secret"}))
        .await;
    assert_eq!(
        assert_error(r, 409, "conflict").await["error"]["field"],
        "email"
    );
}

#[tokio::test]
async fn openapi_and_swagger_ui_are_served() {
    let app = spawn_app().await;
    let spec = app.openapi().await;
    let paths = spec["paths"].as_object().unwrap();
    for p in [
        "/api/auth/register",
        "/api/auth/login",
        "/api/auth/refresh",
        "/api/me",
        "/api/users",
        "/api/users/{id}",
        "/api/contacts",
        "/api/contacts/{id}",
        "/api/contacts/{id}/leads",
        "/api/contacts/{id}/deals",
        "/api/contacts/{id}/activities",
        "/api/leads",
        "/api/leads/{id}",
        "/api/deals",
        "/api/deals/{id}",
        "/api/activities",
        "/api/activities/{id}",
        "/api/import/contacts",
    ] {
        assert!(paths.contains_key(p), "{p} missing from the spec");
    }
    let schemas = spec["components"]["schemas"].as_object().unwrap();
    for s in [
        "ContactOut",
        "LeadOut",
        "DealOut",
        "ActivityOut",
        "ErrorBody",
        "TokenResponse",
        "LeadStatus",
        "SortOrder",
        "LeadSortKey",
        "DealSortKey",
        "ContactSortKey",
    ] {
        assert!(schemas.contains_key(s), "{s}");
    }
    // Every reference resolves (query parameters do not register theirs).
    let text = spec.to_string();
    for part in text.split("\"#/components/schemas/").skip(1) {
        let name = &part[..part.find('"').unwrap()];
        assert!(schemas.contains_key(name), "dangling $ref to {name}");
    }
    let r = app.client.get(app.url("/api/docs/")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().to_lowercase().contains("swagger"));
}
