//! Browser sessions: the sign-in form, the session cookie, the CSRF check,
//! sign-out.
//!
//! A browser holds the token of a session (`actions::sessions`, the same
//! sessions as the JSON API's, so an admin lists and revokes both) in an
//! `HttpOnly`, `SameSite=Strict` cookie, `Secure` with the `__Host-` prefix
//! when `public_url` is HTTPS. No token ever reaches JavaScript. Every page
//! request proves the session again (`sessions::prove`): revoked, expired,
//! unused for longer than `session_idle_timeout_secs`, or its user deleted,
//! and the browser is sent to the sign-in page.
//!
//! CSRF (OWASP's HMAC-based token): a session's token is
//! HMAC-SHA256(key, "csrf" ‖ session id), so it needs no storage and differs
//! per session; every state-changing request carries it, in a form field
//! `csrf` or the `X-CSRF-Token` header htmx sends, and is refused with 403
//! without it. The sign-in form, which has no session yet, uses a
//! double-submit cookie compared in constant time.

use std::time::Duration;

use axum::extract::{Form, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use hmac::{Hmac, Mac};
use neuracrm_actions::sessions::{self, Proof, Use};
use neuracrm_actions::{ActionError, Caller, Crm, auth};
use serde::Deserialize;
use sha2::Sha256;

use crate::AppState;
use crate::http::auth::ClientIp;

/// The signed-in user of a page.
#[derive(Debug, Clone)]
pub struct WebUser {
    /// Who the actions act for.
    pub caller: Caller,
    /// Their display name.
    pub name: String,
    /// Their organization's name.
    pub org_name: String,
    /// The CSRF token of their session.
    pub csrf: String,
    /// What the actions act with (the app's), so that a page acts for
    /// `caller` through `user.crm` without taking the app state as well.
    pub crm: Crm,
}

/// How long a browser session lives at most, however busy.
pub const ABSOLUTE: Duration = Duration::from_secs(12 * 3600);

/// The session cookie's name: with the `__Host-` prefix (which browsers
/// accept only from a secure origin, for the whole host) over HTTPS.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-neuracrm_session"
    } else {
        "neuracrm_session"
    }
}

const LOGIN_CSRF: &str = "neuracrm_login_csrf";

/// The value of cookie `name` in `headers`.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn set_cookie(name: &str, value: &str, secure: bool, max_age: Option<Duration>) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict");
    if secure {
        c.push_str("; Secure");
    }
    match max_age {
        Some(d) => c.push_str(&format!("; Max-Age={}", d.as_secs())),
        None => c.push_str("; Max-Age=0"),
    }
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static("invalid=1"))
}

/// The CSRF token of a session.
pub fn csrf_token(key: &[u8], session: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(b"csrf");
    mac.update(session.as_bytes());
    hex(&mac.finalize().into_bytes())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares two secrets in time independent of where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Why a page cannot be shown to this browser.
#[derive(Debug)]
pub enum Rejection {
    /// No live session: to the sign-in page, coming back here afterwards.
    SignIn(String),
    /// The session failed for another reason (the database): a plain 500.
    Failed(ActionError),
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        match self {
            Rejection::SignIn(next) => {
                let to = format!("/login?next={}", urlencode(&next));
                Redirect::to(&to).into_response()
            }
            Rejection::Failed(e) => {
                tracing::error!(error = %e, "a browser session could not be read");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
            }
        }
    }
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

impl FromRequestParts<AppState> for WebUser {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Rejection> {
        let next = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        let secure = state.settings.serves_https();
        let Some(token) = cookie(&parts.headers, cookie_name(secure)) else {
            return Err(Rejection::SignIn(next));
        };
        // A page's own refetch (htmx, on an event of the live stream) is not
        // a person's use: an open tab does not keep an idle session alive.
        let background =
            parts.method == axum::http::Method::GET && parts.headers.contains_key("hx-request");
        let usage = Use {
            idle: state.settings.session_idle_timeout(),
            mark: !background,
        };
        let caller = match sessions::prove(&state.crm, Proof::Token(token), usage).await {
            Ok(c) => c,
            Err(ActionError::Unauthenticated(_)) => return Err(Rejection::SignIn(next)),
            Err(e) => return Err(Rejection::Failed(e)),
        };
        let (user, org) = match auth::whoami(&state.crm, &caller).await {
            Ok(x) => x,
            Err(ActionError::Unauthenticated(_)) => return Err(Rejection::SignIn(next)),
            Err(e) => return Err(Rejection::Failed(e)),
        };
        let session = token.split('.').next().unwrap_or_default();
        Ok(WebUser {
            caller,
            name: user.name,
            org_name: org.name,
            csrf: csrf_token(state.tokens.csrf_key(), session),
            crm: state.crm.clone(),
        })
    }
}

/// The CSRF token a state-changing request carries, from its header (htmx)
/// or its form (checked by [`WebUser::check_csrf`]).
impl WebUser {
    /// 403 unless `presented` is this session's token.
    pub fn check_csrf(&self, presented: Option<&str>) -> Result<(), CsrfRefused> {
        match presented {
            Some(p) if same(p, &self.csrf) => Ok(()),
            _ => Err(CsrfRefused),
        }
    }
}

/// [`Posted`](super::forms::Posted) as a pair, for handlers that
/// destructure it so: the same extraction and CSRF check.
pub struct CsrfForm<T>(pub WebUser, pub T);

impl<T: serde::de::DeserializeOwned> axum::extract::FromRequest<AppState> for CsrfForm<T> {
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, state: &AppState) -> Result<Self, Response> {
        let super::forms::Posted { user, form } =
            super::forms::Posted::from_request(req, state).await?;
        Ok(CsrfForm(user, form))
    }
}

