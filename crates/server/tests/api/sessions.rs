//! Sessions: every request acts with the user's current role and a live
//! session; refresh tokens rotate, a reused one revokes its family; logout,
//! a password change, a deletion and an admin revoke (issue 15, findings 1
//! and 2).

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, assert_error, spawn_tenant, spawn_two_tenants};

/// The session id (`sid`) an access token names.
fn sid(access: &str) -> String {
    let secret = neuracrm_server::Settings::for_database("sqlite://x")
        .jwt_secret
        .unwrap();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    v.validate_exp = true;
    let data = jsonwebtoken::decode::<Value>(
        access,
        &jsonwebtoken::DecodingKey::from_secret(secret.expose().as_bytes()),
        &v,
    )
    .unwrap();
    data.claims["sid"].as_str().unwrap().to_string()
}

async fn assert_401(app: &TestApp, access: &str) {
    assert_error(app.get("/api/me", access).await, 401, "unauthorized").await;
}

async fn logout(app: &TestApp, access: &str) -> reqwest::Response {
    app.call(Method::POST, "/api/auth/logout", Some(access), None)
        .await
}

#[tokio::test]
async fn a_demoted_admin_cannot_promote_itself_back_with_its_old_token() {
    let (app, t) = spawn_tenant("Acme").await;
    let (second, token) = app.member(&t, "second@acme.example.com", "admin").await;
    // A second instance over the same database: no instance may trust what
    // it saw earlier.
    let other = app.another_instance(|_| {}).await;
    assert_eq!(
        other.get_ok("/api/users", &token).await["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    app.with(&t.token)
        .patch_ok(&format!("/api/users/{second}"), json!({"role": "rep"}))
        .await;
    for instance in [&app, &other] {
        let r = instance
            .patch(
                &format!("/api/users/{second}"),
                &token,
                json!({"role": "admin"}),
            )
            .await;
        assert_error(r, 403, "forbidden").await;
        assert_error(instance.get("/api/users", &token).await, 403, "forbidden").await;
        let me = instance.get_ok("/api/me", &token).await;
        assert_eq!(me["user"]["role"], "rep");
    }
    let stored = app
        .store
        .users()
        .get(
            neuracrm_domain::OrgId(t.org_id),
            neuracrm_domain::UserId(second),
        )
        .await
        .unwrap();
    assert_eq!(stored.role, neuracrm_domain::Role::Rep);
    // Promoted again by the other admin, the same token is an admin's again.
    app.patch(
        &format!("/api/users/{second}"),
        &t.token,
        json!({"role": "admin"}),
    )
    .await;
    app.get_ok("/api/users", &token).await;
}

#[tokio::test]
async fn a_password_change_revokes_the_old_sessions() {
    let (app, t) = spawn_tenant("Acme").await;
    let by_t = app.with(&t.token);
    let rep_email = "rep@acme.example.com";
    let (rep, rep_token) = app.member(&t, rep_email, "rep").await;
    let (rep_access, rep_refresh) = app.session_of(rep_email, PASSWORD).await;

    // An admin changes the rep's password: every session of the rep ends.
    by_t.patch_ok(
        &format!("/api/users/{rep}"),
        json!({"password": "a brand new passphrase"}),
    )
    .await;
    assert_401(&app, &rep_token).await;
    assert_401(&app, &rep_access).await;
    assert_error(app.refresh(&rep_refresh).await, 401, "unauthorized").await;
    let refused = app.login(rep_email, PASSWORD).await;
    assert_error(refused, 401, "invalid_credentials").await;
    let (fresh, _) = app.session_of(rep_email, "a brand new passphrase").await;
    app.get_ok("/api/me", &fresh).await;

    // An admin changes their own: the session that changed it goes on, the
    // admin's other sessions end.
    let (elsewhere, elsewhere_refresh) = app.session_of(&t.email, PASSWORD).await;
    by_t.patch_ok(
        &format!("/api/users/{}", t.admin_id),
        json!({"password": "another brand new passphrase"}),
    )
    .await;
    app.get_ok("/api/me", &t.token).await;
    assert_401(&app, &elsewhere).await;
    assert_error(app.refresh(&elsewhere_refresh).await, 401, "unauthorized").await;
    // A change of name or role alone ends no session.
    app.patch(
        &format!("/api/users/{rep}"),
        &t.token,
        json!({"name": "Renamed", "role": "manager"}),
    )
    .await;
    assert_eq!(
        app.get_ok("/api/me", &fresh).await["user"]["role"],
        "manager"
    );
}

#[tokio::test]
async fn a_reused_refresh_token_revokes_its_family() {
    let (app, t) = spawn_tenant("Acme").await;
    let (a1, r1) = app.session_of(&t.email, PASSWORD).await;

    let r = app.refresh(&r1).await;
    assert_eq!(r.status(), 200);
    let second: Value = r.json().await.unwrap();
    let (a2, r2) = (
        second["access_token"].as_str().unwrap().to_string(),
        second["refresh_token"].as_str().unwrap().to_string(),
    );
    assert_ne!(r2, r1, "refresh tokens rotate");
    assert_ne!(sid(&a2), sid(&a1), "so does the session id");
    assert!(!r2.contains(&sid(&a1)));
    // Until the reuse, the earlier access token lives out its minutes.
    app.get_ok("/api/me", &a1).await;
    app.get_ok("/api/me", &a2).await;

    // r1 again: refused, and the whole family with it.
    assert_error(app.refresh(&r1).await, 401, "unauthorized").await;
    assert_error(app.refresh(&r2).await, 401, "unauthorized").await;
    assert_401(&app, &a1).await;
    assert_401(&app, &a2).await;
    // Other sign-ins of the user are other families.
    app.get_ok("/api/me", &t.token).await;

    // Garbage, a token of no session and an access token do not refresh.
    let (_, live) = app.session_of(&t.email, PASSWORD).await;
    let (id, secret) = live.split_once('.').unwrap();
    let flipped = format!(
        "{id}.{}{}",
        if secret.starts_with('0') { '1' } else { '0' },
        &secret[1..]
    );
    for bad in [
        "garbage",
        &flipped,
        &t.token,
        &format!("{}.{secret}", "0".repeat(32)),
    ] {
        assert_error(app.refresh(bad).await, 401, "unauthorized").await;
    }
    // A wrong secret for a known session id is a guess, not a reuse: the
    // session goes on.
    assert_eq!(app.refresh(&live).await.status(), 200);
}

#[tokio::test]
async fn logout_revokes_the_session() {
    let (app, t) = spawn_tenant("Acme").await;
    let (access, refresh) = app.session_of(&t.email, PASSWORD).await;
    app.get_ok("/api/me", &access).await;

    let r = logout(&app, &access).await;
    assert_eq!(r.status(), 204);
    assert_401(&app, &access).await;
    assert_error(app.refresh(&refresh).await, 401, "unauthorized").await;
    assert_error(logout(&app, &access).await, 401, "unauthorized").await;
    let r = app.call(Method::POST, "/api/auth/logout", None, None).await;
    assert_error(r, 401, "unauthorized").await;
    // The user's other session (another device) goes on.
    app.get_ok("/api/me", &t.token).await;

    // After a refresh, logging out with the new access token ends the
    // earlier one too: one sign-in, one family.
    let (a1, r1) = app.session_of(&t.email, PASSWORD).await;
    let fresh: Value = app.refresh(&r1).await.json().await.unwrap();
    let a2 = fresh["access_token"].as_str().unwrap();
    assert_eq!(logout(&app, a2).await.status(), 204);
    assert_401(&app, &a1).await;
    assert_401(&app, a2).await;
}

#[tokio::test]
async fn a_deleted_user_s_token_stops_working() {
    let (app, t) = spawn_tenant("Acme").await;
    let rep_email = "rep@acme.example.com";
    let (rep, rep_token) = app.member(&t, rep_email, "rep").await;
    let (_, rep_refresh) = app.session_of(rep_email, PASSWORD).await;
    app.get_ok("/api/contacts", &rep_token).await;

    let r = app.delete(&format!("/api/users/{rep}"), &t.token).await;
    assert_eq!(r.status(), 204);
    app.with(&rep_token)
        .get_err("/api/contacts", 401, "unauthorized")
        .await;
    let r = app
        .post("/api/contacts", &rep_token, json!({"first_name": "Ghost"}))
        .await;
    assert_error(r, 401, "unauthorized").await;
    assert_error(app.refresh(&rep_refresh).await, 401, "unauthorized").await;
    let refused = app.login(rep_email, PASSWORD).await;
    assert_error(refused, 401, "invalid_credentials").await;
}

#[tokio::test]
async fn admins_list_and_revoke_sessions_of_their_own_organization_only() {
    let (app, a, b) = spawn_two_tenants("Alpha", "Beta").await;
    let by_a = app.with(&a.token);
    let rep_email = "rep@alpha.example.com";
    let (rep, rep_token) = app.member(&a, rep_email, "rep").await;
    let (second, second_refresh) = app.session_of(rep_email, PASSWORD).await;
    let path = format!("/api/users/{rep}/sessions");

    let list = app.get_ok(&path, &a.token).await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{list}");
    let ids: Vec<&str> = items.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert!(
        ids.contains(&sid(&rep_token).as_str()) && ids.contains(&sid(&second).as_str()),
        "{list}"
    );
    for s in items {
        for field in [
            "family_id",
            "signed_in_at",
            "created_at",
            "last_used_at",
            "expires_at",
        ] {
            assert!(s[field].is_string(), "{field}: {s}");
        }
    }
    let text = list.to_string();
    let secret = second_refresh.split_once('.').unwrap().1;
    assert!(!text.contains(secret) && !text.contains("hash"), "{text}");

    // Another organization's admin: no such user, no such session.
    let theirs = sid(&second);
    assert_error(app.get(&path, &b.token).await, 404, "not_found").await;
    let r = app.delete(&format!("{path}/{theirs}"), &b.token).await;
    assert_error(r, 404, "not_found").await;
    let wrong_user = format!("/api/users/{}/sessions/{theirs}", b.admin_id);
    app.with(&b.token)
        .delete_err(&wrong_user, 404, "not_found")
        .await;
    // The session of another user of the same organization, under the wrong user.
    let wrong_user = format!("/api/users/{}/sessions/{theirs}", a.admin_id);
    by_a.delete_err(&wrong_user, 404, "not_found").await;
    app.get_ok("/api/me", &second).await;
    // Not an admin.
    assert_error(app.get(&path, &rep_token).await, 403, "forbidden").await;
    let r = app.delete(&format!("{path}/{theirs}"), &rep_token).await;
    assert_error(r, 403, "forbidden").await;

    // A's admin revokes the second session: it ends, the first goes on.
    let r = app.delete(&format!("{path}/{theirs}"), &a.token).await;
    assert_eq!(r.status(), 204);
    assert_401(&app, &second).await;
    assert_error(app.refresh(&second_refresh).await, 401, "unauthorized").await;
    app.get_ok("/api/me", &rep_token).await;
    let list = app.get_ok(&path, &a.token).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    // Again: already revoked. A malformed id is a 400, an unknown one a 404.
    assert_eq!(
        app.delete(&format!("{path}/{theirs}"), &a.token)
            .await
            .status(),
        204
    );
    let r = app.delete(&format!("{path}/not-a-session"), &a.token).await;
    assert_error(r, 400, "invalid_path").await;
    let r = app
        .delete(&format!("{path}/{}", "0".repeat(32)), &a.token)
        .await;
    assert_error(r, 404, "not_found").await;
    by_a.get_err("/api/users/999999/sessions", 404, "not_found")
        .await;
}
