//! `/api/import/contacts` and `/api/import/leads`: CSV import (the actions
//! are `neuracrm_actions::import`), upserting on natural keys so that
//! importing the same file twice creates no duplicates; `/api/imports`: the
//! background imports.
//!
//! The body is streamed: its size is capped by `max_import_bytes`, not by
//! the smaller `max_body_bytes` of the other routes, and the request timeout
//! does not cut its upload (`startup::timeout_unless_import`).
//!
//! - Up to `import_in_request_max_bytes` (256 KiB by default) the document
//!   is imported in the request, in one transaction, and answered `200` with
//!   its report. Should that take longer than the request timeout, the
//!   transaction is dropped (nothing written) and the document goes to the
//!   background as below.
//! - A larger document, or any with `?background=true`, is stored in the
//!   database as it arrives and answered `202 Accepted` with the import and
//!   its `Location` (`/api/imports/{id}`); a background worker writes it in
//!   chunks, each committed with its checkpoint, so that a crash resumes it
//!   where it stopped.
//!
//! The header names the columns (any order, any case, unknown ones ignored);
//! a missing required column is a 422 either way. Every row is parsed and
//! written on its own: a row that fails is reported with its number and
//! reason and skipped, and the events of what was written are published
//! after the commit that wrote it.
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

use std::time::Duration;

use axum::body::Body;
use axum::extract::{FromRequest, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use http_body_util::BodyExt;
use neuracrm_actions::import::{self, BodyFailure, ImportId, ImportKind, ImportState, Started};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use crate::AppState;
use crate::http::auth::AuthUser;
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::http::extract::{Id, Json, Query, require_content_type};
use crate::http::openapi::{NoToken, reads, routes_of};
use crate::http::wire::{PageQuery, page, page_type};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    routes_of!(import_contacts, import_leads, list_imports, get_import)
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

impl From<import::RejectedRow> for RejectedRow {
    fn from(r: import::RejectedRow) -> Self {
        RejectedRow {
            row: r.row,
            reason: r.reason,
        }
    }
}

impl From<import::ImportReport> for ImportReport {
    fn from(r: import::ImportReport) -> Self {
        ImportReport {
            created: r.created,
            updated: r.updated,
            rejected: r.rejected.into_iter().map(Into::into).collect(),
        }
    }
}

/// What a background import imports.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportKindOut {
    /// `POST /api/import/contacts`.
    Contacts,
    /// `POST /api/import/leads`.
    Leads,
}

/// Where a background import is.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportStatus {
    /// Stored, waiting for a worker.
    Queued,
    /// Its rows are being written (`rows_read` grows a chunk at a time).
    Running,
    /// Every row was read; the counts and `report` are final.
    Completed,
    /// Stopped for good (`error` says why); the chunks committed before stay.
    Failed,
}

/// A background import.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportOut {
    /// Import id (`GET /api/imports/{id}`).
    id: i64,
    /// Contacts or leads.
    kind: ImportKindOut,
    /// Queued, running, completed or failed.
    status: ImportStatus,
    /// Who uploaded it.
    user_id: i64,
    /// The document's size in bytes.
    bytes: u64,
    /// Data rows read so far (each written or rejected, and committed).
    rows_read: u64,
    /// Rows that created a record.
    created: u64,
    /// Rows that updated an existing record.
    updated: u64,
    /// Rows refused.
    rejected: u64,
    /// Why it failed, or why an attempt that was then retried failed.
    error: Option<String>,
    /// How many times a worker took it up (more than 1: it was resumed
    /// after a crash or an error, from its last committed chunk).
    attempts: u32,
    /// When it was uploaded.
    created_at: DateTime<Utc>,
    /// When a worker started it.
    started_at: Option<DateTime<Utc>>,
    /// When it completed or failed.
    finished_at: Option<DateTime<Utc>>,
}

impl From<import::Import> for ImportOut {
    fn from(i: import::Import) -> Self {
        ImportOut {
            id: i.id.0,
            kind: match i.kind {
                ImportKind::Contacts => ImportKindOut::Contacts,
                ImportKind::Leads => ImportKindOut::Leads,
            },
            status: match i.status {
                // Never read back (uploads are invisible); queued is what
                // it becomes.
                ImportState::Uploading | ImportState::Queued => ImportStatus::Queued,
                ImportState::Running => ImportStatus::Running,
                ImportState::Completed => ImportStatus::Completed,
                ImportState::Failed => ImportStatus::Failed,
            },
            user_id: i.user_id.0,
            bytes: i.bytes,
            rows_read: i.progress.rows_read,
            created: i.progress.created,
            updated: i.progress.updated,
            rejected: i.progress.rejected,
            error: i.error,
            attempts: i.attempts,
            created_at: i.created_at,
            started_at: i.started_at,
            finished_at: i.finished_at,
        }
    }
}

/// A background import with its rejected rows and, once completed, its
/// report.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportDetail {
    #[serde(flatten)]
    import: ImportOut,
    /// The first 1,000 rejected rows, by row number, with why.
    rejections: Vec<RejectedRow>,
    /// Once completed: the report, in the shape of the synchronous answer
    /// (its `rejected` lists the first 1,000 rejected rows).
    report: Option<ImportReport>,
}

impl From<import::Import> for ImportDetail {
    fn from(mut i: import::Import) -> Self {
        let rejections: Vec<RejectedRow> = std::mem::take(&mut i.rejections)
            .into_iter()
            .map(Into::into)
            .collect();
        let report = (i.status == ImportState::Completed).then(|| ImportReport {
            created: i.progress.created,
            updated: i.progress.updated,
            rejected: rejections
                .iter()
                .map(|r| RejectedRow {
                    row: r.row,
                    reason: r.reason.clone(),
                })
                .collect(),
        });
        ImportDetail {
            import: i.into(),
            rejections,
            report,
        }
    }
}

