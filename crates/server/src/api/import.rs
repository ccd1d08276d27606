//! `/api/import/contacts` and `/api/import/leads`: CSV import (the action is
//! `neuracrm_actions::import`), upserting on natural keys so that importing
//! the same file twice creates no duplicates.
//!
//! The body is streamed: its chunks are handed to the action as they arrive,
//! whose parser thread hands rows to the writer through a bounded channel,
//! so a large file costs little memory; its size is capped by
//! `max_import_bytes`, not by the smaller `max_body_bytes` of the other
//! routes.
//!
//! The header names the columns (any order, any case, unknown ones ignored).
//! Every row is parsed and written on its own inside one transaction: a row
//! that fails is reported with its number and reason and skipped, the good
//! rows are committed together, and the events of what was written are
//! published after the commit.
//!
//! - **Contacts** upsert on e-mail: `first_name` and `email` are required;
//!   `last_name`, `phone`, `company`, `job_title`, `industry` and
//!   `company_size` are optional. An existing contact takes the row's values.
//! - **Leads** upsert on (contact e-mail, title): `email` and `title` are
//!   required; `description`, `status`, `source`, `budget` (currency units,
//!   `1,500.50`) and `expected_decision` (`YYYY-MM-DD`) are optional, and an
//!   existing lead keeps what a row leaves empty. A contact that does not
//!   exist yet is created from the row's contact columns (then `first_name` is
//!   required); an existing contact is left as it is.

use axum::body::Body;
use axum::extract::{FromRequest, Request, State};
use bytes::Bytes;
use http_body_util::BodyExt;
use neuracrm_actions::import::{self, BodyFailure, ImportKind};
use serde::Serialize;
use tokio::sync::mpsc;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::http::auth::AuthUser;
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::http::extract::{Json, require_content_type};
use crate::http::openapi::NoToken;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(import_contacts))
        .routes(routes!(import_leads))
}

/// What an import did.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct ImportReport {
    /// Rows that created a record.
    pub created: u64,
    /// Rows that updated an existing record (same e-mail).
    pub updated: u64,
    /// Rows that were refused, with why.
    pub rejected: Vec<RejectedRow>,
}

/// A refused import row.
#[derive(Debug, Serialize, ToSchema)]
pub struct RejectedRow {
    /// 1-based data row number (the header is row 0).
    pub row: u64,
    /// Why it was refused.
    pub reason: String,
}

impl From<import::ImportReport> for ImportReport {
    fn from(r: import::ImportReport) -> Self {
        ImportReport {
            created: r.created,
            updated: r.updated,
            rejected: r
                .rejected
                .into_iter()
                .map(|r| RejectedRow {
                    row: r.row,
                    reason: r.reason,
                })
                .collect(),
        }
    }
}

/// A `text/csv` body, not yet read: the import streams it.
pub struct CsvBody(Body);

impl<S: Send + Sync> FromRequest<S> for CsvBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, _: &S) -> Result<Self, ApiError> {
        require_content_type(req.headers(), "text/csv", "text/csv")?;
        Ok(CsvBody(req.into_body()))
    }
}

fn is_length_limit(e: axum::Error) -> bool {
    let inner = e.into_inner();
    let inner = match inner.downcast::<axum::Error>() {
        Ok(e) => e.into_inner(),
        Err(e) => e,
    };
    inner.is::<http_body_util::LengthLimitError>()
}

/// Hands the body's chunks to the import as they arrive; a body over
/// `max_import_bytes` or cut off ends the stream with why.
fn chunks(body: Body) -> mpsc::Receiver<Result<Bytes, BodyFailure>> {
    let (tx, rx) = mpsc::channel::<Result<Bytes, BodyFailure>>(16);
    tokio::spawn(async move {
        let mut body = body;
        while let Some(frame) = body.frame().await {
            let msg = match frame {
                Ok(f) => match f.into_data() {
                    Ok(d) => Ok(d),
                    Err(_) => continue, // trailers
                },
                Err(e) => Err(if is_length_limit(e) {
                    BodyFailure::TooLarge
                } else {
                    BodyFailure::Unreadable
                }),
            };
            let stop = msg.is_err();
            if tx.send(msg).await.is_err() || stop {
                return;
            }
        }
    });
    rx
}

async fn run(
    state: &AppState,
    user: &AuthUser,
    kind: ImportKind,
    body: Body,
) -> ApiResult<Json<ImportReport>> {
    let report = import::import(&state.crm, &user.caller(), kind, chunks(body)).await?;
    Ok(Json(report.into()))
}

/// Imports contacts from CSV, creating new ones and updating those whose
/// e-mail already exists in the organization.
#[utoipa::path(post, path = "/api/import/contacts", tag = "import",
    request_body(content = String, content_type = "text/csv",
        description = "Header row (`first_name`, `email` required; `last_name`, `phone`, `company`, `job_title`, `industry`, `company_size`), then one contact per row"),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ImportReport),
        (status = 400, description = "Unreadable CSV", body = ErrorBody),
        NoToken,
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not text/csv", body = ErrorBody),
        (status = 422, description = "Missing required column", body = ErrorBody),
    ))]
pub async fn import_contacts(
    State(state): State<AppState>,
    user: AuthUser,
    CsvBody(body): CsvBody,
) -> ApiResult<Json<ImportReport>> {
    run(&state, &user, ImportKind::Contacts, body).await
}

/// Imports leads from CSV: a lead is identified by its contact's e-mail and
/// its title, so a second import of the same file updates instead of
/// duplicating. Contacts that do not exist yet are created from the row.
#[utoipa::path(post, path = "/api/import/leads", tag = "import",
    request_body(content = String, content_type = "text/csv",
        description = "Header row (`email`, `title` required; `description`, `status`, `source`, `budget` in currency units, `expected_decision` YYYY-MM-DD; `first_name` etc. for a new contact), then one lead per row"),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ImportReport),
        (status = 400, description = "Unreadable CSV", body = ErrorBody),
        NoToken,
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not text/csv", body = ErrorBody),
        (status = 422, description = "Missing required column", body = ErrorBody),
    ))]
pub async fn import_leads(
    State(state): State<AppState>,
    user: AuthUser,
    CsvBody(body): CsvBody,
) -> ApiResult<Json<ImportReport>> {
    run(&state, &user, ImportKind::Leads, body).await
}
