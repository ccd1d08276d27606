//! E-mail campaigns: templates checked at save time and previewed,
//! campaigns written while draft and moved through their statuses, the
//! frozen recipient list, suppressions; each on SQLite and PostgreSQL.

use neuracrm_domain::{CampaignId, OrgId};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    Tenant, TestApp, column, id_of, items, message, spawn_tenant, spawn_two_tenants,
};

async fn contact(app: &TestApp, t: &Tenant, first: &str, email: Option<&str>) -> i64 {
    let mut body = json!({"first_name": first, "company": "Acme <Labs>"});
    if let Some(e) = email {
        body["email"] = json!(e);
    }
    app.with(&t.token).create_id("/api/contacts", body).await
}

async fn template(app: &TestApp, t: &Tenant) -> i64 {
    let html = "<p>Dear {{ contact.first_name }} of {{ contact.company }},</p>\n<p>{{ lead.title }}</p><a href=\"https://example.com/x\">more</a>";
    let subject = "Hi {{ contact.first_name }}";
    app.with(&t.token).template("Hello", subject, html).await
}

#[tokio::test]
async fn templates_are_checked_when_saved_and_previewed_for_a_recipient() {
    let (app, t) = spawn_tenant("Tpl").await;
    let me = app.with(&t.token);
    let id = template(&app, &t).await;
    let tpl = format!("/api/email-templates/{id}");
    let got = me.get_ok(&tpl).await;
    assert_eq!(
        got["text"],
        Value::Null,
        "derived from the HTML at send time"
    );

    // An unknown variable: 422 naming the part, the line and the column.
    let bad =
        json!({"name": "Bad", "subject": "Hi", "html": "<p>ok</p>\n<p>{{ contact.nickname }}</p>"});
    let e = me.post_invalid("/api/email-templates", bad).await;
    assert_eq!(e["error"]["field"], "html", "{e}");
    assert_eq!(
        e["error"]["message"],
        "line 2, column 7: unknown variable `contact.nickname`"
    );
    // A syntax error, in a change: refused the same way, nothing changed.
    let bad = json!({"subject": "Hi {% if %}"});
    let e = me.patch_err(&tpl, bad, 422, "validation_failed").await;
    assert_eq!(e["error"]["field"], "subject", "{e}");
    assert!(message(&e).starts_with("line 1, column "), "{e}");
    // The minimal body of the issue works as it is.
    assert_eq!(
        me.get_ok(&tpl).await["subject"],
        "Hi {{ contact.first_name }}"
    );

    // A preview for a contact: personalised, HTML-escaped, text derived.
    let c = contact(&app, &t, "Ada", Some("ada@example.com")).await;
    let preview = format!("{tpl}/preview");
    let p = me.post_ok(&preview, json!({"contact_id": c})).await;
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
    let l = me
        .create("/api/leads", json!({"title": "Big order", "contact_id": c}))
        .await;
    let p = me.post_ok(&preview, json!({"lead_id": l["id"]})).await;
    assert!(
        p["html"].as_str().unwrap().contains("<p>Big order</p>"),
        "{p}"
    );
    me.post_invalid(&preview, json!({})).await;

    // Another organization sees none of it.
    let other = app.tenant("Other").await;
    let they = app.with(&other.token);
    they.get_err(&tpl, 404, "not_found").await;
    they.post_err(&preview, json!({"contact_id": c}), 404, "not_found")
        .await;
    // A rep reads templates but does not write them.
    let (_, rep) = app.member(&t, "rep@tpl.example.com", "rep").await;
    let rep = app.with(&rep);
    rep.get_ok("/api/email-templates").await;
    let body = json!({"name": "x", "subject": "x", "html": "x"});
    rep.post_err("/api/email-templates", body, 403, "forbidden")
        .await;
}