page_type!(
    /// A page of background imports, newest first.
    ImportPage, ImportOut, import::Import
);

/// Query of an import upload.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// Import in the background (`202`) whatever the document's size
    /// (default: only when it is larger than `import_in_request_max_bytes`,
    /// 256 KiB by default).
    background: Option<bool>,
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

/// Where an upload ended: imported in its request, or queued.
pub(crate) enum Imported {
    /// Written in the request: the report.
    Report(import::ImportReport),
    /// Stored and queued for the background (too large for the request, or
    /// out of its time).
    Queued(import::Import),
}

/// Imports the document whose chunks arrive on `chunks` for `caller`: in the
/// request when it is small enough (and not `background`), else queued. The
/// JSON API and the web UI's upload form alike.
pub(crate) async fn upload(
    state: &AppState,
    caller: &neuracrm_actions::Caller,
    kind: ImportKind,
    chunks: mpsc::Receiver<Result<Bytes, BodyFailure>>,
    background: bool,
) -> Result<Imported, neuracrm_actions::ActionError> {
    let opts = state.settings.import_options();
    match import::start(&state.crm, caller, kind, chunks, background, &opts).await? {
        Started::InRequest(document) => {
            // The upload is exempt from the request timeout; the writing is
            // bounded by it. Out of time, its transaction is dropped (rolled
            // back: nothing written) and the document goes to the
            // background instead.
            let timeout = Duration::from_secs(state.settings.request_timeout_secs);
            let writing = import::import_document(&state.crm, caller, document.clone());
            match tokio::time::timeout(timeout, writing).await {
                Ok(report) => Ok(Imported::Report(report?)),
                Err(_) => {
                    tracing::info!(
                        bytes = document.len(),
                        "an import ran out of time in its request; continuing in the background"
                    );
                    let queued = import::queue_document(&state.crm, caller, document).await?;
                    Ok(Imported::Queued(queued))
                }
            }
        }
        Started::Queued(queued) => Ok(Imported::Queued(queued)),
    }
}

async fn run(
    state: &AppState,
    user: &AuthUser,
    kind: ImportKind,
    query: UploadQuery,
    body: Body,
) -> ApiResult<Response> {
    let background = query.background.unwrap_or(false);
    Ok(
        match upload(state, &user.caller(), kind, chunks(body), background).await? {
            Imported::Report(report) => Json(ImportReport::from(report)).into_response(),
            Imported::Queued(queued) => accepted(queued),
        },
    )
}

/// `202 Accepted` with the import and its `Location`.
fn accepted(queued: import::Import) -> Response {
    let location = format!("/api/imports/{}", queued.id.0);
    (
        StatusCode::ACCEPTED,
        [(header::LOCATION, location)],
        Json(ImportDetail::from(queued)),
    )
        .into_response()
}

/// Declares `POST /api/import/...`: a CSV upload of `$kind` records, whose
/// columns `$columns` describes, imported in the request or in the
/// background by [`run`].
macro_rules! csv_import {
    ($(#[$doc:meta])* $name:ident, $path:literal, $kind:expr, $columns:literal) => {
        $(#[$doc])*
        #[utoipa::path(post, path = $path, tag = "import",
            params(UploadQuery),
            request_body(content = String, content_type = "text/csv", description = $columns),
            security(("bearer" = [])),
            responses(
                (status = 200, description = "Imported in the request", body = ImportReport),
                (status = 202, description = "Stored; importing in the background", body = ImportDetail,
                    headers(("location" = String, description = "`/api/imports/{id}`"))),
                (status = 400, description = "Unreadable CSV", body = ErrorBody),
                NoToken,
                (status = 413, description = "Body too large", body = ErrorBody),
                (status = 415, description = "Not text/csv", body = ErrorBody),
                (status = 422, description = "Missing required column", body = ErrorBody),
            ))]
        pub async fn $name(
            State(state): State<AppState>,
            user: AuthUser,
            Query(query): Query<UploadQuery>,
            CsvBody(body): CsvBody,
        ) -> ApiResult<Response> {
            run(&state, &user, $kind, query, body).await
        }
    };
}

csv_import!(
    /// Imports contacts from CSV, creating new ones and updating those whose
    /// e-mail already exists in the organization. Up to
    /// `import_in_request_max_bytes` (256 KiB by default) in the request (`200`
    /// with the report); larger documents, or any with `background=true`, in
    /// the background (`202` with the import, whose `Location` reports its
    /// progress).
    import_contacts,
    "/api/import/contacts",
    ImportKind::Contacts,
    "Header row (`first_name`, `email` required; `last_name`, `phone`, `company`, `job_title`, `industry`, `company_size`), then one contact per row"
);

csv_import!(
    /// Imports leads from CSV: a lead is identified by its contact's e-mail and
    /// its title, so a second import of the same file updates instead of
    /// duplicating. Contacts that do not exist yet are created from the row.
    /// In the request or in the background as for contacts.
    import_leads,
    "/api/import/leads",
    ImportKind::Leads,
    "Header row (`email`, `title` required; `description`, `status`, `source`, `budget` in currency units, `expected_decision` YYYY-MM-DD; `first_name` etc. for a new contact), then one lead per row"
);

reads!(
    /// Lists the organization's background imports, newest first.
    list_imports: "/api/imports" in "import" => paged ImportPage, import::list
);

reads!(
    /// One background import of the organization: its status, progress, first
    /// rejected rows and, once completed, its report.
    get_import: "/api/imports/{id}" in "import", "Import id" ImportId
        => ImportDetail, "No such import", import::status
);
