//! The web UI over HTTP, without a browser: sign-in and the session cookie,
//! CSRF, every page's status, tenancy (another organization's records are
//! "not found"), the security headers, the assets, and the live stream.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, Tenant, TestApp, spawn_app, spawn_tenant};

/// A browser's cookies and a client that does not follow redirects, so each
/// answer can be checked.
pub(crate) struct Browser<'a> {
    pub(crate) app: &'a TestApp,
    pub(crate) client: reqwest::Client,
    pub(crate) cookies: BTreeMap<String, String>,
}

impl<'a> Browser<'a> {
    pub(crate) fn new(app: &'a TestApp) -> Self {
        Browser {
            app,
            client: reqwest::Client::builder()
                .redirect(Policy::none())
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
        }
    }

    pub(crate) fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub(crate) fn keep_cookies(&mut self, r: &reqwest::Response) {
        for c in r.headers().get_all(SET_COOKIE) {
            let c = c.to_str().unwrap();
            let (kv, _) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = kv.split_once('=').unwrap();
            if v.is_empty() || c.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_string(), v.to_string());
            }
        }
    }

    pub(crate) async fn get(&mut self, path: &str) -> reqwest::Response {
        let r = self
            .client
            .get(self.app.url(path))
            .header(COOKIE, self.cookie_header())
            .send()
            .await
            .unwrap();
        self.keep_cookies(&r);
        r
    }

    pub(crate) async fn get_page(&mut self, path: &str) -> String {
        let r = self.get(path).await;
        let status = r.status().as_u16();
        let body = r.text().await.unwrap();
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    pub(crate) async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let r = self
            .client
            .post(self.app.url(path))
            .header(COOKIE, self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap();
        self.keep_cookies(&r);
        r
    }

    /// Posts `fields` with the session's CSRF token `csrf` and asserts the
    /// answer's `status`: the answer.
    pub(crate) async fn submit(
        &mut self,
        path: &str,
        csrf: &str,
        fields: &[(&str, &str)],
        status: u16,
    ) -> reqwest::Response {
        let mut form = vec![("csrf", csrf)];
        form.extend_from_slice(fields);
        let r = self.post(path, &form).await;
        assert_eq!(r.status().as_u16(), status, "POST {path}");
        r
    }

    /// Signs in through the form, as a person would.
    pub(crate) async fn sign_in(&mut self, email: &str) {
        let form = self.get_page("/login?next=/leads").await;
        let csrf = hidden(&form, "csrf");
        let r = self
            .post(
                "/login",
                &[
                    ("email", email),
                    ("password", PASSWORD),
                    ("csrf", &csrf),
                    ("next", "/leads"),
                ],
            )
            .await;
        assert_eq!(r.status().as_u16(), 303, "{:?}", r.text().await);
        assert_eq!(r.headers()[LOCATION], "/leads");
        assert!(
            self.cookies.contains_key("neuracrm_session"),
            "{:?}",
            self.cookies
        );
    }

    /// The CSRF token of the session, from a page's forms.
    pub(crate) async fn csrf(&mut self) -> String {
        let page = self.get_page("/").await;
        hidden(&page, "csrf")
    }
}

/// The value of the first hidden field `name` of a page.
pub(crate) fn hidden(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let at = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} field in {page}"))
        + marker.len();
    page[at..].split('"').next().unwrap().to_string()
}

/// A lead, a contact and a deal of `t`, through the API: (lead, deal).
pub(crate) async fn records_of(app: &TestApp, t: &Tenant) -> (i64, i64) {
    let c = app
        .post_ok(
            "/api/contacts",
            &t.token,
            json!({"first_name": "Ada", "last_name": "Lovelace", "company": "Analytical Engines", "industry": "technology", "job_title": "CTO", "company_size": 400}),
            201,
        )
        .await;
    let lead = app
        .post_ok(
            "/api/leads",
            &t.token,
            json!({"title": "Engines <for> all", "contact_id": c["id"], "budget_cents": 5_000_000}),
            201,
        )
        .await;
    let lead_id = lead["id"].as_i64().unwrap();
    app.post_ok(
        &format!("/api/leads/{lead_id}/score"),
        &t.token,
        json!({}),
        200,
    )
    .await;
    let deal = app
        .post_ok(
            "/api/deals",
            &t.token,
            json!({"title": "Engines deal", "lead_id": lead_id, "value_cents": 1_250_000}),
            201,
        )
        .await;
    (lead_id, deal["id"].as_i64().unwrap())
}

