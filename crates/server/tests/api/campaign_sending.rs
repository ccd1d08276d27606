//! Campaign sending over a real SMTP conversation (the sink of
//! `smtp_sink.rs`): personalised messages with stable Message-IDs, 4xx
//! retried, 5xx bounced and suppressed, a dropped connection retried; a
//! sender killed in the middle of a batch resumed without skipping anyone and
//! doubling only the messages in flight; a test send.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use neuracrm_actions::Crm;
use neuracrm_actions::campaigns::send::{self, MailSettings, Mailer};
use neuracrm_domain::OrgId;
use neuracrm_server::configuration::Secret;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    Tenant, TestApp, column, find, id_of, items, message, spawn_app_with, spawn_tenant,
};
use crate::smtp_sink::{Rule, SmtpSink};

pub(crate) fn mail(sink: &SmtpSink, lease: Duration) -> MailSettings {
    MailSettings {
        url: sink.url(),
        from: "Sales <sales@crm.example.com>".into(),
        connections: 4,
        rate_per_second: None,
        hourly_limit: None,
        max_attempts: 2,
        retry_after: Duration::ZERO,
        lease,
        timeout: Duration::from_secs(30),
    }
}

/// The actions over the app's database, sending through `settings`: what
/// the CLI and the scheduler run.
pub(crate) fn sender(app: &TestApp, settings: MailSettings) -> Crm {
    let intent = neuracrm_jobs::intent::IntentService::new(None, 100).unwrap();
    let sentiment = neuracrm_jobs::sentiment::SentimentService::new(None);
    let mut crm = Crm::new(
        app.store.clone(),
        app.events.clone(),
        Arc::new(intent),
        Arc::new(sentiment),
    );
    crm.mailer = Some(Arc::new(Mailer::new(settings).unwrap()));
    // The app's signer (its JWT secret), so the app verifies these links.
    crm.links = neuracrm_server::Settings::for_database("sqlite::memory:")
        .links()
        .map(Arc::new);
    crm
}

pub(crate) async fn campaign_to(
    app: &TestApp,
    t: &Tenant,
    emails: &[impl AsRef<str>],
) -> (i64, i64, Vec<i64>) {
    let api = app.with(&t.token);
    let html = "<p>Hello {{ contact.first_name }} from {{ organization.name }}</p><p><a href=\"https://shop.example/offer?a=1&amp;b=2\">offer</a></p>";
    let tpl = api.template("T", "Hi {{ contact.first_name }}", html).await;
    let mut ids = vec![];
    for (i, e) in emails.iter().enumerate() {
        let body = json!({"first_name": format!("P{i}"), "email": e.as_ref()});
        ids.push(api.create_id("/api/contacts", body).await);
    }
    let id = scheduled(app, t, tpl, json!({"type": "contacts", "ids": ids})).await;
    (tpl, id, ids)
}

/// A sink, a tenant and a scheduled campaign to `n` numbered addresses.
pub(crate) async fn numbered_campaign(
    name: &str,
    n: usize,
) -> (SmtpSink, TestApp, Tenant, Vec<String>, i64) {
    let sink = SmtpSink::start().await;
    let (app, t) = spawn_tenant(name).await;
    let emails = numbered("p", n);
    let (_, id, _) = campaign_to(&app, &t, &emails).await;
    (sink, app, t, emails, id)
}

/// The addresses the sink received messages for, sorted.
pub(crate) fn recipients_of(sink: &SmtpSink) -> Vec<String> {
    let mut got: Vec<String> = sink.received().into_iter().map(|m| m.rcpt).collect();
    got.sort();
    got
}

/// `n` addresses `{prefix}0@x.example`, `{prefix}1@x.example`, ...
pub(crate) fn numbered(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}@x.example")).collect()
}

/// A mail sink, and an app whose SMTP pool sends to it, its settings
/// `tweak`ed further.
pub(crate) async fn app_mailing_to_sink(
    tweak: impl FnOnce(&mut neuracrm_server::Settings),
) -> (SmtpSink, TestApp) {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = spawn_app_with(|s| {
        s.smtp.url = Some(Secret::new(url));
        tweak(s);
    })
    .await;
    (sink, app)
}

