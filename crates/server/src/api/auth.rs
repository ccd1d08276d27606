//! `/api/auth/*` and `/api/me`: registration, login, token refresh, the
//! caller.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use neuracrm_actions::auth::{self, Registration};
use neuracrm_domain as d;
use neuracrm_domain::{Email, OrgId, UserId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::users::UserOut;
use crate::AppState;
use crate::http::auth::{AuthUser, ClientIp, IssuedTokens, TokenType};
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::http::extract::Json;
use crate::http::openapi::NoToken;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(me))
}

/// An organization.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganizationOut {
    id: i64,
    name: String,
    created_at: DateTime<Utc>,
}

impl From<d::Organization> for OrganizationOut {
    fn from(o: d::Organization) -> Self {
        OrganizationOut {
            id: o.id.0,
            name: o.name,
            created_at: o.created_at,
        }
    }
}

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

/// The registered organization and admin.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegisterResponse {
    /// The new organization.
    pub organization: OrganizationOut,
    /// Its first admin.
    pub user: UserOut,
}

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

/// Creates an organization and its first admin, in one transaction.
#[utoipa::path(post, path = "/api/auth/register", tag = "auth", request_body = RegisterRequest,
    responses(
        (status = 201, body = RegisterResponse),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 409, description = "E-mail taken", body = ErrorBody),
        (status = 422, description = "Invalid field", body = ErrorBody),
    ))]
pub async fn register(
    State(state): State<AppState>,
    Json(body): Json<RegisterRequest>,
) -> ApiResult<(StatusCode, Json<RegisterResponse>)> {
    let (org, user) = auth::register(
        &state.crm,
        Registration {
            organization_name: body.organization_name,
            name: body.name,
            email: body.email,
            password: body.password,
        },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(RegisterResponse {
            organization: org.into(),
            user: user.into(),
        }),
    ))
}

fn token_response(t: IssuedTokens) -> Json<TokenResponse> {
    Json(TokenResponse {
        access_token: t.access,
        refresh_token: t.refresh,
        token_type: "Bearer".into(),
        expires_in: t.expires_in,
    })
}

/// Exchanges e-mail and password for a token pair. Rate limited per client IP
/// and per account.
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
    // A malformed e-mail is just a failed login: no hint about accounts.
    let creds = auth::credentials(&state.crm, &body.email).await?;
    let (user, phc) = match creds {
        Some(c) => (Some(c.user), Some(c.password_hash)),
        None => (None, None),
    };
    let ok = state.tokens.verify_password(body.password, phc).await;
    match user {
        Some(user) if ok => Ok(token_response(state.tokens.issue(&user)?)),
        _ => Err(ApiError::InvalidCredentials),
    }
}

/// Exchanges a refresh token for a new pair (with the user's current role).
#[utoipa::path(post, path = "/api/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses(
        (status = 200, body = TokenResponse),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 401, description = "Invalid or expired refresh token", body = ErrorBody),
        (status = 422, description = "Invalid field", body = ErrorBody),
    ))]
pub async fn refresh(
    State(state): State<AppState>,
    Json(body): Json<RefreshRequest>,
) -> ApiResult<Json<TokenResponse>> {
    let claims = state
        .tokens
        .verify(&body.refresh_token, TokenType::Refresh)?;
    let user = auth::current_user(&state.crm, OrgId(claims.org), UserId(claims.sub)).await?;
    Ok(token_response(state.tokens.issue(&user)?))
}

/// The caller and their organization.
#[utoipa::path(get, path = "/api/me", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, body = MeResponse),
        NoToken,
    ))]
pub async fn me(State(state): State<AppState>, user: AuthUser) -> ApiResult<Json<MeResponse>> {
    let (u, org) = auth::whoami(&state.crm, &user.caller()).await?;
    Ok(Json(MeResponse {
        user: u.into(),
        organization: org.into(),
    }))
}
