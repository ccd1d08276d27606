//! `/api/import/contacts`: CSV import that upserts on e-mail, so importing the
//! same file twice creates no duplicates.
//!
//! The header names the columns (any order, unknown ones ignored):
//! `first_name` and `email` are required; `last_name`, `phone`, `company`,
//! `job_title`, `industry` and `company_size` are optional. Good rows are
//! written in one transaction; bad rows are reported, not written.

use axum::extract::{FromRequest, Request, State};
use neuracrm_domain::{Email, EventKind, NewContact};
use neuracrm_store::contacts::Upserted;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::AuthUser;
use crate::dto::{ImportReport, RejectedRow};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Json, read_body, require_content_type};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(import_contacts))
}

/// A `text/csv` body.
pub struct CsvBody(bytes::Bytes);

impl<S: Send + Sync> FromRequest<S> for CsvBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        require_content_type(req.headers(), "text/csv", "text/csv")?;
        Ok(CsvBody(read_body(req, state).await?))
    }
}

const COLUMNS: [&str; 8] = [
    "first_name",
    "last_name",
    "email",
    "phone",
    "company",
    "job_title",
    "industry",
    "company_size",
];

/// Imports contacts from CSV, creating new ones and updating those whose
/// e-mail already exists in the organization.
#[utoipa::path(post, path = "/api/import/contacts", tag = "import",
    request_body(content = String, content_type = "text/csv",
        description = "Header row, then one contact per row"),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ImportReport),
        (status = 400, description = "Unreadable CSV", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not text/csv", body = ErrorBody),
        (status = 422, description = "Missing required column", body = ErrorBody),
    ))]
pub async fn import_contacts(
    State(state): State<AppState>,
    user: AuthUser,
    CsvBody(body): CsvBody,
) -> ApiResult<Json<ImportReport>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(body.as_ref());
    let headers = reader
        .headers()
        .map_err(|e| ApiError::MalformedBody(format!("unreadable CSV header: {e}")))?
        .clone();
    let index: Vec<Option<usize>> = COLUMNS
        .iter()
        .map(|c| headers.iter().position(|h| h.eq_ignore_ascii_case(c)))
        .collect();
    for required in ["first_name", "email"] {
        if headers.iter().all(|h| !h.eq_ignore_ascii_case(required)) {
            return Err(ApiError::validation(
                required,
                format!("the CSV header has no `{required}` column"),
            ));
        }
    }
    let mut report = ImportReport::default();
    let mut events = Vec::new();
    let mut tx = state.store.db().begin().await?;
    for (i, record) in reader.records().enumerate() {
        let row = i as u64 + 1;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                report.rejected.push(RejectedRow {
                    row,
                    reason: format!("unreadable row: {e}"),
                });
                continue;
            }
        };
        if record.iter().any(|f| f.contains('\0')) {
            report.rejected.push(RejectedRow {
                row,
                reason: "text must not contain NUL characters".into(),
            });
            continue;
        }
        let get = |col: usize| {
            index[col]
                .and_then(|i| record.get(i))
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let new = match parse_row(get) {
            Ok(n) => n,
            Err(reason) => {
                report.rejected.push(RejectedRow { row, reason });
                continue;
            }
        };
        match state
            .store
            .contacts()
            .upsert_by_email(&mut tx, user.org, Some(user.user_id), &new)
            .await
        {
            Ok((c, Upserted::Created)) => {
                report.created += 1;
                events.push(EventKind::ContactCreated { id: c.id });
            }
            Ok((c, Upserted::Updated)) => {
                report.updated += 1;
                events.push(EventKind::ContactUpdated { id: c.id });
            }
            Err(neuracrm_store::StoreError::Invalid(e)) => {
                report.rejected.push(RejectedRow {
                    row,
                    reason: e.to_string(),
                });
            }
            Err(e) => return Err(e.into()),
        }
    }
    tx.commit().await?;
    for e in events {
        state.publish(user.org, e);
    }
    Ok(Json(report))
}

fn parse_row(get: impl Fn(usize) -> Option<String>) -> Result<NewContact, String> {
    let email = get(2).ok_or("email is required to import a contact")?;
    let email = Email::parse(&email).map_err(|e| e.to_string())?;
    let company_size = get(7)
        .map(|s| {
            s.parse::<i64>()
                .map_err(|_| "company_size must be a whole number".to_string())
        })
        .transpose()?;
    let new = NewContact {
        first_name: get(0).ok_or("first_name must not be empty")?,
        last_name: get(1),
        email: Some(email),
        phone: get(3),
        company: get(4),
        job_title: get(5),
        industry: get(6),
        company_size,
        owner_id: None,
    };
    new.validate().map_err(|e| e.to_string())?;
    Ok(new)
}
