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
