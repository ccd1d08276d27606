//! The web UI in a real browser: headless Chromium driven over the W3C
//! WebDriver protocol by `chromedriver` (Debian's `chromium` and
//! `chromium-driver`, which `.ci/run` installs), against the app on port 0.
//!
//! These tests run when `NEURACRM_TEST_BROWSER=1` is set (CI sets it); a run
//! without it says "the browser was NOT tested" once. Set and no driver:
//! they fail. Screenshots of the pages they visit go to
//! `NEURACRM_SCREENSHOTS` (default `target/screenshots`).
//!
//! The WebDriver client is the few calls these tests need, over reqwest:
//! new session, navigate, find, click, type, read text, execute a script,
//! screenshot.

use std::process::{Child, Command, Stdio};
use std::sync::Once;
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{PASSWORD, Tenant, TestApp, spawn_tenant};

/// A fresh app with one organization, Alpha, when the browser tests run
/// ([`wanted`]).
async fn alpha() -> Option<(TestApp, Tenant)> {
    if !wanted() {
        return None;
    }
    Some(spawn_tenant("Alpha").await)
}

/// Whether the browser tests run; says so once when they do not.
fn wanted() -> bool {
    static SAID: Once = Once::new();
    let on = std::env::var("NEURACRM_TEST_BROWSER").is_ok_and(|v| v == "1");
    if !on {
        SAID.call_once(|| {
            eprintln!("neuracrm-server: the browser was NOT tested (set NEURACRM_TEST_BROWSER=1 with chromium and chromium-driver installed)");
        });
    }
    on
}