#[tokio::test]
async fn a_signed_out_visitor_is_sent_to_the_sign_in_page() {
    let app = spawn_app().await;
    let mut b = Browser::new(&app);
    for path in ["/", "/leads", "/leads/1", "/deals", "/live"] {
        let r = b.get(path).await;
        assert_eq!(r.status().as_u16(), 303, "{path}");
        let to = r.headers()[LOCATION].to_str().unwrap().to_string();
        assert!(to.starts_with("/login?next="), "{path} -> {to}");
    }
    let r = b.get("/login").await;
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert!(r.headers().contains_key("referrer-policy"));
    let page = r.text().await.unwrap();
    assert!(page.contains("type=\"password\"") && !page.contains("<script>"));
}

#[tokio::test]
async fn sign_in_sets_an_http_only_strict_cookie_and_wrong_credentials_do_not() {
    let (app, t) = spawn_tenant("Acme").await;
    let mut b = Browser::new(&app);
    let form = b.get_page("/login").await;
    let csrf = hidden(&form, "csrf");
    // Without the form's token: refused before the password is looked at.
    let r = b
        .post(
            "/login",
            &[
                ("email", &t.email),
                ("password", PASSWORD),
                ("csrf", "forged"),
            ],
        )
        .await;
    assert_eq!(r.status(), 403);
    let r = b
        .submit(
            "/login",
            &csrf,
            &[("email", &t.email), ("password", "wrong password!")],
            401,
        )
        .await;
    assert!(r.text().await.unwrap().contains("Wrong e-mail or password"));
    assert!(!b.cookies.contains_key("neuracrm_session"));
    let r = b
        .submit(
            "/login",
            &csrf,
            &[("email", &t.email), ("password", PASSWORD)],
            303,
        )
        .await;
    let set = r
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("neuracrm_session="))
        .unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    assert!(
        !set.contains("Secure"),
        "plain HTTP without public_url: {set}"
    );
    let home = b.get_page("/").await;
    assert!(
        home.contains("Acme") && home.contains("Dashboard"),
        "{home}"
    );
}

#[tokio::test]
async fn every_page_renders_and_another_organization_s_records_are_not_found() {
    let app = spawn_app().await;
    let [(a, lead, _, _), (_, their_lead, _, _)] = alpha_and_beta(&app).await;
    let mut b = signed_in(&app, &a).await;
    for path in [
        "/",
        "/leads",
        "/leads?status=new&sort=created&order=asc&category=hot",
        "/deals",
        "/fragments/pipeline",
    ] {
        b.get_page(path).await;
    }
    let page = b.get_page(&format!("/leads/{lead}")).await;
    // The title is escaped, the seven factors are there with their evidence.
    assert!(
        page.contains("Engines &#60;for&#62; all") || page.contains("Engines &lt;for&gt; all"),
        "the title, escaped"
    );
    assert!(!page.contains("Engines <for>"), "never raw");
    for factor in [
        "Industry",
        "Company size",
        "Engagement",
        "Decision maker",
        "Urgency",
        "Budget signals",
        "AI insights",
    ] {
        assert!(page.contains(factor), "{factor} missing");
    }
    assert!(page.contains("<svg"), "the factor bars");
    let list = b.get_page("/leads").await;
    assert!(list.contains(&format!("/leads/{lead}")));
    assert!(
        !list.contains(&format!("/leads/{their_lead}")),
        "no lead of Beta"
    );
    let r = b.get(&format!("/leads/{their_lead}")).await;
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("no such lead"));
    // A browser asking for a page that does not exist gets a page.
    let r = b
        .client
        .get(app.url("/nowhere"))
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("<h1>Not found</h1>"));
}

