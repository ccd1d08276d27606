//! `/api/deals`: CRUD and the filtered, sorted list. Updates publish the old
//! and new stage.

use axum::http::StatusCode;
use neuracrm_domain::{DealId, DealPatch, EventKind, NewDeal};
use neuracrm_store::deals::DealFilter;
use neuracrm_store::{Page, Sort};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::AuthUser;
use crate::dto::*;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Id, Json, Query};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_deals, create_deal))
        .routes(routes!(get_deal, update_deal, delete_deal))
}

/// Lists the organization's deals.
#[utoipa::path(get, path = "/api/deals", tag = "deals", params(DealQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = DealPage),
        (status = 400, description = "Bad query", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
    ))]
pub async fn list_deals(
    state: axum::extract::State<AppState>,
    user: AuthUser,
    Query(q): Query<DealQuery>,
) -> ApiResult<Json<DealPage>> {
    let page = Page::parse(q.limit, q.offset).map_err(ApiError::query)?;
    check_years(
        &[
            ("closed_from", q.closed_from.year()),
            ("closed_to", q.closed_to.year()),
            ("expected_close_from", q.expected_close_from.year()),
            ("expected_close_to", q.expected_close_to.year()),
            ("created_from", q.created_from.year()),
            ("created_to", q.created_to.year()),
        ],
        true,
    )?;
    let filter = DealFilter {
        stage: q.stage,
        status: q.status,
        owner_id: q.owner_id,
        contact_id: q.contact_id,
        lead_id: q.lead_id,
        q: q.q,
        closed_from: q.closed_from,
        closed_to: q.closed_to,
        expected_close_from: q.expected_close_from,
        expected_close_to: q.expected_close_to,
        created_from: q.created_from,
        created_to: q.created_to,
    };
    let sort = Sort {
        by: q.sort.unwrap_or_default(),
        dir: q.order.unwrap_or_default(),
    };
    let items = state
        .store
        .deals()
        .list(user.org, &filter, sort, page)
        .await?;
    Ok(Json(items.into()))
}

/// Creates a deal.
#[utoipa::path(post, path = "/api/deals", tag = "deals", request_body = CreateDeal,
    security(("bearer" = [])),
    responses(
        (status = 201, body = DealOut),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 422, description = "Invalid field or reference", body = ErrorBody),
    ))]
pub async fn create_deal(
    state: axum::extract::State<AppState>,
    user: AuthUser,
    Json(body): Json<CreateDeal>,
) -> ApiResult<(StatusCode, Json<DealOut>)> {
    let new: NewDeal = body.into();
    check_years(
        &[
            ("expected_close", new.expected_close.year()),
            ("closed_at", new.closed_at.year()),
        ],
        false,
    )?;
    let x = state
        .store
        .deals()
        .create(user.org, Some(user.user_id), &new)
        .await?;
    state.publish(
        user.org,
        EventKind::DealCreated {
            id: x.id,
            stage: x.stage,
            value_cents: x.value_cents.get(),
        },
    );
    Ok((StatusCode::CREATED, Json(x.into())))
}

/// One deal.
#[utoipa::path(get, path = "/api/deals/{id}", tag = "deals",
    params(("id" = i64, Path, description = "Deal id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = DealOut),
        (status = 400, description = "Bad id", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such deal", body = ErrorBody),
    ))]
pub async fn get_deal(
    state: axum::extract::State<AppState>,
    user: AuthUser,
    Id(id): Id<DealId>,
) -> ApiResult<Json<DealOut>> {
    Ok(Json(state.store.deals().get(user.org, id).await?.into()))
}

/// Changes a deal (absent fields stay, `null` clears); closing stamps
/// `closed_at`, reopening clears it.
#[utoipa::path(patch, path = "/api/deals/{id}", tag = "deals",
    params(("id" = i64, Path, description = "Deal id")),
    request_body = DealPatchBody,
    security(("bearer" = [])),
    responses(
        (status = 200, body = DealOut),
        (status = 400, description = "Malformed body or id", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such deal", body = ErrorBody),
        (status = 422, description = "Invalid field or reference", body = ErrorBody),
    ))]
pub async fn update_deal(
    state: axum::extract::State<AppState>,
    user: AuthUser,
    Id(id): Id<DealId>,
    Json(patch): Json<DealPatch>,
) -> ApiResult<Json<DealOut>> {
    check_years(
        &[
            ("expected_close", patch.expected_close.year()),
            ("closed_at", patch.closed_at.year()),
        ],
        false,
    )?;
    let (old, new) = state
        .store
        .deals()
        .update(user.org, Some(user.user_id), id, &patch)
        .await?;
    state.publish(
        user.org,
        EventKind::DealUpdated {
            id: new.id,
            old_stage: old.stage,
            new_stage: new.stage,
            old_status: old.status,
            new_status: new.status,
            old_value_cents: old.value_cents.get(),
            new_value_cents: new.value_cents.get(),
        },
    );
    Ok(Json(new.into()))
}

/// Deletes a deal.
#[utoipa::path(delete, path = "/api/deals/{id}", tag = "deals",
    params(("id" = i64, Path, description = "Deal id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Bad id", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such deal", body = ErrorBody),
    ))]
pub async fn delete_deal(
    state: axum::extract::State<AppState>,
    user: AuthUser,
    Id(id): Id<DealId>,
) -> ApiResult<StatusCode> {
    state
        .store
        .deals()
        .delete(user.org, Some(user.user_id), id)
        .await?;
    state.publish(user.org, EventKind::DealDeleted { id });
    Ok(StatusCode::NO_CONTENT)
}
