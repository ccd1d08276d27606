//! `spawn_app`: a server on port 0 over a fresh database.

use std::sync::Arc;
use std::time::Duration;

use neuracrm_events::EventBus;
use neuracrm_server::{App, Settings};
use neuracrm_store::Store;
use neuracrm_store::testing::{TestStore, fresh_store};
use reqwest::{Method, Response};
use serde_json::{Value, json};

pub struct TestApp {
    pub address: String,
    pub store: Store,
    pub client: reqwest::Client,
    pub events: Arc<dyn EventBus>,
    /// Keeps the test database (file or schema) alive.
    _db: Arc<TestStore>,
}

/// A registered organization with its admin's token.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub org_id: i64,
    pub admin_id: i64,
    pub email: String,
    pub token: String,
}

pub const PASSWORD: &str = "correct horse battery";

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// A JSON request with an optional bearer token.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        let mut r = self.client.request(method, self.url(path));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        if let Some(b) = body {
            r = r.json(&b);
        }
        r.send().await.unwrap()
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Response {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Response {
        self.call(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Response {
        self.call(Method::DELETE, path, Some(token), None).await
    }

    /// POSTs and returns the JSON body, asserting the status.
    pub async fn post_ok(&self, path: &str, token: &str, body: Value, status: u16) -> Value {
        let r = self.post(path, token, body).await;
        let got = r.status().as_u16();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        assert_eq!(got, status, "POST {path}: {body}");
        body
    }

    pub async fn get_ok(&self, path: &str, token: &str) -> Value {
        let r = self.get(path, token).await;
        let got = r.status().as_u16();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        assert_eq!(got, 200, "GET {path}: {body}");
        body
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.call(
            Method::POST,
            "/api/auth/login",
            None,
            Some(json!({"email": email, "password": password})),
        )
        .await
    }

    /// Registers an organization and logs its admin in. Registration
    /// answers the same whether or not it created anything, so the ids come
    /// from `/api/me`.
    pub async fn tenant(&self, name: &str) -> Tenant {
        let email = format!("admin@{}.example.com", name.to_lowercase());
        let r = self
            .call(
                Method::POST,
                "/api/auth/register",
                None,
                Some(json!({
                    "organization_name": name,
                    "name": format!("{name} Admin"),
                    "email": email,
                    "password": PASSWORD,
                })),
            )
            .await;
        assert_eq!(r.status(), 202);
        let token = self.token_for(&email, PASSWORD).await;
        let me = self.get_ok("/api/me", &token).await;
        assert_eq!(me["organization"]["name"], name);
        Tenant {
            org_id: me["organization"]["id"].as_i64().unwrap(),
            admin_id: me["user"]["id"].as_i64().unwrap(),
            email,
            token,
        }
    }

    /// Logs in: the access and refresh tokens of a new session.
    pub async fn session_of(&self, email: &str, password: &str) -> (String, String) {
        let r = self.login(email, password).await;
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        (
            body["access_token"].as_str().unwrap().to_string(),
            body["refresh_token"].as_str().unwrap().to_string(),
        )
    }

    /// `POST /api/auth/refresh` with `refresh_token`.
    pub async fn refresh(&self, refresh_token: &str) -> Response {
        self.call(
            Method::POST,
            "/api/auth/refresh",
            None,
            Some(json!({ "refresh_token": refresh_token })),
        )
        .await
    }

    pub async fn token_for(&self, email: &str, password: &str) -> String {
        let r = self.login(email, password).await;
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_string()
    }

    /// Creates a user of the admin's organization and returns its token.
    pub async fn member(&self, admin: &Tenant, email: &str, role: &str) -> (i64, String) {
        let u = self
            .post_ok(
                "/api/users",
                &admin.token,
                json!({"email": email, "name": "Member", "role": role, "password": PASSWORD}),
                201,
            )
            .await;
        (
            u["id"].as_i64().unwrap(),
            self.token_for(email, PASSWORD).await,
        )
    }
}

impl TestApp {
    /// Requests made with `token`, asserting their answers.
    pub fn with<'a>(&'a self, token: &'a str) -> Actor<'a> {
        Actor { app: self, token }
    }

    /// `POST /api/auth/logout` with `token`, asserting its 204.
    pub async fn logout(&self, token: &str) {
        self.with(token)
            .expect(Method::POST, "/api/auth/logout", None, 204)
            .await;
    }

    /// A request whose `body` is sent as it is, declared as `content_type`.
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Response {
        let mut r = self.client.request(method, self.url(path));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// A `GET` with one header of the caller's choosing (and no token).
    pub async fn get_with_header(&self, path: &str, name: &str, value: &str) -> Response {
        let r = self.client.get(self.url(path)).header(name, value);
        r.send().await.unwrap()
    }

    /// A `GET` without a token.
    pub async fn get_anonymous(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }
}

/// The requests of one token (see [`TestApp::with`]), each asserting the
/// status it must answer.
#[derive(Clone, Copy)]
pub struct Actor<'a> {
    pub app: &'a TestApp,
    pub token: &'a str,
}

impl Actor<'_> {
    /// Sends a JSON request, asserts its status and returns its JSON body
    /// (`Null` when it has none).
    pub async fn expect(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        status: u16,
    ) -> Value {
        let r = self
            .app
            .call(method.clone(), path, Some(self.token), body)
            .await;
        let got = r.status().as_u16();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        assert_eq!(got, status, "{method} {path}: {body}");
        body
    }

    /// `GET` answering 200.
    pub async fn get_ok(&self, path: &str) -> Value {
        self.expect(Method::GET, path, None, 200).await
    }

    /// `POST` answering 201 (created).
    pub async fn create(&self, path: &str, body: Value) -> Value {
        self.expect(Method::POST, path, Some(body), 201).await
    }

    /// `POST` answering 200.
    pub async fn post_ok(&self, path: &str, body: Value) -> Value {
        self.expect(Method::POST, path, Some(body), 200).await
    }

    /// `PATCH` answering 200.
    pub async fn patch_ok(&self, path: &str, body: Value) -> Value {
        self.expect(Method::PATCH, path, Some(body), 200).await
    }

    /// Sends a JSON request that must fail with `status` and `code`, in the
    /// error shape ([`assert_error`]); returns the error body.
    pub async fn error(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        status: u16,
        code: &str,
    ) -> Value {
        let r = self.app.call(method, path, Some(self.token), body).await;
        assert_error(r, status, code).await
    }

    /// A request whose `body` is sent as it is, declared as `content_type`.
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Response {
        self.app
            .send_raw(method, path, Some(self.token), content_type, body)
            .await
    }

    /// `GET` failing with `status` and `code`.
    pub async fn get_err(&self, path: &str, status: u16, code: &str) -> Value {
        self.error(Method::GET, path, None, status, code).await
    }

    /// `DELETE` answering 204 (deleted).
    pub async fn deleted(&self, path: &str) {
        self.expect(Method::DELETE, path, None, 204).await;
    }

    /// `POST` refused as invalid (422 `validation_failed`).
    pub async fn post_invalid(&self, path: &str, body: Value) -> Value {
        self.post_err(path, body, 422, "validation_failed").await
    }

    /// `DELETE` failing with `status` and `code`.
    pub async fn delete_err(&self, path: &str, status: u16, code: &str) -> Value {
        self.error(Method::DELETE, path, None, status, code).await
    }

    /// `POST` failing with `status` and `code`.
    pub async fn post_err(&self, path: &str, body: Value, status: u16, code: &str) -> Value {
        self.error(Method::POST, path, Some(body), status, code)
            .await
    }

    /// `PATCH` failing with `status` and `code`.
    pub async fn patch_err(&self, path: &str, body: Value, status: u16, code: &str) -> Value {
        self.error(Method::PATCH, path, Some(body), status, code)
            .await
    }

    /// A `POST` whose `body` is sent as it is, declared as `content_type`
    /// (an upload).
    pub async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Response {
        self.send_raw(Method::POST, path, content_type, body).await
    }
}

impl Actor<'_> {
    /// `POST` answering 201: the new record's id.
    pub async fn create_id(&self, path: &str, body: Value) -> i64 {
        id_of(&self.create(path, body).await)
    }

    /// `POST` of an action without a body (schedule, pause, a new secret)
    /// answering 200: its JSON.
    pub async fn act(&self, path: &str) -> Value {
        self.post_ok(path, json!({})).await
    }

    /// A CSV import at `path` answered in the request (200): its report.
    pub async fn import_csv(&self, path: &str, csv: &str) -> Value {
        let r = self.post_raw(path, "text/csv", csv.to_string()).await;
        assert_eq!(r.status(), 200, "POST {path}");
        r.json().await.unwrap()
    }

    /// A new e-mail template: its id.
    pub async fn template(&self, name: &str, subject: &str, html: &str) -> i64 {
        let body = json!({"name": name, "subject": subject, "html": html});
        self.create_id("/api/email-templates", body).await
    }

    /// A new segment of `kind` (`static` or `dynamic`) selecting `rule`: its id.
    pub async fn segment(&self, name: &str, kind: &str, rule: Value) -> i64 {
        let body = json!({"name": name, "kind": kind, "rule": rule});
        self.create_id("/api/segments", body).await
    }

    /// A new campaign of template `tpl` to `target`: its JSON.
    pub async fn campaign(&self, name: &str, tpl: i64, target: Value) -> Value {
        let body = json!({"name": name, "template_id": tpl, "target": target});
        self.create("/api/campaigns", body).await
    }
}

