//! The web UI's settings (own password and sessions, users and roles, the
//! scoring configuration and its preview), the leads list's CSV import and
//! export, and the browser sessions' idle timeout, over HTTP without a
//! browser, on SQLite or PostgreSQL.

use chrono::{Duration, Utc};
use neuracrm_store::Sql;
use reqwest::header::{COOKIE, LOCATION};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, Tenant, TestApp, spawn_app_with, spawn_tenant};
use crate::web::Browser;

/// A signed-in browser of `email` and its CSRF token.
async fn signed_in<'a>(app: &'a TestApp, email: &str) -> (Browser<'a>, String) {
    let mut b = Browser::new(app);
    b.sign_in(email).await;
    let csrf = b.csrf().await;
    (b, csrf)
}

/// Posts `form` (with the session's token) and checks the status; the body.
async fn post_expect(
    b: &mut Browser<'_>,
    path: &str,
    form: &[(&str, &str)],
    status: u16,
) -> String {
    let r = b.post(path, form).await;
    let got = r.status().as_u16();
    let body = r.text().await.unwrap();
    assert_eq!(got, status, "POST {path}: {body}");
    body
}

/// The status of `GET path`.
async fn status_of(b: &mut Browser<'_>, path: &str) -> u16 {
    b.get(path).await.status().as_u16()
}

/// A rep of `t` (e-mail, API token).
async fn rep_of(app: &TestApp, t: &Tenant) -> (i64, String, String) {
    let email = format!("rep{}@example.com", t.org_id);
    let (id, token) = app.member(t, &email, "rep").await;
    (id, email, token)
}

#[tokio::test]
async fn settings_show_each_role_its_part_and_refuse_reps_the_admin_pages() {
    let (app, a) = spawn_tenant("Alpha").await;
    let (_, rep_email, _) = rep_of(&app, &a).await;
    let (mut admin, _) = signed_in(&app, &a.email).await;
    let home = admin.get_page("/").await;
    assert!(home.contains("href=\"/settings\""), "Settings in the menu");
    let mine = admin.get_page("/settings").await;
    assert!(mine.contains("Users and roles") && mine.contains("Lead scoring"));
    assert!(mine.contains("this browser"), "the current session marked");
    admin.get_page("/settings/users").await;
    admin.get_page("/settings/scoring").await;

    let (mut rep, csrf) = signed_in(&app, &rep_email).await;
    let home = rep.get_page("/").await;
    assert!(
        home.contains("href=\"/settings\""),
        "everyone has their own part"
    );
    let mine = rep.get_page("/settings").await;
    assert!(mine.contains("Change password") && mine.contains("Sign out everywhere else"));
    assert!(!mine.contains("Users and roles") && !mine.contains("Lead scoring"));
    for path in ["/settings/users", "/settings/scoring"] {
        assert_eq!(status_of(&mut rep, path).await, 403, "{path}");
    }
    let add = [
        ("csrf", csrf.as_str()),
        ("name", "Mallory"),
        ("email", "mallory@example.com"),
        ("role", "admin"),
        ("password", "a long unusual passphrase"),
    ];
    post_expect(&mut rep, "/settings/users", &add, 403).await;
    post_expect(
        &mut rep,
        "/settings/scoring",
        &[("csrf", &csrf), ("action", "save")],
        403,
    )
    .await;
    let users = app.get_ok("/api/users", &a.token).await;
    assert_eq!(users["items"].as_array().unwrap().len(), 2, "nobody added");
}

