//! OpenAPI parts every area shares: the error response (`ErrorBody` with a
//! description) and the responses that read the same on every endpoint, so
//! an area's `#[utoipa::path]` names them instead of repeating them.

use std::collections::BTreeMap;

use utoipa::IntoResponses;
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};

/// An error response: the one error body, described.
pub fn error_response(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
}

/// The 401 of every endpoint that needs a token: `responses(..., NoToken)`.
pub struct NoToken;

impl IntoResponses for NoToken {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        BTreeMap::from([("401".to_string(), error_response("No valid token").into())])
    }
}

/// Declares a hand-written JSON endpoint for a signed-in caller (or, after
/// `public`, for anyone: a webhook): its `#[utoipa::path]` and its handler,
/// so that what every such endpoint says alike is written once. The path's
/// operation has the bearer requirement and the shared 401 ([`NoToken`])
/// unless public, the success answer and the endpoint's own errors
/// (`status "description"`, each with the error body); `[...]` holds the
/// rest of the attribute (`params(...)`, `request_body = ...`). The
/// handler takes the app state (bound to the first name of its argument
/// list) and the extractors that follow. The success answer is one of:
///
/// - `=> Out`: 200 with `Out`; the handler answers `ApiResult<Json<Out>>`
///   (`=> Out as Doc`: documented as `Doc`, for a type without a schema);
/// - `=> 201 Out` (or 202): that status with `Out`; the handler answers
///   `ApiResult<(StatusCode, Json<Out>)>`;
/// - `=> 204 "Description"`: no body; the handler answers
///   `ApiResult<StatusCode>`.
///
/// ```ignore
/// endpoint! {
///     /// One background import of the organization.
///     get "/api/imports/{id}" in "import" [params(("id" = i64, Path, description = "Import id"))]
///         => ImportDetail, 400 "Bad id", 404 "No such import";
///     async fn get_import(state, user: AuthUser, Id(id): Id<ImportId>) {
///         Ok(Json(import::status(&state.crm, &user.caller(), id).await?.into()))
///     }
/// }
/// ```
macro_rules! endpoint {
    (
        @emit [$($doc:tt)*] [[$($security:tt)*] [$($no_token:tt)*]]
            [$method:ident $path:literal $tag:literal $($spec:tt)*]
            [$($ok:tt)*] [$($answer:tt)*] $(, $status:literal $description:literal)*;
        async fn $name:ident($state:ident $(, $($args:tt)*)?) $body:block
    ) => {
        $($doc)*
        #[utoipa::path($method, path = $path, tag = $tag, $($spec)*
            $($security)*
            responses(
                ($($ok)*),
                $($no_token)*
                $((status = $status, description = $description, body = crate::http::error::ErrorBody),)*
            ))]
        pub async fn $name(
            axum::extract::State($state): axum::extract::State<$crate::AppState>,
            $($($args)*)?
        ) -> $crate::http::error::ApiResult<$($answer)*> $body
    };
    (
        @answer $access:tt $(#[$doc:meta])* $method:ident $path:literal in $tag:literal
            $([$($spec:tt)*])? => $code:literal $what:literal $($rest:tt)*
    ) => {
        $crate::http::openapi::endpoint!(@emit [$(#[$doc])*] $access [$method $path $tag $($($spec)*,)?]
            [status = $code, description = $what] [axum::http::StatusCode] $($rest)*);
    };
    (
        @answer $access:tt $(#[$doc:meta])* $method:ident $path:literal in $tag:literal
            $([$($spec:tt)*])? => $code:literal $out:ty
            $(, $status:literal $description:literal)*; $($rest:tt)*
    ) => {
        $crate::http::openapi::endpoint!(@emit [$(#[$doc])*] $access [$method $path $tag $($($spec)*,)?]
            [status = $code, body = $out]
            [(axum::http::StatusCode, $crate::http::extract::Json<$out>)]
            $(, $status $description)*; $($rest)*);
    };
    (
        @answer $access:tt $(#[$doc:meta])* $method:ident $path:literal in $tag:literal
            $([$($spec:tt)*])? => $out:ident as $schema:ident $($rest:tt)*
    ) => {
        $crate::http::openapi::endpoint!(@emit [$(#[$doc])*] $access [$method $path $tag $($($spec)*,)?]
            [status = 200, body = $schema] [$crate::http::extract::Json<$out>] $($rest)*);
    };
    (
        @answer $access:tt $(#[$doc:meta])* $method:ident $path:literal in $tag:literal
            $([$($spec:tt)*])? => $out:ident $($rest:tt)*
    ) => {
        $crate::http::openapi::endpoint!(@emit [$(#[$doc])*] $access [$method $path $tag $($($spec)*,)?]
            [status = 200, body = $out] [$crate::http::extract::Json<$out>] $($rest)*);
    };
    ($(#[$doc:meta])* public $($rest:tt)*) => {
        $crate::http::openapi::endpoint!(@answer [[] []] $(#[$doc])* $($rest)*);
    };
    ($(#[$doc:meta])* $method:ident $($rest:tt)*) => {
        $crate::http::openapi::endpoint!(
            @answer [[security(("bearer" = [])),] [crate::http::openapi::NoToken,]]
            $(#[$doc])* $method $($rest)*
        );
    };
}
pub(crate) use endpoint;

/// Declares a `GET` that reads through one action and answers what it
/// found as `$out`:
///
/// - with a path `id` (of type `$id`, described as `$id_doc`): what one
///   record of the caller's has, `$action(crm, caller, id)` (400 for a bad
///   id, 404 `$missing` when the record is none of the caller's), or with
///   `paged`, a page of what hangs off it, `$action(crm, caller, id, page)`;
/// - without: a page of the organization's, `$action(crm, caller, page)`
///   (400 for bad paging).
///
/// Pages are asked for with `PageQuery`. The area imports `AuthUser`, `Id`,
/// `Json`, `Query`, `PageQuery` and `page`.
///
/// ```ignore
/// reads!(
///     /// The contact's leads.
///     contact_leads: "/api/contacts/{id}/leads" in "contacts", "Contact id" ContactId
///         => paged LeadPage, "No such contact", contacts::leads
/// );
/// ```
macro_rules! reads {
    (
        $(#[$doc:meta])* $name:ident: $path:literal in $tag:literal => paged $out:ident, $action:path
    ) => {
        $crate::http::openapi::endpoint! {
            $(#[$doc])*
            get $path in $tag [params(PageQuery)] => $out, 400 "Bad paging";
            async fn $name(state, user: AuthUser, Query(q): Query<PageQuery>) {
                let page = page(q.limit, q.offset)?;
                Ok(Json($action(&state.crm, &user.caller(), page).await?.into()))
            }
        }
    };
    (
        $(#[$doc:meta])* $name:ident: $path:literal in $tag:literal, $id_doc:literal $id:ty
            => $out:ident, $missing:literal, $action:path
    ) => {
        $crate::http::openapi::endpoint! {
            $(#[$doc])*
            get $path in $tag [params(("id" = i64, Path, description = $id_doc))]
                => $out, 400 "Bad id", 404 $missing;
            async fn $name(state, user: AuthUser, Id(id): Id<$id>) {
                Ok(Json($action(&state.crm, &user.caller(), id).await?.into()))
            }
        }
    };
    (
        $(#[$doc:meta])* $name:ident: $path:literal in $tag:literal, $id_doc:literal $id:ty
            => paged $out:ident, $missing:literal, $action:path
    ) => {
        $crate::http::openapi::endpoint! {
            $(#[$doc])*
            get $path in $tag [params(("id" = i64, Path, description = $id_doc), PageQuery)]
                => $out, 400 "Bad id or paging", 404 $missing;
            async fn $name(state, user: AuthUser, Id(id): Id<$id>, Query(q): Query<PageQuery>) {
                let page = page(q.limit, q.offset)?;
                Ok(Json($action(&state.crm, &user.caller(), id, page).await?.into()))
            }
        }
    };
}
pub(crate) use reads;

/// An area's router of hand-written endpoints: one route per handler, or per
/// parenthesised group of handlers of the same path.
macro_rules! routes_of {
    ($($route:tt),+ $(,)?) => {
        utoipa_axum::router::OpenApiRouter::new()
            $(.routes($crate::http::openapi::routes_of!(@route $route)))+
    };
    (@route ($($handler:ident),+)) => { utoipa_axum::routes!($($handler),+) };
    (@route $handler:ident) => { utoipa_axum::routes!($handler) };
}
pub(crate) use routes_of;