/// The `id` of a record as sent.
pub fn id_of(record: &Value) -> i64 {
    record["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no id: {record}"))
}

/// The `items` of a page as sent.
pub fn items(page: &Value) -> &[Value] {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items: {page}"))
}

/// The first of `list` whose `field` is `value`.
pub fn find<'v>(list: &'v [Value], field: &str, value: &str) -> &'v Value {
    list.iter()
        .find(|item| item[field] == value)
        .unwrap_or_else(|| panic!("no {field} {value} in {list:?}"))
}

/// The message of an error body.
pub fn message(error: &Value) -> &str {
    error["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no message: {error}"))
}

/// Creates a contact named `name` with `token`; its id.
pub async fn create_contact(app: &TestApp, token: &str, name: &str) -> i64 {
    app.post_ok("/api/contacts", token, json!({"first_name": name}), 201)
        .await["id"]
        .as_i64()
        .unwrap()
}

/// The row numbers and reasons of an import's rejected rows.
pub fn rejected_rows(rejected: &Value) -> Vec<(u64, String)> {
    let rows = column::<u64>(rejected, "row");
    rows.into_iter()
        .zip(column::<String>(rejected, "reason"))
        .collect()
}

/// The `field` of each item of the JSON array `list` (ids, row numbers, ...).
pub fn column<T: serde::de::DeserializeOwned>(list: &Value, field: &str) -> Vec<T> {
    list.as_array()
        .unwrap_or_else(|| panic!("not an array: {list}"))
        .iter()
        .map(|item| serde_json::from_value(item[field].clone()).unwrap())
        .collect()
}