#[tokio::test]
async fn admins_add_users_change_roles_and_remove_them_with_the_api_s_rules() {
    let (app, a) = spawn_tenant("Alpha").await;
    let beta = app.tenant("Beta").await;
    let (mut b, csrf) = signed_in(&app, &a.email).await;
    let add = |email: &'static str, password: &'static str| {
        vec![
            ("name", "Grace Hopper"),
            ("email", email),
            ("role", "manager"),
            ("password", password),
        ]
    };
    // Without the token: refused, nothing added.
    post_expect(
        &mut b,
        "/settings/users",
        &add("grace@example.com", "cobol compilers rule"),
        403,
    )
    .await;
    let with = |mut f: Vec<(&'static str, &'static str)>, csrf: &str| {
        let mut v: Vec<(String, String)> = vec![("csrf".into(), csrf.into())];
        v.extend(f.drain(..).map(|(k, v)| (k.into(), v.into())));
        v
    };
    let form = with(add("grace@example.com", "password"), &csrf);
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let page = post_expect(&mut b, "/settings/users", &pairs, 422).await;
    assert!(
        page.contains("aria-invalid=\"true\""),
        "the field is marked"
    );
    assert!(
        page.contains("grace@example.com"),
        "the form keeps what was typed"
    );
    assert!(
        page.to_lowercase().contains("common"),
        "the policy says why: {page}"
    );
    let form = with(add("grace@example.com", "cobol compilers rule"), &csrf);
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = b.post("/settings/users", &pairs).await;
    assert_eq!(r.status(), 303);
    let users = app.get_ok("/api/users", &a.token).await;
    let grace = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "grace@example.com")
        .unwrap()
        .clone();
    assert_eq!(grace["role"], "manager");
    // The same e-mail again, and an e-mail of another organization: one answer.
    for taken in ["grace@example.com", "admin@beta.example.com"] {
        let form = with(add(taken, "cobol compilers rule"), &csrf);
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let page = post_expect(&mut b, "/settings/users", &pairs, 409).await;
        assert!(
            page.contains(neuracrm_actions::users::EMAIL_UNAVAILABLE),
            "{page}"
        );
    }
    let (id, me, theirs) = (grace["id"].as_i64().unwrap(), a.admin_id, beta.admin_id);
    // Grace demoted; the admin's own demotion and removal refused; another
    // organization's user not found (and unchanged).
    let mut pages = Vec::new();
    for (user, action, status) in [
        (id, "role", 303),
        (me, "role", 409),
        (me, "delete", 409),
        (theirs, "role", 404),
        (theirs, "delete", 404),
    ] {
        let form = [("csrf", csrf.as_str()), ("role", "rep")];
        let path = format!("/settings/users/{user}/{action}");
        pages.push(post_expect(&mut b, &path, &form, status).await);
    }
    let got = app.get_ok(&format!("/api/users/{id}"), &a.token).await;
    assert_eq!(got["role"], "rep");
    assert!(
        pages[1].contains("cannot demote themselves"),
        "{}",
        pages[1]
    );
    assert!(
        pages[2].contains("cannot delete themselves"),
        "{}",
        pages[2]
    );
    let them = app
        .get_ok(&format!("/api/users/{theirs}"), &beta.token)
        .await;
    assert_eq!(them["role"], "admin");
    b.submit(&format!("/settings/users/{id}/delete"), &csrf, &[], 303)
        .await;
    let r = app.get(&format!("/api/users/{id}"), &a.token).await;
    assert_eq!(r.status(), 404);
    let list = b.get_page("/settings/users?done=removed").await;
    assert!(!list.contains("grace@example.com") && list.contains("The user is removed"));
}

#[tokio::test]
async fn a_rep_changes_their_own_password_and_their_other_sessions_end() {
    let (app, a) = spawn_tenant("Alpha").await;
    let (_, email, api_token) = rep_of(&app, &a).await;
    let (mut b, csrf) = signed_in(&app, &email).await;
    let change = |current: &'static str, new: &'static str, again: &'static str| {
        [
            ("current_password", current),
            ("password", new),
            ("password_again", again),
        ]
    };
    let post = async |b: &mut Browser<'_>, f: [(&'static str, &'static str); 3], status| {
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend(f);
        post_expect(b, "/settings/password", &form, status).await
    };
    let page = post(
        &mut b,
        change(
            "not my password",
            "a brand new phrase",
            "a brand new phrase",
        ),
        422,
    )
    .await;
    assert!(page.contains("this is not your current password"), "{page}");
    let page = post(
        &mut b,
        change(PASSWORD, "a brand new phrase", "another phrase"),
        422,
    )
    .await;
    assert!(page.contains("the two new passwords differ"), "{page}");
    let page = post(&mut b, change(PASSWORD, "12345678", "12345678"), 422).await;
    assert!(page.contains("aria-invalid=\"true\""), "{page}");
    assert!(
        page.to_lowercase().contains("common"),
        "the policy says why: {page}"
    );
    assert_eq!(
        app.get("/api/me", &api_token).await.status(),
        200,
        "nothing changed yet"
    );
    // Without the token: refused.
    let r = b
        .post(
            "/settings/password",
            &change(PASSWORD, "a brand new phrase", "a brand new phrase"),
        )
        .await;
    assert_eq!(r.status(), 403);
    post(
        &mut b,
        change(PASSWORD, "a brand new phrase", "a brand new phrase"),
        303,
    )
    .await;
    assert_eq!(
        app.get("/api/me", &api_token).await.status(),
        401,
        "the API session ended"
    );
    let page = b.get_page("/settings?done=password").await;
    assert!(
        page.contains("Your password is changed"),
        "this browser goes on"
    );
    assert_eq!(app.login(&email, PASSWORD).await.status(), 401);
    assert_eq!(app.login(&email, "a brand new phrase").await.status(), 200);
}