#[tokio::test]
async fn campaigns_move_through_their_statuses_and_freeze_their_recipients() {
    let (app, t) = spawn_tenant("Camp").await;
    let me = app.with(&t.token);
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
        let lead = json!({"title": title, "contact_id": c});
        leads.push(me.create_id("/api/leads", lead).await);
    }
    me.create("/api/suppressions", json!({"email": "Gone@Example.com"}))
        .await;

    let to_leads = json!({"type": "leads", "ids": leads});
    let c = me.campaign("Spring", tpl, to_leads).await;
    assert_eq!(c["status"], "draft");
    let id = id_of(&c);
    let path = format!("/api/campaigns/{id}");
    app.patch(&path, &t.token, json!({"name": "Spring sale"}))
        .await
        .error_for_status()
        .unwrap();

    // Another organization's records cannot be targeted, nor its template used.
    let other = app.tenant("Else").await;
    let foreign = contact(&app, &other, "Foreign", Some("f@example.com")).await;
    let foreign = json!({"target": {"type": "contacts", "ids": [ada, foreign]}});
    let e = me.patch_err(&path, foreign, 422, "invalid_reference").await;
    assert_eq!(e["error"]["field"], "target");
    let other_tpl = template(&app, &other).await;
    let body = json!({"name": "x", "template_id": other_tpl, "target": {"type": "contacts"}});
    me.post_err("/api/campaigns", body, 422, "invalid_reference")
        .await;
    let they = app.with(&other.token);
    they.get_err(&path, 404, "not_found").await;
    they.post_err(&format!("{path}/pause"), json!({}), 404, "not_found")
        .await;
    // A segment target names a segment of the organization.
    let body = json!({"name": "x", "template_id": tpl, "target": {"type": "segment", "segment_id": 999_999}});
    let e = me
        .post_err("/api/campaigns", body, 422, "invalid_reference")
        .await;
    assert_eq!(e["error"]["field"], "target");

    // Schedule (absent scheduled_at: now); no longer a draft, so no changes.
    let c = me.act(&format!("{path}/schedule")).await;
    assert_eq!(c["status"], "scheduled");
    assert!(c["scheduled_at"].is_string());
    me.patch_err(&path, json!({"name": "late"}), 409, "conflict")
        .await;
    me.delete_err(&path, 409, "conflict").await;
    me.post_err(&format!("{path}/resume"), json!({}), 409, "conflict")
        .await;
    // An action's body may be left out.
    me.expect(Method::POST, &format!("{path}/pause"), None, 200)
        .await;
    let c = me.act(&format!("{path}/resume")).await;
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
    let stats = me.get_ok(&format!("{path}/stats")).await;
    assert_eq!(stats["total"], 5, "{stats}");
    assert_eq!(stats["pending"], 2, "Ada once, Twin: {stats}");
    assert_eq!(stats["skipped_duplicate"], 1, "{stats}");
    assert_eq!(stats["skipped_no_address"], 1, "{stats}");
    assert_eq!(stats["skipped_suppressed"], 1, "{stats}");
    let log = me
        .get_ok(&format!("{path}/recipients?status=skipped"))
        .await;
    let reasons = column::<String>(&log["items"], "skip_reason");
    assert_eq!(reasons, ["duplicate", "no_address", "suppressed"]);
    let pending = me
        .get_ok(&format!("{path}/recipients?status=pending"))
        .await;
    assert_eq!(pending["items"][0]["email"], "ada@example.com");
    assert_eq!(pending["items"][0]["record_type"], "lead");
    assert_eq!(pending["items"][0]["name"], "Ada");
    they.get_err(&format!("{path}/recipients"), 404, "not_found")
        .await;

    // Cancel ends it; ended, it can be deleted, with its log.
    let c = me.act(&format!("{path}/cancel")).await;
    assert_eq!(c["status"], "cancelled");
    assert!(c["finished_at"].is_string());
    me.post_err(&format!("{path}/cancel"), json!({}), 409, "conflict")
        .await;
    me.post_err(&format!("{path}/explode"), json!({}), 400, "invalid_path")
        .await;
    // The template is in use until then.
    let template = format!("/api/email-templates/{tpl}");
    me.delete_err(&template, 409, "conflict").await;
    me.deleted(&path).await;
    me.deleted(&template).await;
}

#[tokio::test]
async fn suppressions_are_listed_added_and_removed_per_organization() {
    let (app, t, other) = spawn_two_tenants("Sup", "Oth").await;
    let (me, they) = (app.with(&t.token), app.with(&other.token));
    let s = me
        .create("/api/suppressions", json!({"email": "X@Example.com"}))
        .await;
    assert_eq!(s["email"], "x@example.com");
    assert_eq!(s["reason"], "manual");
    me.post_invalid("/api/suppressions", json!({"email": "nope"}))
        .await;
    let list = me.get_ok("/api/suppressions").await;
    assert_eq!(items(&list).len(), 1);
    let theirs = they.get_ok("/api/suppressions").await;
    assert_eq!(theirs["items"], json!([]));
    let x = "/api/suppressions/x@example.com";
    they.delete_err(x, 404, "not_found").await;
    me.deleted(x).await;
    me.delete_err("/api/suppressions/not-an-address", 400, "invalid_path")
        .await;
}