#[tokio::test]
async fn a_form_without_its_csrf_token_is_refused_and_with_it_the_deal_moves() {
    let (app, a) = spawn_tenant("Alpha").await;
    let (_, deal) = records_of(&app, &a).await;
    let mut b = signed_in(&app, &a).await;
    let path = format!("/deals/{deal}/stage");
    let r = b.post(&path, &[("stage", "negotiation")]).await;
    assert_eq!(r.status(), 403);
    let r = b
        .post(&path, &[("stage", "negotiation"), ("csrf", "0000")])
        .await;
    assert_eq!(r.status(), 403);
    let got = deal_of(&app, &a, deal).await;
    assert_eq!(got["stage"], "prospecting", "nothing changed");
    let csrf = b.csrf().await;
    b.submit(&path, &csrf, &[("stage", "negotiation")], 303)
        .await;
    let got = deal_of(&app, &a, deal).await;
    assert_eq!(got["stage"], "negotiation");
    // Another organization's deal: not found, unchanged.
    let beta = app.tenant("Beta").await;
    let (_, their_deal) = records_of(&app, &beta).await;
    let won = [("stage", "closed_won")];
    b.submit(&format!("/deals/{their_deal}/stage"), &csrf, &won, 404)
        .await;
    let theirs = deal_of(&app, &beta, their_deal).await;
    assert_eq!(theirs["stage"], "prospecting");
}

#[tokio::test]
async fn logging_an_activity_and_scoring_from_the_lead_page_use_the_same_actions() {
    let (app, a) = spawn_tenant("Alpha").await;
    let (lead, _) = records_of(&app, &a).await;
    let mut b = signed_in(&app, &a).await;
    let csrf = b.csrf().await;
    let mut events = app.events.subscribe_org(neuracrm_domain::OrgId(a.org_id));
    b.submit(
        &format!("/leads/{lead}/activities"),
        &csrf,
        &[
            ("kind", "note"),
            ("subject", "Call back"),
            ("body", "They loved the demo"),
        ],
        303,
    )
    .await;
    let e = tokio::time::timeout(Duration::from_secs(5), events.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(e.kind.name(), "activity_logged");
    let acts = app
        .get_ok(&format!("/api/activities?lead_id={lead}"), &a.token)
        .await;
    assert_eq!(acts["items"][0]["body"], "They loved the demo");
    assert_eq!(
        acts["items"][0]["user_id"], a.admin_id,
        "recorded as the signed-in user"
    );
    b.submit(&format!("/leads/{lead}/score"), &csrf, &[], 303)
        .await;
    let page = b.get_page(&format!("/leads/{lead}?done=scored")).await;
    assert!(page.contains("They loved the demo") && page.contains("Scored now."));
}

#[tokio::test]
async fn logout_ends_the_session_for_good() {
    let (app, a) = spawn_tenant("Alpha").await;
    let mut b = signed_in(&app, &a).await;
    let stolen = b.cookies.clone();
    let csrf = b.csrf().await;
    let r = b.submit("/logout", &csrf, &[], 303).await;
    assert_eq!(r.headers()[LOCATION], "/login");
    assert!(!b.cookies.contains_key("neuracrm_session"));
    assert_eq!(b.get("/").await.status(), 303);
    // The old cookie, replayed: the session is closed in the database.
    b.cookies = stolen;
    let r = b.get("/").await;
    assert_eq!(r.status(), 303);
}

#[tokio::test]
async fn assets_are_hashed_immutable_and_compressed() {
    let (app, a) = spawn_tenant("Alpha").await;
    let mut b = signed_in(&app, &a).await;
    let page = b.get_page("/").await;
    let css = page
        .split("href=\"")
        .map(|s| s.split('"').next().unwrap())
        .find(|u| u.starts_with("/assets/app.") && u.ends_with(".css"))
        .unwrap()
        .to_string();
    let r = b
        .client
        .get(app.url(&css))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert_eq!(r.headers()["content-encoding"], "gzip");
    assert_eq!(b.get("/assets/app.0000000000.css").await.status(), 404);
}

#[tokio::test]
async fn a_contact_page_names_the_segments_holding_the_contact() {
    let (app, a) = spawn_tenant("Alpha").await;
    let c = app
        .post_ok("/api/contacts", &a.token, json!({"first_name": "Ada"}), 201)
        .await;
    let mut b = signed_in(&app, &a).await;
    let page = b.get_page(&format!("/contacts/{}", c["id"])).await;
    assert!(!page.contains("contact-segments"), "in no segment yet");
    let everyone = json!({"field": "total_deals", "operand": "gte", "value": 0});
    app.post_ok(
        "/api/segments",
        &a.token,
        json!({"name": "Everyone & co", "kind": "static", "rule": everyone}),
        201,
    )
    .await;
    let page = b.get_page(&format!("/contacts/{}", c["id"])).await;
    assert!(page.contains("id=\"contact-segments\""), "{page}");
    assert!(page.contains("Everyone &#38; co"), "escaped: {page}");
}

impl Browser<'_> {
    /// Opens the page's live stream, naming `last_event_id` as a browser
    /// reconnecting on its own does.
    async fn live(&self, last_event_id: Option<&str>) -> reqwest::Response {
        let mut req = self
            .client
            .get(self.app.url("/live"))
            .header(COOKIE, self.cookie_header());
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 200);
        r
    }
}