#[tokio::test]
async fn a_user_ends_their_own_sessions_but_nobody_else_s() {
    let (app, a) = spawn_tenant("Alpha").await;
    let (_, email, _) = rep_of(&app, &a).await;
    let (mut laptop, csrf) = signed_in(&app, &email).await;
    let (mut phone, _) = signed_in(&app, &email).await;
    let (mut tablet, _) = signed_in(&app, &email).await;
    let page = laptop.get_page("/settings").await;
    let ids: Vec<String> = page
        .split("action=\"/settings/sessions/")
        .skip(1)
        .filter_map(|s| s.split('/').next())
        .filter(|s| s.len() == 32)
        .map(str::to_string)
        .collect();
    assert_eq!(ids.len(), 4, "three browsers and the API's sign-in: {page}");
    // The admin's session id, presented by the rep: not theirs.
    let (admin, _) = signed_in(&app, &a.email).await;
    let admin_sessions = app
        .get_ok(&format!("/api/users/{}/sessions", a.admin_id), &a.token)
        .await;
    let theirs = admin_sessions["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Another's session, and no session id at all: not found.
    for id in [theirs.as_str(), "not-an-id"] {
        let revoke = format!("/settings/sessions/{id}/revoke");
        laptop.submit(&revoke, &csrf, &[], 404).await;
    }
    post_expect(&mut laptop, "/settings/sessions/others", &[], 403).await;
    assert_eq!(
        status_of(&mut phone, "/settings").await,
        200,
        "nothing ended"
    );
    laptop
        .submit("/settings/sessions/others", &csrf, &[], 303)
        .await;
    assert_eq!(
        status_of(&mut phone, "/settings").await,
        303,
        "to the sign-in page"
    );
    assert_eq!(status_of(&mut tablet, "/").await, 303);
    assert_eq!(
        status_of(&mut laptop, "/settings").await,
        200,
        "this one goes on"
    );
    drop(admin);
    // Ending the current session signs this browser out.
    let page = laptop.get_page("/settings").await;
    let mine = page
        .split("action=\"/settings/sessions/")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .unwrap()
        .to_string();
    laptop
        .submit(
            &format!("/settings/sessions/{mine}/revoke"),
            &csrf,
            &[],
            303,
        )
        .await;
    assert_eq!(status_of(&mut laptop, "/").await, 303);
}

/// The configuration of the API as form fields, with `weights.industry` and
/// `weights.engagement` swapped to `industry` and `engagement`.
fn scoring_form(config: &Value, industry: &str, engagement: &str) -> Vec<(String, String)> {
    let mut f = Vec::new();
    for (k, v) in config["weights"].as_object().unwrap() {
        let v = match k.as_str() {
            "industry" => industry.to_string(),
            "engagement" => engagement.to_string(),
            _ => v.to_string(),
        };
        f.push((format!("weights.{k}"), v));
    }
    for (k, v) in config["thresholds"].as_object().unwrap() {
        f.push((format!("thresholds.{k}"), v.to_string()));
    }
    f.push((
        "industries.other_points".into(),
        config["industries"]["other_points"].to_string(),
    ));
    for (i, r) in config["industries"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        let syn: Vec<&str> = r["synonyms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        f.push((
            format!("industries.rules[{i}].name"),
            r["name"].as_str().unwrap().into(),
        ));
        f.push((
            format!("industries.rules[{i}].points"),
            r["points"].to_string(),
        ));
        f.push((format!("industries.rules[{i}].synonyms"), syn.join(", ")));
    }
    f
}

async fn post_pairs(
    b: &mut Browser<'_>,
    path: &str,
    pairs: &[(String, String)],
    status: u16,
) -> String {
    let form: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    post_expect(b, path, &form, status).await
}

