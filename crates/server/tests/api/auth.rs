//! Registration, login, refresh, `/api/me`, token misuse and rate limiting
//! (sessions, logout and revocation: `sessions.rs`).

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    PASSWORD, assert_error, spawn_app, spawn_app_with, spawn_tenant, spawn_two_tenants,
};

#[tokio::test]
async fn register_login_me() {
    let (app, t) = spawn_tenant("Acme").await;
    let r = app.login(&t.email, PASSWORD).await;
    assert_eq!(r.status(), 200);
    let tokens: Value = r.json().await.unwrap();
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 900);
    assert!(tokens["refresh_token"].as_str().unwrap().len() > 20);
    let me = app.get_ok("/api/me", &t.token).await;
    assert_eq!(me["user"]["email"], t.email);
    assert_eq!(me["user"]["role"], "admin");
    assert_eq!(me["organization"]["name"], "Acme");
    assert_eq!(me["organization"]["id"], t.org_id);
    let text = me.to_string();
    assert!(
        !text.contains("argon2") && !text.contains(PASSWORD),
        "{text}"
    );
}

async fn register_from(
    app: &crate::helpers::TestApp,
    forwarded_for: &str,
    email: &str,
    password: &str,
) -> reqwest::Response {
    app.client
        .post(app.url("/api/auth/register"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"organization_name": "Org", "name": "Someone", "email": email, "password": password}))
        .send()
        .await
        .unwrap()
}

/// Finding 7 of issue 15: the 409 of registration and of `POST /api/users`
/// told whether an address was a login of another organization.
#[tokio::test]
async fn a_taken_email_of_another_organization_is_not_revealed() {
    let (app, a, b) = spawn_two_tenants("Acme", "Globex").await;
    let by_b = app.with(&b.token);
    let orgs = app.store.organizations().ids().await.unwrap().len();

    // Registration: a free address and a taken one get the same answer.
    let free = register_from(&app, "203.0.113.1", "fresh@initech.example.com", PASSWORD).await;
    assert_eq!(free.status(), 202);
    let free: Value = free.json().await.unwrap();
    let taken = register_from(
        &app,
        "203.0.113.1",
        &a.email.to_uppercase(),
        "an attacker's passphrase",
    )
    .await;
    assert_eq!(taken.status(), 202);
    let taken: Value = taken.json().await.unwrap();
    assert_eq!(taken, free);
    assert!(
        free["message"].as_str().unwrap().contains("sign in"),
        "{free}"
    );
    assert_eq!(
        app.store.organizations().ids().await.unwrap().len(),
        orgs + 1,
        "only the free address made an organization; the taken one's was rolled back"
    );
    // The account keeps its password; the one sent with the taken address
    // opens nothing.
    assert_error(
        app.login(&a.email, "an attacker's passphrase").await,
        401,
        "invalid_credentials",
    )
    .await;
    assert_eq!(app.login(&a.email, PASSWORD).await.status(), 200);
    assert_eq!(
        app.login("fresh@initech.example.com", PASSWORD)
            .await
            .status(),
        200
    );

    // A user of B with A's admin's address: the same 409 as with an address
    // of B's own, saying nothing of where the address is used.
    let new_user = |email: &str| json!({"email": email, "name": "N", "role": "rep", "password": "a fine new secret"});
    let elsewhere = by_b
        .post_err("/api/users", new_user(&a.email), 409, "conflict")
        .await;
    let own = by_b
        .post_err("/api/users", new_user(&b.email), 409, "conflict")
        .await;
    assert_eq!(elsewhere["error"]["field"], "email");
    assert_eq!(elsewhere["error"]["field"], own["error"]["field"]);
    assert_eq!(elsewhere["error"]["message"], own["error"]["message"]);
    let message = elsewhere["error"]["message"].as_str().unwrap();
    for word in ["exist", "organization", "another", "other"] {
        assert!(!message.contains(word), "{message}");
    }
}

