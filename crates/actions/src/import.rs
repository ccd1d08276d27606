//! CSV import of contacts and leads, upserting on natural keys so that importing the same
//! file twice creates no duplicates.
//!
//! The header names the columns (any order, any case, unknown ones ignored).
//! Every row is parsed and written on its own: a row that fails is reported
//! with its number and reason and skipped, and the events of what was
//! written are published after the commit that wrote it.
//!
//! An import starts with [`start`], which receives the document:
//!
//! - **In the request**: a document of up to
//!   [`ImportOptions::in_request_max_bytes`] (256 KiB by default, about
//!   5,000 contact rows, written in a few seconds on either backend) comes
//!   back as a [`Document`] held in memory, which [`import_document`] writes
//!   in **one transaction** (the good rows are committed together; a failure
//!   writes nothing) and answers with its [`ImportReport`]. A front end
//!   whose time for it runs out drops it (the transaction rolls back) and
//!   [`queue_document`]s it instead.
//! - **In the background**: a larger document (or any, when asked) is
//!   stored in the database as it arrives, in pieces of about a mebibyte,
//!   never held whole in memory, and queued ([`Started::Queued`]). A worker
//!   of any instance ([`run_worker`], [`process_next`]) claims it through the
//!   database and writes its rows in **chunks** of
//!   [`ImportOptions::chunk_rows`], each in one transaction with its
//!   checkpoint (rows read, counts, rejections kept). A crash loses at most
//!   the chunk in flight, which rolls back; whichever instance claims the
//!   import next resumes after the last committed chunk, so no row is
//!   skipped or written twice. [`status`] and [`list`] report progress and
//!   the final counts.
//!
//! Parsing runs on a blocking thread that hands rows to the writer through
//! a bounded channel, so memory stays flat whatever the document's size.
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

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use neuracrm_domain::{
    Cents, DomainError, Email, EventKind, LeadSource, LeadStatus, NewContact, OrgId, UserId,
    parse_date,
};
use neuracrm_store::contacts::Upserted;
use neuracrm_store::db::Tx;
use neuracrm_store::imports::{Claimed, ImportRecord, Rejection};
pub use neuracrm_store::imports::{ImportId, ImportKind, ImportState, Progress};
use neuracrm_store::leads::LeadUpsert;
use neuracrm_store::{Page, Paged, Store, StoreError};
use tokio::sync::mpsc;

use crate::{ActionError, ActionResult, Caller, Crm, error_chain};

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

/// How imports are run; the front end builds it from its settings.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Documents up to this size are imported in the request, in one
    /// transaction; larger ones in the background.
    pub in_request_max_bytes: usize,
    /// Rows per transaction of a background import (each commits with its
    /// checkpoint).
    pub chunk_rows: usize,
    /// A running background import whose instance has not committed a
    /// chunk for this long is taken over by another worker.
    pub lease: Duration,
    /// Claims of one import before it is marked failed.
    pub max_attempts: u32,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            in_request_max_bytes: 256 * 1024,
            chunk_rows: 1000,
            lease: Duration::from_secs(60),
            max_attempts: 5,
        }
    }
}

/// How many rejected rows a background import keeps (its count covers all).
pub const REJECTIONS_KEPT: usize = 1000;

/// The size of the pieces a background import's document is stored in.
const PIECE_BYTES: usize = 1024 * 1024;

/// Uploads that stopped arriving this long ago are deleted (their request
/// died with its process).
const ABANDONED_UPLOAD: Duration = Duration::from_secs(3600);

/// Wakes this process's import worker when an import is queued (the other
/// instances' workers find it when they next look).
#[derive(Debug, Default)]
pub struct ImportQueue {
    wake: tokio::sync::Notify,
}

impl ImportQueue {
    /// Tells the worker there is work (kept if it is busy).
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// A document small enough for its request, in memory (cheap to clone).
#[derive(Debug, Clone)]
pub struct Document {
    kind: ImportKind,
    pieces: Vec<Bytes>,
}

impl Document {
    /// What it imports.
    pub fn kind(&self) -> ImportKind {
        self.kind
    }