/// What a preview must leave as it is: the configuration, the scores.
async fn scoring_state(app: &TestApp, t: &Tenant, lead: i64) -> (Value, Value) {
    let config = app.get_ok("/api/scoring/config", &t.token).await;
    let lead = app.get_ok(&format!("/api/leads/{lead}"), &t.token).await;
    (
        config,
        json!([lead["score"], lead["score_updated_at"], lead["updated_at"]]),
    )
}

#[tokio::test]
async fn the_scoring_form_previews_without_writing_and_checks_as_the_api_does() {
    let (app, a) = spawn_tenant("Alpha").await;
    let (lead, _) = crate::web::records_of(&app, &a).await;
    let before = scoring_state(&app, &a, lead).await;
    let (mut b, csrf) = signed_in(&app, &a.email).await;
    let page = b.get_page("/settings/scoring").await;
    assert!(
        page.contains("The saved configuration, scored now")
            && page.contains(&format!("/leads/{lead}"))
    );
    let config = before.0.clone();
    // Engagement takes the industry's weight: this lead (no activity) falls.
    let mut form = scoring_form(&config, "0.40", "0.05");
    form.push(("csrf".into(), csrf.clone()));
    form.push(("action".into(), "preview".into()));
    let page = post_pairs(&mut b, "/settings/scoring", &form, 200).await;
    assert!(page.contains("Preview of your changes"), "{page}");
    assert!(page.contains("value=\"0.40\""), "the form keeps the edits");
    let api = app
        .post_ok(
            "/api/scoring/config/preview?sample=5",
            &a.token,
            json!({"weights": {"industry": 0.40, "company_size": 0.15, "engagement": 0.05, "decision_maker": 0.15, "urgency": 0.10, "budget_signals": 0.10, "ai_insights": 0.05}, "industries": config["industries"], "thresholds": config["thresholds"]}),
            200,
        )
        .await;
    let item = &api["items"][0];
    assert_eq!(item["lead_id"], lead);
    assert!(
        item["score"].as_f64().unwrap() != item["current_score"].as_f64().unwrap(),
        "{api}"
    );
    let change = format!("{:+.2}", item["change"].as_f64().unwrap());
    assert!(
        page.contains(&change),
        "the page shows the API's preview {change}: {api}"
    );
    assert_eq!(
        scoring_state(&app, &a, lead).await,
        before,
        "a preview writes nothing"
    );

    // Weights that do not sum to 1: the API's check and message, on the form.
    let bad = scoring_form(&config, "0.50", "0.25");
    let mut body = json!({"weights": {}, "industries": config["industries"], "thresholds": config["thresholds"]});
    for (k, v) in &bad {
        if let Some(w) = k.strip_prefix("weights.") {
            body["weights"][w] = json!(v.parse::<f64>().unwrap());
        }
    }
    let r = app
        .call(
            reqwest::Method::PUT,
            "/api/scoring/config",
            Some(&a.token),
            Some(body.clone()),
        )
        .await;
    let api_error = crate::helpers::assert_error(r, 422, "validation_failed").await;
    let message = api_error["error"]["message"].as_str().unwrap().to_string();
    let r = app
        .call(
            reqwest::Method::POST,
            "/api/scoring/config/preview",
            Some(&a.token),
            Some(body),
        )
        .await;
    crate::helpers::assert_error(r, 422, "validation_failed").await;
    for action in ["preview", "save"] {
        let mut form = bad.clone();
        form.push(("csrf".into(), csrf.clone()));
        form.push(("action".into(), action.into()));
        let page = post_pairs(&mut b, "/settings/scoring", &form, 422).await;
        let shown = message.replace('\'', "&#39;").replace('"', "&#34;");
        assert!(
            page.contains(&message) || page.contains(&shown),
            "{action}: {message} in {page}"
        );
        assert!(page.contains("aria-invalid=\"true\""));
    }
    // An industry name too long, in the form's second row: that row is marked.
    let mut form = scoring_form(&config, "0.20", "0.25");
    let long = "x".repeat(101);
    for (k, v) in form.iter_mut() {
        if k == "industries.rules[1].name" {
            *v = long.clone();
        }
    }
    form.push(("csrf".into(), csrf.clone()));
    form.push(("action".into(), "save".into()));
    let page = post_pairs(&mut b, "/settings/scoring", &form, 422).await;
    assert!(
        page.contains("at most 100 characters") && page.contains("industries.rules[1].name"),
        "{page}"
    );
    let row = page
        .split("id=\"rule-1-name\"")
        .nth(1)
        .unwrap()
        .split('>')
        .next()
        .unwrap();
    assert!(row.contains("aria-invalid"), "{row}");
    assert_eq!(
        scoring_state(&app, &a, lead).await,
        before,
        "nothing stored"
    );
    // Without the token: refused.
    post_pairs(
        &mut b,
        "/settings/scoring",
        &scoring_form(&config, "0.40", "0.05"),
        403,
    )
    .await;

    // Saved: the API reads it back.
    let mut form = scoring_form(&config, "0.40", "0.05");
    form.push(("csrf".into(), csrf.clone()));
    form.push(("action".into(), "save".into()));
    post_pairs(&mut b, "/settings/scoring", &form, 303).await;
    let now = app.get_ok("/api/scoring/config", &a.token).await;
    assert_eq!(now["weights"]["industry"], 0.4);
    assert_eq!(now["weights"]["engagement"], 0.05);
    assert_eq!(now["industries"], config["industries"]);
}

