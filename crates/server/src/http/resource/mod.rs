//! The one JSON mechanism for the records with the create/read/change/delete
//! shape: `GET` and `POST` on `/api/{plural}`, `GET`, `PATCH` and `DELETE`
//! on `/api/{plural}/{id}`.
//!
//! A resource states once, in its [`Resource`] implementation, its wire
//! types (the response, the page, the create body, the patch body and its
//! schema, the list query) and the words of its OpenAPI entries ([`Docs`]).
//! [`crud`] then gives the five handlers, their OpenAPI operations and their
//! role checks from one generic implementation: each handler authenticates
//! the caller, checks the role the record admits before the body is read,
//! and calls the generic action of `neuracrm_actions::records`, which does
//! the tenancy-scoped store call and publishes the event. Endpoints that
//! differ (a contact's leads, a lead's score) are written by hand in their
//! area.

use std::marker::PhantomData;

use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::routing::MethodRouter;
use neuracrm_actions::Caller;
use neuracrm_actions::records::{self, List, Record};
use neuracrm_store::Paged;
use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;

use crate::AppState;
use crate::http::auth::AuthUser;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Id, Json, Query};
use crate::http::wire::ListQuery;

mod docs;

pub use docs::{Conflicts, Docs, SUMMARIES, Summaries};

/// Declares a resource's wire types in an `impl Resource`: the response, the
/// page, the create body, the patch body as parsed and as documented, and the
/// list query, in that order.
macro_rules! wire_types {
    ($out:ty, $page:ty, $create:ty, $patch:ty, $patch_doc:ty, $query:ty) => {
        type Out = $out;
        type Page = $page;
        type Create = $create;
        type PatchBody = $patch;
        type PatchDoc = $patch_doc;
        type Query = $query;
    };
}
pub(crate) use wire_types;

/// A record served by the generic JSON handlers.
pub trait Resource: Record<Id: From<i64>> {
    /// One record as sent.
    type Out: Serialize + ToSchema + From<Self::View>;
    /// A page of records as sent.
    type Page: Serialize + ToSchema + From<Paged<Self::View>>;
    /// The body of a creation, which converts into the action's input.
    type Create: DeserializeOwned + ToSchema + Send + Into<Self::New>;
    /// The body of a change, as parsed.
    type PatchBody: DeserializeOwned + Send + Into<Self::Patch>;
    /// The body of a change, as documented (a patch type's three states do
    /// not derive a schema).
    type PatchDoc: ToSchema;
    /// The list's query string, which gives the page, filter and order
    /// (declared with `list_query!`, or `PageQuery` for a plain list).
    type Query: DeserializeOwned
        + IntoParams
        + Send
        + ListQuery<Filter = Self::Filter, Sort = Self::Sort>;

    /// The words of its OpenAPI entries.
    const DOCS: Docs;
}

/// The caller, admitted by `access` before anything else of the request is
/// read (a rep's request to an admins' endpoint is 403 whatever its body).
pub struct Admitted<R, const WRITE: bool>(pub Caller, PhantomData<R>);

impl<R: Resource, const WRITE: bool> FromRequestParts<AppState> for Admitted<R, WRITE> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let user = AuthUser::from_request_parts(parts, state).await?;
        let access = if WRITE { R::WRITE } else { R::READ };
        if !access.admits(user.role) {
            return Err(ApiError::Forbidden);
        }
        Ok(Admitted(user.caller(), PhantomData))
    }
}

async fn list<R: Resource>(
    State(state): State<AppState>,
    Admitted(caller, _): Admitted<R, false>,
    Query(q): Query<R::Query>,
) -> ApiResult<Json<R::Page>> {
    let (page, filter, sort) = q.into_parts()?;
    let query = List::<R> { filter, sort, page };
    Ok(Json(
        records::list(&state.crm, &caller, query).await?.into(),
    ))
}

async fn create<R: Resource>(
    State(state): State<AppState>,
    Admitted(caller, _): Admitted<R, true>,
    Json(body): Json<R::Create>,
) -> ApiResult<(StatusCode, Json<R::Out>)> {
    let view = records::create::<R>(&state.crm, &caller, body.into()).await?;
    Ok((StatusCode::CREATED, Json(view.into())))
}

async fn get<R: Resource>(
    State(state): State<AppState>,
    Admitted(caller, _): Admitted<R, false>,
    Id(id): Id<i64>,
) -> ApiResult<Json<R::Out>> {
    let view = records::get::<R>(&state.crm, &caller, R::Id::from(id)).await?;
    Ok(Json(view.into()))
}

async fn update<R: Resource>(
    State(state): State<AppState>,
    Admitted(caller, _): Admitted<R, true>,
    Id(id): Id<i64>,
    Json(patch): Json<R::PatchBody>,
) -> ApiResult<Json<R::Out>> {
    let view = records::update::<R>(&state.crm, &caller, R::Id::from(id), patch.into()).await?;
    Ok(Json(view.into()))
}

async fn delete<R: Resource>(
    State(state): State<AppState>,
    Admitted(caller, _): Admitted<R, true>,
    Id(id): Id<i64>,
) -> ApiResult<StatusCode> {
    records::delete::<R>(&state.crm, &caller, R::Id::from(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The five routes of `R` with their OpenAPI operations.
pub fn crud<R: Resource>() -> OpenApiRouter<AppState> {
    let (schemas, collection, item) = docs::operations::<R>();
    let collection_routes: MethodRouter<AppState> = axum::routing::get(list::<R>).post(create::<R>);
    let item_routes: MethodRouter<AppState> = axum::routing::get(get::<R>)
        .patch(update::<R>)
        .delete(delete::<R>);
    OpenApiRouter::new()
        .routes((schemas.clone(), collection, collection_routes))
        .routes((schemas, item, item_routes))
}