/// A chromedriver process on a free port; killed on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    async fn start() -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("NEURACRM_TEST_BROWSER=1 needs chromedriver on PATH (apt-get install chromium chromium-driver)");
        let url = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        for _ in 0..100 {
            if client.get(format!("{url}/status")).send().await.is_ok() {
                return Driver { child, url };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("chromedriver did not start on port {port}");
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One browser window.
struct Browser {
    http: reqwest::Client,
    session: String,
    base: String,
    app: String,
}

impl Browser {
    async fn open(driver: &Driver, app: &TestApp, width: u32) -> Browser {
        let http = reqwest::Client::new();
        let mut options = json!({"args": [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            format!("--window-size={width},1000"),
        ]});
        if width < 500 {
            // Headless Chromium keeps a window at least 500 px wide: a
            // phone's viewport is emulated (its CSS width, touch).
            options["mobileEmulation"] = json!({"deviceMetrics": {
                "width": width, "height": 812, "pixelRatio": 2, "touch": true}});
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": options,
        }}});
        let r: Value = http
            .post(format!("{}/session", driver.url))
            .json(&caps)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = r["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session: {r}"))
            .to_string();
        Browser {
            http,
            base: format!("{}/session/{session}", driver.url),
            session,
            app: app.address.clone(),
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let v: Value = req.send().await.unwrap().json().await.unwrap();
        if v["value"].get("error").is_some() {
            panic!("WebDriver {path}: {v}");
        }
        v["value"].clone()
    }

    async fn go(&self, path: &str) {
        let url = format!("{}{path}", self.app);
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    async fn find(&self, css: &str) -> String {
        let v = self
            .call(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        v.as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap()
            .to_string()
    }

    async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{e}/click"),
            Some(json!({})),
        )
        .await;
    }

    async fn fill(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{e}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    async fn text(&self, css: &str) -> String {
        let e = self.find(css).await;
        self.call(reqwest::Method::GET, &format!("/element/{e}/text"), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    async fn run(&self, script: &str) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
        .await
    }

    async fn path(&self) -> String {
        let url = self.call(reqwest::Method::GET, "/url", None).await;
        url.as_str()
            .unwrap_or_default()
            .trim_start_matches(&self.app)
            .to_string()
    }

    /// Waits until `script` returns true.
    async fn until(&self, script: &str, what: &str) {
        for _ in 0..200 {
            if self.run(script).await == json!(true) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("timed out waiting for {what}");
    }

    async fn screenshot(&self, name: &str) {
        let dir = std::env::var("NEURACRM_SCREENSHOTS").unwrap_or_else(|_| {
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/screenshots").into()
        });
        std::fs::create_dir_all(&dir).unwrap();
        let png = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let bytes = base64_decode(png.as_str().unwrap());
        std::fs::write(format!("{dir}/{name}.png"), bytes).unwrap();
    }

    /// Saves a screenshot `{name}-{width}` and checks the page fits the
    /// window: no sideways scroll, what is wider scrolls in its own box.
    async fn saved_and_fits(&self, name: &str, width: u32) {
        self.screenshot(&format!("{name}-{width}")).await;
        assert_eq!(
            self.run("return window.innerWidth").await,
            json!(width),
            "the viewport is {width} px wide"
        );
        self.until(
            "return document.documentElement.scrollWidth <= window.innerWidth",
            &format!("{name} within {width} px"),
        )
        .await;
    }

    async fn sign_in(&self, email: &str) {
        self.go("/login").await;
        self.fill("input[name=email]", email).await;
        self.fill("input[name=password]", PASSWORD).await;
        self.click("button[type=submit]").await;
        self.until("return location.pathname === '/'", "the dashboard")
            .await;
    }

    /// A window `width` px wide, signed in as `email`.
    async fn signed_in(driver: &Driver, app: &TestApp, width: u32, email: &str) -> Browser {
        let b = Browser::open(driver, app, width).await;
        b.sign_in(email).await;
        b
    }

    async fn close(self) {
        // Ending the window; the driver's exit ends it anyway.
        let _ = self.http.delete(self.base.clone()).send().await;
        let _ = self.session;
    }
}

/// Standard base64 (screenshots), without another dependency.
fn base64_decode(s: &str) -> Vec<u8> {
    let table = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let Some(v) = table(c) else { continue };
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// A deal of `t` in stage `prospecting`: its id.
async fn a_deal(app: &TestApp, t: &Tenant, title: &str) -> i64 {
    let api = app.with(&t.token);
    let lead = api
        .create_id("/api/leads", json!({"title": format!("{title} lead")}))
        .await;
    api.act(&format!("/api/leads/{lead}/score")).await;
    let deal = json!({"title": title, "lead_id": lead, "value_cents": 990_000});
    api.create_id("/api/deals", deal).await
}

#[tokio::test]
async fn a_sales_day_in_the_browser() {
    let Some((app, a)) = alpha().await else {
        return;
    };
    let beta = app.tenant("Beta").await;
    let deal = a_deal(&app, &a, "Big deal").await;
    let driver = Driver::start().await;

    // Sign in, read the dashboard.
    let me = Browser::signed_in(&driver, &app, 1440, &a.email).await;
    assert!(me.text("main h1").await.contains("Dashboard"));
    me.screenshot("dashboard-1440").await;

    // Open the lead and read its factors.
    me.go("/leads").await;
    me.screenshot("leads-1440").await;
    me.click("#leads tbody a").await;
    me.until(
        "return location.pathname.startsWith('/leads/')",
        "the lead page",
    )
    .await;
    let score = me.text("#score").await;
    for factor in ["Industry", "Engagement", "Decision maker", "AI insights"] {
        assert!(score.contains(factor), "{factor} in {score}");
    }
    me.screenshot("lead-1440").await;

    // A colleague's browser and another organization's, watching the board.
    let colleague = Browser::signed_in(&driver, &app, 1440, &a.email).await;
    colleague.go("/deals").await;
    let stranger = Browser::signed_in(&driver, &app, 1440, &beta.email).await;
    stranger.go("/deals").await;
    for b in [&colleague, &stranger] {
        b.until(
            "return !!document.querySelector('[hx-ext=sse]') && window.htmx !== undefined",
            "htmx",
        )
        .await;
    }
    let stranger_before: Value = stranger
        .run("return document.getElementById('board').innerHTML")
        .await;

    // A changed score changes on the open lead page, live: the lead gets
    // buying signals through the API and is scored again there.
    let lead_path = me.path().await;
    let before: Value = me
        .run("return document.getElementById('score').textContent")
        .await;
    app.patch(
        &format!("/api{lead_path}"),
        &a.token,
        json!({"description": "Budget approved; ready to sign the contract this week."}),
    )
    .await;
    let rescored = app
        .post_ok(&format!("/api{lead_path}/score"), &a.token, json!({}), 200)
        .await;
    me.until(
        &format!(
            "return document.getElementById('score').textContent !== {before} \
             && document.getElementById('score').textContent.includes('Budget')"
        ),
        "the new score on the lead page",
    )
    .await;
    assert!(rescored["total"].as_f64().unwrap() > 0.0, "{rescored}");

    // Drag the deal to Negotiation: the drop submits the card's form.
    me.go("/deals").await;
    me.until("return window.htmx !== undefined", "htmx").await;
    me.run(&format!(
        "const card = document.getElementById('deal-{deal}');
         const col = document.querySelector('.column[data-stage=negotiation]');
         const dt = new DataTransfer();
         card.dispatchEvent(new DragEvent('dragstart', {{bubbles: true, dataTransfer: dt}}));
         col.dispatchEvent(new DragEvent('dragover', {{bubbles: true, cancelable: true, dataTransfer: dt}}));
         col.dispatchEvent(new DragEvent('drop', {{bubbles: true, cancelable: true, dataTransfer: dt}}));
         card.dispatchEvent(new DragEvent('dragend', {{bubbles: true, dataTransfer: dt}}));
         return true;"
    ))
    .await;
    // The database has it.
    for _ in 0..100 {
        let d = app.get_ok(&format!("/api/deals/{deal}"), &a.token).await;
        if d["stage"] == "negotiation" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let d = app.get_ok(&format!("/api/deals/{deal}"), &a.token).await;
    assert_eq!(d["stage"], "negotiation", "the drop moved the deal");
    me.screenshot("deals-1440").await;

    // The colleague sees it move, live; the other organization sees nothing.
    colleague
        .until(
            &format!(
                "return !!document.querySelector('.column[data-stage=negotiation] #deal-{deal}')"
            ),
            "the deal moving on the colleague's board",
        )
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stranger_after: Value = stranger
        .run("return document.getElementById('board').innerHTML")
        .await;
    assert_eq!(stranger_before, stranger_after, "nothing moved for Beta");

    // A form posted without its CSRF token is refused.
    let status = me
        .call(
            reqwest::Method::POST,
            "/execute/async",
            Some(json!({
                "script": format!(
                    "const done = arguments[arguments.length - 1];
                     fetch('/deals/{deal}/stage', {{method: 'POST',
                       headers: {{'Content-Type': 'application/x-www-form-urlencoded'}},
                       body: 'stage=proposal'}}).then(r => done(r.status));"
                ),
                "args": []
            })),
        )
        .await;
    assert_eq!(status, json!(403));

    // Log out: back on the sign-in page, and the pages are closed.
    me.go("/").await;
    me.click("form[action='/logout'] button").await;
    me.until("return location.pathname === '/login'", "the sign-in page")
        .await;
    me.go("/deals").await;
    assert!(me.path().await.starts_with("/login"), "{}", me.path().await);

    // A phone's width.
    let phone = Browser::signed_in(&driver, &app, 375, &a.email).await;
    phone.screenshot("dashboard-375").await;
    phone.go("/deals").await;
    phone.screenshot("deals-375").await;

    for b in [me, colleague, stranger, phone] {
        b.close().await;
    }
}

#[tokio::test]
async fn the_settings_in_the_browser() {
    let Some((app, a)) = alpha().await else {
        return;
    };
    let (lead, _) = crate::web::records_of(&app, &a).await;
    let stored = app.get_ok("/api/scoring/config", &a.token).await;
    let driver = Driver::start().await;
    let me = Browser::signed_in(&driver, &app, 1440, &a.email).await;
    // Settings sits at the bottom of the navigation.
    me.click("nav .bottom a[href='/settings']").await;
    me.until("return location.pathname === '/settings'", "the settings")
        .await;
    assert!(me.text("#sessions").await.contains("this browser"));
    me.screenshot("settings-1440").await;
    me.go("/settings/users").await;
    assert!(me.text("#users").await.contains(&a.email));
    me.screenshot("settings-users-1440").await;

    // Engagement's weight moves to industry; "Preview" shows what it does,
    // and nothing is saved.
    me.go("/settings/scoring").await;
    me.run(
        "document.querySelector('input[name=\"weights.industry\"]').value = '0.40';\
         document.querySelector('input[name=\"weights.engagement\"]').value = '0.05';\
         return true;",
    )
    .await;
    me.click("button[value=preview]").await;
    me.until(
        "return document.querySelector('#preview-h').textContent.includes('Preview of your changes')",
        "the preview",
    )
    .await;
    let row = me.text("#preview-table tbody tr").await;
    assert!(row.contains("+20.00") && row.contains("warm"), "{row}");
    assert_eq!(
        me.run("return document.querySelector('input[name=\"weights.industry\"]').value")
            .await,
        json!("0.40"),
        "the form keeps the edits"
    );
    me.screenshot("settings-scoring-1440").await;
    assert_eq!(app.get_ok("/api/scoring/config", &a.token).await, stored);
    let got = app.get_ok(&format!("/api/leads/{lead}"), &a.token).await;
    assert_eq!(got["score_category"], "lukewarm", "no score written");

    let phone = Browser::signed_in(&driver, &app, 375, &a.email).await;
    phone.go("/settings").await;
    phone.screenshot("settings-375").await;
    phone.go("/settings/scoring").await;
    phone.screenshot("settings-scoring-375").await;
    for b in [me, phone] {
        b.close().await;
    }
}

#[tokio::test]
async fn contacts_forecast_and_sentiment_in_the_browser() {
    let Some((app, a)) = alpha().await else {
        return;
    };
    let api = app.with(&a.token);
    let grace = json!({"first_name": "Grace", "last_name": "Hopper", "company": "Compilers Inc", "job_title": "Rear Admiral", "industry": "government", "email": "grace@compilers.example"});
    let c = api.create_id("/api/contacts", grace).await;
    let licences = json!({"title": "Compiler licences", "contact_id": c, "source": "referral"});
    let lead = api.create_id("/api/leads", licences).await;
    let body = "Terrible support, broken build, we are angry and disappointed.";
    let note = json!({"type": "note", "lead_id": lead, "contact_id": c, "body": body});
    api.create("/api/activities", note).await;
    crate::forecast::history(&app, &a, 14).await;
    let driver = Driver::start().await;
    for width in [1440, 375] {
        let b = Browser::signed_in(&driver, &app, width, &a.email).await;

        b.go("/contacts").await;
        b.saved_and_fits("contacts", width).await;
        b.click("#contacts tbody a").await;
        b.until(
            "return location.pathname.startsWith('/contacts/')",
            "the contact page",
        )
        .await;
        let leads = b.text("#contact-leads").await;
        assert!(leads.contains("Compiler licences"), "{leads}");
        b.saved_and_fits("contact", width).await;

        b.go("/forecast").await;
        let drawn = b
            .run("return document.querySelectorAll('#forecast-chart svg .line.forecast, #forecast-chart svg .band').length")
            .await;
        assert_eq!(drawn, json!(2), "the forecast line and its band");
        b.saved_and_fits("forecast", width).await;

        b.go("/sentiment").await;
        b.until(
            "return !!document.querySelector('#most-negative a[href^=\"/contacts/\"]')",
            "the negative note, linked to its contact",
        )
        .await;
        b.saved_and_fits("sentiment", width).await;
        b.close().await;
    }
}

#[tokio::test]
async fn the_segment_rule_builder_and_the_rfm_grid_in_the_browser() {
    let Some((app, a)) = alpha().await else {
        return;
    };
    let api = app.with(&a.token);
    for name in ["Grace", "Alan", "Quiet"] {
        let c = api
            .create_id(
                "/api/contacts",
                json!({"first_name": name, "company": "Acme"}),
            )
            .await;
        if name != "Quiet" {
            let won = json!({"title": "D", "contact_id": c, "value_cents": 7_000_000, "stage": "closed_won"});
            api.create("/api/deals", won).await;
        }
    }
    let driver = Driver::start().await;
    for width in [1440, 375] {
        let b = Browser::signed_in(&driver, &app, width, &a.email).await;
        b.go("/segments/new").await;
        // The count arrives after the page.
        b.until(
            "return document.querySelector('#preview-count')?.textContent === '2'",
            "the count of won_deals >= 1, loaded after the page",
        )
        .await;
        // Typed: htmx counts again from the rule as it stands.
        let value = b.find("#c1-value").await;
        b.call(
            reqwest::Method::POST,
            &format!("/element/{value}/clear"),
            Some(json!({})),
        )
        .await;
        b.fill("#c1-value", "2").await;
        b.until(
            "return document.querySelector('#preview-count')?.textContent === '0'",
            "the count of won_deals >= 2",
        )
        .await;
        // A button: the page again with one more condition, the typed
        // value kept.
        b.click("button[value='add:0']").await;
        b.until(
            "return !!document.querySelector('[name=\"c[2][field]\"]')",
            "the added condition",
        )
        .await;
        assert_eq!(
            b.run("return document.querySelector('#c1-value').value")
                .await,
            json!("2")
        );
        b.saved_and_fits("segment-builder", width).await;
        b.go("/segments/rfm").await;
        assert_eq!(b.text("#rfm-hibernating td.num").await, "2");
        b.saved_and_fits("segment-rfm", width).await;
        b.close().await;
    }
}

#[tokio::test]
async fn calls_and_call_batches_in_the_browser() {
    use crate::voice::{KEY, analyzed, batch_when_settled, ended, event, lead_with_phone, signed};
    if !wanted() {
        return;
    }
    let (_fake, app, a) = crate::voice::ready("Alpha").await;
    let (lead, _) = lead_with_phone(&app, &a, Some("+14155550101")).await;
    let call = crate::voice::place(&app, &a, lead).await;
    let transcript =
        "Agent: Hi Ada, do you have two minutes?\nUser: Yes, we have a budget of fifty thousand.";
    signed(&app, &event("call_ended", &call, ended(transcript)), KEY).await;
    let custom = json!({"budget": "$50,000", "authority": "Ada Lovelace, head of engineering",
                        "need": "an analytical engine for the whole accounts department",
                        "timeline": "2027-03-01", "follow_up_booked": true});
    signed(&app, &event("call_analyzed", &call, analyzed(custom)), KEY).await;
    let (_, batch) = crate::voice::engines_batch(app.with(&a.token), "Analytical Engines").await;
    batch_when_settled(&app, &a, &batch["id"]).await;
    let (call_id, batch_id) = (&call["id"], &batch["id"]);
    let driver = Driver::start().await;
    for width in [1440, 375] {
        let b = Browser::signed_in(&driver, &app, width, &a.email).await;

        b.go("/calls").await;
        b.saved_and_fits("calls", width).await;
        b.click(&format!("#calls a[href='/calls/{call_id}']")).await;
        b.until(
            &format!("return location.pathname === '/calls/{call_id}'"),
            "the call page",
        )
        .await;
        assert_eq!(
            b.run("return document.querySelectorAll('#turns li').length")
                .await,
            json!(2),
            "the transcript as two turns"
        );
        let turns = b.text("#turns").await;
        assert!(
            turns.contains("Yes, we have a budget of fifty thousand."),
            "{turns}"
        );
        assert!(b.text("#summary").await.contains("$50k budget"));
        b.saved_and_fits("call", width).await;

        b.go("/calls").await;
        b.click("a[href='/call-batches']").await;
        b.until(
            "return location.pathname === '/call-batches'",
            "the batches page",
        )
        .await;
        assert!(b.text("#batch-list").await.contains("completed"));
        b.saved_and_fits("call-batches", width).await;
        b.click(&format!("#batch-list a[href='/call-batches/{batch_id}']"))
            .await;
        b.until(
            &format!("return location.pathname === '/call-batches/{batch_id}'"),
            "the batch page",
        )
        .await;
        assert_eq!(b.text("#stat-placed").await, "1");
        assert!(b.text("#batch-items").await.contains("Difference engine"));
        b.saved_and_fits("call-batch", width).await;
        b.close().await;
    }
}
