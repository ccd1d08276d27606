//! `/api/users`: the organization's users, managed by admins only.

use axum::extract::State;
use axum::http::StatusCode;
use neuracrm_domain::password::Password;
use neuracrm_domain::{EventKind, NewUser, UserId};
use neuracrm_store::Page;
use neuracrm_store::users::UserPatch;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::{AdminUser, hash_password};
use crate::dto::*;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Id, Json, Query};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user, delete_user))
}

/// Lists the organization's users, by name.
#[utoipa::path(get, path = "/api/users", tag = "users", params(PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = UserPage),
        (status = 400, description = "Bad paging", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
    ))]
pub async fn list_users(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<UserPage>> {
    let page = Page::parse(q.limit, q.offset).map_err(ApiError::query)?;
    Ok(Json(
        state.store.users().list(admin.org, page).await?.into(),
    ))
}

/// Creates a user of the organization.
#[utoipa::path(post, path = "/api/users", tag = "users", request_body = CreateUser,
    security(("bearer" = [])),
    responses(
        (status = 201, body = UserOut),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 409, description = "E-mail taken", body = ErrorBody),
        (status = 422, description = "Invalid field", body = ErrorBody),
    ))]
pub async fn create_user(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Json(body): Json<CreateUser>,
) -> ApiResult<(StatusCode, Json<UserOut>)> {
    let new = NewUser {
        email: body.email,
        name: body.name,
        role: body.role,
    };
    new.validate()?;
    let hash = hash_password(Password::parse(&body.password)?).await?;
    let user = state
        .store
        .users()
        .create(admin.org, Some(admin.user_id), &new, &hash)
        .await?;
    state.publish(admin.org, EventKind::UserCreated { id: user.id });
    Ok((StatusCode::CREATED, Json(user.into())))
}

/// One user.
#[utoipa::path(get, path = "/api/users/{id}", tag = "users",
    params(("id" = i64, Path, description = "User id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = UserOut),
        (status = 400, description = "Bad id", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ))]
pub async fn get_user(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Id(id): Id<UserId>,
) -> ApiResult<Json<UserOut>> {
    Ok(Json(state.store.users().get(admin.org, id).await?.into()))
}

/// Changes a user's name, role or password.
#[utoipa::path(patch, path = "/api/users/{id}", tag = "users",
    params(("id" = i64, Path, description = "User id")),
    request_body = UpdateUser,
    security(("bearer" = [])),
    responses(
        (status = 200, body = UserOut),
        (status = 400, description = "Malformed body or id", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 409, description = "An admin cannot demote themselves", body = ErrorBody),
        (status = 422, description = "Invalid field", body = ErrorBody),
    ))]
pub async fn update_user(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Id(id): Id<UserId>,
    Json(body): Json<UpdateUser>,
) -> ApiResult<Json<UserOut>> {
    if id == admin.user_id && body.role.is_some_and(|r| r != neuracrm_domain::Role::Admin) {
        return Err(ApiError::Conflict {
            field: "role".into(),
            message: "an admin cannot demote themselves".into(),
        });
    }
    let password_hash = match body.password {
        Some(p) => Some(hash_password(Password::parse(&p)?).await?),
        None => None,
    };
    let patch = UserPatch {
        name: body.name,
        role: body.role,
        password_hash,
    };
    let user = state
        .store
        .users()
        .update(admin.org, Some(admin.user_id), id, &patch)
        .await?;
    state.publish(admin.org, EventKind::UserUpdated { id: user.id });
    Ok(Json(user.into()))
}

/// Deletes a user; what they owned stays, unowned.
#[utoipa::path(delete, path = "/api/users/{id}", tag = "users",
    params(("id" = i64, Path, description = "User id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Bad id", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 409, description = "An admin cannot delete themselves", body = ErrorBody),
    ))]
pub async fn delete_user(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Id(id): Id<UserId>,
) -> ApiResult<StatusCode> {
    if id == admin.user_id {
        return Err(ApiError::Conflict {
            field: "id".into(),
            message: "an admin cannot delete themselves".into(),
        });
    }
    state
        .store
        .users()
        .delete(admin.org, Some(admin.user_id), id)
        .await?;
    state.publish(admin.org, EventKind::UserDeleted { id });
    Ok(StatusCode::NO_CONTENT)
}