/// Reads the stream `r` until `needle` shows up (10 s at most): all it read.
async fn read_until(r: &mut reqwest::Response, needle: &str) -> String {
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !seen.contains(needle) {
        let chunk = tokio::time::timeout_at(deadline, r.chunk())
            .await
            .unwrap_or_else(|_| panic!("{needle} arrives; got {seen}"))
            .unwrap()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    seen
}

/// Deal `deal` of `t`, as the API reads it.
async fn deal_of(app: &TestApp, t: &Tenant, deal: i64) -> Value {
    app.with(&t.token)
        .get_ok(&format!("/api/deals/{deal}"))
        .await
}

/// Moves `deal` of `t` to `stage` through the API.
async fn move_deal(app: &TestApp, t: &Tenant, deal: i64, stage: &str) {
    app.patch(
        &format!("/api/deals/{deal}"),
        &t.token,
        json!({"stage": stage}),
    )
    .await;
}

#[tokio::test]
async fn a_browser_that_reconnects_is_told_to_refresh_and_every_message_has_an_id() {
    let (app, a) = spawn_tenant("Alpha").await;
    let (_, deal) = records_of(&app, &a).await;
    let b = signed_in(&app, &a).await;
    // A browser reconnecting on its own sends the id of the last message it
    // got: the first message is `refresh` (the page refetches its live parts).
    let mut r = b.live(Some("41")).await;
    move_deal(&app, &a, deal, "proposal").await;
    let seen = read_until(&mut r, "event: deal_updated").await;
    let refresh = seen.find("event: refresh").expect(&seen);
    assert!(
        refresh < seen.find("event: deal_updated").unwrap(),
        "{seen}"
    );
    assert!(
        seen.contains("id: 1\n") && seen.contains("id: 2\n"),
        "{seen}"
    );

    // A first connection has nothing to catch up on.
    let mut fresh = b.live(None).await;
    move_deal(&app, &a, deal, "negotiation").await;
    let seen = read_until(&mut fresh, "event: deal_updated").await;
    assert!(!seen.contains("event: refresh"), "{seen}");
}

#[tokio::test]
async fn the_live_stream_carries_only_the_organization_s_events() {
    let app = spawn_app().await;
    let [(a, _, _, deal), (beta, _, _, their_deal)] = alpha_and_beta(&app).await;
    let b = signed_in(&app, &a).await;
    let mut r = b.live(None).await;
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    // Beta moves its deal first, then a colleague of Alpha moves Alpha's.
    move_deal(&app, &beta, their_deal, "proposal").await;
    move_deal(&app, &a, deal, "proposal").await;
    let seen = read_until(&mut r, &format!("\"id\":{deal}")).await;
    assert!(seen.contains("event: deal_updated"), "{seen}");
    assert!(
        !seen.contains(&format!("\"id\":{their_deal}")),
        "no event of Beta: {seen}"
    );
    assert!(
        !seen.contains(&format!("\"organization_id\":{}", beta.org_id)),
        "{seen}"
    );
}

async fn contact_of(app: &TestApp, t: &Tenant, lead: i64) -> i64 {
    let l = app.get_ok(&format!("/api/leads/{lead}"), &t.token).await;
    l["contact_id"].as_i64().unwrap()
}

/// Alpha and Beta, each with a lead, its contact and a deal: (the tenant,
/// the lead, the contact, the deal) of each.
async fn alpha_and_beta(app: &TestApp) -> [(Tenant, i64, i64, i64); 2] {
    let mut out = vec![];
    for name in ["Alpha", "Beta"] {
        let t = app.tenant(name).await;
        let (lead, deal) = records_of(app, &t).await;
        let contact = contact_of(app, &t, lead).await;
        out.push((t, lead, contact, deal));
    }
    out.try_into().ok().unwrap()
}

/// A browser signed in as `t`'s admin.
pub(crate) async fn signed_in<'a>(app: &'a TestApp, t: &Tenant) -> Browser<'a> {
    let mut b = Browser::new(app);
    b.sign_in(&t.email).await;
    b
}

