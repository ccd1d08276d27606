//! `/api/leads`: CRUD and the filtered, sorted list.

use axum::http::StatusCode;
use neuracrm_domain::{EventKind, LeadId, LeadPatch, NewLead};
use neuracrm_store::leads::LeadFilter;
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
        .routes(routes!(list_leads, create_lead))
        .routes(routes!(get_lead, update_lead, delete_lead))
}

/// Lists the organization's leads.
#[utoipa::path(get, path = "/api/leads", tag = "leads", params(LeadQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = LeadPage),
        (status = 400, description = "Bad query", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
    ))]
pub async fn list_leads(
    state: axum::extract::State<AppState>,
    user: AuthUser,
    Query(q): Query<LeadQuery>,
) -> ApiResult<Json<LeadPage>> {
    let page = Page::parse(q.limit, q.offset).map_err(ApiError::query)?;
    check_years(
        &[
            ("created_from", q.created_from.year()),
            ("created_to", q.created_to.year()),
        ],
        true,
    )?;
    let filter = LeadFilter {
        status: q.status,
        source: q.source,
        owner_id: q.owner_id,
        contact_id: q.contact_id,
        category: q.category.map(|c| c.name().to_string()),
        min_score: q.min_score,
        max_score: q.max_score,
        q: q.q,
        created_from: q.created_from,
        created_to: q.created_to,
        with_factors: q.include_factors.unwrap_or(false),
    };
    let sort = Sort {
        by: q.sort.unwrap_or_default(),
        dir: q.order.unwrap_or_default(),
    };
    let items = state
        .store
        .leads()
        .list(user.org, &filter, sort, page)
        .await?;
    Ok(Json(items.into()))
}

/// Creates a lead.
#[utoipa::path(post, path = "/api/leads", tag = "leads", request_body = CreateLead,
    security(("bearer" = [])),
    responses(
        (status = 201, body = LeadOut),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 422, description = "Invalid field or reference", body = ErrorBody),
    ))]
pub async fn create_lead(
    state: axum::extract::State<AppState>,
    user: AuthUser,
    Json(body): Json<CreateLead>,
) -> ApiResult<(StatusCode, Json<LeadOut>)> {
    let new: NewLead = body.into();
    check_years(
        &[("expected_decision", new.expected_decision.year())],
        false,
    )?;
    let l = state
        .store
        .leads()
        .create(user.org, Some(user.user_id), &new)
        .await?;
    state.publish(user.org, EventKind::LeadCreated { id: l.id });
    Ok((StatusCode::CREATED, Json(l.into())))
}

/// One lead.
#[utoipa::path(get, path = "/api/leads/{id}", tag = "leads",
    params(("id" = i64, Path, description = "Lead id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = LeadOut),
        (status = 400, description = "Bad id", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such lead", body = ErrorBody),
    ))]
pub async fn get_lead(
    state: axum::extract::State<AppState>,
    user: AuthUser,
    Id(id): Id<LeadId>,
) -> ApiResult<Json<LeadOut>> {
    Ok(Json(state.store.leads().get(user.org, id).await?.into()))
}

/// Changes a lead (absent fields stay, `null` clears).
#[utoipa::path(patch, path = "/api/leads/{id}", tag = "leads",
    params(("id" = i64, Path, description = "Lead id")),
    request_body = LeadPatchBody,
    security(("bearer" = [])),
    responses(
        (status = 200, body = LeadOut),
        (status = 400, description = "Malformed body or id", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such lead", body = ErrorBody),
        (status = 422, description = "Invalid field or reference", body = ErrorBody),
    ))]
pub async fn update_lead(
    state: axum::extract::State<AppState>,
    user: AuthUser,
    Id(id): Id<LeadId>,
    Json(patch): Json<LeadPatch>,
) -> ApiResult<Json<LeadOut>> {
    check_years(
        &[("expected_decision", patch.expected_decision.year())],
        false,
    )?;
    let (_, l) = state
        .store
        .leads()
        .update(user.org, Some(user.user_id), id, &patch)
        .await?;
    state.publish(user.org, EventKind::LeadUpdated { id: l.id });
    Ok(Json(l.into()))
}

/// Deletes a lead.
#[utoipa::path(delete, path = "/api/leads/{id}", tag = "leads",
    params(("id" = i64, Path, description = "Lead id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Bad id", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such lead", body = ErrorBody),
    ))]
pub async fn delete_lead(
    state: axum::extract::State<AppState>,
    user: AuthUser,
    Id(id): Id<LeadId>,
) -> ApiResult<StatusCode> {
    state
        .store
        .leads()
        .delete(user.org, Some(user.user_id), id)
        .await?;
    state.publish(user.org, EventKind::LeadDeleted { id });
    Ok(StatusCode::NO_CONTENT)
}
