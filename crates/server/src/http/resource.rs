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
use neuracrm_actions::records::{self, List, Record};
use neuracrm_actions::{Access, Caller};
use neuracrm_store::Paged;
use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa::openapi::path::{
    HttpMethod, Operation, OperationBuilder, ParameterBuilder, ParameterIn, PathItem, PathsBuilder,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Required, ResponseBuilder, Schema};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;

use crate::AppState;
use crate::http::auth::AuthUser;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Id, Json, Query};

/// The words of a resource's OpenAPI entries; everything else in them
/// follows from the types.
#[derive(Debug, Clone, Copy)]
pub struct Docs {
    /// Collection path, e.g. `/api/contacts`.
    pub path: &'static str,
    /// OpenAPI tag.
    pub tag: &'static str,
    /// One record, in operation ids and "No such …": `contact`.
    pub singular: &'static str,
    /// The collection, in the list's operation id: `contacts`.
    pub plural: &'static str,
    /// The path id's description: `Contact id`.
    pub id: &'static str,
    /// Summary of the list.
    pub list: &'static str,
    /// Summary of the creation.
    pub create: &'static str,
    /// Summary of the read of one.
    pub get: &'static str,
    /// Summary of the change.
    pub update: &'static str,
    /// Summary of the deletion.
    pub delete: &'static str,
    /// The list's 400: what its query can get wrong.
    pub bad_query: &'static str,
    /// The creation's 422.
    pub invalid_create: &'static str,
    /// The change's 422.
    pub invalid_update: &'static str,
    /// The 409s of creation, change and deletion, where one can happen.
    pub conflicts: Conflicts,
}

impl Docs {
    /// The words most resources share: a list refused for a bad query, 422s
    /// for an invalid field or reference, no 409. A resource states its own
    /// names and summaries and overrides the rest with `..Docs::COMMON`.
    pub const COMMON: Docs = Docs {
        path: "",
        tag: "",
        singular: "",
        plural: "",
        id: "",
        list: "",
        create: "",
        get: "",
        update: "",
        delete: "",
        bad_query: "Bad query",
        invalid_create: "Invalid field or reference",
        invalid_update: "Invalid field or reference",
        conflicts: Conflicts {
            create: None,
            update: None,
            delete: None,
        },
    };
}

/// When a write answers 409, and why.
#[derive(Debug, Clone, Copy, Default)]
pub struct Conflicts {
    /// Of a creation.
    pub create: Option<&'static str>,
    /// Of a change.
    pub update: Option<&'static str>,
    /// Of a deletion.
    pub delete: Option<&'static str>,
}

/// A record served by the generic JSON handlers.
pub trait Resource: Record<Id: From<i64>> {
    /// One record as sent.
    type Out: Serialize + ToSchema + From<Self::View>;
    /// A page of records as sent.
    type Page: Serialize + ToSchema + From<Paged<Self::View>>;
    /// The body of a creation.
    type Create: DeserializeOwned + ToSchema + Send;
    /// The body of a change, as parsed.
    type PatchBody: DeserializeOwned + Send + Into<Self::Patch>;
    /// The body of a change, as documented (a patch type's three states do
    /// not derive a schema).
    type PatchDoc: ToSchema;
    /// The list's query string.
    type Query: DeserializeOwned + IntoParams + Send;

    /// The words of its OpenAPI entries.
    const DOCS: Docs;

    /// The action's input from a creation body.
    fn new_from(body: Self::Create) -> Self::New;
    /// The list request from a query string (paging checked).
    fn list_from(query: Self::Query) -> ApiResult<List<Self>>;
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
    let query = R::list_from(q)?;
    Ok(Json(
        records::list(&state.crm, &caller, query).await?.into(),
    ))
}