#[tokio::test]
async fn the_api_preview_is_for_admins_bounded_and_documented() {
    let (app, a) = spawn_tenant("Alpha").await;
    crate::web::records_of(&app, &a).await;
    let (_, _, rep_token) = rep_of(&app, &a).await;
    let r = app
        .post("/api/scoring/config/preview", &rep_token, json!({}))
        .await;
    crate::helpers::assert_error(r, 403, "forbidden").await;
    let r = app
        .post("/api/scoring/config/preview?sample=0", &a.token, json!({}))
        .await;
    assert_eq!(r.status(), 400);
    let r = app
        .post(
            "/api/scoring/config/preview?sample=101",
            &a.token,
            json!({}),
        )
        .await;
    assert_eq!(r.status(), 400);
    let got = app
        .post_ok("/api/scoring/config/preview", &a.token, json!({}), 200)
        .await;
    let item = &got["items"][0];
    assert!(item["category"].as_str().is_some());
    // The default configuration, as stored: the preview of a lead just
    // scored is its score.
    assert_eq!(item["score"], item["current_score"], "{got}");
    assert_eq!(item["change"], 0.0);
    let doc = app.openapi().await;
    assert!(doc["paths"]["/api/scoring/config/preview"]["post"].is_object());
}

/// Leads of `t` from CSV through the API: `rows` are
/// `email,first_name,title,status,description,budget`.
async fn import_leads(app: &TestApp, t: &Tenant, rows: &[String]) {
    let csv = format!(
        "email,first_name,title,status,description,budget\n{}\n",
        rows.join("\n")
    );
    crate::import::import_leads(app, &t.token, &csv).await;
}

#[tokio::test]
async fn the_csv_export_holds_every_lead_of_the_view_quoted_and_inert() {
    let (app, a) = spawn_tenant("Alpha").await;
    let beta = app.tenant("Beta").await;
    // 230 contacted leads (more than one page of the export), a few others.
    let mut rows: Vec<String> = (0..230)
        .map(|i| format!("p{i}@example.com,P{i},Lead {i:03},contacted,plain,{i}00"))
        .collect();
    rows.push("q@example.com,Q,\"=HYPERLINK(\"\"http://evil\"\")\",contacted,\"+1, \"\"quoted\"\"\nline two\",".into());
    rows.push("r@example.com,R,@SUM(A1),contacted,-2,".into());
    rows.push("s@example.com,S,New lead,new,,".into());
    import_leads(&app, &a, &rows).await;
    import_leads(
        &app,
        &beta,
        &["z@example.com,Z,Beta's lead,contacted,,".to_string()],
    )
    .await;
    let (mut b, _) = signed_in(&app, &a.email).await;
    let list = b
        .get_page("/leads?status=contacted&sort=title&order=asc")
        .await;
    let href = list
        .split("href=\"/leads/export.csv?")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .replace("&#38;", "&")
        .replace("&amp;", "&");
    assert!(
        href.contains("status=contacted")
            && href.contains("sort=title")
            && href.contains("order=asc"),
        "{href}"
    );
    let r = b.get(&format!("/leads/export.csv?{href}")).await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let text = r.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    assert_eq!(&header[..4], ["id", "title", "status", "source"]);
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 232, "every contacted lead, no other");
    let titles: Vec<&str> = records.iter().map(|r| &r[1]).collect();
    let mut sorted = titles.clone();
    sorted.sort();
    assert_eq!(titles, sorted, "in the view's order");
    assert!(records.iter().all(|r| &r[2] == "contacted"));
    assert!(!text.contains("Beta's lead"));
    let formula = records.iter().find(|r| r[1].contains("HYPERLINK")).unwrap();
    assert_eq!(
        &formula[1], "'=HYPERLINK(\"http://evil\")",
        "inert, quotes kept"
    );
    assert_eq!(
        &formula[9], "'+1, \"quoted\"\nline two",
        "commas, quotes and lines survive"
    );
    let at = records.iter().find(|r| r[1].contains("SUM")).unwrap();
    assert_eq!((&at[1], &at[9]), ("'@SUM(A1)", "'-2"));
    let lead_7 = records.iter().find(|r| &r[1] == "Lead 007").unwrap();
    assert_eq!(&lead_7[7], "700.00", "budget in currency units");
    // The same view without a filter: every lead of the organization.
    let all = b.get("/leads/export.csv").await.text().await.unwrap();
    assert_eq!(
        csv::Reader::from_reader(all.as_bytes()).records().count(),
        233
    );
}

