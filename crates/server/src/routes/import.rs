//! CSV import of contacts (`/api/import/contacts`) and leads
//! (`/api/import/leads`), upserting on natural keys so that importing the same
//! file twice creates no duplicates.
//!
//! The body is streamed: a blocking thread parses the CSV as it arrives and
//! hands rows to the writer through a bounded channel, so a large file costs
//! little memory; its size is capped by `max_import_bytes`, not by the
//! smaller `max_body_bytes` of the other routes.
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
use neuracrm_domain::{
    Cents, DomainError, Email, EventKind, LeadSource, LeadStatus, NewContact, OrgId, UserId,
    parse_date,
};
use neuracrm_store::contacts::Upserted;
use neuracrm_store::db::Tx;
use neuracrm_store::leads::LeadUpsert;
use neuracrm_store::{Store, StoreError};
use tokio::sync::mpsc;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::AuthUser;
use crate::dto::{ImportReport, RejectedRow};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Json, require_content_type};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(import_contacts))
        .routes(routes!(import_leads))
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

/// Why the body stopped before its end.
enum BodyFailure {
    /// It outgrew `max_import_bytes`.
    TooLarge,
    /// The connection failed.
    Unreadable,
}

/// A blocking `Read` over body chunks arriving on a channel: the CSV parser
/// runs on a blocking thread and reads the upload as it arrives.
struct ChunkReader {
    rx: mpsc::Receiver<Result<Bytes, BodyFailure>>,
    current: Bytes,
    failure: Option<BodyFailure>,
}

impl std::io::Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                None => return Ok(0),
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(f)) => {
                    self.failure = Some(f);
                    return Err(std::io::Error::other("the request body was cut off"));
                }
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current = self.current.slice(n..);
        Ok(n)
    }
}

/// What the parser thread hands the writer.
enum Parsed {
    /// The header row.
    Header(csv::StringRecord),
    /// A data row (1-based), or why it could not be read.
    Row(u64, Result<csv::StringRecord, String>),
    /// The document cannot be imported at all.
    Fatal(ApiError),
}

fn is_length_limit(e: axum::Error) -> bool {
    let inner = e.into_inner();
    let inner = match inner.downcast::<axum::Error>() {
        Ok(e) => e.into_inner(),
        Err(e) => e,
    };
    inner.is::<http_body_util::LengthLimitError>()
}

/// Streams `body` through a CSV parser on a blocking thread; parsed rows
/// arrive on the returned channel, in order, a bounded number ahead of the
/// writer (so memory stays flat whatever the file's size).
fn parse_stream(body: Body) -> mpsc::Receiver<Parsed> {
    let (chunk_tx, chunk_rx) = mpsc::channel::<Result<Bytes, BodyFailure>>(16);
    let (row_tx, row_rx) = mpsc::channel::<Parsed>(256);
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
            if chunk_tx.send(msg).await.is_err() || stop {
                return;
            }
        }
    });
    tokio::task::spawn_blocking(move || {
        let mut source = ChunkReader {
            rx: chunk_rx,
            current: Bytes::new(),
            failure: None,
        };
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .flexible(true)
            .from_reader(&mut source);
        let send = |p: Parsed| row_tx.blocking_send(p).is_ok();
        let header = reader.headers().cloned();
        let fatal = |reader: csv::Reader<&mut ChunkReader>, e: Option<csv::Error>| {
            let source = reader.into_inner();
            match source.failure.take() {
                Some(BodyFailure::TooLarge) => ApiError::PayloadTooLarge,
                Some(BodyFailure::Unreadable) => {
                    ApiError::MalformedBody("the request body could not be read".into())
                }
                None => ApiError::MalformedBody(format!(
                    "unreadable CSV header: {}",
                    e.map(|e| e.to_string()).unwrap_or_default()
                )),
            }
        };
        match header {
            Ok(h) => {
                if !send(Parsed::Header(h)) {
                    return;
                }
            }
            Err(e) => {
                send(Parsed::Fatal(fatal(reader, Some(e))));
                return;
            }
        }
        let mut record = csv::StringRecord::new();
        let mut row = 0u64;
        loop {
            row += 1;
            match reader.read_record(&mut record) {
                Ok(true) => {
                    if !send(Parsed::Row(row, Ok(record.clone()))) {
                        return;
                    }
                }
                Ok(false) => return,
                Err(e) => {
                    if reader.get_ref().failure.is_some() {
                        send(Parsed::Fatal(fatal(reader, None)));
                        return;
                    }
                    // A malformed row (bad UTF-8, ...) is that row's problem.
                    if !send(Parsed::Row(row, Err(format!("unreadable row: {e}")))) {
                        return;
                    }
                }
            }
        }
    });
    row_rx
}