/// Asserts an error response: status, code and the JSON error shape.
pub async fn assert_error(r: Response, status: u16, code: &str) -> Value {
    let got = r.status().as_u16();
    let header_id = r
        .headers()
        .get("x-request-id")
        .map(|v| v.to_str().unwrap().to_string());
    let text = r.text().await.unwrap();
    let body: Value = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("error body is not JSON ({got}): {text}"));
    assert_eq!(got, status, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
    let id = body["error"]["request_id"].as_str().unwrap();
    assert!(!id.is_empty(), "{body}");
    assert_eq!(Some(id.to_string()), header_id, "body and header ids agree");
    body
}

/// A fresh app with one registered organization.
pub async fn spawn_tenant(name: &str) -> (TestApp, Tenant) {
    let app = spawn_app().await;
    let t = app.tenant(name).await;
    (app, t)
}

/// A fresh app with two registered organizations (`a` first).
pub async fn spawn_two_tenants(a: &str, b: &str) -> (TestApp, Tenant, Tenant) {
    let app = spawn_app().await;
    let (ta, tb) = (app.tenant(a).await, app.tenant(b).await);
    (app, ta, tb)
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// An app whose settings `tweak` adjusts.
pub async fn spawn_app_with(tweak: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_on(tweak, Arc::new(neuracrm_events::BroadcastBus::default())).await
}

/// An app whose settings `tweak` adjusts, publishing on `bus`.
pub async fn spawn_app_on(tweak: impl FnOnce(&mut Settings), bus: Arc<dyn EventBus>) -> TestApp {
    let db = fresh_store().await;
    let store = db.store.clone();
    let mut settings = Settings::for_database(&db.url);
    tweak(&mut settings);
    let app = App::build_with_events(settings, store.clone(), bus)
        .await
        .unwrap();
    serve(app, store, Arc::new(db))
}

/// An app built as `serve` builds it ([`App::build`]: the event bus comes
/// from the settings), over a fresh database.
pub async fn spawn_app_built(tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let db = fresh_store().await;
    let mut settings = Settings::for_database(&db.url);
    tweak(&mut settings);
    let store = db.store.clone();
    start(settings, store, Arc::new(db)).await
}

impl TestApp {
    /// A second instance over this app's database (a pool of its own, as a
    /// second process has), built as `serve` builds it with `tweak`ed settings.
    pub async fn another_instance(&self, tweak: impl FnOnce(&mut Settings)) -> TestApp {
        let store = Store::open(
            &self._db.url,
            &neuracrm_store::ConnectOptions {
                max_connections: 4,
                pg_schema: self._db.pg_schema.clone(),
                ..Default::default()
            },
        )
        .await
        .expect("opening the first instance's database again");
        let mut settings = Settings::for_database(&self._db.url);
        tweak(&mut settings);
        start(settings, store, self._db.clone()).await
    }
}

impl TestApp {
    /// The served OpenAPI document (asserting it is served).
    pub async fn openapi(&self) -> Value {
        let r = self
            .client
            .get(self.url("/api/openapi.json"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "GET /api/openapi.json");
        r.json().await.unwrap()
    }
}

/// Two instances, built as `serve` builds them, over one fresh database and
/// the Redis at `redis`, on a channel of their own (`test` names it: other
/// tests and runs share the Redis).
pub async fn two_instances_over_redis(redis: &str, test: &str) -> (TestApp, TestApp) {
    let channel = format!(
        "neuracrm:test:{test}:{}:{}",
        std::process::id(),
        chrono::Utc::now().timestamp_micros()
    );
    let tweak = |s: &mut Settings| {
        s.redis_url = Some(neuracrm_server::Secret::new(redis.to_string()));
        s.redis_channel = channel.clone();
    };
    let a = spawn_app_built(tweak).await;
    let b = a.another_instance(tweak).await;
    (a, b)
}

async fn start(settings: Settings, store: Store, db: Arc<TestStore>) -> TestApp {
    let app = App::build(settings, store.clone()).await.unwrap();
    serve(app, store, db)
}

/// Runs `app` in the background until the test ends.
fn serve(app: App, store: Store, db: Arc<TestStore>) -> TestApp {
    let address = format!("http://{}", app.local_addr().unwrap());
    let events = app.events();
    tokio::spawn(app.run_until(std::future::pending()));
    TestApp {
        address,
        store,
        client: {
            let _ = rustls::crypto::ring::default_provider().install_default();
            reqwest::Client::new()
        },
        events,
        _db: db,
    }
}

/// How long a test waits for an event-stream message that must come.
pub const MUST_COME: Duration = Duration::from_secs(10);

/// One Server-Sent Events message: its `event:` name and its `data:` JSON.
#[derive(Debug)]
pub struct SseMessage {
    pub event: String,
    pub data: Value,
}

/// An open `GET /api/events` stream, parsed by hand (`event:`/`data:`
/// lines, blank-line separated; `:` comments skipped).
pub struct EventStream {
    res: Response,
    buf: String,
}

impl EventStream {
    /// Opens `path` with `token`, asserting a 200 event stream.
    pub async fn open(app: &TestApp, path: &str, token: &str) -> EventStream {
        let res = app.get(path, token).await;
        assert_eq!(res.status(), 200, "GET {path}");
        let ct = res.headers()["content-type"].to_str().unwrap().to_string();
        assert!(ct.starts_with("text/event-stream"), "{ct}");
        EventStream {
            res,
            buf: String::new(),
        }
    }

    /// The response being read (to see it end).
    pub fn res_mut(&mut self) -> &mut Response {
        &mut self.res
    }

    /// The next message within `wait` (keep-alive comments skipped); `None`
    /// when none came in time. Panics when the stream ends.
    pub async fn next_within(&mut self, wait: Duration) -> Option<SseMessage> {
        tokio::time::timeout(wait, self.next()).await.ok()
    }

    pub async fn next(&mut self) -> SseMessage {
        loop {
            while let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let (mut event, mut data) = (None, Vec::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        event = Some(v.trim_start().to_string());
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push(v.trim_start().to_string());
                    }
                }
                if let Some(event) = event {
                    let data = serde_json::from_str(&data.join("\n"))
                        .unwrap_or_else(|e| panic!("data of {event} is not JSON: {e}: {block}"));
                    return SseMessage { event, data };
                }
            }
            let chunk = self
                .res
                .chunk()
                .await
                .expect("reading the stream")
                .expect("the stream ended");
            self.buf
                .push_str(std::str::from_utf8(&chunk).expect("UTF-8 stream"));
        }
    }

    /// The next message named `event`, asserting that every message on the
    /// way belongs to `org` (sign-up events may still be arriving from
    /// another instance).
    pub async fn next_named(&mut self, event: &str, org: i64) -> SseMessage {
        loop {
            let m = self
                .next_within(MUST_COME)
                .await
                .unwrap_or_else(|| panic!("no {event} within {MUST_COME:?}"));
            assert_eq!(
                m.data["organization_id"], org,
                "{m:?} crossed organizations"
            );
            if m.event == event {
                return m;
            }
        }
    }
}

