//! `/api/auth/*` and `/api/me`: registration, login (which opens a
//! session), token refresh (which rotates it), logout (which ends it), the
//! caller.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use neuracrm_actions::auth::{self, Registered, Registration};
use neuracrm_actions::sessions::{self, Opened};
use neuracrm_domain as d;
use neuracrm_domain::Email;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use super::users::UserOut;
use crate::AppState;
use crate::http::auth::{AuthUser, ClientIp, verify_login};
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::http::extract::Json;
use crate::http::openapi::{endpoint, routes_of};
use crate::http::wire::record_out;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    routes_of!(register, login, refresh, logout, me)
}

record_out!(
    /// An organization.
    OrganizationOut from d::Organization as o {
        id: i64,
        name: String,
        created_at: DateTime<Utc>,
    }
);

/// Registers an organization and its first admin.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// The organization's name.
    #[schema(min_length = 1, max_length = 200)]
    pub organization_name: String,
    /// The admin's display name.
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// The admin's login e-mail.
    #[schema(value_type = String, format = Email)]
    pub email: Email,
    /// At least 8 characters.
    #[schema(min_length = 8, max_length = 256)]
    pub password: String,
}

/// The answer to every registration that passed validation, whether or not
/// it created anything: it does not say whether the address already had an
/// account.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegistrationAccepted {
    /// What to do next: sign in.
    pub message: String,
}

/// The one answer of registration (see [`RegistrationAccepted`]).
pub const REGISTRATION_ACCEPTED: &str = "if this address could be registered, the organization \
     and its admin now exist: sign in with this address and password (an address that already \
     had an account keeps it, and its password)";

/// Credentials.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Login e-mail.
    pub email: String,
    /// Password.
    pub password: String,
}

/// Exchanges a refresh token for a new pair.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The refresh token from login or a previous refresh.
    pub refresh_token: String,
}

/// A token pair.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// Bearer token for API calls (short-lived).
    pub access_token: String,
    /// Exchanges for a new pair at `/api/auth/refresh`.
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

/// The caller and their organization.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeResponse {
    /// The caller.
    pub user: UserOut,
    /// Their organization.
    pub organization: OrganizationOut,
}

/// Creates an organization and its first admin, in one transaction; then
/// sign in. The answer is the same whether or not the address already had
/// an account (in which case nothing is created), so that registration
/// cannot tell who has one. Rate limited per client IP.
#[utoipa::path(post, path = "/api/auth/register", tag = "auth", request_body = RegisterRequest,
    responses(
        (status = 202, description = "Registered, unless the address already had an account: sign in", body = RegistrationAccepted),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 422, description = "Invalid field", body = ErrorBody),
        (status = 429, description = "Too many registrations from this address; see Retry-After", body = ErrorBody,
            headers(("retry-after" = u64, description = "Seconds to wait"))),
    ))]
pub async fn register(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<RegisterRequest>,
) -> ApiResult<(StatusCode, Json<RegistrationAccepted>)> {
    state.registration_limit.check(&ip)?;
    match auth::register(
        &state.crm,
        Registration {
            organization_name: body.organization_name,
            name: body.name,
            email: body.email,
            password: body.password,
        },
    )
    .await?
    {
        Registered::Created(..) | Registered::Refused => Ok((
            StatusCode::ACCEPTED,
            Json(RegistrationAccepted {
                message: REGISTRATION_ACCEPTED.into(),
            }),
        )),
    }
}

/// The access token of `opened` and its refresh token.
fn token_response(state: &AppState, opened: &Opened) -> ApiResult<Json<TokenResponse>> {
    let s = &opened.session;
    Ok(Json(TokenResponse {
        access_token: state.tokens.issue(s.organization_id, s.user_id, s.id)?,
        refresh_token: opened.token.expose().to_string(),
        token_type: "Bearer".into(),
        expires_in: state.tokens.access_ttl_secs(),
    }))
}

/// How long a session lives without a refresh.
fn session_lifetime(state: &AppState) -> std::time::Duration {
    std::time::Duration::from_secs(state.settings.refresh_token_ttl_secs.max(1))
}

/// Exchanges e-mail and password for a token pair, opening a session.
/// Rate limited per client IP and per account.
#[utoipa::path(post, path = "/api/auth/login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, body = TokenResponse),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 401, description = "Wrong e-mail or password", body = ErrorBody),
        (status = 422, description = "Invalid field", body = ErrorBody),
        (status = 429, description = "Too many attempts; see Retry-After", body = ErrorBody,
            headers(("retry-after" = u64, description = "Seconds to wait"))),
    ))]
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<LoginRequest>,
) -> ApiResult<Json<TokenResponse>> {
    state.login_limits.check(&ip, &body.email)?;
    match verify_login(&state, &body.email, body.password).await? {
        Some(user) => {
            let opened = sessions::open(&state.crm, &user, session_lifetime(&state)).await?;
            token_response(&state, &opened)
        }
        None => Err(ApiError::InvalidCredentials),
    }
}

endpoint! {
    /// Exchanges a refresh token for a new pair. Each refresh token works once:
    /// presenting one again revokes its whole session (every token of that
    /// login), and the client must sign in again.
    public post "/api/auth/refresh" in "auth" [request_body = RefreshRequest] => TokenResponse,
        400 "Malformed body", 401 "Invalid, expired, revoked or already used refresh token",
        422 "Invalid field";
    async fn refresh(state, Json(body): Json<RefreshRequest>) {
        let lifetime = session_lifetime(&state);
        let opened = sessions::refresh(&state.crm, &body.refresh_token, lifetime).await?;
        token_response(&state, &opened)
    }
}

endpoint! {
    /// Ends the caller's session: its access and refresh tokens stop working at
    /// once. Other sessions of the user (other devices) go on.
    post "/api/auth/logout" in "auth" => 204 "Signed out";
    async fn logout(state, user: AuthUser) {
        sessions::close(&state.crm, &user.caller()).await?;
        Ok(StatusCode::NO_CONTENT)
    }
}

endpoint! {
    /// The caller and their organization.
    get "/api/me" in "auth" => MeResponse;
    async fn me(state, user: AuthUser) {
        let (u, org) = auth::whoami(&state.crm, &user.caller()).await?;
        Ok(Json(MeResponse {
            user: u.into(),
            organization: org.into(),
        }))
    }
}