/// The fields of a form that has none but its CSRF token (a button).
#[derive(Debug, Deserialize)]
pub struct NoFields {}

/// A state-changing request without its session's CSRF token: 403.
#[derive(Debug, Clone, Copy)]
pub struct CsrfRefused;

impl IntoResponse for CsrfRefused {
    fn into_response(self) -> Response {
        (
            StatusCode::FORBIDDEN,
            "this form has expired or did not come from NeuraCRM: reload the page and try again",
        )
            .into_response()
    }
}

/// Where a form goes once its action ran: `to` after a success, an error
/// page in words otherwise.
pub fn after<T>(result: Result<T, ActionError>, to: &str) -> Response {
    match result {
        Ok(_) => Redirect::to(to).into_response(),
        Err(e) => super::PageError(e).into_response(),
    }
}

/// The `X-CSRF-Token` header, if any.
pub fn csrf_header(headers: &HeaderMap) -> Option<&str> {
    headers.get("x-csrf-token").and_then(|v| v.to_str().ok())
}

/// `?next=` of the sign-in page.
#[derive(Debug, Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// Only a path of this site: never another origin (`//evil`, `https:`).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.into(),
        _ => "/".into(),
    }
}

/// The sign-in page.
#[derive(askama::Template, askama_web::WebTemplate)]
#[template(path = "login.html")]
pub struct LoginPage {
    css: &'static str,
    favicon: &'static str,
    csrf: String,
    next: String,
    email: String,
    error: Option<String>,
}

fn login_page(csrf: String, next: String, email: String, error: Option<String>) -> LoginPage {
    LoginPage {
        css: super::assets::url("app.css"),
        favicon: super::assets::url("favicon.svg"),
        csrf,
        next,
        email,
        error,
    }
}

/// `GET /login`: the form, with a fresh double-submit token.
pub async fn login_form(State(state): State<AppState>, Query(q): Query<Next>) -> Response {
    let mut bytes = [0u8; 16];
    if let Err(e) = getrandom::fill(&mut bytes) {
        return Rejection::Failed(ActionError::Internal(format!(
            "the system's random source failed: {e}"
        )))
        .into_response();
    }
    let token = hex(&bytes);
    let secure = state.settings.serves_https();
    let mut res = login_page(
        token.clone(),
        safe_next(q.next.as_deref()),
        String::new(),
        None,
    )
    .into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(LOGIN_CSRF, &token, secure, Some(Duration::from_secs(3600))),
    );
    res
}

/// The sign-in form's fields.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    csrf: String,
    next: Option<String>,
}

/// `POST /login`: checks the form's token, the rate limits and the
/// credentials (the same as the JSON API's login), opens a session and sets
/// its cookie.
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let secure = state.settings.serves_https();
    let expected = cookie(&headers, LOGIN_CSRF).unwrap_or_default();
    if expected.is_empty() || !same(expected, &f.csrf) {
        return (
            StatusCode::FORBIDDEN,
            "the sign-in form has expired: reload it and try again",
        )
            .into_response();
    }
    let next = safe_next(f.next.as_deref());
    let again = |error: &str| {
        login_page(
            f.csrf.clone(),
            next.clone(),
            f.email.clone(),
            Some(error.into()),
        )
    };
    if let Err(e) = state.login_limits.check(&ip, &f.email) {
        let mut res = again(&e.to_string()).into_response();
        *res.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        return res;
    }
    let user = match crate::http::auth::verify_login(&state, &f.email, f.password.clone()).await {
        Ok(Some(user)) => user,
        Ok(None) => {
            let mut res = again("Wrong e-mail or password.").into_response();
            *res.status_mut() = StatusCode::UNAUTHORIZED;
            return res;
        }
        Err(e) => return Rejection::Failed(e).into_response(),
    };
    let opened = match sessions::open(&state.crm, &user, ABSOLUTE).await {
        Ok(o) => o,
        Err(e) => return Rejection::Failed(e).into_response(),
    };
    let mut res = Redirect::to(&next).into_response();
    let h = res.headers_mut();
    h.append(
        header::SET_COOKIE,
        set_cookie(
            cookie_name(secure),
            opened.token.expose(),
            secure,
            Some(ABSOLUTE),
        ),
    );
    h.append(header::SET_COOKIE, set_cookie(LOGIN_CSRF, "", secure, None));
    res
}

/// `POST /logout`: closes the session and drops the cookie (its CSRF token
/// checked as every form's).
pub async fn logout(
    State(state): State<AppState>,
    CsrfForm(user, NoFields {}): CsrfForm<NoFields>,
) -> Response {
    if let Err(e) = sessions::close(&user.crm, &user.caller).await {
        return Rejection::Failed(e).into_response();
    }
    let secure = state.settings.serves_https();
    let mut res = Redirect::to("/login").into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(cookie_name(secure), "", secure, None),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_read_by_name() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; neuracrm_session=abc.def; b=2"),
        );
        assert_eq!(cookie(&h, "neuracrm_session"), Some("abc.def"));
        assert_eq!(cookie(&h, "c"), None);
    }

    #[test]
    fn csrf_tokens_differ_per_session_and_key_and_compare_exactly() {
        let a = csrf_token(b"key", "s1");
        assert_eq!(a, csrf_token(b"key", "s1"));
        assert_ne!(a, csrf_token(b"key", "s2"));
        assert_ne!(a, csrf_token(b"other", "s1"));
        assert!(same(&a, &a.clone()));
        assert!(!same(&a, &a[1..]));
    }

    #[test]
    fn next_never_leaves_the_site() {
        assert_eq!(safe_next(Some("/leads?q=x")), "/leads?q=x");
        for bad in ["//evil.example", "https://evil.example", "evil", "/\\evil"] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