/// A browser signed in as a new user of `admin`'s organization with `role`.
pub(crate) async fn signed_in_as<'a>(app: &'a TestApp, admin: &Tenant, role: &str) -> Browser<'a> {
    let email = format!("{role}@{}.example.com", admin.org_id);
    app.member(admin, &email, role).await;
    let mut b = Browser::new(app);
    b.sign_in(&email).await;
    b
}

#[tokio::test]
async fn contacts_forecast_and_sentiment_pages_open_for_every_role() {
    let (app, a) = spawn_tenant("Alpha").await;
    let (lead, _) = records_of(&app, &a).await;
    let contact = contact_of(&app, &a, lead).await;
    app.post_ok(
        "/api/deals",
        &a.token,
        json!({"title": "Difference engine", "contact_id": contact, "value_cents": 990_000}),
        201,
    )
    .await;
    crate::forecast::history(&app, &a, 14).await;
    let admin = signed_in(&app, &a).await;
    let manager = signed_in_as(&app, &a, "manager").await;
    let rep = signed_in_as(&app, &a, "rep").await;
    for (role, mut b) in [("admin", admin), ("manager", manager), ("rep", rep)] {
        for path in [
            "/contacts",
            "/contacts?q=ada&owner=me&industry=technology&created_from=2020-01-01&created_to=2199-12-31&sort=name&order=asc&page=1",
            "/contacts?sort=nonsense&created_from=yesterday&page=-3",
            "/forecast?metric=deals_won&model=theta",
            "/forecast?metric=profit&model=crystal_ball",
            "/sentiment?period=30d",
            "/sentiment?period=365d",
        ] {
            b.get_page(path).await;
        }
        let list = b.get_page("/contacts?q=Lovelace").await;
        assert!(
            list.contains(&format!("href=\"/contacts/{contact}\""))
                && list.contains("Ada Lovelace"),
            "{role}: {list}"
        );
        let page = b.get_page(&format!("/contacts/{contact}")).await;
        assert!(
            page.contains(&format!("href=\"/leads/{lead}\"")),
            "{role}: the contact's lead is listed"
        );
        assert!(
            page.contains("Difference engine") && page.contains("$9,900"),
            "{role}: and its deal"
        );
        assert!(
            page.contains(&format!("action=\"/contacts/{contact}/activities\"")),
            "{role}: the activity form"
        );
        let forecast = b.get_page("/forecast").await;
        for (shown, what) in [
            (
                "class=\"line forecast\"",
                "14 months of wins make a forecast",
            ),
            ("class=\"band\"", "with its band"),
            ("id=\"model-table\"", "the backtests"),
            (
                "No stored revenue forecast has reached its month yet",
                "the honest empty state of accuracy",
            ),
            ("Monthly revenue", "the starter model"),
        ] {
            assert!(forecast.contains(shown), "{role}: {what}");
        }
        let edits = forecast.contains("action=\"/forecast/models/");
        assert_eq!(
            edits,
            role != "rep",
            "{role}: model forms only for admins and managers"
        );
        let sentiment = b.get_page("/sentiment").await;
        assert!(sentiment.contains("By activity type"), "{role}");
    }
}