/// A multipart form with `fields` then the file `csv`.
fn multipart(fields: &[(&str, &str)], csv: &str) -> (String, Vec<u8>) {
    let boundary = "----neuracrm-test-boundary";
    let mut body = String::new();
    for (k, v) in fields {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
        ));
    }
    body.push_str(&format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"leads.csv\"\r\nContent-Type: text/csv\r\n\r\n{csv}\r\n--{boundary}--\r\n"
    ));
    (
        format!("multipart/form-data; boundary={boundary}"),
        body.into_bytes(),
    )
}

async fn upload(b: &mut Browser<'_>, fields: &[(&str, &str)], csv: &str) -> reqwest::Response {
    let (content_type, body) = multipart(fields, csv);
    b.client
        .post(b.app.url("/leads/import"))
        .header(COOKIE, b.cookie_header())
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn lead_count(app: &TestApp, t: &Tenant) -> usize {
    app.get_ok("/api/leads?limit=200", &t.token).await["items"]
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test]
async fn an_uploaded_csv_is_imported_with_its_per_row_report() {
    let (app, a) = spawn_tenant("Alpha").await;
    let (mut b, csrf) = signed_in(&app, &a.email).await;
    let csv = "email,first_name,title,budget\nada@example.com,Ada,Engines,1500.50\nnot-an-email,Bob,Broken,\ngrace@example.com,Grace,Compilers,\"1,2,3\"\nlin@example.com,Lin,Looms,\n";
    let r = upload(&mut b, &[], csv).await;
    assert_eq!(r.status(), 403, "no token, nothing read");
    assert_eq!(lead_count(&app, &a).await, 0);
    let r = upload(&mut b, &[("csrf", &csrf)], csv).await;
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    let stat = |id: &str| {
        page.split(&format!("id=\"{id}\">"))
            .nth(1)
            .unwrap()
            .split('<')
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        (stat("created"), stat("updated"), stat("rejected")),
        ("2".into(), "0".into(), "2".into()),
        "{page}"
    );
    assert!(
        page.contains("<td class=\"num\">2</td>") && page.contains("<td class=\"num\">3</td>"),
        "rows 2 and 3 refused: {page}"
    );
    let leads = app
        .get_ok("/api/leads?sort=title&order=asc", &a.token)
        .await;
    let titles: Vec<&str> = leads["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Engines", "Looms"]);
    // A missing required column: refused with words.
    let r = upload(
        &mut b,
        &[("csrf", &csrf)],
        "email,first_name\nx@example.com,X\n",
    )
    .await;
    assert_eq!(r.status(), 400, "{:?}", r.text().await);
}

