//! `/api/contacts`: CRUD, list with filters, and the contact's leads, deals and
//! activity timeline.

use axum::http::StatusCode;
use neuracrm_domain::{ContactId, ContactPatch, EventKind, NewContact};
use neuracrm_store::activities::ActivityFilter;
use neuracrm_store::contacts::ContactFilter;
use neuracrm_store::deals::DealFilter;
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
        .routes(routes!(list_contacts, create_contact))
        .routes(routes!(get_contact, update_contact, delete_contact))
        .routes(routes!(contact_leads))
        .routes(routes!(contact_deals))
        .routes(routes!(contact_activities))
}

/// Lists the organization's contacts.
#[utoipa::path(get, path = "/api/contacts", tag = "contacts", params(ContactQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ContactPage),
        (status = 400, description = "Bad query", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
    ))]
pub async fn list_contacts(
    state: axum::extract::State<AppState>,
    user: AuthUser,
    Query(q): Query<ContactQuery>,
) -> ApiResult<Json<ContactPage>> {
    let page = Page::parse(q.limit, q.offset).map_err(ApiError::query)?;
    check_years(
        &[
            ("created_from", q.created_from.year()),
            ("created_to", q.created_to.year()),
        ],
        true,
    )?;
    let filter = ContactFilter {
        q: q.q,
        owner_id: q.owner_id,
        industry: q.industry,
        created_from: q.created_from,
        created_to: q.created_to,
    };
    let sort = Sort {
        by: q.sort.unwrap_or_default(),
        dir: q.order.unwrap_or_default(),
    };
    let items = state
        .store
        .contacts()
        .list(user.org, &filter, sort, page)
        .await?;
    Ok(Json(items.into()))
}

/// Creates a contact.
#[utoipa::path(post, path = "/api/contacts", tag = "contacts", request_body = CreateContact,
    security(("bearer" = [])),
    responses(
        (status = 201, body = ContactOut),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 409, description = "E-mail taken", body = ErrorBody),
        (status = 422, description = "Invalid field or reference", body = ErrorBody),
    ))]
pub async fn create_contact(
    state: axum::extract::State<AppState>,
    user: AuthUser,
    Json(body): Json<CreateContact>,
) -> ApiResult<(StatusCode, Json<ContactOut>)> {
    let new: NewContact = body.into();
    let c = state
        .store
        .contacts()
        .create(user.org, Some(user.user_id), &new)
        .await?;
    state.publish(user.org, EventKind::ContactCreated { id: c.id });
    Ok((StatusCode::CREATED, Json(c.into())))
}

/// One contact.
#[utoipa::path(get, path = "/api/contacts/{id}", tag = "contacts",
    params(("id" = i64, Path, description = "Contact id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ContactOut),
        (status = 400, description = "Bad id", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such contact", body = ErrorBody),
    ))]
pub async fn get_contact(
    state: axum::extract::State<AppState>,
    user: AuthUser,
    Id(id): Id<ContactId>,
) -> ApiResult<Json<ContactOut>> {
    Ok(Json(state.store.contacts().get(user.org, id).await?.into()))
}

/// Changes a contact (absent fields stay, `null` clears).
#[utoipa::path(patch, path = "/api/contacts/{id}", tag = "contacts",
    params(("id" = i64, Path, description = "Contact id")),
    request_body = ContactPatchBody,
    security(("bearer" = [])),
    responses(
        (status = 200, body = ContactOut),
        (status = 400, description = "Malformed body or id", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such contact", body = ErrorBody),
        (status = 409, description = "E-mail taken", body = ErrorBody),
        (status = 422, description = "Invalid field or reference", body = ErrorBody),
    ))]
pub async fn update_contact(
    state: axum::extract::State<AppState>,
    user: AuthUser,
    Id(id): Id<ContactId>,
    Json(patch): Json<ContactPatch>,
) -> ApiResult<Json<ContactOut>> {
    let (_, c) = state
        .store
        .contacts()
        .update(user.org, Some(user.user_id), id, &patch)
        .await?;
    state.publish(user.org, EventKind::ContactUpdated { id: c.id });
    Ok(Json(c.into()))
}

/// Deletes a contact; its leads, deals and activities stay, detached.
#[utoipa::path(delete, path = "/api/contacts/{id}", tag = "contacts",
    params(("id" = i64, Path, description = "Contact id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Bad id", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such contact", body = ErrorBody),
    ))]
pub async fn delete_contact(
    state: axum::extract::State<AppState>,
    user: AuthUser,
    Id(id): Id<ContactId>,
) -> ApiResult<StatusCode> {
    state
        .store
        .contacts()
        .delete(user.org, Some(user.user_id), id)
        .await?;
    state.publish(user.org, EventKind::ContactDeleted { id });
    Ok(StatusCode::NO_CONTENT)
}

/// The contact's leads.
#[utoipa::path(get, path = "/api/contacts/{id}/leads", tag = "contacts",
    params(("id" = i64, Path, description = "Contact id"), PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = LeadPage),
        (status = 400, description = "Bad id or paging", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such contact", body = ErrorBody),
    ))]
pub async fn contact_leads(
    state: axum::extract::State<AppState>,
    user: AuthUser,
    Id(id): Id<ContactId>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<LeadPage>> {
    let page = Page::parse(q.limit, q.offset).map_err(ApiError::query)?;
    state.store.contacts().get(user.org, id).await?;
    let filter = LeadFilter {
        contact_id: Some(id),
        ..Default::default()
    };
    let items = state
        .store
        .leads()
        .list(user.org, &filter, Sort::default(), page)
        .await?;
    Ok(Json(items.into()))
}

/// The contact's deals.
#[utoipa::path(get, path = "/api/contacts/{id}/deals", tag = "contacts",
    params(("id" = i64, Path, description = "Contact id"), PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = DealPage),
        (status = 400, description = "Bad id or paging", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such contact", body = ErrorBody),
    ))]
pub async fn contact_deals(
    state: axum::extract::State<AppState>,
    user: AuthUser,
    Id(id): Id<ContactId>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<DealPage>> {
    let page = Page::parse(q.limit, q.offset).map_err(ApiError::query)?;
    state.store.contacts().get(user.org, id).await?;
    let filter = DealFilter {
        contact_id: Some(id),
        ..Default::default()
    };
    let items = state
        .store
        .deals()
        .list(user.org, &filter, Sort::default(), page)
        .await?;
    Ok(Json(items.into()))
}

/// The contact's timeline: its own activities and those of its leads and
/// deals, newest first.
#[utoipa::path(get, path = "/api/contacts/{id}/activities", tag = "contacts",
    params(("id" = i64, Path, description = "Contact id"), PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ActivityPage),
        (status = 400, description = "Bad id or paging", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such contact", body = ErrorBody),
    ))]
pub async fn contact_activities(
    state: axum::extract::State<AppState>,
    user: AuthUser,
    Id(id): Id<ContactId>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<ActivityPage>> {
    let page = Page::parse(q.limit, q.offset).map_err(ApiError::query)?;
    state.store.contacts().get(user.org, id).await?;
    let filter = ActivityFilter {
        timeline_of: Some(id),
        ..Default::default()
    };
    let items = state
        .store
        .activities()
        .list(user.org, &filter, Default::default(), page)
        .await?;
    Ok(Json(
        super::activities::with_sentiment(&state, user.org, items.into()).await?,
    ))
}