/// Finding 6 of issue 15: 37 organizations were created from one address in
/// a minute.
#[tokio::test]
async fn registration_is_rate_limited_per_address() {
    let app = spawn_app_with(|s| {
        s.registrations_per_ip = 2;
        s.trusted_proxies = vec!["127.0.0.0/8".into()];
    })
    .await;
    for i in 0..2 {
        let r = register_from(&app, "198.51.100.1", &format!("a{i}@example.com"), PASSWORD).await;
        assert_eq!(r.status(), 202);
    }
    let r = register_from(&app, "198.51.100.1", "a9@example.com", PASSWORD).await;
    let retry = retry_after(&r);
    assert!((1..=3600).contains(&retry), "{retry}");
    assert_error(r, 429, "rate_limited").await;
    assert!(
        app.login("a9@example.com", PASSWORD).await.status() == 401,
        "nothing was registered"
    );
    // Another client has its own budget; logins are not registrations.
    let r = register_from(&app, "198.51.100.2", "b@example.com", PASSWORD).await;
    assert_eq!(r.status(), 202);
    assert_eq!(app.login("a0@example.com", PASSWORD).await.status(), 200);
    // The default is a sensible handful per hour.
    let defaults = neuracrm_server::Settings::for_database("sqlite://x");
    assert_eq!(
        (
            defaults.registrations_per_ip,
            defaults.registration_window_secs
        ),
        (10, 3600)
    );
}

#[tokio::test]
async fn register_validates_fields() {
    let app = spawn_app().await;
    for (body, field) in [
        (
            json!({"organization_name": "A", "name": "X", "email": "nope", "password": PASSWORD}),
            "email",
        ),
        (
            json!({"organization_name": "A", "name": "X", "email": "a@b.io", "password": "short"}),
            "password",
        ),
        (
            json!({"organization_name": " ", "name": "X", "email": "a@b.io", "password": PASSWORD}),
            "organization_name",
        ),
        (
            json!({"organization_name": "A", "name": "", "email": "a@b.io", "password": PASSWORD}),
            "name",
        ),
        (
            json!({"name": "X", "email": "a@b.io", "password": PASSWORD}),
            "organization_name",
        ),
    ] {
        let r = app
            .call(Method::POST, "/api/auth/register", None, Some(body))
            .await;
        let e = assert_error(r, 422, "validation_failed").await;
        assert_eq!(e["error"]["field"], field, "{e}");
    }
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_generic_401() {
    let (app, t) = spawn_tenant("Acme").await;
    let a = assert_error(
        app.login(&t.email, "wrong password!").await,
        401,
        "invalid_credentials",
    )
    .await;
    let b = assert_error(
        app.login("nobody@example.com", PASSWORD).await,
        401,
        "invalid_credentials",
    )
    .await;
    let c = assert_error(
        app.login("not-an-email", PASSWORD).await,
        401,
        "invalid_credentials",
    )
    .await;
    assert_eq!(a["error"]["message"], b["error"]["message"]);
    assert_eq!(a["error"]["message"], c["error"]["message"]);
}

#[tokio::test]
async fn garbage_expired_and_missing_tokens_are_401() {
    let app = spawn_app().await;
    app.tenant("Acme").await;
    let r = app.call(Method::GET, "/api/me", None, None).await;
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    assert_error(r, 401, "unauthorized").await;
    assert_error(app.get("/api/me", "garbage").await, 401, "unauthorized").await;
    let r = app
        .get_with_header("/api/contacts", "authorization", "Basic dXNlcjpwYXNz")
        .await;
    assert_error(r, 401, "unauthorized").await;

    // Signed with the right secret, but expired an hour ago.
    let now = chrono::Utc::now().timestamp();
    let claims = json!({"sub": 1, "org": 1, "role": "admin", "typ": "access", "iat": now - 7200, "exp": now - 3600});
    let secret = neuracrm_server::Settings::for_database("sqlite://x")
        .jwt_secret
        .unwrap();
    let expired = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.expose().as_bytes()),
    )
    .unwrap();
    assert_error(app.get("/api/me", &expired).await, 401, "unauthorized").await;

    // Valid claims signed with another secret.
    let claims =
        json!({"sub": 1, "org": 1, "role": "admin", "typ": "access", "iat": now, "exp": now + 600});
    let forged = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(b"another-secret-another-secret!!"),
    )
    .unwrap();
    assert_error(app.get("/api/contacts", &forged).await, 401, "unauthorized").await;
}

