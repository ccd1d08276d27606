//! `/settings`: the signed-in user's own password (the current one, a new
//! one checked against the policy) and their sessions (where they are
//! signed in; end one, or every other).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use neuracrm_actions::{ActionError, sessions, users};
use neuracrm_domain::SessionId;
use serde::Deserialize;

use super::{Done, FormError, Frame, after_form};
use crate::AppState;
use crate::http::auth::ClientIp;
use crate::web::layout::Shell;
use crate::web::session::{CsrfForm, NoFields, WebUser};
use crate::web::{PageResult, format};

/// One of the user's sessions.
pub struct SessionRow {
    pub id: String,
    pub signed_in: String,
    pub signed_in_full: String,
    pub last_used: String,
    pub last_used_full: String,
    pub expires: String,
    pub current: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "settings/account.html")]
pub struct AccountPage {
    shell: Shell,
    frame: Frame,
    sessions: Vec<SessionRow>,
}

async fn page(
    user: &WebUser,
    error: Option<FormError>,
    done: Option<&'static str>,
) -> PageResult<AccountPage> {
    let now = Utc::now();
    let sessions = sessions::own(&user.crm, &user.caller)
        .await?
        .into_iter()
        .map(|s| SessionRow {
            id: s.id.to_string(),
            signed_in: format::ago(s.signed_in_at, now),
            signed_in_full: format::full(s.signed_in_at),
            last_used: format::ago(s.last_used_at, now),
            last_used_full: format::full(s.last_used_at),
            expires: format::full(s.expires_at),
            current: user.caller.session == Some(s.id),
        })
        .collect();
    Ok(AccountPage {
        shell: Shell::new(user, "Settings", "/settings"),
        frame: Frame::new(user, "/settings", error, done),
        sessions,
    })
}

/// `GET /settings`.
pub async fn show(user: WebUser, done: Done) -> PageResult<AccountPage> {
    let said = done.say(&[
        (
            "password",
            "Your password is changed; your other sessions ended.",
        ),
        ("revoked", "That session ended."),
        ("others", "Every other session ended."),
    ]);
    page(&user, None, said).await
}

/// The password form.
#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    current_password: String,
    password: String,
    password_again: String,
}

/// `POST /settings/password`: changes the user's own password (the same
/// policy and the same effect as an admin's change: every other session
/// ends). Attempts count against the sign-in limits, so a stolen session
/// cannot guess the password at leisure.
pub async fn change_password(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    CsrfForm(user, f): CsrfForm<PasswordForm>,
) -> Response {
    let account = format!("user #{}:{}", user.caller.org.0, user.caller.user.0);
    let result = match state.login_limits.check(&ip, &account) {
        Err(e) => Err(ActionError::invalid("current_password", e.to_string())),
        Ok(()) if f.password != f.password_again => Err(ActionError::invalid(
            "password_again",
            "the two new passwords differ",
        )),
        Ok(()) => {
            users::change_own_password(&user.crm, &user.caller, f.current_password, f.password)
                .await
        }
    };
    after_form(result, "/settings?done=password", async |e| {
        page(&user, Some(e), None).await
    })
    .await
}

/// `POST /settings/sessions/{id}/revoke`: ends one of the user's sessions
/// (the current one signs them out).
pub async fn revoke(
    Path(id): Path<String>,
    CsrfForm(user, NoFields {}): CsrfForm<NoFields>,
) -> Response {
    let Ok(id) = id.parse::<SessionId>() else {
        return crate::web::PageError(ActionError::NotFound("session".into())).into_response();
    };
    let done = sessions::revoke_own(&user.crm, &user.caller, id).await;
    crate::web::session::after(done, "/settings?done=revoked")
}

/// `POST /settings/sessions/others`: "sign out everywhere else".
pub async fn revoke_others(CsrfForm(user, NoFields {}): CsrfForm<NoFields>) -> Response {
    let done = sessions::revoke_others(&user.crm, &user.caller).await;
    crate::web::session::after(done, "/settings?done=others")
}