#[tokio::test]
async fn another_organization_s_contact_is_not_found_nor_changed() {
    let app = spawn_app().await;
    let [(a, _, mine, _), (beta, _, theirs, _)] = alpha_and_beta(&app).await;
    let mut b = signed_in(&app, &a).await;
    let csrf = b.csrf().await;
    let r = b.get(&format!("/contacts/{theirs}")).await;
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("no such contact"));
    let list = b.get_page("/contacts").await;
    assert!(list.contains(&format!("/contacts/{mine}")));
    assert!(
        !list.contains(&format!("/contacts/{theirs}")),
        "no contact of Beta"
    );
    // Neither its details form nor its log form reaches it.
    let page = format!("/contacts/{theirs}");
    let (rename, note) = (
        [("first_name", "Mallory")],
        [("kind", "note"), ("body", "planted")],
    );
    b.submit(&page, &csrf, &rename, 404).await;
    b.submit(&format!("{page}/activities"), &csrf, &note, 404)
        .await;
    let theirs = app.with(&beta.token);
    let c = theirs.get_ok(&format!("/api{page}")).await;
    assert_eq!(c["first_name"], "Ada", "unchanged");
    let acts = theirs.get_ok(&format!("/api{page}/activities")).await;
    assert_eq!(acts["items"], json!([]), "nothing logged on Beta's contact");
}

#[tokio::test]
async fn the_contact_page_edits_and_logs_through_the_same_actions() {
    let (app, a) = spawn_tenant("Alpha").await;
    let (lead, _) = records_of(&app, &a).await;
    let contact = contact_of(&app, &a, lead).await;
    let mut b = signed_in(&app, &a).await;
    let csrf = b.csrf().await;
    let path = format!("/contacts/{contact}");
    let form = |email: &'static str, csrf: Option<&'static str>| {
        let mut f = vec![
            ("first_name", "Ada"),
            ("last_name", "King"),
            ("email", email),
            ("phone", ""),
            ("company", "Analytical Engines"),
            ("job_title", "Countess"),
            ("industry", "technology"),
            ("company_size", "12"),
        ];
        f.extend(csrf.map(|c| ("csrf", c)));
        f
    };
    let csrf: &'static str = Box::leak(csrf.into_boxed_str());
    // Without its token: refused, nothing changed.
    let r = b.post(&path, &form("ada@engines.example", None)).await;
    assert_eq!(r.status(), 403);
    let r = b
        .post(&path, &form("ada@engines.example", Some(csrf)))
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()[LOCATION], format!("{path}?done=saved"));
    let c = app
        .get_ok(&format!("/api/contacts/{contact}"), &a.token)
        .await;
    assert_eq!(
        (
            &c["last_name"],
            &c["email"],
            &c["job_title"],
            &c["company_size"]
        ),
        (
            &json!("King"),
            &json!("ada@engines.example"),
            &json!("Countess"),
            &json!(12)
        )
    );
    assert_eq!(c["phone"], Value::Null, "a blank field clears it");
    // A bad e-mail is refused in words that name the field.
    let r = b.post(&path, &form("not an address", Some(csrf))).await;
    assert!(r.status().is_client_error(), "{}", r.status());
    assert!(r.text().await.unwrap().contains("email"));
    // Logging on the contact: without the token refused, with it logged.
    let log = format!("{path}/activities");
    let r = b.post(&log, &[("kind", "call"), ("body", "x")]).await;
    assert_eq!(r.status(), 403);
    b.submit(
        &log,
        csrf,
        &[("kind", "call"), ("body", "Asked about pricing")],
        303,
    )
    .await;
    let page = b.get_page(&format!("{path}?done=logged")).await;
    assert!(page.contains("Asked about pricing") && page.contains("Logged."));
    let acts = app
        .get_ok(&format!("/api/contacts/{contact}/activities"), &a.token)
        .await;
    assert_eq!(acts["items"][0]["type"], "call");
    assert_eq!(acts["items"][0]["user_id"], a.admin_id);
}

