//! E-mail campaigns: templates checked at save time and previewed,
//! campaigns written while draft and moved through their statuses, the
//! frozen recipient list, suppressions; each on SQLite and PostgreSQL.

use neuracrm_domain::{CampaignId, OrgId};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Tenant, TestApp, assert_error, spawn_app};

async fn contact(app: &TestApp, t: &Tenant, first: &str, email: Option<&str>) -> i64 {
    let mut body = json!({"first_name": first, "company": "Acme <Labs>"});
    if let Some(e) = email {
        body["email"] = json!(e);
    }
    app.post_ok("/api/contacts", &t.token, body, 201).await["id"]
        .as_i64()
        .unwrap()
}

async fn template(app: &TestApp, t: &Tenant) -> i64 {
    app.post_ok(
        "/api/email-templates",
        &t.token,
        json!({"name": "Hello", "subject": "Hi {{ contact.first_name }}",
               "html": "<p>Dear {{ contact.first_name }} of {{ contact.company }},</p>\n<p>{{ lead.title }}</p><a href=\"https://example.com/x\">more</a>"}),
        201,
    )
    .await["id"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn templates_are_checked_when_saved_and_previewed_for_a_recipient() {
    let app = spawn_app().await;
    let t = app.tenant("Tpl").await;
    let id = template(&app, &t).await;
    let got = app
        .get_ok(&format!("/api/email-templates/{id}"), &t.token)
        .await;
    assert_eq!(
        got["text"],
        Value::Null,
        "derived from the HTML at send time"
    );

    // An unknown variable: 422 naming the part, the line and the column.
    let e = assert_error(
        app.post(
            "/api/email-templates",
            &t.token,
            json!({"name": "Bad", "subject": "Hi", "html": "<p>ok</p>\n<p>{{ contact.nickname }}</p>"}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(e["error"]["field"], "html", "{e}");
    assert_eq!(
        e["error"]["message"],
        "line 2, column 7: unknown variable `contact.nickname`"
    );
    // A syntax error, in a change: refused the same way, nothing changed.
    let e = assert_error(
        app.patch(
            &format!("/api/email-templates/{id}"),
            &t.token,
            json!({"subject": "Hi {% if %}"}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(e["error"]["field"], "subject", "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("line 1, column "),
        "{e}"
    );
    // The minimal body of the issue works as it is.
    assert_eq!(
        app.get_ok(&format!("/api/email-templates/{id}"), &t.token)
            .await["subject"],
        "Hi {{ contact.first_name }}"
    );

    // A preview for a contact: personalised, HTML-escaped, text derived.
    let c = contact(&app, &t, "Ada", Some("ada@example.com")).await;
    let p = app
        .post_ok(
            &format!("/api/email-templates/{id}/preview"),
            &t.token,
            json!({"contact_id": c}),
            200,
        )
        .await;
    assert_eq!(p["subject"], "Hi Ada");
    assert!(
        p["html"]
            .as_str()
            .unwrap()
            .contains("Dear Ada of Acme &lt;Labs&gt;"),
        "{p}"
    );
    assert_eq!(
        p["text"],
        "Dear Ada of Acme <Labs>,\n\nmore (https://example.com/x)\n"
    );
    // ... and for a lead: its title.
    let l = app
        .post_ok(
            "/api/leads",
            &t.token,
            json!({"title": "Big order", "contact_id": c}),
            201,
        )
        .await;
    let p = app
        .post_ok(
            &format!("/api/email-templates/{id}/preview"),
            &t.token,
            json!({"lead_id": l["id"]}),
            200,
        )
        .await;
    assert!(
        p["html"].as_str().unwrap().contains("<p>Big order</p>"),
        "{p}"
    );
    assert_error(
        app.post(
            &format!("/api/email-templates/{id}/preview"),
            &t.token,
            json!({}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;

    // Another organization sees none of it.
    let other = app.tenant("Other").await;
    assert_error(
        app.get(&format!("/api/email-templates/{id}"), &other.token)
            .await,
        404,
        "not_found",
    )
    .await;
    assert_error(
        app.post(
            &format!("/api/email-templates/{id}/preview"),
            &other.token,
            json!({"contact_id": c}),
        )
        .await,
        404,
        "not_found",
    )
    .await;
    // A rep reads templates but does not write them.
    let (_, rep) = app.member(&t, "rep@tpl.example.com", "rep").await;
    app.get_ok("/api/email-templates", &rep).await;
    assert_error(
        app.post(
            "/api/email-templates",
            &rep,
            json!({"name": "x", "subject": "x", "html": "x"}),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
}

#[tokio::test]
async fn campaigns_move_through_their_statuses_and_freeze_their_recipients() {
    let app = spawn_app().await;
    let t = app.tenant("Camp").await;
    let tpl = template(&app, &t).await;
    let ada = contact(&app, &t, "Ada", Some("ada@example.com")).await;
    let twin = contact(&app, &t, "Twin", Some("twin@example.com")).await;
    let nomail = contact(&app, &t, "Nomail", None).await;
    let gone = contact(&app, &t, "Gone", Some("gone@example.com")).await;
    // Two leads of Ada: one address, one recipient.
    let mut leads = vec![];
    for (title, c) in [
        ("L1", ada),
        ("L2", ada),
        ("L3", nomail),
        ("L4", gone),
        ("L5", twin),
    ] {
        leads.push(
            app.post_ok(
                "/api/leads",
                &t.token,
                json!({"title": title, "contact_id": c}),
                201,
            )
            .await["id"]
                .clone(),
        );
    }
    app.post_ok(
        "/api/suppressions",
        &t.token,
        json!({"email": "Gone@Example.com"}),
        201,
    )
    .await;

    let c = app
        .post_ok(
            "/api/campaigns",
            &t.token,
            json!({"name": "Spring", "template_id": tpl, "target": {"type": "leads", "ids": leads}}),
            201,
        )
        .await;
    assert_eq!(c["status"], "draft");
    let id = c["id"].as_i64().unwrap();
    let path = format!("/api/campaigns/{id}");
    app.patch(&path, &t.token, json!({"name": "Spring sale"}))
        .await
        .error_for_status()
        .unwrap();

    // Another organization's records cannot be targeted, nor its template used.
    let other = app.tenant("Else").await;
    let foreign = contact(&app, &other, "Foreign", Some("f@example.com")).await;
    let e = assert_error(
        app.patch(
            &path,
            &t.token,
            json!({"target": {"type": "contacts", "ids": [ada, foreign]}}),
        )
        .await,
        422,
        "invalid_reference",
    )
    .await;
    assert_eq!(e["error"]["field"], "target");
    let other_tpl = template(&app, &other).await;
    assert_error(
        app.post(
            "/api/campaigns",
            &t.token,
            json!({"name": "x", "template_id": other_tpl, "target": {"type": "contacts"}}),
        )
        .await,
        422,
        "invalid_reference",
    )
    .await;
    assert_error(app.get(&path, &other.token).await, 404, "not_found").await;
    assert_error(
        app.post(&format!("{path}/pause"), &other.token, json!({}))
            .await,
        404,
        "not_found",
    )
    .await;
    // A segment target names a segment of the organization.
    let e = assert_error(
        app.post(
            "/api/campaigns",
            &t.token,
            json!({"name": "x", "template_id": tpl, "target": {"type": "segment", "segment_id": 999_999}}),
        )
        .await,
        422,
        "invalid_reference",
    )
    .await;
    assert_eq!(e["error"]["field"], "target");

    // Schedule (absent scheduled_at: now); no longer a draft, so no changes.
    let c = app
        .post_ok(&format!("{path}/schedule"), &t.token, json!({}), 200)
        .await;
    assert_eq!(c["status"], "scheduled");
    assert!(c["scheduled_at"].is_string());
    assert_error(
        app.patch(&path, &t.token, json!({"name": "late"})).await,
        409,
        "conflict",
    )
    .await;
    assert_error(app.delete(&path, &t.token).await, 409, "conflict").await;
    assert_error(
        app.post(&format!("{path}/resume"), &t.token, json!({}))
            .await,
        409,
        "conflict",
    )
    .await;
    let c = app
        .call(Method::POST, &format!("{path}/pause"), Some(&t.token), None)
        .await;
    assert_eq!(c.status(), 200);
    let c = app
        .post_ok(&format!("{path}/resume"), &t.token, json!({}), 200)
        .await;
    assert_eq!(c["status"], "scheduled", "not started yet: scheduled again");

    // The sender freezes the list when it starts the campaign.
    let store = app.store.campaigns();
    let org = OrgId(t.org_id);
    let due = store.due(Some(org), chrono::Utc::now()).await.unwrap();
    assert_eq!(due, [(org, CampaignId(id))]);
    assert!(
        store
            .due(Some(OrgId(other.org_id)), chrono::Utc::now())
            .await
            .unwrap()
            .is_empty()
    );
    let started = store.start(org, CampaignId(id)).await.unwrap().unwrap();
    assert_eq!(started.status.as_str(), "sending");
    assert!(
        store.start(org, CampaignId(id)).await.unwrap().is_none(),
        "started once"
    );
    let stats = app.get_ok(&format!("{path}/stats"), &t.token).await;
    assert_eq!(stats["total"], 5, "{stats}");
    assert_eq!(stats["pending"], 2, "Ada once, Twin: {stats}");
    assert_eq!(stats["skipped_duplicate"], 1, "{stats}");
    assert_eq!(stats["skipped_no_address"], 1, "{stats}");
    assert_eq!(stats["skipped_suppressed"], 1, "{stats}");
    let log = app
        .get_ok(&format!("{path}/recipients?status=skipped"), &t.token)
        .await;
    let reasons: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["skip_reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["duplicate", "no_address", "suppressed"]);
    let pending = app
        .get_ok(&format!("{path}/recipients?status=pending"), &t.token)
        .await;
    assert_eq!(pending["items"][0]["email"], "ada@example.com");
    assert_eq!(pending["items"][0]["record_type"], "lead");
    assert_eq!(pending["items"][0]["name"], "Ada");
    assert_error(
        app.get(&format!("{path}/recipients"), &other.token).await,
        404,
        "not_found",
    )
    .await;

    // Cancel ends it; ended, it can be deleted, with its log.
    let c = app
        .post_ok(&format!("{path}/cancel"), &t.token, json!({}), 200)
        .await;
    assert_eq!(c["status"], "cancelled");
    assert!(c["finished_at"].is_string());
    assert_error(
        app.post(&format!("{path}/cancel"), &t.token, json!({}))
            .await,
        409,
        "conflict",
    )
    .await;
    assert_error(
        app.post(&format!("{path}/explode"), &t.token, json!({}))
            .await,
        400,
        "invalid_path",
    )
    .await;
    // The template is in use until then.
    assert_error(
        app.delete(&format!("/api/email-templates/{tpl}"), &t.token)
            .await,
        409,
        "conflict",
    )
    .await;
    assert_eq!(app.delete(&path, &t.token).await.status(), 204);
    assert_eq!(
        app.delete(&format!("/api/email-templates/{tpl}"), &t.token)
            .await
            .status(),
        204
    );
}

#[tokio::test]
async fn suppressions_are_listed_added_and_removed_per_organization() {
    let app = spawn_app().await;
    let t = app.tenant("Sup").await;
    let other = app.tenant("Oth").await;
    let s = app
        .post_ok(
            "/api/suppressions",
            &t.token,
            json!({"email": "X@Example.com"}),
            201,
        )
        .await;
    assert_eq!(s["email"], "x@example.com");
    assert_eq!(s["reason"], "manual");
    assert_error(
        app.post("/api/suppressions", &t.token, json!({"email": "nope"}))
            .await,
        422,
        "validation_failed",
    )
    .await;
    let list = app.get_ok("/api/suppressions", &t.token).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let theirs = app.get_ok("/api/suppressions", &other.token).await;
    assert_eq!(theirs["items"], json!([]));
    assert_error(
        app.delete("/api/suppressions/x@example.com", &other.token)
            .await,
        404,
        "not_found",
    )
    .await;
    assert_eq!(
        app.delete("/api/suppressions/x@example.com", &t.token)
            .await
            .status(),
        204
    );
    assert_error(
        app.delete("/api/suppressions/not-an-address", &t.token)
            .await,
        400,
        "invalid_path",
    )
    .await;
}