    /// Its size in bytes.
    pub fn len(&self) -> usize {
        self.pieces.iter().map(Bytes::len).sum()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What [`start`] did with a document.
#[derive(Debug)]
pub enum Started {
    /// Small enough to import in the request: [`import_document`] it.
    InRequest(Document),
    /// Stored and queued for a background worker.
    Queued(Import),
}

/// A background import: where it is, how far it got, what it refused.
#[derive(Debug, Clone, PartialEq)]
pub struct Import {
    /// Its id.
    pub id: ImportId,
    /// Contacts or leads.
    pub kind: ImportKind,
    /// Queued, running, completed or failed.
    pub status: ImportState,
    /// Who started it.
    pub user_id: UserId,
    /// The document's size in bytes.
    pub bytes: u64,
    /// Rows read, created, updated and rejected so far (final once
    /// completed).
    pub progress: Progress,
    /// The first [`REJECTIONS_KEPT`] rejected rows, by row (empty in lists).
    pub rejections: Vec<RejectedRow>,
    /// Why it failed, or why its last attempt did.
    pub error: Option<String>,
    /// How many times an instance took it up (more than one: it was resumed).
    pub attempts: u32,
    /// When it was uploaded.
    pub created_at: DateTime<Utc>,
    /// When its processing started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it completed or failed.
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<ImportRecord> for Import {
    fn from(r: ImportRecord) -> Self {
        Import {
            id: r.id,
            kind: r.kind,
            status: r.status,
            user_id: r.user_id,
            bytes: r.bytes,
            progress: r.progress,
            rejections: Vec::new(),
            error: r.error,
            attempts: r.attempts,
            created_at: r.created_at,
            started_at: r.started_at,
            finished_at: r.finished_at,
        }
    }
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

/// Imports a document [`start`] kept in memory, as [`import`] does: one
/// transaction.
pub async fn import_document(
    crm: &Crm,
    caller: &Caller,
    document: Document,
) -> ActionResult<ImportReport> {
    let (tx, rx) = mpsc::channel(document.pieces.len().max(1));
    for piece in document.pieces {
        // The channel holds every piece: this never fails.
        let _ = tx.try_send(Ok(piece));
    }
    drop(tx);
    import(crm, caller, document.kind, rx).await
}

/// Receives the CSV document whose chunks arrive on `chunks` for the
/// caller. Up to [`ImportOptions::in_request_max_bytes`] (and unless
/// `background`), it is kept in memory and returned to be imported in the
/// request ([`import_document`]). Beyond, its header is checked (a missing
/// required column is refused at once), it is stored in the database as it
/// arrives and queued for a background worker; a document cut off or over
/// the front end's limit is forgotten (nothing is queued or written).
pub async fn start(
    crm: &Crm,
    caller: &Caller,
    kind: ImportKind,
    mut chunks: mpsc::Receiver<Result<Bytes, BodyFailure>>,
    background: bool,
    opts: &ImportOptions,
) -> ActionResult<Started> {
    let mut pieces = Vec::new();
    let mut size = 0usize;
    let mut ended = false;
    while size <= opts.in_request_max_bytes {
        match chunks.recv().await {
            None => {
                ended = true;
                break;
            }
            Some(Err(failure)) => return Err(failure.into()),
            Some(Ok(piece)) => {
                size += piece.len();
                pieces.push(piece);
            }
        }
    }
    if ended && !background {
        return Ok(Started::InRequest(Document { kind, pieces }));
    }
    check_header(kind, &pieces, ended)?;
    let rest = (!ended).then_some(chunks);
    let import = store_document(crm, caller, kind, pieces, rest).await?;
    Ok(Started::Queued(import))
}

/// Queues a document [`start`] kept in memory for a background worker
/// after all: for a front end whose in-request import ran out of time (its
/// transaction rolled back, nothing written).
pub async fn queue_document(
    crm: &Crm,
    caller: &Caller,
    document: Document,
) -> ActionResult<Import> {
    store_document(crm, caller, document.kind, document.pieces, None).await
}

/// Stores `pieces`, then what still arrives on `rest`, as the document of a
/// new import, and queues it; a document cut off is forgotten.
async fn store_document(
    crm: &Crm,
    caller: &Caller,
    kind: ImportKind,
    pieces: Vec<Bytes>,
    mut rest: Option<mpsc::Receiver<Result<Bytes, BodyFailure>>>,
) -> ActionResult<Import> {
    let imports = crm.store.imports();
    let id = imports.begin_upload(caller.org, caller.user, kind).await?;
    // Forgets the upload if this future is dropped (the client went away).
    let mut guard = DiscardUpload {
        store: Some(crm.store.clone()),
        id,
    };
    let stored = async {
        let mut buf = Vec::with_capacity(PIECE_BYTES);
        let mut seq = 0u64;
        let mut flush = |buf: &mut Vec<u8>, min: usize| {
            let data = (buf.len() >= min.max(1)).then(|| std::mem::take(buf));
            let at = seq;
            if data.is_some() {
                seq += 1;
            }
            data.map(|d| (at, d))
        };
        for piece in pieces {
            buf.extend_from_slice(&piece);
            if let Some((at, data)) = flush(&mut buf, PIECE_BYTES) {
                imports.append_chunk(id, at, data).await?;
                buf.reserve(PIECE_BYTES);
            }
        }
        if let Some(chunks) = rest.as_mut() {
            while let Some(piece) = chunks.recv().await {
                buf.extend_from_slice(&piece?);
                if let Some((at, data)) = flush(&mut buf, PIECE_BYTES) {
                    imports.append_chunk(id, at, data).await?;
                    buf.reserve(PIECE_BYTES);
                }
            }
        }
        if let Some((at, data)) = flush(&mut buf, 1) {
            imports.append_chunk(id, at, data).await?;
        }
        imports.finish_upload(id).await?;
        ActionResult::Ok(())
    }
    .await;
    guard.store = None;
    if let Err(e) = stored {
        if let Err(d) = imports.discard_upload(id).await {
            tracing::warn!(import = id.0, error = %error_chain(&d), "could not delete a failed upload");
        }
        return Err(e);
    }
    crm.imports.wake();
    status(crm, caller, id).await
}

/// Deletes an upload whose request was dropped half-way.
struct DiscardUpload {
    store: Option<Store>,
    id: ImportId,
}

impl Drop for DiscardUpload {
    fn drop(&mut self) {
        let (Some(store), Ok(rt)) = (self.store.take(), tokio::runtime::Handle::try_current())
        else {
            return;
        };
        let id = self.id;
        rt.spawn(async move {
            let _ = store.imports().discard_upload(id).await;
        });
    }
}

/// Refuses, before anything is stored, a document whose header (read from
/// its first bytes) lacks a required column or cannot be read. A header
/// longer than those bytes is left to the worker.
fn check_header(kind: ImportKind, prefix: &[Bytes], whole: bool) -> ActionResult<()> {
    let bytes: Vec<u8> = prefix.iter().flat_map(|b| b.iter().copied()).collect();
    if !whole && !bytes.contains(&b'\n') {
        return Ok(());
    }
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(bytes.as_slice());
    let headers = reader
        .headers()
        .map_err(|e| ActionError::Unreadable(format!("unreadable CSV header: {e}")))?;
    match kind {
        ImportKind::Contacts => column_index::<Contacts>(headers).map(drop),
        ImportKind::Leads => column_index::<Leads>(headers).map(drop),
    }
}

/// One background import of the caller's organization, with its first
/// rejected rows.
pub async fn status(crm: &Crm, caller: &Caller, id: ImportId) -> ActionResult<Import> {
    let record = crm.store.imports().get(caller.org, id).await?;
    let rejections = crm
        .store
        .imports()
        .rejections(id, REJECTIONS_KEPT as u32)
        .await?;
    let mut import = Import::from(record);
    import.rejections = rejections
        .into_iter()
        .map(|r| RejectedRow {
            row: u64::try_from(r.row_no).unwrap_or_default(),
            reason: r.reason,
        })
        .collect();
    Ok(import)
}

/// A page of the caller's organization's background imports, newest first
/// (without their rejected rows).
pub async fn list(crm: &Crm, caller: &Caller, page: Page) -> ActionResult<Paged<Import>> {
    let page = crm.store.imports().list(caller.org, page).await?;
    page.try_map(|r| ActionResult::Ok(Import::from(r)))
}

/// Why a document stopped before its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFailure {
    /// It outgrew the front end's limit.
    TooLarge,
    /// The connection failed.
    Unreadable,
}

impl From<BodyFailure> for ActionError {
    fn from(f: BodyFailure) -> Self {
        match f {
            BodyFailure::TooLarge => ActionError::TooLarge,
            BodyFailure::Unreadable => {
                ActionError::Unreadable("the request body could not be read".into())
            }
        }
    }
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
                Some(failure) => failure.into(),
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

/// The column of each of `I`'s columns in `headers`; refuses a header
/// without one of `I`'s required columns.
fn column_index<I: Importer>(headers: &csv::StringRecord) -> ActionResult<Vec<Option<usize>>> {
    for required in I::REQUIRED {
        if headers.iter().all(|h| !h.eq_ignore_ascii_case(required)) {
            return Err(ActionError::invalid(
                *required,
                format!("the CSV header has no `{required}` column"),
            ));
        }
    }
    Ok(I::COLUMNS
        .iter()
        .map(|c| headers.iter().position(|h| h.eq_ignore_ascii_case(c)))
        .collect())
}

/// Reads the header from `rows`: the column index of `I`'s columns.
async fn read_header<I: Importer>(
    rows: &mut mpsc::Receiver<Parsed>,
) -> ActionResult<Vec<Option<usize>>> {
    match rows.recv().await {
        Some(Parsed::Header(h)) => column_index::<I>(&h),
        Some(Parsed::Fatal(e)) => Err(e),
        _ => Err(ActionError::Unreadable("the CSV document is empty".into())),
    }
}

/// Writes data row `row` inside `tx` (under a savepoint, so that a row the
/// database refuses leaves the others of the transaction alone), counting
/// it in `report` and collecting its events. `Err`: a database failure, the
/// transaction is lost.
#[allow(clippy::too_many_arguments)]
async fn write_row<I: Importer>(
    store: &Store,
    tx: &mut Tx,
    caller: &Caller,
    index: &[Option<usize>],
    row: u64,
    record: Result<csv::StringRecord, String>,
    report: &mut ImportReport,
    events: &mut Vec<EventKind>,
) -> ActionResult<()> {
    let record = match record {
        Ok(r) => r,
        Err(reason) => {
            report.rejected.push(RejectedRow { row, reason });
            return Ok(());
        }
    };
    if record.iter().any(|f| f.contains('\0')) {
        report.rejected.push(RejectedRow {
            row,
            reason: "text must not contain NUL characters".into(),
        });
        return Ok(());
    }
    let cells = Row {
        record: &record,
        index,
        columns: I::COLUMNS,
    };
    // A savepoint per row: a row refused by the database (a constraint)
    // must not abort the rows already written in this transaction.
    tx.savepoint().await?;
    match I::write(store, tx, caller.org, caller.user, &cells).await {
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
    Ok(())
}

/// Runs the background imports of this process: claims queued imports (and
/// running ones whose instance went quiet for [`ImportOptions::lease`])
/// through the database, one at a time, and processes each to its end;
/// then waits to be woken ([`ImportQueue::wake`]) or for the next look, a
/// few seconds later (imports queued through other instances, imports to
/// take over). Also deletes abandoned uploads now and then. Never returns.
pub async fn run_worker(crm: Crm, instance: String, opts: ImportOptions) {
    let look_every = opts
        .lease
        .clamp(Duration::from_millis(100), Duration::from_secs(5));
    let mut last_sweep: Option<Instant> = None;
    loop {
        if last_sweep.is_none_or(|t| t.elapsed() > ABANDONED_UPLOAD / 4) {
            last_sweep = Some(Instant::now());
            let before =
                Utc::now() - chrono::Duration::from_std(ABANDONED_UPLOAD).unwrap_or_default();
            match crm.store.imports().discard_stale_uploads(before).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(uploads = n, "deleted abandoned import uploads"),
                Err(e) => {
                    tracing::warn!(error = %error_chain(&e), "could not delete abandoned uploads")
                }
            }
        }
        loop {
            match process_next(&crm, &instance, &opts).await {
                Ok(Some(_)) => continue,
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "background import stopped; it is retried from its last checkpoint");
                    break;
                }
            }
        }
        tokio::select! {
            _ = crm.imports.wake.notified() => {}
            _ = tokio::time::sleep(look_every) => {}
        }
    }
}

/// Claims one background import for `instance` (the oldest queued one, or
/// one running without a checkpoint for [`ImportOptions::lease`]) and
/// processes it from its checkpoint to its end ([`process`]). `None`:
/// nothing to do. An import claimed more than
/// [`ImportOptions::max_attempts`] times is marked failed instead.
pub async fn process_next(
    crm: &Crm,
    instance: &str,
    opts: &ImportOptions,
) -> ActionResult<Option<ImportId>> {
    let stale = Utc::now() - chrono::Duration::from_std(opts.lease).unwrap_or_default();
    let Some(claimed) = crm.store.imports().claim(instance, stale).await? else {
        return Ok(None);
    };
    let id = claimed.import.id;
    if claimed.attempt > opts.max_attempts {
        let why = format!(
            "gave up after {} attempts; the last one failed with: {}",
            claimed.attempt - 1,
            claimed
                .import
                .error
                .as_deref()
                .unwrap_or("its instance stopped")
        );
        crm.store.imports().fail(id, claimed.attempt, &why).await?;
        return Ok(Some(id));
    }
    process(crm, &claimed, opts).await?;
    Ok(Some(id))
}

/// How processing a claimed import ended.
enum Ended {
    /// Every row was read.
    Completed,
    /// Another instance took it over.
    TakenOver,
}

/// How processing a claimed import went wrong.
enum Stop {
    /// The document cannot be imported (a required column is missing, the
    /// header is unreadable): the import fails for good.
    Refused(ActionError),
    /// Anything else (the database): the import is queued again from its
    /// checkpoint.
    Error(ActionError),
}

impl From<StoreError> for Stop {
    fn from(e: StoreError) -> Self {
        Stop::Error(e.into())
    }
}

impl From<ActionError> for Stop {
    fn from(e: ActionError) -> Self {
        Stop::Error(e)
    }
}

/// Processes a claimed import from its checkpoint to its end: its rows in
/// chunks of [`ImportOptions::chunk_rows`], each chunk in one transaction
/// that checks the claim first and commits the checkpoint with the rows;
/// the chunk's events published after its commit. An import another
/// instance took over meanwhile is left to it. A document that cannot be
/// imported fails the import; any other error queues it again from its
/// checkpoint (and is returned).
pub async fn process(crm: &Crm, claimed: &Claimed, opts: &ImportOptions) -> ActionResult<()> {
    let import = &claimed.import;
    let began = Instant::now();
    let ended = match import.kind {
        ImportKind::Contacts => process_rows::<Contacts>(crm, claimed, opts).await,
        ImportKind::Leads => process_rows::<Leads>(crm, claimed, opts).await,
    };
    let imports = crm.store.imports();
    match ended {
        Ok(Ended::Completed) => {
            tracing::info!(
                import = import.id.0,
                org = import.organization_id.0,
                attempt = claimed.attempt,
                secs = began.elapsed().as_secs_f64(),
                "background import completed"
            );
            Ok(())
        }
        Ok(Ended::TakenOver) => {
            tracing::info!(
                import = import.id.0,
                "background import taken over by another instance"
            );
            Ok(())
        }
        Err(Stop::Refused(e)) => {
            imports
                .fail(import.id, claimed.attempt, &e.to_string())
                .await?;
            Ok(())
        }
        Err(Stop::Error(e)) => {
            let why = match &e {
                ActionError::Internal(cause) => cause.clone(),
                other => other.to_string(),
            };
            imports.release(import.id, claimed.attempt, &why).await?;
            Err(e)
        }
    }
}

/// The stored pieces of import `id`'s document, in order, as a body's
/// chunks; a piece that cannot be read ends them with `Unreadable`, and
/// why is left in `failure`.
fn stored_pieces(
    store: Store,
    id: ImportId,
    count: u64,
    failure: Arc<Mutex<Option<String>>>,
) -> mpsc::Receiver<Result<Bytes, BodyFailure>> {
    let (tx, rx) = mpsc::channel(2);
    tokio::spawn(async move {
        for seq in 0..count {
            let piece = match store.imports().chunk(id, seq).await {
                Ok(data) => Ok(Bytes::from(data)),
                Err(e) => {
                    if let Ok(mut slot) = failure.lock() {
                        *slot = Some(error_chain(&e));
                    }
                    Err(BodyFailure::Unreadable)
                }
            };
            let stop = piece.is_err();
            if tx.send(piece).await.is_err() || stop {
                return;
            }
        }
    });
    rx
}

async fn process_rows<I: Importer>(
    crm: &Crm,
    claimed: &Claimed,
    opts: &ImportOptions,
) -> Result<Ended, Stop> {
    let import = &claimed.import;
    let caller = Caller {
        user: import.user_id,
        org: import.organization_id,
        // Imports are open to every role; the actor is what matters.
        role: neuracrm_domain::Role::Rep,
        // A background worker, not a request: no session of its own.
        session: None,
    };
    let failure = Arc::new(Mutex::new(None));
    let mut rows = parse_stream(stored_pieces(
        crm.store.clone(),
        import.id,
        claimed.chunks,
        failure.clone(),
    ));
    // A piece the database could not give back is worth another attempt;
    // anything else wrong with the document is final.
    let store_failure = |e: ActionError| match failure.lock().ok().and_then(|mut f| f.take()) {
        Some(cause) => Stop::Error(ActionError::Internal(cause)),
        None => Stop::Refused(e),
    };
    let index = read_header::<I>(&mut rows).await.map_err(store_failure)?;
    let chunk_rows = opts.chunk_rows.max(1);
    let mut progress = import.progress;
    let mut kept = progress.rejected.min(REJECTIONS_KEPT as u64) as usize;
    loop {
        // The chunk's rows are read before its transaction begins, so that
        // the transaction (the write lock, on SQLite) is held for writing only.
        let mut batch = Vec::with_capacity(chunk_rows);
        let mut ended = false;
        while batch.len() < chunk_rows {
            match rows.recv().await {
                // Rows up to the checkpoint were committed by an earlier attempt.
                Some(Parsed::Row(row, record)) if row > progress.rows_read => {
                    batch.push((row, record));
                }
                Some(Parsed::Row(..) | Parsed::Header(_)) => {}
                Some(Parsed::Fatal(e)) => return Err(store_failure(e)),
                None => {
                    ended = true;
                    break;
                }
            }
        }
        let imports = crm.store.imports();
        let mut tx = crm.store.db().begin().await?;
        if !imports.fence(&mut tx, import.id, claimed.attempt).await? {
            return Ok(Ended::TakenOver);
        }
        let mut report = ImportReport::default();
        let mut events = Vec::new();
        if let Some((last, _)) = batch.last() {
            progress.rows_read = *last;
        }
        for (row, record) in batch {
            write_row::<I>(
                &crm.store,
                &mut tx,
                &caller,
                &index,
                row,
                record,
                &mut report,
                &mut events,
            )
            .await?;
        }
        progress.created += report.created;
        progress.updated += report.updated;
        progress.rejected += report.rejected.len() as u64;
        let keep: Vec<Rejection> = report
            .rejected
            .into_iter()
            .take(REJECTIONS_KEPT - kept)
            .map(|r| Rejection {
                row_no: r.row as i64,
                reason: r.reason,
            })
            .collect();
        kept += keep.len();
        imports
            .checkpoint(&mut tx, import.id, progress, &keep, ended)
            .await?;
        tx.commit().await?;
        for e in events {
            crm.publish(import.organization_id, e);
        }
        if ended {
            return Ok(Ended::Completed);
        }
    }
}

/// Runs an import of the document of `chunks` with importer `I`, in one
/// transaction.
async fn import_rows<I: Importer>(
    crm: &Crm,
    caller: &Caller,
    chunks: mpsc::Receiver<Result<Bytes, BodyFailure>>,
) -> ActionResult<ImportReport> {
    let mut rows = parse_stream(chunks);
    let index = read_header::<I>(&mut rows).await?;
    let mut report = ImportReport::default();
    let mut events = Vec::new();
    let mut tx = crm.store.db().begin().await?;
    while let Some(parsed) = rows.recv().await {
        let (row, record) = match parsed {
            Parsed::Row(row, record) => (row, record),
            Parsed::Fatal(e) => return Err(e),
            Parsed::Header(_) => continue,
        };
        write_row::<I>(
            &crm.store,
            &mut tx,
            caller,
            &index,
            row,
            record,
            &mut report,
            &mut events,
        )
        .await?;
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