#[tokio::test]
async fn only_admins_and_managers_change_forecasting_models() {
    let (app, a) = spawn_tenant("Alpha").await;
    let models = app.get_ok("/api/forecasting-models", &a.token).await;
    let id = models["items"][0]["id"].as_i64().unwrap();
    let path = format!("/forecast/models/{id}");
    let change = |csrf: Option<&'static str>| {
        let mut f = vec![
            ("name", "Quarterly view"),
            ("metric", "revenue"),
            ("algorithm", "theta"),
            ("horizon_months", "6"),
            ("active", "on"),
        ];
        f.extend(csrf.map(|c| ("csrf", c)));
        f
    };
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    let mut rep = signed_in_as(&app, &a, "rep").await;
    let form = change(Some(leak(rep.csrf().await)));
    assert_eq!(rep.post(&path, &form).await.status(), 403);
    assert_eq!(rep.post("/forecast/models", &form).await.status(), 403);
    let got = app
        .get_ok(&format!("/api/forecasting-models/{id}"), &a.token)
        .await;
    assert_eq!(got["algorithm"], "ensemble", "the rep changed nothing");

    let mut manager = signed_in_as(&app, &a, "manager").await;
    assert_eq!(manager.post(&path, &change(None)).await.status(), 403);
    assert_eq!(
        manager
            .post("/forecast/models", &change(None))
            .await
            .status(),
        403
    );
    let form = change(Some(leak(manager.csrf().await)));
    let r = manager.post(&path, &form).await;
    assert_eq!(r.status(), 303);
    let got = app
        .get_ok(&format!("/api/forecasting-models/{id}"), &a.token)
        .await;
    assert_eq!(
        (&got["name"], &got["algorithm"], &got["horizon_months"]),
        (&json!("Quarterly view"), &json!("theta"), &json!(6))
    );
    let r = manager.post("/forecast/models", &form).await;
    assert_eq!(r.status(), 303);
    let all = app.get_ok("/api/forecasting-models", &a.token).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    // A horizon out of bounds names its field.
    let mut bad = form.clone();
    bad.retain(|(k, _)| *k != "horizon_months");
    bad.push(("horizon_months", "600"));
    let r = manager.post(&path, &bad).await;
    assert!(r.status().is_client_error(), "{}", r.status());
    assert!(r.text().await.unwrap().contains("horizon"));
    // Another organization's model: not found.
    let beta = app.tenant("Beta").await;
    let theirs = app.get_ok("/api/forecasting-models", &beta.token).await["items"][0]["id"]
        .as_i64()
        .unwrap();
    let r = manager
        .post(&format!("/forecast/models/{theirs}"), &form)
        .await;
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn the_sentiment_page_shows_the_most_negative_activity_with_its_lead_and_contact() {
    let app = spawn_app().await;
    let [(a, lead, contact, _), (beta, their_lead, their_contact, _)] = alpha_and_beta(&app).await;
    let note = |body: &str, lead: i64, contact: i64| json!({"type": "note", "lead_id": lead, "contact_id": contact, "body": body});
    let bad = app
        .post_ok(
            "/api/activities",
            &a.token,
            note(
                "This is terrible, awful and broken. We are furious and want a refund.",
                lead,
                contact,
            ),
            201,
        )
        .await;
    let good = app
        .post_ok(
            "/api/activities",
            &a.token,
            note("Great demo, we love it!", lead, contact),
            201,
        )
        .await;
    let theirs = app
        .post_ok(
            "/api/activities",
            &beta.token,
            note(
                "Horrible, hateful, the worst ever.",
                their_lead,
                their_contact,
            ),
            201,
        )
        .await;
    let ids = |v: &Value| v["id"].as_i64().unwrap();
    crate::sentiment::wait_for_sentiment(&app, a.org_id, &[ids(&bad), ids(&good)]).await;
    crate::sentiment::wait_for_sentiment(&app, beta.org_id, &[ids(&theirs)]).await;
    let mut b = signed_in(&app, &a).await;
    let page = b.get_page("/sentiment").await;
    let negative = page
        .split("id=\"most-negative\"")
        .nth(1)
        .unwrap()
        .split("</section>")
        .next()
        .unwrap();
    assert!(
        negative.contains(&format!("id=\"negative-{}\"", ids(&bad))),
        "{negative}"
    );
    assert!(negative.contains(&format!("href=\"/leads/{lead}\"")));
    assert!(negative.contains(&format!("href=\"/contacts/{contact}\"")));
    assert!(
        !negative.contains("Great demo"),
        "a positive note is not negative"
    );
    assert!(!page.contains("Horrible, hateful"), "nothing of Beta");
    let by_type = page.split("id=\"by-type\"").nth(1).unwrap();
    assert!(
        by_type.contains(">Note</td><td class=\"num\" data-label=\"Analysed\">2</td>"),
        "{by_type}"
    );
    let by_source = page.split("id=\"by-source\"").nth(1).unwrap();
    assert!(
        by_source.contains(">Other</td><td class=\"num\" data-label=\"Analysed\">2</td>"),
        "the lead's source (other, by default): {by_source}"
    );
}

