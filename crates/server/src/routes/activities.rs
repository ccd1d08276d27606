//! `/api/activities`: record, read, change, delete and list activities.

use axum::http::StatusCode;
use neuracrm_domain::{ActivityId, ActivityPatch, EventKind, OrgId};
use neuracrm_store::Page;
use neuracrm_store::activities::ActivityFilter;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::AuthUser;
use crate::dto::*;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Id, Json, Query};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_activities, create_activity))
        .routes(routes!(get_activity, update_activity, delete_activity))
}

/// Lists the organization's activities by time of occurrence.
#[utoipa::path(get, path = "/api/activities", tag = "activities", params(ActivityQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ActivityPage),
        (status = 400, description = "Bad query", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
    ))]
pub async fn list_activities(
    state: axum::extract::State<AppState>,
    user: AuthUser,
    Query(q): Query<ActivityQuery>,
) -> ApiResult<Json<ActivityPage>> {
    let page = Page::parse(q.limit, q.offset).map_err(ApiError::query)?;
    check_years(
        &[
            ("occurred_from", q.occurred_from.year()),
            ("occurred_to", q.occurred_to.year()),
        ],
        true,
    )?;
    let filter = ActivityFilter {
        kind: q.kind,
        lead_id: q.lead_id,
        deal_id: q.deal_id,
        contact_id: q.contact_id,
        timeline_of: None,
        user_id: q.user_id,
        occurred_from: q.occurred_from,
        occurred_to: q.occurred_to,
    };
    let items = state
        .store
        .activities()
        .list(user.org, &filter, q.order.unwrap_or_default(), page)
        .await?;
    Ok(Json(with_sentiment(&state, user.org, items.into()).await?))
}

/// Attaches the stored sentiment of a page's activities (one query).
pub(crate) async fn with_sentiment(
    state: &AppState,
    org: OrgId,
    mut page: ActivityPage,
) -> ApiResult<ActivityPage> {
    let rows = state
        .store
        .sentiment()
        .get_many(org, &page.activity_ids())
        .await?;
    page.attach_sentiment(&rows);
    Ok(page)
}

/// Records an activity (by the caller).
#[utoipa::path(post, path = "/api/activities", tag = "activities", request_body = CreateActivity,
    security(("bearer" = [])),
    responses(
        (status = 201, body = ActivityOut),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 422, description = "Invalid field or reference", body = ErrorBody),
    ))]
pub async fn create_activity(
    state: axum::extract::State<AppState>,
    user: AuthUser,
    Json(body): Json<CreateActivity>,
) -> ApiResult<(StatusCode, Json<ActivityOut>)> {
    let new = body.into_new(user.user_id);
    check_years(&[("occurred_at", new.occurred_at.year())], false)?;
    let a = state
        .store
        .activities()
        .create(user.org, Some(user.user_id), &new)
        .await?;
    state.publish(
        user.org,
        EventKind::ActivityLogged {
            id: a.id,
            activity_type: a.kind,
            lead_id: a.lead_id,
            contact_id: a.contact_id,
        },
    );
    Ok((StatusCode::CREATED, Json(a.into())))
}

/// One activity.
#[utoipa::path(get, path = "/api/activities/{id}", tag = "activities",
    params(("id" = i64, Path, description = "Activity id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ActivityOut),
        (status = 400, description = "Bad id", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such activity", body = ErrorBody),
    ))]
pub async fn get_activity(
    state: axum::extract::State<AppState>,
    user: AuthUser,
    Id(id): Id<ActivityId>,
) -> ApiResult<Json<ActivityOut>> {
    let mut a: ActivityOut = state.store.activities().get(user.org, id).await?.into();
    if let Some(s) = state.store.sentiment().get(user.org, id).await? {
        a.attach_sentiment(std::slice::from_ref(&s));
    }
    Ok(Json(a))
}

/// Changes an activity's subject, body, duration or time.
#[utoipa::path(patch, path = "/api/activities/{id}", tag = "activities",
    params(("id" = i64, Path, description = "Activity id")),
    request_body = ActivityPatchBody,
    security(("bearer" = [])),
    responses(
        (status = 200, body = ActivityOut),
        (status = 400, description = "Malformed body or id", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such activity", body = ErrorBody),
        (status = 422, description = "Invalid field", body = ErrorBody),
    ))]
pub async fn update_activity(
    state: axum::extract::State<AppState>,
    user: AuthUser,
    Id(id): Id<ActivityId>,
    Json(patch): Json<ActivityPatch>,
) -> ApiResult<Json<ActivityOut>> {
    check_years(&[("occurred_at", patch.occurred_at.year())], false)?;
    let a = state
        .store
        .activities()
        .update(user.org, Some(user.user_id), id, &patch)
        .await?;
    state.publish(user.org, EventKind::ActivityUpdated { id: a.id });
    Ok(Json(a.into()))
}

/// Deletes an activity.
#[utoipa::path(delete, path = "/api/activities/{id}", tag = "activities",
    params(("id" = i64, Path, description = "Activity id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Bad id", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such activity", body = ErrorBody),
    ))]
pub async fn delete_activity(
    state: axum::extract::State<AppState>,
    user: AuthUser,
    Id(id): Id<ActivityId>,
) -> ApiResult<StatusCode> {
    state
        .store
        .activities()
        .delete(user.org, Some(user.user_id), id)
        .await?;
    state.publish(user.org, EventKind::ActivityDeleted { id });
    Ok(StatusCode::NO_CONTENT)
}