#[tokio::test]
async fn a_refresh_token_is_not_an_access_token_and_refresh_rotates() {
    let (app, t) = spawn_tenant("Acme").await;
    let tokens: Value = app.login(&t.email, PASSWORD).await.json().await.unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    assert_error(app.get("/api/me", refresh).await, 401, "unauthorized").await;

    let r = app.refresh(refresh).await;
    assert_eq!(r.status(), 200);
    let fresh: Value = r.json().await.unwrap();
    let new_access = fresh["access_token"].as_str().unwrap();
    assert_eq!(
        app.get_ok("/api/me", new_access).await["user"]["id"],
        t.admin_id
    );

    // An access token cannot refresh.
    assert_error(app.refresh(access).await, 401, "unauthorized").await;
}

#[tokio::test]
async fn login_is_rate_limited_per_account_with_retry_after() {
    let app = with_login_limits(3, 100).await;
    let t = app.tenant("Acme").await; // one login
    for _ in 0..2 {
        assert_eq!(app.login(&t.email, "wrong password!").await.status(), 401);
    }
    let r = app.login(&t.email, PASSWORD).await;
    let retry = retry_after(&r);
    assert!((1..=60).contains(&retry), "{retry}");
    assert_error(r, 429, "rate_limited").await;
    // Other accounts are not affected.
    assert_eq!(app.login("other@example.com", PASSWORD).await.status(), 401);
}

#[tokio::test]
async fn login_is_rate_limited_per_ip() {
    let app = with_login_limits(100, 4).await;
    for i in 0..4 {
        let r = app.login(&format!("user{i}@example.com"), PASSWORD).await;
        assert_eq!(r.status(), 401);
    }
    assert_error(
        app.login("user9@example.com", PASSWORD).await,
        429,
        "rate_limited",
    )
    .await;
}

/// The seconds a 429 asks to wait (its `Retry-After`).
fn retry_after(r: &reqwest::Response) -> u64 {
    r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// An app allowing `per_account` login attempts per account and `per_ip`
/// per client address (in the limiter's window).
async fn with_login_limits(per_account: u32, per_ip: u32) -> crate::helpers::TestApp {
    spawn_app_with(|s| {
        s.login_attempts_per_account = per_account;
        s.login_attempts_per_ip = per_ip;
    })
    .await
}

async fn login_from(app: &crate::helpers::TestApp, forwarded_for: &str, email: &str) -> u16 {
    app.client
        .post(app.url("/api/auth/login"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_limit_is_per_forwarded_client() {
    let app = spawn_app_with(|s| {
        s.login_attempts_per_account = 100;
        s.login_attempts_per_ip = 2;
        s.trusted_proxies = vec!["127.0.0.0/8".into()];
    })
    .await;
    for i in 0..2 {
        assert_eq!(
            login_from(&app, "198.51.100.1", &format!("a{i}@example.com")).await,
            401
        );
    }
    assert_eq!(
        login_from(&app, "198.51.100.1", "a9@example.com").await,
        429
    );
    // Another client behind the same proxy has its own budget.
    assert_eq!(login_from(&app, "198.51.100.2", "b@example.com").await, 401);
}

#[tokio::test]
async fn without_a_trusted_proxy_a_forged_forwarded_for_changes_nothing() {
    let app = with_login_limits(100, 2).await;
    for i in 0..2 {
        assert_eq!(
            login_from(
                &app,
                &format!("203.0.113.{i}"),
                &format!("a{i}@example.com")
            )
            .await,
            401
        );
    }
    assert_eq!(login_from(&app, "203.0.113.77", "c@example.com").await, 429);
}

#[tokio::test]
async fn a_bad_trusted_proxy_entry_stops_the_start() {
    let db = neuracrm_store::testing::fresh_store().await;
    let mut s = neuracrm_server::Settings::for_database(&db.url);
    s.trusted_proxies = vec!["load-balancer".into()];
    let err = neuracrm_server::App::build(s, db.store.clone())
        .await
        .err()
        .expect("refused");
    assert!(err.to_string().contains("load-balancer"), "{err}");
}

#[tokio::test]
async fn the_app_refuses_to_start_without_a_jwt_secret() {
    let db = neuracrm_store::testing::fresh_store().await;
    let mut s = neuracrm_server::Settings::for_database(&db.url);
    s.jwt_secret = None;
    let err = neuracrm_server::App::build(s, db.store.clone())
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("NEURACRM_JWT_SECRET"), "{err}");
}