async fn create<R: Resource>(
    State(state): State<AppState>,
    Admitted(caller, _): Admitted<R, true>,
    Json(body): Json<R::Create>,
) -> ApiResult<(StatusCode, Json<R::Out>)> {
    let view = records::create::<R>(&state.crm, &caller, R::new_from(body)).await?;
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
    let d = R::DOCS;
    let mut schemas = Vec::new();
    collect::<R::Out>(&mut schemas);
    collect::<R::Page>(&mut schemas);
    collect::<R::Create>(&mut schemas);
    collect::<R::PatchDoc>(&mut schemas);
    let no_such = format!("No such {}", d.singular);
    let item_path = format!("{}/{{id}}", d.path);
    let read_403 = forbidden(R::READ);
    let write_403 = forbidden(R::WRITE).or(read_403);

    let list_op = Op::new(&d, format!("list_{}", d.plural), d.list)
        .params(R::Query::into_params(|| Some(ParameterIn::Query)))
        .ok(200, ref_of::<R::Page>())
        .error(400, d.bad_query)
        .unauthorized()
        .maybe(403, read_403);
    let create_op = Op::new(&d, format!("create_{}", d.singular), d.create)
        .body(ref_of::<R::Create>())
        .ok(201, ref_of::<R::Out>())
        .error(400, "Malformed body")
        .unauthorized()
        .maybe(403, write_403)
        .maybe(409, d.conflicts.create)
        .error(422, d.invalid_create);
    let get_op = Op::new(&d, format!("get_{}", d.singular), d.get)
        .id()
        .ok(200, ref_of::<R::Out>())
        .error(400, "Bad id")
        .unauthorized()
        .maybe(403, read_403)
        .error(404, &no_such);
    let update_op = Op::new(&d, format!("update_{}", d.singular), d.update)
        .id()
        .body(ref_of::<R::PatchDoc>())
        .ok(200, ref_of::<R::Out>())
        .error(400, "Malformed body or id")
        .unauthorized()
        .maybe(403, write_403)
        .error(404, &no_such)
        .maybe(409, d.conflicts.update)
        .error(422, d.invalid_update);
    let delete_op = Op::new(&d, format!("delete_{}", d.singular), d.delete)
        .id()
        .response(204, ResponseBuilder::new().description("Deleted").build())
        .error(400, "Bad id")
        .unauthorized()
        .maybe(403, write_403)
        .error(404, &no_such)
        .maybe(409, d.conflicts.delete);

    let collection = PathItem::new(HttpMethod::Get, list_op.build())
        .tap_merge(PathItem::new(HttpMethod::Post, create_op.build()));
    let item = PathItem::new(HttpMethod::Get, get_op.build())
        .tap_merge(PathItem::new(HttpMethod::Patch, update_op.build()))
        .tap_merge(PathItem::new(HttpMethod::Delete, delete_op.build()));
    let collection_routes: MethodRouter<AppState> = axum::routing::get(list::<R>).post(create::<R>);
    let item_routes: MethodRouter<AppState> = axum::routing::get(get::<R>)
        .patch(update::<R>)
        .delete(delete::<R>);
    OpenApiRouter::new()
        .routes((
            schemas.clone(),
            PathsBuilder::new().path(d.path, collection).build(),
            collection_routes,
        ))
        .routes((
            schemas,
            PathsBuilder::new().path(item_path, item).build(),
            item_routes,
        ))
}

/// The 403 an access level can answer with, in the words the API uses.
fn forbidden(access: Access) -> Option<&'static str> {
    match access {
        Access::Anyone => None,
        Access::Managers => Some("A rep"),
        Access::Admins => Some("Not an admin"),
    }
}

/// Registers `T`'s schema and those it refers to.
fn collect<T: ToSchema>(schemas: &mut Vec<(String, RefOr<Schema>)>) {
    schemas.push((T::name().into_owned(), T::schema()));
    T::schemas(schemas);
}

fn ref_of<T: ToSchema>() -> Ref {
    Ref::from_schema_name(T::name())
}

trait TapMerge {
    fn tap_merge(self, other: PathItem) -> Self;
}

impl TapMerge for PathItem {
    fn tap_merge(mut self, other: PathItem) -> Self {
        self.merge_operations(other);
        self
    }
}

/// One operation being described, with the parts every resource shares.
struct Op {
    b: OperationBuilder,
    id_doc: &'static str,
}

impl Op {
    fn new(d: &Docs, id: String, summary: &str) -> Op {
        let b = OperationBuilder::new()
            .tag(d.tag)
            .summary(Some(summary))
            .operation_id(Some(id))
            .security(SecurityRequirement::new::<_, _, String>("bearer", []));
        Op { b, id_doc: d.id }
    }

    fn with(self, f: impl FnOnce(OperationBuilder) -> OperationBuilder) -> Op {
        Op {
            b: f(self.b),
            id_doc: self.id_doc,
        }
    }

    fn params(self, params: Vec<utoipa::openapi::path::Parameter>) -> Op {
        self.with(|b| b.parameters(Some(params)))
    }

    fn id(self) -> Op {
        let doc = self.id_doc;
        let id = ParameterBuilder::new()
            .name("id")
            .parameter_in(ParameterIn::Path)
            .description(Some(doc))
            .required(Required::True)
            .schema(Some(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64))),
            ))
            .build();
        self.with(|b| b.parameter(id))
    }

    fn body(self, schema: Ref) -> Op {
        let body = RequestBodyBuilder::new()
            .content(
                "application/json",
                ContentBuilder::new().schema(Some(schema)).build(),
            )
            .required(Some(Required::True))
            .build();
        self.with(|b| b.request_body(Some(body)))
    }

    fn response(self, status: u16, response: utoipa::openapi::Response) -> Op {
        self.with(|b| b.response(status.to_string(), response))
    }

    fn ok(self, status: u16, schema: Ref) -> Op {
        let res = ResponseBuilder::new()
            .content(
                "application/json",
                ContentBuilder::new().schema(Some(schema)).build(),
            )
            .build();
        self.response(status, res)
    }

    fn error(self, status: u16, description: &str) -> Op {
        let res = ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build();
        self.response(status, res)
    }

    fn maybe(self, status: u16, description: Option<&str>) -> Op {
        match description {
            Some(d) => self.error(status, d),
            None => self,
        }
    }

    fn unauthorized(self) -> Op {
        self.error(401, "No valid token")
    }

    fn build(self) -> Operation {
        self.b.build()
    }
}