#[tokio::test]
async fn the_deal_page_edits_closes_and_logs_through_the_same_actions() {
    let app = spawn_app().await;
    let [(a, lead, contact, deal), (beta, _, _, their_deal)] = alpha_and_beta(&app).await;
    let r = app
        .patch(
            &format!("/api/deals/{deal}"),
            &a.token,
            json!({"contact_id": contact}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let mut b = signed_in(&app, &a).await;
    let page = b.get_page(&format!("/deals/{deal}")).await;
    assert!(
        page.contains(&format!("href=\"/leads/{lead}\"")),
        "its lead"
    );
    assert!(
        page.contains(&format!("href=\"/contacts/{contact}\"")),
        "its contact"
    );
    assert!(page.contains(">Won</button>") && page.contains(">Lost</button>"));
    let board = b.get_page("/deals").await;
    assert!(
        board.contains(&format!("href=\"/deals/{deal}\"")),
        "the card opens it"
    );
    let lead_page = b.get_page(&format!("/leads/{lead}")).await;
    assert!(
        lead_page.contains(&format!("href=\"/deals/{deal}\"")),
        "so does its lead"
    );
    // Another organization's deal: not found, for reading and for writing.
    assert_eq!(b.get(&format!("/deals/{their_deal}")).await.status(), 404);
    let csrf = b.csrf().await;
    let path = format!("/deals/{deal}");
    let r = b.post(&path, &[("title", "No token")]).await;
    assert_eq!(r.status(), 403);
    let taken = [("title", "Taken")];
    b.submit(&format!("/deals/{their_deal}"), &csrf, &taken, 404)
        .await;
    let theirs = deal_of(&app, &beta, their_deal).await;
    assert_ne!(theirs["title"], "Taken");
    // A bad amount is refused, nothing changes.
    let r = b.submit(&path, &csrf, &[("value", "12,50")], 400).await;
    assert!(
        r.text().await.unwrap().contains("value"),
        "the field is named"
    );
    let before = deal_of(&app, &a, deal).await;
    // The fields, through PATCH /api/deals/{id}'s action.
    b.submit(
        &path,
        &csrf,
        &[
            ("title", "Renewal, three years"),
            ("value", "12,500.50"),
            ("stage", "negotiation"),
            ("expected_close", "2027-03-01"),
        ],
        303,
    )
    .await;
    let got = deal_of(&app, &a, deal).await;
    assert_eq!(got["title"], "Renewal, three years");
    assert_eq!(got["value_cents"], 1_250_050);
    assert_eq!(got["stage"], "negotiation");
    assert_eq!(got["expected_close"], "2027-03-01");
    assert_ne!(before["value_cents"], got["value_cents"]);
    // Won: closed, stamped, and the buttons are gone.
    b.submit(&path, &csrf, &[("stage", "closed_won")], 303)
        .await;
    let got = deal_of(&app, &a, deal).await;
    assert_eq!(got["status"], "won");
    assert!(got["closed_at"].is_string());
    let page = b.get_page(&format!("/deals/{deal}?done=saved")).await;
    assert!(page.contains("Saved.") && !page.contains(">Won</button>"));
    // An activity logged on the deal belongs to the deal, its lead and its
    // contact.
    let meeting = [("kind", "meeting"), ("body", "Signed at the table")];
    b.submit(&format!("{path}/activities"), &csrf, &meeting, 303)
        .await;
    let of_deal = format!("/api/activities?deal_id={deal}");
    let acts = app.with(&a.token).get_ok(&of_deal).await;
    assert_eq!(acts["items"][0]["body"], "Signed at the table");
    assert_eq!(acts["items"][0]["lead_id"], lead);
    assert_eq!(acts["items"][0]["contact_id"], contact);
    let page = b.get_page(&format!("/deals/{deal}")).await;
    assert!(page.contains("Signed at the table"), "on its timeline");
    // A rep reads it too.
    let mut rep = signed_in_as(&app, &a, "rep").await;
    rep.get_page(&format!("/deals/{deal}")).await;
}
