//! CSV import of contacts and leads, upserting on natural keys so that importing the same
//! file twice creates no duplicates.
//!
//! The document is streamed: the front end hands its chunks over a channel
//! as they arrive ([`import`]), a blocking thread parses the CSV and hands
//! rows to the writer through a bounded channel, so a large file costs
//! little memory; the front end caps its size.
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

use bytes::Bytes;
use neuracrm_domain::{
    Cents, DomainError, Email, EventKind, LeadSource, LeadStatus, NewContact, OrgId, UserId,
    parse_date,
};
use neuracrm_store::contacts::Upserted;
use neuracrm_store::db::Tx;
use neuracrm_store::leads::LeadUpsert;
use neuracrm_store::{Store, StoreError};
use tokio::sync::mpsc;

use crate::{ActionError, ActionResult, Caller, Crm};

/// What an import did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ImportReport {
    /// Rows that created a record.
    pub created: u64,
    /// Rows that updated an existing record (same natural key).
    pub updated: u64,
    /// Rows that were refused, with why.
    pub rejected: Vec<RejectedRow>,
}

/// A refused row.
#[derive(Debug, Clone, PartialEq)]
pub struct RejectedRow {
    /// 1-based data row number (the header is row 0).
    pub row: u64,
    /// Why it was refused.
    pub reason: String,
}

/// What is imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportKind {
    /// Contacts, upserted on e-mail.
    Contacts,
    /// Leads, upserted on (contact e-mail, title).
    Leads,
}

/// Imports the CSV document whose chunks arrive on `chunks` for the caller:
/// one transaction, rows refused one by one, events published after the
/// commit. A document cut off (`BodyFailure` on the channel) writes nothing.
pub async fn import(
    crm: &Crm,
    caller: &Caller,
    kind: ImportKind,
    chunks: mpsc::Receiver<Result<Bytes, BodyFailure>>,
) -> ActionResult<ImportReport> {
    match kind {
        ImportKind::Contacts => import_rows::<Contacts>(crm, caller, chunks).await,
        ImportKind::Leads => import_rows::<Leads>(crm, caller, chunks).await,
    }
}

/// Why a document stopped before its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFailure {
    /// It outgrew the front end's limit.
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
    Fatal(ActionError),
}

/// Parses the chunks of `chunk_rx` on a blocking thread; parsed rows
/// arrive on the returned channel, in order, a bounded number ahead of the
/// writer (so memory stays flat whatever the file's size).
fn parse_stream(chunk_rx: mpsc::Receiver<Result<Bytes, BodyFailure>>) -> mpsc::Receiver<Parsed> {
    let (row_tx, row_rx) = mpsc::channel::<Parsed>(256);
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
                Some(BodyFailure::TooLarge) => ActionError::TooLarge,
                Some(BodyFailure::Unreadable) => {
                    ActionError::Unreadable("the request body could not be read".into())
                }
                None => ActionError::Unreadable(format!(
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

/// Runs an import of the document of `chunks` with importer `I`.
async fn import_rows<I: Importer>(
    crm: &Crm,
    caller: &Caller,
    chunks: mpsc::Receiver<Result<Bytes, BodyFailure>>,
) -> ActionResult<ImportReport> {
    let mut rows = parse_stream(chunks);
    let headers = match rows.recv().await {
        Some(Parsed::Header(h)) => h,
        Some(Parsed::Fatal(e)) => return Err(e),
        _ => return Err(ActionError::Unreadable("the CSV document is empty".into())),
    };
    for required in I::REQUIRED {
        if headers.iter().all(|h| !h.eq_ignore_ascii_case(required)) {
            return Err(ActionError::invalid(
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
    let mut tx = crm.store.db().begin().await?;
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
        match I::write(&crm.store, &mut tx, caller.org, caller.user, &cells).await {
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
        crm.publish(caller.org, e);
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
