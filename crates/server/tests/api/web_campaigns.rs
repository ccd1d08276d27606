//! The campaign pages at the HTML level (both databases): the campaign
//! list and page, the template editor with its preview, the suppression
//! list; every role reads them, only admins and managers act (403 for
//! reps), every form needs its CSRF token, another organization's campaign
//! or template is not found; and the sender announces its progress on the
//! live stream the campaign page listens to.

use neuracrm_actions::campaigns::send;
use neuracrm_domain::OrgId;
use reqwest::header::LOCATION;
use serde_json::json;

use crate::campaign_sending::{app_mailing_to_sink, app_sender, campaign_to, numbered};
use crate::helpers::{EventStream, Tenant, TestApp, id_of, spawn_app, spawn_tenant};
use crate::smtp_sink::SmtpSink;
use crate::web::Browser;

async fn browser<'a>(app: &'a TestApp, email: &str) -> (Browser<'a>, String) {
    let mut b = Browser::new(app);
    b.sign_in(email).await;
    let csrf = b.csrf().await;
    (b, csrf)
}

/// A template, a contact and a draft campaign of `t`, through the API.
async fn draft(app: &TestApp, t: &Tenant) -> (i64, i64, i64) {
    let api = app.with(&t.token);
    let (subject, html) = (
        "Hi {{ contact.first_name }}",
        "<p>Hello {{ contact.first_name }}</p>",
    );
    let tpl = api.template("Welcome", subject, html).await;
    let ada = json!({"first_name": "Ada", "email": format!("ada{}@x.example", t.org_id)});
    let contact = api.create_id("/api/contacts", ada).await;
    let to_ada = json!({"type": "contacts", "ids": [contact]});
    let c = id_of(&api.campaign("Spring", tpl, to_ada).await);
    (tpl, contact, c)
}

fn location(r: &reqwest::Response) -> String {
    r.headers()[LOCATION].to_str().unwrap().to_string()
}