#[tokio::test]
async fn a_large_upload_goes_to_the_background_and_its_page_follows_it() {
    let app = spawn_app_with(|s| s.import_in_request_max_bytes = 1024).await;
    let a = app.tenant("Alpha").await;
    let beta = app.tenant("Beta").await;
    let (mut b, csrf) = signed_in(&app, &a.email).await;
    let mut csv = String::from("email,first_name,title\n");
    for i in 0..200 {
        csv.push_str(&format!("p{i}@example.com,P{i},Lead {i}\n"));
    }
    csv.push_str("broken,X,Bad\n");
    let r = upload(&mut b, &[("csrf", &csrf)], &csv).await;
    assert_eq!(r.status(), 303);
    let to = r.headers()[LOCATION].to_str().unwrap().to_string();
    assert!(to.starts_with("/leads/imports/"), "{to}");
    let id: i64 = to.rsplit('/').next().unwrap().parse().unwrap();
    // The worker runs on its own: wait for the import's end through the API.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let i = app.get_ok(&format!("/api/imports/{id}"), &a.token).await;
        if i["status"] == "completed" {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{i}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let page = b.get_page(&to).await;
    for shown in [
        "Background import: completed",
        "id=\"created\">200<",
        "id=\"rejected\">1<",
        // The refused row.
        "<td class=\"num\">201</td>",
    ] {
        assert!(page.contains(shown), "{shown}: {page}");
    }
    assert!(
        !page.contains("hx-trigger=\"every 2s\""),
        "a finished import is not polled"
    );
    // Another organization's import: not found.
    let (mut theirs, _) = signed_in(&app, &beta.email).await;
    assert_eq!(status_of(&mut theirs, &to).await, 404);
}

/// Moves the browser session's `last_used_at` back by `minutes`.
async fn idle_for(app: &TestApp, b: &Browser<'_>, minutes: i64) {
    let token = b.cookies["neuracrm_session"].clone();
    let id = token.split('.').next().unwrap().to_string();
    let n = app
        .store
        .db()
        .execute(
            Sql::new("UPDATE sessions SET last_used_at = $1 WHERE id = $2")
                .arg(Utc::now() - Duration::minutes(minutes))
                .arg(id),
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
}

async fn last_used(app: &TestApp, b: &Browser<'_>) -> chrono::DateTime<Utc> {
    let id = b.cookies["neuracrm_session"]
        .split('.')
        .next()
        .unwrap()
        .to_string();
    let (at,): (chrono::DateTime<Utc>,) = app
        .store
        .db()
        .fetch_one(Sql::new("SELECT last_used_at FROM sessions WHERE id = $1").arg(id))
        .await
        .unwrap();
    at
}

#[tokio::test]
async fn a_browser_session_unused_for_longer_than_the_idle_timeout_ends() {
    let (app, a) = spawn_tenant("Alpha").await;
    let (mut b, _) = signed_in(&app, &a.email).await;
    // 29 minutes: within the default 30, and the request marks it used.
    idle_for(&app, &b, 29).await;
    assert_eq!(status_of(&mut b, "/").await, 200);
    assert!(Utc::now() - last_used(&app, &b).await < Duration::minutes(1));
    // A page's own background refetch does not count as use.
    idle_for(&app, &b, 20).await;
    let before = last_used(&app, &b).await;
    let r = b
        .client
        .get(app.url("/fragments/pipeline"))
        .header(COOKIE, b.cookie_header())
        .header("hx-request", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(last_used(&app, &b).await, before, "not marked used");
    // 32 minutes (past 30 and the minute of granularity): ended for good.
    idle_for(&app, &b, 32).await;
    let r = b.get("/leads").await;
    assert_eq!(r.status(), 303);
    assert!(
        r.headers()[LOCATION]
            .to_str()
            .unwrap()
            .starts_with("/login")
    );
    idle_for(&app, &b, 0).await;
    assert_eq!(status_of(&mut b, "/").await, 303, "revoked, not just idle");
    // API sessions have no idle timeout: an access token's session unused
    // as long still answers.
    let (access, _) = app.session_of(&a.email, PASSWORD).await;
    app.store
        .db()
        .execute(
            Sql::new(
                "UPDATE sessions SET last_used_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
            )
            .arg(Utc::now() - Duration::hours(3))
            .arg(a.admin_id),
        )
        .await
        .unwrap();
    assert_eq!(app.get("/api/me", &access).await.status(), 200);
}

#[tokio::test]
async fn the_idle_timeout_is_a_setting_and_zero_turns_it_off() {
    let app = spawn_app_with(|s| s.session_idle_timeout_secs = 0).await;
    let a = app.tenant("Alpha").await;
    let (mut b, _) = signed_in(&app, &a.email).await;
    idle_for(&app, &b, 600).await;
    assert_eq!(status_of(&mut b, "/").await, 200);
    let app = spawn_app_with(|s| s.session_idle_timeout_secs = 300).await;
    let a = app.tenant("Alpha").await;
    let (mut b, _) = signed_in(&app, &a.email).await;
    idle_for(&app, &b, 7).await;
    assert_eq!(status_of(&mut b, "/").await, 303);
}