/// One CSV row, read by column name.
struct Row<'a> {
    record: &'a csv::StringRecord,
    index: &'a [Option<usize>],
    columns: &'static [&'static str],
}

impl Row<'_> {
    /// The trimmed, non-empty cell of `column` (which must be one of the
    /// importer's declared columns).
    fn get(&self, column: &str) -> Option<String> {
        let col = self.columns.iter().position(|c| *c == column)?;
        self.index[col]
            .and_then(|i| self.record.get(i))
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    }
}

/// What a kind of import needs to say: its columns, the required ones, and
/// how one row is written.
trait Importer {
    /// Every column it reads.
    const COLUMNS: &'static [&'static str];
    /// Columns the header must have.
    const REQUIRED: &'static [&'static str];

    /// Parses and writes one row inside `tx`; the events it caused, or why
    /// the row was refused.
    async fn write(
        store: &Store,
        tx: &mut Tx,
        org: OrgId,
        actor: UserId,
        row: &Row<'_>,
    ) -> Result<(Upserted, Vec<EventKind>), RowError>;
}

/// Why a row failed: refused (reported, the import goes on) or a database
/// failure (the whole import fails and nothing is written).
enum RowError {
    Refused(String),
    Fatal(StoreError),
}

impl From<StoreError> for RowError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Invalid(e) => RowError::Refused(e.to_string()),
            StoreError::Conflict { .. } | StoreError::BadReference { .. } => {
                RowError::Refused(e.to_string())
            }
            e => RowError::Fatal(e),
        }
    }
}

impl From<DomainError> for RowError {
    fn from(e: DomainError) -> Self {
        RowError::Refused(e.to_string())
    }
}

fn refused(reason: impl Into<String>) -> RowError {
    RowError::Refused(reason.into())
}

/// Runs an import of `body` for the caller: one transaction, rows refused
/// one by one, events published after the commit. The body is parsed while
/// it arrives; a body cut off or over `max_import_bytes` writes nothing.
async fn import<I: Importer>(
    state: &AppState,
    user: &AuthUser,
    body: Body,
) -> ApiResult<ImportReport> {
    let mut rows = parse_stream(body);
    let headers = match rows.recv().await {
        Some(Parsed::Header(h)) => h,
        Some(Parsed::Fatal(e)) => return Err(e),
        _ => return Err(ApiError::MalformedBody("the CSV document is empty".into())),
    };
    for required in I::REQUIRED {
        if headers.iter().all(|h| !h.eq_ignore_ascii_case(required)) {
            return Err(ApiError::validation(
                *required,
                format!("the CSV header has no `{required}` column"),
            ));
        }
    }
    let index: Vec<Option<usize>> = I::COLUMNS
        .iter()
        .map(|c| headers.iter().position(|h| h.eq_ignore_ascii_case(c)))
        .collect();
    let mut report = ImportReport::default();
    let mut events = Vec::new();
    let mut tx = state.store.db().begin().await?;
    while let Some(parsed) = rows.recv().await {
        let (row, record) = match parsed {
            Parsed::Row(row, record) => (row, record),
            Parsed::Fatal(e) => return Err(e),
            Parsed::Header(_) => continue,
        };
        let record = match record {
            Ok(r) => r,
            Err(reason) => {
                report.rejected.push(RejectedRow { row, reason });
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
        let cells = Row {
            record: &record,
            index: &index,
            columns: I::COLUMNS,
        };
        // A savepoint per row: a row refused by the database (a constraint)
        // must not abort the rows already written in this transaction.
        tx.savepoint().await?;
        match I::write(&state.store, &mut tx, user.org, user.user_id, &cells).await {
            Ok((outcome, evs)) => {
                tx.release_savepoint().await?;
                match outcome {
                    Upserted::Created => report.created += 1,
                    Upserted::Updated => report.updated += 1,
                }
                events.extend(evs);
            }
            Err(RowError::Refused(reason)) => {
                tx.rollback_to_savepoint().await?;
                report.rejected.push(RejectedRow { row, reason });
            }
            Err(RowError::Fatal(e)) => return Err(e.into()),
        }
    }
    tx.commit().await?;
    for e in events {
        state.publish(user.org, e);
    }
    Ok(report)
}

fn whole_number(raw: Option<String>, field: &'static str) -> Result<Option<i64>, RowError> {
    raw.map(|s| {
        s.parse::<i64>()
            .map_err(|_| refused(format!("{field} must be a whole number")))
    })
    .transpose()
}

/// The contact columns of a row (contacts import, and a lead import's new
/// contact).
fn contact_from_row(row: &Row<'_>, email: Email) -> Result<NewContact, RowError> {
    let new = NewContact {
        first_name: row
            .get("first_name")
            .ok_or_else(|| refused("first_name must not be empty"))?,
        last_name: row.get("last_name"),
        email: Some(email),
        phone: row.get("phone"),
        company: row.get("company"),
        job_title: row.get("job_title"),
        industry: row.get("industry"),
        company_size: whole_number(row.get("company_size"), "company_size")?,
        owner_id: None,
    };
    new.validate()?;
    Ok(new)
}

fn email_of(row: &Row<'_>) -> Result<Email, RowError> {
    let raw = row
        .get("email")
        .ok_or_else(|| refused("email is required"))?;
    Ok(Email::parse(&raw)?)
}

struct Contacts;

impl Importer for Contacts {
    const COLUMNS: &'static [&'static str] = &[
        "first_name",
        "last_name",
        "email",
        "phone",
        "company",
        "job_title",
        "industry",
        "company_size",
    ];
    const REQUIRED: &'static [&'static str] = &["first_name", "email"];

    async fn write(
        store: &Store,
        tx: &mut Tx,
        org: OrgId,
        actor: UserId,
        row: &Row<'_>,
    ) -> Result<(Upserted, Vec<EventKind>), RowError> {
        let new = contact_from_row(row, email_of(row)?)?;
        let (c, outcome) = store
            .contacts()
            .upsert_by_email(tx, org, Some(actor), &new)
            .await?;
        let event = match outcome {
            Upserted::Created => EventKind::ContactCreated { id: c.id },
            Upserted::Updated => EventKind::ContactUpdated { id: c.id },
        };
        Ok((outcome, vec![event]))
    }
}