#[tokio::test]
async fn every_role_reads_the_campaign_pages_and_only_admins_and_managers_act() {
    let app = spawn_app().await;
    let (a, b) = (app.tenant("Alpha").await, app.tenant("Beta").await);
    let (tpl, _, id) = draft(&app, &a).await;
    app.with(&a.token)
        .create("/api/suppressions", json!({"email": "gone@x.example"}))
        .await;
    for role in ["manager", "rep"] {
        app.member(&a, &format!("{role}@alpha.example.com"), role)
            .await;
    }
    let pages = [
        "/campaigns".to_string(),
        format!("/campaigns/{id}"),
        format!("/campaigns/{id}?status=sent&offset=50"),
        format!("/campaigns/{id}?status=nonsense&offset=-4"),
        "/email-templates".to_string(),
        format!("/email-templates/{tpl}"),
        "/suppressions".to_string(),
    ];
    for email in [
        a.email.clone(),
        "manager@alpha.example.com".into(),
        "rep@alpha.example.com".into(),
    ] {
        let (mut br, _) = browser(&app, &email).await;
        for p in &pages {
            let page = br.get_page(p).await;
            assert!(
                page.contains("href=\"/campaigns\""),
                "{email} {p}: in the menu"
            );
        }
        let campaign = br.get_page(&format!("/campaigns/{id}")).await;
        assert!(campaign.contains("sse:campaign_progress"), "live progress");
        assert!(campaign.contains("Spring") && campaign.contains("Welcome"));
        let supp = br.get_page("/suppressions").await;
        assert!(supp.contains("gone@x.example"));
        let writes = !email.starts_with("rep@");
        assert_eq!(
            campaign.contains(&format!("action=\"/campaigns/{id}/schedule\"")),
            writes,
            "{email}: the schedule form"
        );
    }

    // A rep's posts are refused by the actions: 403.
    let (mut rep, csrf) = browser(&app, "rep@alpha.example.com").await;
    for (path, form) in [
        (
            "/campaigns".to_string(),
            vec![("name", "X"), ("template_id", "1"), ("target", "contacts")],
        ),
        (
            format!("/campaigns/{id}/schedule"),
            vec![("scheduled_at", "")],
        ),
        (format!("/campaigns/{id}/cancel"), vec![]),
        ("/suppressions".to_string(), vec![("email", "x@x.example")]),
        (
            "/suppressions/remove".to_string(),
            vec![("email", "gone@x.example")],
        ),
    ] {
        let mut f = form.clone();
        f.push(("csrf", &csrf));
        let r = rep.post(&path, &f).await;
        assert_eq!(r.status(), 403, "rep POST {path}");
    }
    rep.submit(
        &format!("/email-templates/{tpl}"),
        &csrf,
        &[("name", "T"), ("subject", "S"), ("html", "<p>x</p>")],
        403,
    )
    .await;

    // Without the CSRF token: 403 before anything happens.
    let (mut admin, _) = browser(&app, &a.email).await;
    for path in [
        "/campaigns".to_string(),
        format!("/campaigns/{id}/cancel"),
        "/suppressions".to_string(),
        "/email-templates".to_string(),
        "/email-templates/preview".to_string(),
    ] {
        let r = admin
            .post(&path, &[("name", "X"), ("email", "y@x.example")])
            .await;
        assert_eq!(r.status(), 403, "no token: POST {path}");
    }
    let c = app.get_ok(&format!("/api/campaigns/{id}"), &a.token).await;
    assert_eq!(c["status"], "draft");

    // Another organization's campaign and template are not found, for
    // reading and for every form.
    let (mut beta, beta_csrf) = browser(&app, &b.email).await;
    for p in [
        format!("/campaigns/{id}"),
        format!("/email-templates/{tpl}"),
    ] {
        assert_eq!(beta.get(&p).await.status(), 404, "{p}");
    }
    for (path, form) in [
        (format!("/campaigns/{id}/cancel"), vec![]),
        (
            format!("/campaigns/{id}/schedule"),
            vec![("scheduled_at", "")],
        ),
        (
            format!("/campaigns/{id}"),
            vec![
                ("name", "Hijacked"),
                ("template_id", "1"),
                ("target", "contacts"),
            ],
        ),
        (
            format!("/email-templates/{tpl}"),
            vec![("name", "Hijacked"), ("subject", "S"), ("html", "<p>x</p>")],
        ),
        (
            format!("/email-templates/preview?id={tpl}"),
            vec![("name", "N"), ("subject", "S"), ("html", "<p>x</p>")],
        ),
    ] {
        let mut f = form.clone();
        f.push(("csrf", &beta_csrf));
        assert_eq!(beta.post(&path, &f).await.status(), 404, "Beta POST {path}");
    }
    let c = app.get_ok(&format!("/api/campaigns/{id}"), &a.token).await;
    assert_eq!(
        (c["name"].clone(), c["status"].clone()),
        (json!("Spring"), json!("draft"))
    );
    assert!(beta.get_page("/campaigns").await.contains("None yet"));
}