/// A campaign of `t` sending template `tpl` to `target`, scheduled now.
pub(crate) async fn scheduled(app: &TestApp, t: &Tenant, tpl: i64, target: Value) -> i64 {
    let api = app.with(&t.token);
    let c = api.campaign("C", tpl, target.clone()).await;
    assert_eq!(c["target"], target);
    let id = id_of(&c);
    api.act(&format!("/api/campaigns/{id}/schedule")).await;
    id
}

pub(crate) async fn log(app: &TestApp, t: &Tenant, id: i64) -> HashMap<String, Value> {
    let page = app
        .get_ok(
            &format!("/api/campaigns/{id}/recipients?limit=200"),
            &t.token,
        )
        .await;
    items(&page)
        .iter()
        .map(|r| (r["email"].as_str().unwrap().to_string(), r.clone()))
        .collect()
}

#[tokio::test]
async fn a_campaign_is_sent_over_smtp_with_each_outcome_recorded() {
    let (sink, app) =
        app_mailing_to_sink(|s| s.smtp.from = "Sales <sales@crm.example.com>".into()).await;
    sink.rule("temp@", Rule::Temporary);
    sink.rule("bounce@", Rule::Permanent);
    sink.rule("drop@", Rule::DropOnce);
    let t = app.tenant("Send").await;
    let emails = ["ada", "bob", "temp", "bounce", "drop"].map(|n| format!("{n}@x.example"));
    let (tpl, id, contacts) = campaign_to(&app, &t, &emails).await;

    let crm = app_sender(&app, &sink);
    let report = send::process(&crm, Some(OrgId(t.org_id)), &())
        .await
        .unwrap();
    assert_eq!(report.started, [id]);
    assert_eq!(report.completed, [id]);
    assert_eq!(
        (report.sent, report.bounced, report.failed),
        (3, 1, 1),
        "{report:?}"
    );
    assert_eq!(report.retried, 2, "temp once, drop once: {report:?}");
    assert_eq!(report.in_doubt, 0);

    // Received: personalised, one Message-ID per (campaign, recipient).
    let got = sink.received();
    let mut rcpts: Vec<&str> = got.iter().map(|m| m.rcpt.as_str()).collect();
    rcpts.sort();
    assert_eq!(rcpts, ["ada@x.example", "bob@x.example", "drop@x.example"]);
    let ada = got.iter().find(|m| m.rcpt == "ada@x.example").unwrap();
    assert_eq!(ada.header("Subject").as_deref(), Some("Hi P0"));
    assert!(ada.data.contains("Hello P0 from Send"), "{}", ada.data);
    let entries = log(&app, &t, id).await;
    let rid = entries["ada@x.example"]["id"].as_i64().unwrap();
    assert!(
        ada.header("Message-ID")
            .unwrap()
            .starts_with(&format!("<c{id}.r{rid}.")),
        "{:?}",
        ada.header("Message-ID")
    );

    // The log: status, attempts and the server's reply for each.
    let e = |a: &str| &entries[a];
    let reply = |a: &str| e(a)["smtp_reply"].as_str().unwrap();
    assert_eq!(e("ada@x.example")["status"], "sent");
    assert!(reply("ada@x.example").starts_with("250"));
    assert!(e("ada@x.example")["sent_at"].is_string());
    assert_eq!(e("temp@x.example")["status"], "failed");
    assert_eq!(e("temp@x.example")["attempts"], 2);
    assert!(reply("temp@x.example").contains("451"));
    assert_eq!(e("bounce@x.example")["status"], "bounced");
    assert!(reply("bounce@x.example").contains("550"));
    assert_eq!(e("drop@x.example")["status"], "sent");
    assert_eq!(
        e("drop@x.example")["attempts"],
        2,
        "the dropped attempt counted"
    );
    let c = app.get_ok(&format!("/api/campaigns/{id}"), &t.token).await;
    assert_eq!(c["status"], "completed");
    let stats = app
        .get_ok(&format!("/api/campaigns/{id}/stats"), &t.token)
        .await;
    assert_eq!(
        (
            stats["sent"].as_i64(),
            stats["failed"].as_i64(),
            stats["bounced"].as_i64()
        ),
        (Some(3), Some(1), Some(1))
    );
    // The hard bounce is suppressed for every later campaign.
    let sup = app.get_ok("/api/suppressions", &t.token).await;
    assert_eq!(sup["items"][0]["email"], "bounce@x.example");
    assert_eq!(sup["items"][0]["reason"], "bounced");
    assert_eq!(sup["items"].as_array().unwrap().len(), 1, "{sup}");

    // One-click unsubscribe (RFC 8058): the headers, a confirmation page, a
    // POST without login that suppresses the address; a forged link is 404.
    let lu = ada.header("List-Unsubscribe").unwrap();
    assert!(
        lu.contains("<mailto:sales@crm.example.com?subject=unsubscribe>"),
        "{lu}"
    );
    assert_eq!(
        ada.header("List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    let token = lu.split("/u/").nth(1).unwrap().split('>').next().unwrap();
    assert!(token.starts_with(&format!("{rid}.")), "{token}");
    // The link, opened (GET) or used (POST), without login.
    let link = async |method: Method, token: &str| {
        app.call(method, &format!("/u/{token}"), None, None).await
    };
    let page = link(Method::GET, token).await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("method=\"post\""));
    for _ in 0..2 {
        let r = link(Method::POST, token).await;
        assert_eq!(r.status(), 200, "idempotent");
    }
    let forged = format!(
        "{}{}",
        &token[..token.len() - 1],
        if token.ends_with('0') { '1' } else { '0' }
    );
    assert_eq!(link(Method::POST, &forged).await.status(), 404);
    let other_row = entries["bob@x.example"]["id"].as_i64().unwrap();
    let swapped = format!("{other_row}.{}", token.split('.').nth(1).unwrap());
    let r = link(Method::POST, &swapped).await;
    assert_eq!(r.status(), 404, "a signature is for one recipient only");
    let sup = app.get_ok("/api/suppressions", &t.token).await;
    let unsubscribed = find(items(&sup), "email", "ada@x.example");
    assert_eq!(unsubscribed["reason"], "unsubscribed", "{sup}");
    let entries = log(&app, &t, id).await;
    assert!(entries["ada@x.example"]["unsubscribed_at"].is_string());
    assert!(entries["bob@x.example"]["unsubscribed_at"].is_null());
    let stats = app
        .get_ok(&format!("/api/campaigns/{id}/stats"), &t.token)
        .await;
    assert_eq!(stats["unsubscribed"], 1, "{stats}");

    // Opens and clicks come back through signed links: an open right after
    // delivery is a provider's prefetch (not counted); a later one and a
    // click are, as activities on the contact (the lead score's engagement).
    let body = ada.data.replace("=\r\n", "").replace("=3D", "=");
    let link = |kind: &str| {
        let at = body
            .find(&format!("/t/{kind}/"))
            .unwrap_or_else(|| panic!("no /t/{kind}/ in {body}"));
        body[at..].split('"').next().unwrap().to_string()
    };
    let (pixel, click) = (link("o"), link("c"));
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = no_redirects.get(app.url(&pixel)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/gif");
    let stats = app
        .get_ok(&format!("/api/campaigns/{id}/stats"), &t.token)
        .await;
    assert_eq!(stats["opened"], 0, "a prefetch is not an open: {stats}");
    app.store
        .db()
        .execute(
            neuracrm_store::Sql::new("UPDATE campaign_recipients SET sent_at = $1 WHERE id = $2")
                .arg(chrono::Utc::now() - chrono::Duration::hours(1))
                .arg(rid),
        )
        .await
        .unwrap();
    no_redirects.get(app.url(&pixel)).send().await.unwrap();
    let r = no_redirects.get(app.url(&click)).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        "https://shop.example/offer?a=1&b=2"
    );
    let tampered = click.replace("shop.example", "evil.example");
    let r = no_redirects.get(app.url(&tampered)).send().await.unwrap();
    assert_eq!(r.status(), 404, "a link redirects only to its own URL");
    let stats = app
        .get_ok(&format!("/api/campaigns/{id}/stats"), &t.token)
        .await;
    assert_eq!([&stats["opened"], &stats["clicked"]], [1, 1], "{stats}");
    let acts = format!("/api/activities?contact_id={}", contacts[0]);
    let acts = app.get_ok(&acts, &t.token).await;
    let mut kinds = column::<String>(&acts["items"], "type");
    kinds.sort();
    assert_eq!(kinds, ["email_click", "email_open"], "{acts}");

    // Nothing left: a second run sends nothing.
    let again = send::process(&crm, None, &()).await.unwrap();
    assert_eq!(again.sent, 0);
    assert_eq!(sink.received().len(), 3);

    // A test send mails one address through the app's own SMTP settings.
    let r = app
        .post_ok(
            &format!("/api/email-templates/{tpl}/test"),
            &t.token,
            json!({"to": "qa@x.example", "contact_id": contacts[1]}),
            200,
        )
        .await;
    assert!(r["smtp_reply"].as_str().unwrap().starts_with("250"), "{r}");
    let last = sink.received().pop().unwrap();
    assert_eq!(last.rcpt, "qa@x.example");
    assert_eq!(last.header("Subject").as_deref(), Some("Hi P1"));
    let test = format!("/api/email-templates/{tpl}/test");
    let bounced = json!({"to": "bounce@x.example", "contact_id": contacts[1]});
    let e = app.with(&t.token).post_invalid(&test, bounced).await;
    assert!(message(&e).contains("550"), "{e}");
}

#[tokio::test]
async fn a_sender_killed_mid_send_resumes_skipping_no_one_and_doubling_only_what_was_in_flight() {
    let (sink, app, t, emails, id) = numbered_campaign("Crash", 60).await;

    // The first sender gets 20 answers (a whole claim of 16 and 4 more),
    // then its next 4 messages reach the relay but are never answered: it is
    // killed with them in flight.
    sink.hang_after(20);
    let crashing = app_sender(&app, &sink);
    let mut task = tokio::spawn(async move { send::process(&crashing, None, &()).await });
    tokio::select! {
        _ = sink.until_hung(4) => {}
        r = &mut task => panic!("the sender ended before the relay hung: {r:?}"),
    }
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    sink.answer_all();
    // Its lease runs out (a minute passes).
    app.store
        .db()
        .execute(
            neuracrm_store::Sql::new(
                "UPDATE campaign_recipients SET lease_until = $1 WHERE lease_until IS NOT NULL",
            )
            .arg(chrono::Utc::now() - chrono::Duration::seconds(1)),
        )
        .await
        .unwrap();

    // A new sender takes over.
    let report = send::process(&app_sender(&app, &sink), None, &())
        .await
        .unwrap();
    assert_eq!(report.completed, [id]);
    // The second batch of 16 was claimed at the kill: all of it is in doubt
    // (4 in flight, 12 claimed but not yet sent), and only the 4 in flight
    // arrive twice.
    assert_eq!(report.in_doubt, 12, "{report:?}");
    assert_eq!(report.sent, 60 - 20, "{report:?}");

    let got = sink.received();
    let mut by_rcpt: HashMap<&str, Vec<String>> = HashMap::new();
    for m in &got {
        by_rcpt
            .entry(m.rcpt.as_str())
            .or_default()
            .push(m.header("Message-ID").unwrap());
    }
    for e in &emails {
        assert!(by_rcpt.contains_key(e.as_str()), "{e} never received it");
    }
    let doubled: Vec<_> = by_rcpt.iter().filter(|(_, ids)| ids.len() > 1).collect();
    assert_eq!(doubled.len(), 4, "only the 4 in flight: {doubled:?}");
    for (rcpt, ids) in &doubled {
        assert_eq!(ids.len(), 2, "{rcpt}");
        assert_eq!(
            ids[0], ids[1],
            "{rcpt}: both copies carry the same Message-ID"
        );
    }
    assert_eq!(got.len(), 64);
    let stats = app
        .get_ok(&format!("/api/campaigns/{id}/stats"), &t.token)
        .await;
    assert_eq!(stats["sent"], 60, "{stats}");
    assert_eq!(stats["sending"], 0, "{stats}");
}

/// A pause mid-send: the sender stops before its next message, the rows
/// it had claimed but not sent go back to pending with their attempt
/// undone, and nothing is left `sending`; resumed, every recipient has it
/// once.
#[tokio::test]
async fn a_pause_mid_send_stops_before_the_next_message_and_gives_back_the_claimed_rows() {
    let (sink, app, t, emails, id) = numbered_campaign("Pause", 40).await;
    // Paced at 10 a second: the 40 would take 4 s.
    let mut slow = mail(&sink, Duration::from_secs(60));
    slow.rate_per_second = Some(10);
    let crm = sender(&app, slow);
    let task = tokio::spawn(async move { send::process(&crm, None, &()).await });
    sink.until_received(3).await;
    let api = app.with(&t.token);
    api.act(&format!("/api/campaigns/{id}/pause")).await;
    let report = task.await.unwrap().unwrap();
    assert!(report.sent >= 3 && report.sent < 40, "{report:?}");
    assert!(report.completed.is_empty(), "{report:?}");
    assert_eq!(sink.received().len() as u64, report.sent);
    let rows = log(&app, &t, id).await;
    let pending: Vec<&Value> = rows.values().filter(|r| r["status"] == "pending").collect();
    assert_eq!(pending.len() as u64, 40 - report.sent, "{rows:?}");
    assert!(
        pending.iter().all(|r| r["attempts"] == 0),
        "claimed, not sent: the attempt undone: {pending:?}"
    );
    assert!(rows.values().all(|r| r["status"] != "sending"), "{rows:?}");

    api.act(&format!("/api/campaigns/{id}/resume")).await;
    let report2 = send::process(&app_sender(&app, &sink), None, &())
        .await
        .unwrap();
    assert_eq!(report2.sent, 40 - report.sent, "{report2:?}");
    assert_eq!(
        (report2.completed.clone(), report2.in_doubt),
        (vec![id], 0),
        "{report2:?}"
    );
    let mut want = emails.clone();
    want.sort();
    assert_eq!(recipients_of(&sink), want, "each once");
}

pub(crate) fn app_sender(app: &TestApp, sink: &SmtpSink) -> Crm {
    sender(app, mail(sink, Duration::from_secs(60)))
}

#[tokio::test]
async fn the_pool_keeps_its_connections_across_messages_and_refusals() {
    let sink = SmtpSink::start().await;
    sink.rule("temp@", Rule::Temporary);
    sink.rule("bounce@", Rule::Permanent);
    sink.rule("drop@", Rule::DropOnce);
    let (app, t) = spawn_tenant("Pool").await;
    let mut emails = numbered("p", 37);
    emails.extend(["temp@x.example", "bounce@x.example", "drop@x.example"].map(String::from));
    let (_, id, _) = campaign_to(&app, &t, &emails).await;

    let crm = app_sender(&app, &sink);
    let report = send::process(&crm, None, &()).await.unwrap();
    assert_eq!(report.completed, [id]);
    assert_eq!(
        (report.sent, report.bounced, report.failed),
        (38, 1, 1),
        "{report:?}"
    );
    // 4 connections for 43 conversations: a refusal (451 twice, 550 once)
    // ends its transaction with RSET and the connection takes the next
    // message; only the connection dropped mid-message is replaced.
    let (connections, resets, quits) = sink.conversations();
    assert!(
        (4..=5).contains(&connections),
        "{connections} connections for 4 in the pool and one dropped"
    );
    assert!(resets >= 3, "{resets} RSETs after 3 refusals");
    assert_eq!(quits, 0);
    // Closing the pool says QUIT on every connection still open.
    crm.mailer.as_ref().unwrap().close().await;
    let (_, _, quits) = sink.conversations();
    assert_eq!(quits, connections - 1, "all but the dropped one");
}

#[tokio::test]
async fn smtps_and_required_starttls_never_fall_back_to_clear_text() {
    // The sink speaks plain SMTP and offers no STARTTLS.
    let sink = SmtpSink::start().await;
    let (app, t) = spawn_tenant("Tls").await;
    for (i, (url, why)) in [
        (format!("smtps://127.0.0.1:{}", sink.port), "TLS"),
        (format!("{}?tls=required", sink.url()), "STARTTLS"),
    ]
    .into_iter()
    .enumerate()
    {
        let email = format!("tls{i}@x.example");
        let (_, id, _) = campaign_to(&app, &t, std::slice::from_ref(&email)).await;
        let mut settings = mail(&sink, Duration::from_secs(60));
        settings.url = url.clone();
        let report = send::process(&sender(&app, settings), None, &())
            .await
            .unwrap();
        assert_eq!(report.completed, [id], "{url}");
        assert_eq!((report.sent, report.failed), (0, 1), "{url}: {report:?}");
        let entry = &log(&app, &t, id).await[&email];
        assert_eq!(entry["status"], "failed", "{url}");
        let reply = entry["smtp_reply"].as_str().unwrap();
        assert!(reply.contains(why), "{url}: {reply}");
    }
    assert!(sink.received().is_empty(), "nothing was sent in clear text");
    // The default (`smtp://`, STARTTLS when offered) sends in clear text to
    // a server that offers none.
    let (_, id, _) = campaign_to(&app, &t, &["plain@x.example"]).await;
    let report = send::process(&app_sender(&app, &sink), None, &())
        .await
        .unwrap();
    assert_eq!((report.completed, report.sent), (vec![id], 1));
}

#[tokio::test]
async fn the_hourly_limit_holds_a_campaign_back_and_pause_stops_it() {
    let sink = SmtpSink::start().await;
    let (app, t) = spawn_tenant("Limit").await;
    let (_, id, _) = campaign_to(&app, &t, &numbered("l", 5)).await;
    let mut settings = mail(&sink, Duration::from_secs(60));
    settings.hourly_limit = Some(2);
    let crm = sender(&app, settings);
    let report = send::process(&crm, None, &()).await.unwrap();
    assert_eq!(report.sent, 2, "{report:?}");
    assert_eq!(report.waiting, [id], "{report:?}");
    let stats = app
        .get_ok(&format!("/api/campaigns/{id}/stats"), &t.token)
        .await;
    assert_eq!(
        (stats["sent"].as_i64(), stats["pending"].as_i64()),
        (Some(2), Some(3))
    );

    // Paused, the sender leaves it alone even without a limit; resumed, it ends.
    let api = app.with(&t.token);
    api.act(&format!("/api/campaigns/{id}/pause")).await;
    let free = sender(&app, mail(&sink, Duration::from_secs(60)));
    let report = send::process(&free, None, &()).await.unwrap();
    assert_eq!(report.sent, 0, "{report:?}");
    let c = api.act(&format!("/api/campaigns/{id}/resume")).await;
    assert_eq!(c["status"], "sending");
    let report = send::process(&free, None, &()).await.unwrap();
    assert_eq!(
        (report.sent, report.completed.clone()),
        (3, vec![id]),
        "{report:?}"
    );
    assert_eq!(sink.received().len(), 5);
}

#[tokio::test]
async fn the_scheduler_of_serve_sends_a_scheduled_campaign() {
    let (sink, app) = app_mailing_to_sink(|s| {
        s.scheduler = true;
        s.smtp.process_interval_secs = 1;
    })
    .await;
    let t = app.tenant("Sched").await;
    let (_, id, _) = campaign_to(&app, &t, &numbered("s", 3)).await;
    let path = format!("/api/campaigns/{id}");
    // A bound on the wait, not a timing: the scheduler ticks every second.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while app.get_ok(&path, &t.token).await["status"] != "completed" {
        assert!(tokio::time::Instant::now() < deadline, "never completed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(sink.received().len(), 3);
}

/// A segment target mails the segment's members as they are when sending
/// starts: a member added after scheduling is mailed, one added after the
/// list was frozen is not; another organization's segment is no target.
#[tokio::test]
async fn a_segment_target_is_frozen_from_its_members_when_sending_starts() {
    let (sink, app) =
        app_mailing_to_sink(|s| s.smtp.from = "Sales <sales@crm.example.com>".into()).await;
    let (t, other) = (app.tenant("Seg").await, app.tenant("Other").await);
    let api = app.with(&t.token);
    let contact = async |first: &str, industry: &str| {
        let email = format!("{}@x.example", first.to_lowercase());
        let body = json!({"first_name": first, "industry": industry, "email": email});
        api.create_id("/api/contacts", body).await
    };
    contact("Ada", "retail").await;
    contact("Bob", "retail").await;
    let late = contact("Cy", "energy").await;
    let after = contact("Dee", "energy").await;
    let retail = json!({"field": "industry", "operand": "is", "value": "retail"});
    let seg = api.segment("Retail", "static", retail).await;
    let template = async |token: &str| {
        let subject = "Hi {{ contact.first_name }}";
        app.with(token).template("T", subject, "<p>Hello</p>").await
    };
    let (tpl, other_tpl) = (template(&t.token).await, template(&other.token).await);
    let target = json!({"type": "segment", "segment_id": seg});
    let body = json!({"name": "C", "template_id": other_tpl, "target": target});
    let e = app
        .with(&other.token)
        .post_err("/api/campaigns", body, 422, "invalid_reference")
        .await;
    assert_eq!(e["error"]["field"], "target", "{e}");
    let id = scheduled(&app, &t, tpl, target).await;
    let members = format!("/api/segments/{seg}/members");
    app.post_ok(&members, &t.token, json!({"add": [late]}), 200)
        .await;

    let crm = sender(&app, mail(&sink, Duration::from_secs(60)));
    let report = send::process(&crm, Some(OrgId(t.org_id)), &())
        .await
        .unwrap();
    assert_eq!(
        (report.completed.clone(), report.sent),
        (vec![id], 3),
        "{report:?}"
    );
    assert_eq!(
        recipients_of(&sink),
        ["ada@x.example", "bob@x.example", "cy@x.example"]
    );

    app.post_ok(&members, &t.token, json!({"add": [after]}), 200)
        .await;
    let entries = log(&app, &t, id).await;
    assert_eq!(entries.len(), 3, "the list was frozen: {entries:?}");
    assert_eq!(entries["cy@x.example"]["record_type"], "contact");
}

#[tokio::test]
async fn a_segment_a_campaign_is_scheduled_to_cannot_be_deleted_and_a_deleted_one_fails_the_campaign()
 {
    let sink = SmtpSink::start().await;
    let (app, t) = spawn_tenant("Gone").await;
    let api = app.with(&t.token);
    let ada = json!({"first_name": "Ada", "industry": "retail", "email": "ada@x.example"});
    api.create("/api/contacts", ada).await;
    let retail = json!({"field": "industry", "operand": "is", "value": "retail"});
    let segment = async |name: &str| api.segment(name, "static", retail.clone()).await;
    let (held, dropped) = (segment("Held").await, segment("Dropped").await);
    let tpl = api.template("T", "Hi", "<p>Hello</p>").await;

    // Scheduled to a segment: its delete is refused, naming the campaign,
    // until the campaign is cancelled.
    let to_held = json!({"type": "segment", "segment_id": held});
    let id = id_of(&api.campaign("Spring sale", tpl, to_held).await);
    let at = json!({"scheduled_at": "2999-01-01T00:00:00Z"});
    api.post_ok(&format!("/api/campaigns/{id}/schedule"), at)
        .await;
    let e = api
        .delete_err(&format!("/api/segments/{held}"), 409, "conflict")
        .await;
    let named = format!("campaign {id} (Spring sale)");
    assert!(message(&e).contains(&named), "{e}");
    api.act(&format!("/api/campaigns/{id}/cancel")).await;
    api.deleted(&format!("/api/segments/{held}")).await;

    // A draft's segment may go; scheduled afterwards, the campaign fails
    // with the reason instead of completing with no one.
    let to_dropped = json!({"type": "segment", "segment_id": dropped});
    let draft = id_of(&api.campaign("Later", tpl, to_dropped).await);
    api.deleted(&format!("/api/segments/{dropped}")).await;
    api.act(&format!("/api/campaigns/{draft}/schedule")).await;
    let report = send::process(&app_sender(&app, &sink), None, &())
        .await
        .unwrap();
    assert!(
        report.started.is_empty() && report.completed.is_empty(),
        "{report:?}"
    );
    let c = app
        .get_ok(&format!("/api/campaigns/{draft}"), &t.token)
        .await;
    assert_eq!(c["status"], "failed", "{c}");
    let reason = c["error"].as_str().unwrap();
    assert!(
        reason.contains(&format!("segment {dropped} no longer exists")),
        "{c}"
    );
    assert!(sink.received().is_empty());
}
