//! The one HTTP error type and its table of status codes and stable codes.
//!
//! Handlers return [`ApiError`]; its response carries the error itself as an
//! extension and the [`render_errors`] middleware writes the body
//! `{"error": {"code", "message", "request_id", "field"?}}` with the request id
//! of the request. The same middleware turns every other error response (the
//! router's 404 and 405, the body limit's 413, the timeout's 408) into the
//! same shape, and logs each 500 once with its cause; a 500's body never
//! carries internal text.

use std::sync::Arc;

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use neuracrm_domain::DomainError;
use neuracrm_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

use neuracrm_actions::ActionError;

pub use neuracrm_actions::error_chain;

/// The request-id header, set on every request and echoed on every response.
pub static REQUEST_ID: axum::http::HeaderName = axum::http::HeaderName::from_static("x-request-id");

/// Everything a request can fail with.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// A body field failed validation (wrong type, unknown field, bad value).
    #[error("{message}")]
    Validation {
        /// The offending field.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A foreign key in the body names no record of the caller's organization.
    #[error("{message}")]
    BadReference {
        /// The referencing field.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The body is not JSON (or not the declared format).
    #[error("{0}")]
    MalformedBody(String),
    /// A query parameter is invalid (bad paging, unknown sort key, ...).
    #[error("{message}")]
    InvalidQuery {
        /// The offending parameter, when known.
        field: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// A path segment is invalid (an id that is not a number).
    #[error("{0}")]
    InvalidPath(String),
    /// The body's content type is not the one the endpoint reads.
    #[error("expected a {0} body")]
    UnsupportedMediaType(&'static str),
    /// The body is larger than the configured limit.
    #[error("the request body is too large")]
    PayloadTooLarge,
    /// No valid access token.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// A webhook call's signature does not verify: 401 like a missing
    /// token, but without a `WWW-Authenticate: Bearer` challenge (no token
    /// would help).
    #[error("{0}")]
    BadSignature(&'static str),
    /// Login failed (deliberately vague: no hint whether the e-mail exists).
    #[error("invalid e-mail or password")]
    InvalidCredentials,
    /// Authenticated, but the role does not allow this.
    #[error("your role does not allow this")]
    Forbidden,
    /// No such record in the caller's organization, or no such route.
    #[error("{0} not found")]
    NotFound(String),
    /// The route exists but not with this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// A unique field is already taken, or the write contradicts the state.
    #[error("{message}")]
    Conflict {
        /// The field that must be unique.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The endpoint speaks another protocol (a WebSocket) and the request
    /// did not ask to switch to it.
    #[error("{0}")]
    UpgradeRequired(&'static str),
    /// Too many attempts; retry after this many seconds.
    #[error("too many attempts, retry in {0} s")]
    RateLimited(u64),
    /// The request took longer than the configured timeout.
    #[error("the request took too long")]
    Timeout,
    /// An outside service (Retell) refused or failed; the message says
    /// which and why.
    #[error("{0}")]
    Upstream(String),
    /// Anything else. The text is logged, never sent.
    #[error("internal error")]
    Internal(String),
}

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// One error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable snake_case code, e.g. `not_found`, `validation_failed`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
    /// The request id (also in the `x-request-id` header).
    pub request_id: String,
    /// The offending field or parameter, for validation errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    /// The table: HTTP status and stable code of each error.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        use ApiError::*;
        match self {
            Validation { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            BadReference { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_reference"),
            MalformedBody(_) => (StatusCode::BAD_REQUEST, "malformed_body"),
            InvalidQuery { .. } => (StatusCode::BAD_REQUEST, "invalid_query"),
            InvalidPath(_) => (StatusCode::BAD_REQUEST, "invalid_path"),
            UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Unauthorized(_) | BadSignature(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            InvalidCredentials => (StatusCode::UNAUTHORIZED, "invalid_credentials"),
            Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            UpgradeRequired(_) => (StatusCode::UPGRADE_REQUIRED, "upgrade_required"),
            NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Conflict { .. } => (StatusCode::CONFLICT, "conflict"),
            RateLimited(_) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            Timeout => (StatusCode::REQUEST_TIMEOUT, "request_timeout"),
            Upstream(_) => (StatusCode::BAD_GATEWAY, "upstream_failed"),
            Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    fn field(&self) -> Option<String> {
        match self {
            ApiError::Validation { field, .. }
            | ApiError::BadReference { field, .. }
            | ApiError::Conflict { field, .. } => Some(field.clone()),
            ApiError::InvalidQuery { field, .. } => field.clone(),
            _ => None,
        }
    }

    /// A validation error of `field`.
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Validation {
            field: field.into(),
            message: message.into(),
        }
    }

    /// A query-string error from a domain check (paging, dates).
    pub fn query(e: DomainError) -> Self {
        ApiError::InvalidQuery {
            field: Some(e.field().to_string()),
            message: e.to_string(),
        }
    }

    /// The error an unexpected status from a lower layer stands for.
    fn from_status(status: StatusCode) -> Self {
        match status {
            StatusCode::NOT_FOUND => ApiError::NotFound("route".into()),
            StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
            StatusCode::REQUEST_TIMEOUT => ApiError::Timeout,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType("JSON"),
            StatusCode::UNAUTHORIZED => ApiError::Unauthorized("authentication required"),
            StatusCode::FORBIDDEN => ApiError::Forbidden,
            s if s.is_client_error() => ApiError::MalformedBody(
                s.canonical_reason().unwrap_or("bad request").to_lowercase(),
            ),
            s => ApiError::Internal(format!("unexpected {s} from a lower layer")),
        }
    }

    fn render(&self, request_id: &str) -> Response {
        let (status, code) = self.status_and_code();
        let message = match self {
            ApiError::Internal(_) => "internal error".to_string(),
            other => other.to_string(),
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code: code.into(),
                message,
                request_id: request_id.into(),
                field: self.field(),
            },
        };
        let mut res = (status, axum::Json(body)).into_response();
        match self {
            ApiError::RateLimited(secs) => {
                res.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*secs));
            }
            ApiError::Unauthorized(_) | ApiError::InvalidCredentials => {
                res.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        res
    }
}

/// Marks a response as carrying an [`ApiError`] for [`render_errors`].
#[derive(Clone)]
struct Rendered(Arc<ApiError>);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, _) = self.status_and_code();
        let mut res = status.into_response();
        res.extensions_mut().insert(Rendered(Arc::new(self)));
        res
    }
}

impl From<ActionError> for ApiError {
    fn from(e: ActionError) -> Self {
        match e {
            ActionError::Invalid { field, message } => ApiError::Validation { field, message },
            ActionError::BadReference { field, message } => {
                ApiError::BadReference { field, message }
            }
            ActionError::BadQuery { field, message } => ApiError::InvalidQuery { field, message },
            ActionError::Unreadable(m) => ApiError::MalformedBody(m),
            ActionError::TooLarge => ApiError::PayloadTooLarge,
            ActionError::NotFound(what) => ApiError::NotFound(what),
            ActionError::Conflict { field, message } => ApiError::Conflict { field, message },
            ActionError::Forbidden => ApiError::Forbidden,
            ActionError::Unauthenticated(m) => ApiError::Unauthorized(m),
            ActionError::BadSignature(m) => ApiError::BadSignature(m),
            ActionError::RateLimited {
                retry_after_secs, ..
            } => ApiError::RateLimited(retry_after_secs),
            ActionError::Upstream(m) => ApiError::Upstream(m),
            ActionError::Internal(cause) => ApiError::Internal(cause),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ActionError::from(e).into()
    }
}

impl From<DomainError> for ApiError {
    fn from(d: DomainError) -> Self {
        ActionError::from(d).into()
    }
}

/// Writes every error response in the one JSON shape, with the request id, and
/// logs 500s once with their cause.
pub async fn render_errors(req: Request, next: Next) -> Response {
    let request_id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let err = match res.extensions().get::<Rendered>() {
        Some(Rendered(e)) => e.clone(),
        // Already in a shape for its reader: JSON, or a page of the web UI.
        None if is_json(&res) || is_html(&res) => return res,
        None => Arc::new(ApiError::from_status(status)),
    };
    if let ApiError::Internal(cause) = err.as_ref() {
        tracing::error!(request_id = %request_id, cause = %cause, "internal error");
    }
    let mut out = err.render(&request_id);
    // Keep headers set by lower layers (e.g. `allow` on a 405).
    for (name, value) in res.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().entry(name).or_insert(value.clone());
        }
    }
    out
}

fn is_html(res: &Response) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"))
}

fn is_json(res: &Response) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// Result alias for handlers.
pub type ApiResult<T> = Result<T, ApiError>;
