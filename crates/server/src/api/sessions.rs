//! `/api/users/{id}/sessions`: a user's sign-in sessions, which admins list
//! and revoke (the caller's own session ends with `POST /api/auth/logout`).

use axum::extract::rejection::PathRejection;
use axum::extract::Path;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use neuracrm_actions::sessions;
use neuracrm_domain as d;
use neuracrm_domain::{SessionId, UserId};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::http::auth::AdminUser;
use crate::http::error::ApiError;
use crate::http::extract::{Id, Json};
use crate::http::openapi::endpoint;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_sessions))
        .routes(routes!(revoke_session))
}

/// A live session of a user: one sign-in (one device or client), as it is
/// now after its refreshes.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionOut {
    /// The session's id (it changes with each refresh; any id of a sign-in
    /// revokes it).
    id: String,
    /// The id of the sign-in's first session, the same through refreshes.
    family_id: String,
    /// When the user signed in.
    signed_in_at: DateTime<Utc>,
    /// When the last refresh (or the sign-in) made this session.
    created_at: DateTime<Utc>,
    /// When a request last used it (to the minute).
    last_used_at: DateTime<Utc>,
    /// When it ends unless refreshed before.
    expires_at: DateTime<Utc>,
}

impl From<d::Session> for SessionOut {
    fn from(s: d::Session) -> Self {
        SessionOut {
            id: s.id.to_string(),
            family_id: s.family_id.to_string(),
            signed_in_at: s.signed_in_at,
            created_at: s.created_at,
            last_used_at: s.last_used_at,
            expires_at: s.expires_at,
        }
    }
}

/// A user's live sessions, most recently used first.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionList {
    /// The sessions.
    items: Vec<SessionOut>,
}

endpoint! {
    /// Lists a user's live sessions (admins only).
    get "/api/users/{id}/sessions" in "users" [params(("id" = i64, Path, description = "User id"))]
        => SessionList, 400 "Bad id", 403 "Not an admin", 404 "No such user";
    async fn list_sessions(state, AdminUser(admin): AdminUser, Id(user): Id<UserId>) {
        let items = sessions::list(&state.crm, &admin.caller(), user).await?;
        Ok(Json(SessionList {
            items: items.into_iter().map(SessionOut::from).collect(),
        }))
    }
}

endpoint! {
    /// Revokes a session of a user, with every token of its sign-in (admins
    /// only). The user's other sessions go on.
    delete "/api/users/{id}/sessions/{session_id}" in "users"
        [params(
            ("id" = i64, Path, description = "User id"),
            ("session_id" = String, Path, description = "Session id (32 hexadecimal digits)"),
        )]
        => 204 "Revoked (or revoked already)", 400 "Bad id", 403 "Not an admin",
        404 "No such session of this user";
    async fn revoke_session(
        state,
        AdminUser(admin): AdminUser,
        path: Result<Path<(String, String)>, PathRejection>,
    ) {
        let Path((user, session)) =
            path.map_err(|_| ApiError::InvalidPath("the path is malformed".into()))?;
        let user = user
            .parse::<i64>()
            .map(UserId)
            .map_err(|_| ApiError::InvalidPath("id must be an integer".into()))?;
        let session = session
            .parse::<SessionId>()
            .map_err(|e| ApiError::InvalidPath(format!("session_id: {e}")))?;
        sessions::revoke(&state.crm, &admin.caller(), user, session).await?;
        Ok(StatusCode::NO_CONTENT)
    }
}