#[tokio::test]
async fn a_manager_writes_a_template_previews_it_and_schedules_pauses_and_cancels_a_campaign() {
    let app = spawn_app().await;
    let a = app.tenant("Alpha").await;
    let (_, contact, _) = draft(&app, &a).await;
    app.member(&a, "manager@alpha.example.com", "manager").await;
    let (mut m, csrf) = browser(&app, "manager@alpha.example.com").await;

    // A template that does not compile is refused on the form, naming where.
    let r = m
        .submit(
            "/email-templates",
            &csrf,
            &[
                ("name", "Bad"),
                ("subject", "Hi"),
                ("html", "<p>ok</p>\n<p>{{ contact.nickname }}</p>"),
            ],
            422,
        )
        .await;
    let body = r.text().await.unwrap();
    assert!(body.contains("line 2"), "{body}");
    assert!(
        body.contains("contact.nickname"),
        "the form keeps what was written"
    );

    // The preview renders the form as written, for a chosen contact, unsaved.
    let html = "<p>Dear {{ contact.first_name }}</p><a href=\"https://example.com/x\">x</a>";
    let contact_id = contact.to_string();
    let form = [
        ("csrf", csrf.as_str()),
        ("name", "Hello"),
        ("subject", "For {{ contact.first_name }}"),
        ("html", html),
        ("contact_id", contact_id.as_str()),
    ];
    let r = m.post("/email-templates/preview", &form).await;
    assert_eq!(r.status(), 200);
    let body = r.text().await.unwrap();
    assert!(body.contains("id=\"preview-subject\">For Ada<"), "{body}");
    assert!(body.contains("Dear Ada"), "{body}");
    assert!(
        body.contains("sandbox srcdoc="),
        "the message is shown sandboxed"
    );
    let before = app.get_ok("/api/email-templates", &a.token).await;
    assert_eq!(
        before["items"].as_array().unwrap().len(),
        1,
        "nothing saved"
    );

    // Saved, it opens in the editor; changed, it saves.
    let r = m.post("/email-templates", &form).await;
    assert_eq!(r.status(), 303);
    let to = location(&r);
    assert!(to.ends_with("?done=created"), "{to}");
    let tpl: i64 = to
        .trim_start_matches("/email-templates/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let page = m.get_page(&to).await;
    assert!(page.contains("Created.") && page.contains("Dear {{ contact.first_name }}"));
    m.submit(
        &format!("/email-templates/{tpl}"),
        &csrf,
        &[("name", "Hello again"), ("subject", "S"), ("html", html)],
        303,
    )
    .await;
    let t = app
        .get_ok(&format!("/api/email-templates/{tpl}"), &a.token)
        .await;
    assert_eq!(t["name"], "Hello again");

    // A campaign composed, scheduled (a bad time refused), paused, cancelled.
    let tpl_s = tpl.to_string();
    let r = m
        .submit(
            "/campaigns",
            &csrf,
            &[
                ("name", "Autumn"),
                ("template_id", &tpl_s),
                ("target", "leads"),
            ],
            303,
        )
        .await;
    let to = location(&r);
    let id: i64 = to
        .trim_start_matches("/campaigns/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let c = app.get_ok(&format!("/api/campaigns/{id}"), &a.token).await;
    assert_eq!(c["target"], json!({"type": "leads"}));
    m.submit(
        &format!("/campaigns/{id}"),
        &csrf,
        &[
            ("name", "Autumn"),
            ("template_id", &tpl_s),
            ("target", "bogus"),
        ],
        422,
    )
    .await;
    let schedule = format!("/campaigns/{id}/schedule");
    let at = |when| [("scheduled_at", when)];
    let r = m.submit(&schedule, &csrf, &at("next tuesday"), 422).await;
    assert!(r.text().await.unwrap().contains("scheduled_at"));
    m.submit(&schedule, &csrf, &at("2099-01-31T09:00"), 303)
        .await;
    let c = app.get_ok(&format!("/api/campaigns/{id}"), &a.token).await;
    assert_eq!(c["status"], "scheduled");
    assert_eq!(c["scheduled_at"], "2099-01-31T09:00:00Z");
    for (action, status) in [
        ("pause", "paused"),
        ("resume", "scheduled"),
        ("cancel", "cancelled"),
    ] {
        let r = m
            .post(&format!("/campaigns/{id}/{action}"), &[("csrf", &csrf)])
            .await;
        assert_eq!(r.status(), 303, "{action}");
        let page = m.get_page(&location(&r)).await;
        assert!(
            page.contains(&format!("id=\"status-badge\">{status}<")),
            "{action}"
        );
    }
    // Not possible any more: 409 on the page.
    m.submit(&format!("/campaigns/{id}/pause"), &csrf, &[], 409)
        .await;

    // Suppressions: added, listed, lifted; lifting it again is not found.
    m.submit("/suppressions", &csrf, &[("email", "not an address")], 422)
        .await;
    m.submit("/suppressions", &csrf, &[("email", "Gone@X.example")], 303)
        .await;
    assert!(m.get_page("/suppressions").await.contains("gone@x.example"));
    let remove = [("csrf", csrf.as_str()), ("email", "gone@x.example")];
    assert_eq!(m.post("/suppressions/remove", &remove).await.status(), 303);
    assert!(!m.get_page("/suppressions").await.contains("gone@x.example"));
    assert_eq!(m.post("/suppressions/remove", &remove).await.status(), 404);
}

/// The sender announces a campaign's progress (at most once a second) on
/// the organization's live stream, which the campaign page listens to.
#[tokio::test]
async fn the_sender_announces_progress_on_the_live_stream() {
    let (sink, app) = app_mailing_to_sink(|_| {}).await;
    let t = app.tenant("Live").await;
    let emails = numbered("p", 5);
    let (_, id, _) = campaign_to(&app, &t, &emails).await;
    let mut events = EventStream::open(&app, "/api/events", &t.token).await;
    let crm = app_sender(&app, &sink);
    send::process(&crm, Some(OrgId(t.org_id)), &())
        .await
        .unwrap();
    let m = events.next_named("campaign_progress", t.org_id).await;
    assert_eq!(m.data["id"], id);
    assert_eq!(m.data["total"], 5);
    assert_eq!(m.data["done"], 5, "{m:?}");
}

#[tokio::test]
async fn the_recipient_pager_keeps_the_status_filter() {
    let sink = SmtpSink::start().await;
    sink.rule("bounce", crate::smtp_sink::Rule::Permanent);
    let (app, t) = spawn_tenant("Pages").await;
    // 51 delivered and 2 bounced: two pages of the sent ones, one of the rest.
    let mut emails = numbered("p", 51);
    emails.extend(["bounce1@x.example".into(), "bounce2@x.example".into()]);
    let (_, id, _) = campaign_to(&app, &t, &emails).await;
    let crm = app_sender(&app, &sink);
    let r = send::process(&crm, Some(OrgId(t.org_id)), &())
        .await
        .unwrap();
    assert_eq!((r.sent, r.bounced), (51, 2));

    let (mut br, _) = browser(&app, &t.email).await;
    // (The page writes `&` in an attribute as `&#38;`.)
    let first = br
        .get_page(&format!("/campaigns/{id}?status=sent"))
        .await
        .replace("&#38;", "&");
    let next = format!("href=\"/campaigns/{id}?status=sent&offset=50\" rel=\"next\"");
    assert!(
        first.contains(&next),
        "the next page is still the sent ones"
    );
    assert!(!first.contains("rel=\"prev\""));
    assert!(
        !first.contains("bounce1@"),
        "a bounced row on the sent page"
    );
    let second = br
        .get_page(&format!("/campaigns/{id}?status=sent&offset=50"))
        .await;
    assert!(
        second.contains(&format!(
            "href=\"/campaigns/{id}?status=sent\" rel=\"prev\""
        )),
        "the previous page is the sent ones too"
    );
    assert!(!second.contains("rel=\"next\""));
    assert_eq!(
        second
            .matches("<td data-label=\"Status\">sent</td>")
            .count(),
        1
    );
    assert!(
        !second.contains("bounce1@"),
        "the 51st sent row, not the bounced"
    );
    // Without a filter the pager pages every row.
    let all = br.get_page(&format!("/campaigns/{id}")).await;
    assert!(all.contains(&format!("href=\"/campaigns/{id}?offset=50\" rel=\"next\"")));
    let bounced = br
        .get_page(&format!("/campaigns/{id}?status=bounced"))
        .await;
    assert_eq!(
        bounced
            .matches("<td data-label=\"Status\">bounced</td>")
            .count(),
        2
    );
    assert!(!bounced.contains("rel=\"next\""));
}
