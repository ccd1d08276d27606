//! `/api/auth/*` and `/api/me`: registration, login, token refresh, the
//! caller.

use axum::extract::State;
use axum::http::StatusCode;
use neuracrm_domain::password::Password;
use neuracrm_domain::{Email, EventKind, NewUser, Role, UserId};
use neuracrm_store::users::Users;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::{AuthUser, ClientIp, TokenType, hash_password};
use crate::dto::*;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::Json;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(me))
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
    let org_name =
        neuracrm_domain::values::required_text(&body.organization_name, "organization_name", 200)?;
    let new = NewUser {
        email: body.email,
        name: body.name,
        role: Role::Admin,
    };
    new.validate()?;
    let hash = hash_password(Password::parse(&body.password)?).await?;
    let mut tx = state.store.db().begin().await?;
    let org = state
        .store
        .organizations()
        .create_in(&mut tx, &org_name)
        .await?;
    let user = Users::create_in(&mut tx, org.id, None, &new, &hash).await?;
    tx.commit().await?;
    state.publish(org.id, EventKind::UserCreated { id: user.id });
    Ok((
        StatusCode::CREATED,
        Json(RegisterResponse {
            organization: org.into(),
            user: user.into(),
        }),
    ))
}

fn token_response(t: crate::auth::IssuedTokens) -> Json<TokenResponse> {
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
    let creds = match Email::parse(&body.email) {
        Ok(email) => state.store.users().credentials(&email).await?,
        Err(_) => None,
    };
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
    let user = state
        .store
        .users()
        .get(neuracrm_domain::OrgId(claims.org), UserId(claims.sub))
        .await
        .map_err(|e| match e {
            neuracrm_store::StoreError::NotFound { .. } => {
                ApiError::Unauthorized("invalid or expired token")
            }
            other => other.into(),
        })?;
    Ok(token_response(state.tokens.issue(&user)?))
}

/// The caller and their organization.
#[utoipa::path(get, path = "/api/me", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, body = MeResponse),
        (status = 401, description = "No valid token", body = ErrorBody),
    ))]
pub async fn me(State(state): State<AppState>, user: AuthUser) -> ApiResult<Json<MeResponse>> {
    let gone = |e: neuracrm_store::StoreError| match e {
        neuracrm_store::StoreError::NotFound { .. } => {
            ApiError::Unauthorized("user no longer exists")
        }
        other => other.into(),
    };
    let u = state
        .store
        .users()
        .get(user.org, user.user_id)
        .await
        .map_err(gone)?;
    let org = state
        .store
        .organizations()
        .get(user.org)
        .await
        .map_err(gone)?;
    Ok(Json(MeResponse {
        user: u.into(),
        organization: org.into(),
    }))
}
