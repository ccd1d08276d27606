//! Bounces and complaints reported by the signed webhook: verified before
//! any effect (forged, expired, another organization's or a rotated-out
//! secret: 401), then hard bounces and complaints suppress the address and
//! mark the message sent to it, soft bounces suppress at the set count;
//! each organization's list only. On SQLite and PostgreSQL.

use neuracrm_actions::campaigns::bounces::sign;
use neuracrm_actions::campaigns::send;
use neuracrm_domain::OrgId;
use reqwest::Response;
use serde_json::{Value, json};

use crate::campaign_sending::{app_mailing_to_sink, app_sender, campaign_to, log, scheduled};
use crate::helpers::{TestApp, assert_error, column, spawn_app_with, spawn_tenant};
use crate::smtp_sink::SmtpSink;

/// `POST /api/webhooks/bounces` with `body` as sent, signed by `secret` at
/// `timestamp` for organization `org`.
pub(crate) async fn signed_bounce(
    app: &TestApp,
    org: i64,
    secret: &str,
    timestamp: i64,
    body: &str,
) -> Response {
    let signature = sign(secret, timestamp, body.as_bytes());
    app.client
        .post(app.url("/api/webhooks/bounces"))
        .header("content-type", "application/json")
        .header("x-neuracrm-organization", org.to_string())
        .header("x-neuracrm-timestamp", timestamp.to_string())
        .header("x-neuracrm-signature", format!("sha256={signature}"))
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn report(email: &str, kind: &str) -> String {
    json!({"email": email, "type": kind}).to_string()
}

async fn suppressed(app: &TestApp, token: &str) -> Vec<(String, String)> {
    let list = app.get_ok("/api/suppressions", token).await;
    let (emails, reasons) = (
        column(&list["items"], "email"),
        column(&list["items"], "reason"),
    );
    let mut v: Vec<(String, String)> = emails.into_iter().zip(reasons).collect();
    v.sort();
    v
}

/// A new signing secret of the bounce webhook, made with `token`.
async fn webhook_secret(app: &TestApp, token: &str) -> String {
    let made = app.with(token).act("/api/webhooks/bounces/secret").await;
    made["secret"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn only_a_call_signed_with_the_organizations_current_secret_has_an_effect() {
    let app = spawn_app_with(|_| {}).await;
    let (a, b) = (app.tenant("Alpha").await, app.tenant("Beta").await);
    // Nothing verifies before the organization has a secret.
    let body = report("x@a.example", "hard");
    assert_error(
        signed_bounce(&app, a.org_id, "whsec_guess", now(), &body).await,
        401,
        "unauthorized",
    )
    .await;

    let (_, rep) = app.member(&a, "rep@alpha.example.com", "rep").await;
    let (_, manager) = app.member(&a, "mgr@alpha.example.com", "manager").await;
    let secret_path = "/api/webhooks/bounces/secret";
    for token in [&rep, &manager] {
        assert_error(
            app.post(secret_path, token, json!({})).await,
            403,
            "forbidden",
        )
        .await;
    }
    let made = app.post_ok(secret_path, &a.token, json!({}), 200).await;
    assert_eq!(made["organization_id"], a.org_id);
    let secret = made["secret"].as_str().unwrap().to_string();
    assert!(
        secret.starts_with("whsec_") && secret.len() > 60,
        "{secret}"
    );
    let b_secret = webhook_secret(&app, &b.token).await;
    assert_ne!(secret, b_secret);

    // Refused, each with no effect: a forged signature, an expired or
    // future timestamp, another organization's secret, a body changed
    // after signing, missing headers. An unparsable body with a bad
    // signature is 401, not 422: nothing is read before the check.
    for r in [
        signed_bounce(&app, a.org_id, "whsec_forged", now(), &body).await,
        signed_bounce(&app, a.org_id, &secret, now() - 301, &body).await,
        signed_bounce(&app, a.org_id, &secret, now() + 301, &body).await,
        // The ends of i64 are expired too (the difference to now overflowed).
        signed_bounce(&app, a.org_id, &secret, i64::MIN, &body).await,
        signed_bounce(&app, a.org_id, &secret, i64::MAX, &body).await,
        signed_bounce(&app, i64::MIN, &secret, now(), &body).await,
        signed_bounce(&app, a.org_id, &b_secret, now(), &body).await,
        signed_bounce(&app, b.org_id, &secret, now(), &body).await,
        signed_bounce(&app, a.org_id, "whsec_forged", now(), "not json").await,
        app.send_raw(
            reqwest::Method::POST,
            "/api/webhooks/bounces",
            None,
            "application/json",
            body.clone(),
        )
        .await,
    ] {
        // No bearer challenge: no token would help.
        assert!(r.headers().get("www-authenticate").is_none());
        let e = assert_error(r, 401, "unauthorized").await;
        assert!(!e.to_string().contains("whsec_"), "{e}");
    }
    let ts = now();
    let signature = sign(&secret, ts, body.as_bytes());
    let tampered = app
        .client
        .post(app.url("/api/webhooks/bounces"))
        .header("x-neuracrm-organization", a.org_id.to_string())
        .header("x-neuracrm-timestamp", ts.to_string())
        .header("x-neuracrm-signature", format!("sha256={signature}"))
        .body(report("y@a.example", "hard"))
        .send()
        .await
        .unwrap();
    assert_error(tampered, 401, "unauthorized").await;
    assert!(suppressed(&app, &a.token).await.is_empty());
    assert!(suppressed(&app, &b.token).await.is_empty());

    // Signed right, within the window (a little skew either way is fine).
    let r = signed_bounce(&app, a.org_id, &secret, now() - 200, &body).await;
    assert_eq!(r.status(), 200);
    let out: Value = r.json().await.unwrap();
    assert_eq!(out["suppressed"], true);
    assert_eq!(
        out["recipient_id"],
        Value::Null,
        "no message was sent to it"
    );
    assert_eq!(
        suppressed(&app, &a.token).await,
        [("x@a.example".to_string(), "bounced".to_string())]
    );
    assert!(suppressed(&app, &b.token).await.is_empty(), "only A's list");

    // A verified call with a bad report: 422 naming the field.
    for (bad, field) in [
        (json!({"email": "nope", "type": "hard"}), "email"),
        (json!({"email": "z@a.example", "type": "bouncy"}), "type"),
        (json!({"email": "z@a.example"}), "type"),
        (json!({"email": "z@a.example", "type": "hard", "x": 1}), "x"),
    ] {
        let e = assert_error(
            signed_bounce(&app, a.org_id, &secret, now(), &bad.to_string()).await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(e["error"]["field"], field, "{bad}: {e}");
    }

    // Rotated: the old secret no longer verifies, the new one does.
    let rotated = app.post_ok(secret_path, &a.token, json!({}), 200).await["secret"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(rotated, secret);
    let body = report("w@a.example", "complaint");
    assert_error(
        signed_bounce(&app, a.org_id, &secret, now(), &body).await,
        401,
        "unauthorized",
    )
    .await;
    let r = signed_bounce(&app, a.org_id, &rotated, now(), &body).await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn hard_bounces_and_complaints_suppress_and_mark_the_message_soft_ones_at_the_limit() {
    let (sink, app) = app_mailing_to_sink(|s| s.smtp.soft_bounce_limit = 2).await;
    let (t, other) = (app.tenant("Bounce").await, app.tenant("Other").await);
    let emails = ["hard", "spam", "soft", "ok"].map(|n| format!("{n}@x.example"));
    let (tpl, id, contacts) = campaign_to(&app, &t, &emails).await;
    let crm = app_sender(&app, &sink);
    let report_ = send::process(&crm, Some(OrgId(t.org_id)), &()).await;
    assert_eq!(report_.as_ref().unwrap().sent, 4, "{report_:?}");
    let secret = webhook_secret(&app, &t.token).await;
    let before = log(&app, &t, id).await;
    let call = async |email: &str, kind: &str| -> Value {
        let r = signed_bounce(&app, t.org_id, &secret, now(), &report(email, kind)).await;
        assert_eq!(r.status(), 200, "{email} {kind}");
        r.json().await.unwrap()
    };

    let out = call("hard@x.example", "hard").await;
    assert_eq!(out["recipient_id"], before["hard@x.example"]["id"]);
    assert_eq!(
        (out["suppressed"].clone(), out["soft_bounces"].clone()),
        (json!(true), json!(0))
    );
    let out = call("SPAM@x.example", "complaint").await;
    assert_eq!(
        out["recipient_id"], before["spam@x.example"]["id"],
        "addresses compare in lower case"
    );
    let out = call("soft@x.example", "soft").await;
    assert_eq!(
        (out["suppressed"].clone(), out["soft_bounces"].clone()),
        (json!(false), json!(1))
    );
    assert_eq!(
        suppressed(&app, &t.token).await,
        [
            ("hard@x.example".to_string(), "bounced".to_string()),
            ("spam@x.example".to_string(), "complaint".to_string()),
        ]
    );
    let out = call("soft@x.example", "soft").await;
    assert_eq!(
        (out["suppressed"].clone(), out["soft_bounces"].clone()),
        (json!(true), json!(2))
    );

    let after = log(&app, &t, id).await;
    assert_eq!(after["hard@x.example"]["status"], "bounced");
    assert!(
        after["hard@x.example"]["smtp_reply"]
            .as_str()
            .unwrap()
            .contains("bounce")
    );
    assert_eq!(after["spam@x.example"]["status"], "sent");
    assert!(after["spam@x.example"]["complained_at"].is_string());
    assert_eq!(after["soft@x.example"]["status"], "sent");
    assert_eq!(after["ok@x.example"]["status"], "sent");
    assert!(after["ok@x.example"]["complained_at"].is_null());
    let stats = app
        .get_ok(&format!("/api/campaigns/{id}/stats"), &t.token)
        .await;
    assert_eq!(
        (stats["sent"].clone(), stats["bounced"].clone()),
        (json!(3), json!(1))
    );

    // A later campaign skips all three as suppressed.
    let next = scheduled(&app, &t, tpl, json!({"type": "contacts", "ids": contacts})).await;
    send::process(&crm, Some(OrgId(t.org_id)), &())
        .await
        .unwrap();
    let s = app
        .get_ok(&format!("/api/campaigns/{next}/stats"), &t.token)
        .await;
    assert_eq!(
        (s["sent"].clone(), s["skipped_suppressed"].clone()),
        (json!(1), json!(3)),
        "{s}"
    );

    // The other organization's report of the same address touches only its own list.
    let other_secret = webhook_secret(&app, &other.token).await;
    let hard = report("ok@x.example", "hard");
    let r = signed_bounce(&app, other.org_id, &other_secret, now(), &hard).await;
    let out: Value = r.json().await.unwrap();
    assert_eq!(out["recipient_id"], Value::Null, "{out}");
    assert_eq!(log(&app, &t, id).await["ok@x.example"]["status"], "sent");
    assert_eq!(suppressed(&app, &t.token).await.len(), 3);
}

#[tokio::test]
async fn every_way_into_the_suppression_list_keeps_the_first_reason() {
    // A bounce at send time, a reported complaint, an address added by hand:
    // one insert behind all of them, so the first reason stays.
    let sink = SmtpSink::start().await;
    sink.rule("gone@", crate::smtp_sink::Rule::Permanent);
    let (app, t) = spawn_tenant("Reasons").await;
    let secret = webhook_secret(&app, &t.token).await;
    let (_, id, _) = campaign_to(&app, &t, &["gone@x.example"]).await;
    let crm = app_sender(&app, &sink);
    let r = send::process(&crm, Some(OrgId(t.org_id)), &())
        .await
        .unwrap();
    assert_eq!((r.completed, r.bounced), (vec![id], 1));
    let complaint = |e: &str| report(e, "complaint");
    for e in ["gone@x.example", "angry@x.example"] {
        let r = signed_bounce(&app, t.org_id, &secret, now(), &complaint(e)).await;
        assert_eq!(r.status(), 200, "{e}");
    }
    for (e, reason) in [
        ("gone@x.example", "bounced"),
        ("angry@x.example", "complaint"),
    ] {
        let s = app
            .post_ok("/api/suppressions", &t.token, json!({"email": e}), 201)
            .await;
        assert_eq!(s["reason"], reason, "{e}: {s}");
    }
    assert_eq!(
        suppressed(&app, &t.token).await,
        [
            ("angry@x.example".to_string(), "complaint".to_string()),
            ("gone@x.example".to_string(), "bounced".to_string())
        ]
    );
}