struct Leads;

impl Importer for Leads {
    const COLUMNS: &'static [&'static str] = &[
        "email",
        "title",
        "description",
        "status",
        "source",
        "budget",
        "expected_decision",
        "first_name",
        "last_name",
        "phone",
        "company",
        "job_title",
        "industry",
        "company_size",
    ];
    const REQUIRED: &'static [&'static str] = &["email", "title"];

    async fn write(
        store: &Store,
        tx: &mut Tx,
        org: OrgId,
        actor: UserId,
        row: &Row<'_>,
    ) -> Result<(Upserted, Vec<EventKind>), RowError> {
        let email = email_of(row)?;
        let title = row
            .get("title")
            .ok_or_else(|| refused("title must not be empty"))?;
        let upsert = |contact_id| -> Result<LeadUpsert, RowError> {
            Ok(LeadUpsert {
                contact_id,
                title: title.clone(),
                description: row.get("description"),
                status: row
                    .get("status")
                    .map(|s| LeadStatus::parse_field(&s, "status"))
                    .transpose()?,
                source: row
                    .get("source")
                    .map(|s| LeadSource::parse_field(&s, "source"))
                    .transpose()?,
                budget_cents: row
                    .get("budget")
                    .map(|s| Cents::parse_amount(&s, "budget"))
                    .transpose()?,
                expected_decision: row
                    .get("expected_decision")
                    .map(|s| parse_date(&s, "expected_decision"))
                    .transpose()?,
            })
        };
        let mut events = Vec::new();
        let contact_id = match store.contacts().id_by_email(tx, org, &email).await? {
            Some(id) => id,
            None => {
                let new = contact_from_row(row, email.clone()).map_err(|e| match e {
                    RowError::Refused(r) => refused(format!(
                        "{r} (no contact has this e-mail yet, so one is created)"
                    )),
                    fatal => fatal,
                })?;
                // Validate the lead's own cells before creating its contact.
                upsert(neuracrm_domain::ContactId(0))?;
                let (c, _) = store
                    .contacts()
                    .upsert_by_email(tx, org, Some(actor), &new)
                    .await?;
                events.push(EventKind::ContactCreated { id: c.id });
                c.id
            }
        };
        let (lead, outcome) = store
            .leads()
            .upsert_by_contact_title(tx, org, Some(actor), &upsert(contact_id)?)
            .await?;
        events.push(match outcome {
            Upserted::Created => EventKind::LeadCreated { id: lead.id },
            Upserted::Updated => EventKind::LeadUpdated { id: lead.id },
        });
        Ok((outcome, events))
    }
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
    Ok(Json(import::<Contacts>(&state, &user, body).await?))
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
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not text/csv", body = ErrorBody),
        (status = 422, description = "Missing required column", body = ErrorBody),
    ))]
pub async fn import_leads(
    State(state): State<AppState>,
    user: AuthUser,
    CsvBody(body): CsvBody,
) -> ApiResult<Json<ImportReport>> {
    Ok(Json(import::<Leads>(&state, &user, body).await?))
}