/// An app over a fresh database, like [`spawn_app_with`], whose server the
/// test can stop as a crash would: aborting the returned task drops the app,
/// so its background tasks stop where they are and the transactions they
/// had open roll back. Its database stays (for [`TestApp::another_instance`]).
pub async fn spawn_stoppable_app(
    tweak: impl FnOnce(&mut Settings),
) -> (TestApp, tokio::task::AbortHandle) {
    let db = fresh_store().await;
    let store = db.store.clone();
    let mut settings = Settings::for_database(&db.url);
    tweak(&mut settings);
    let app = App::build_with_events(
        settings,
        store.clone(),
        Arc::new(neuracrm_events::BroadcastBus::default()),
    )
    .await
    .unwrap();
    let address = format!("http://{}", app.local_addr().unwrap());
    let events = app.events();
    let server = tokio::spawn(app.run_until(std::future::pending()));
    let _ = rustls::crypto::ring::default_provider().install_default();
    let test_app = TestApp {
        address,
        store,
        client: reqwest::Client::new(),
        events,
        _db: Arc::new(db),
    };
    (test_app, server.abort_handle())
}

/// Waits (up to 20 s) until the sentiment subscriber has stored the
/// sentiment of `activity` of `org`.
pub async fn sentiment_stored(app: &TestApp, org: i64, activity: i64, what: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let (org, activity) = (
        neuracrm_domain::OrgId(org),
        neuracrm_domain::ActivityId(activity),
    );
    while app
        .store
        .sentiment()
        .get(org, activity)
        .await
        .unwrap()
        .is_none()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: sentiment never stored"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
