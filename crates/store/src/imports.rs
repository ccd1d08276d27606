//! Background CSV imports: the stored document, the claim of the instance
//! that processes it, and the checkpoint committed with each chunk of rows.
//!
//! The document is stored as it uploads (`import_chunks`, in pieces of about
//! a mebibyte), so that whichever instance claims the import can read it and
//! a restarted one can resume it. Rows are written in chunks, each in one
//! transaction that first checks the claim ([`Imports::fence`]) and ends by
//! writing the checkpoint ([`Imports::checkpoint`]): what the chunk wrote and
//! how far the import got commit together or not at all.

use chrono::{DateTime, Utc};
use neuracrm_domain::{OrgId, UserId};

use crate::db::{Db, Sql, Tx};
use crate::{Page, Paged, Result, StoreError};

/// An import's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImportId(pub i64);

impl From<i64> for ImportId {
    fn from(v: i64) -> Self {
        ImportId(v)
    }
}

/// What is imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportKind {
    /// Contacts, upserted on e-mail.
    Contacts,
    /// Leads, upserted on (contact e-mail, title).
    Leads,
}

impl ImportKind {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            ImportKind::Contacts => "contacts",
            ImportKind::Leads => "leads",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        match s {
            "contacts" => Ok(ImportKind::Contacts),
            "leads" => Ok(ImportKind::Leads),
            other => Err(corrupt(format!("unknown import kind {other:?}"))),
        }
    }
}

/// Where an import is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportState {
    /// Its request is still uploading it (never shown).
    Uploading,
    /// Stored, waiting for an instance to process it.
    Queued,
    /// An instance is writing its rows.
    Running,
    /// Every row was read; the counts are final.
    Completed,
    /// It stopped for good (`error` says why); what committed before stays.
    Failed,
}

impl ImportState {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            ImportState::Uploading => "uploading",
            ImportState::Queued => "queued",
            ImportState::Running => "running",
            ImportState::Completed => "completed",
            ImportState::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "uploading" => ImportState::Uploading,
            "queued" => ImportState::Queued,
            "running" => ImportState::Running,
            "completed" => ImportState::Completed,
            "failed" => ImportState::Failed,
            other => return Err(corrupt(format!("unknown import status {other:?}"))),
        })
    }
}

fn corrupt(message: String) -> StoreError {
    StoreError::Corrupt {
        entity: "import",
        message,
    }
}

/// How far an import got: the checkpoint. Rows `1..=rows_read` are done.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Data rows read and settled (written or rejected).
    pub rows_read: u64,
    /// Rows that created a record.
    pub created: u64,
    /// Rows that updated a record.
    pub updated: u64,
    /// Rows refused.
    pub rejected: u64,
}

/// A stored import.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportRecord {
    /// Its id.
    pub id: ImportId,
    /// Its organization.
    pub organization_id: OrgId,
    /// Who started it (the actor of its writes).
    pub user_id: UserId,
    /// Contacts or leads.
    pub kind: ImportKind,
    /// Where it is.
    pub status: ImportState,
    /// The document's size.
    pub bytes: u64,
    /// The checkpoint.
    pub progress: Progress,
    /// Why it failed (or why its last attempt did).
    pub error: Option<String>,
    /// How many times an instance claimed it.
    pub attempts: u32,
    /// When it was uploaded.
    pub created_at: DateTime<Utc>,
    /// When an instance first claimed it.
    pub started_at: Option<DateTime<Utc>>,
    /// When it completed or failed.
    pub finished_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, organization_id, user_id, kind, status, bytes, rows_read, created, \
     updated, rejected, error, attempts, created_at, started_at, finished_at";

#[derive(sqlx::FromRow)]
struct ImportRow {
    id: i64,
    organization_id: i64,
    user_id: i64,
    kind: String,
    status: String,
    bytes: i64,
    rows_read: i64,
    created: i64,
    updated: i64,
    rejected: i64,
    error: Option<String>,
    attempts: i64,
    created_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
}

impl TryFrom<ImportRow> for ImportRecord {
    type Error = StoreError;
    fn try_from(r: ImportRow) -> Result<Self> {
        let n = |v: i64| u64::try_from(v).map_err(|_| corrupt(format!("negative count {v}")));
        Ok(ImportRecord {
            id: ImportId(r.id),
            organization_id: OrgId(r.organization_id),
            user_id: UserId(r.user_id),
            kind: ImportKind::parse(&r.kind)?,
            status: ImportState::parse(&r.status)?,
            bytes: n(r.bytes)?,
            progress: Progress {
                rows_read: n(r.rows_read)?,
                created: n(r.created)?,
                updated: n(r.updated)?,
                rejected: n(r.rejected)?,
            },
            error: r.error,
            attempts: u32::try_from(r.attempts).unwrap_or(u32::MAX),
            created_at: r.created_at,
            started_at: r.started_at,
            finished_at: r.finished_at,
        })
    }
}

/// An import an instance has claimed: what it needs to process it.
#[derive(Debug, Clone, PartialEq)]
pub struct Claimed {
    /// The import, as it stood when claimed (its checkpoint included).
    pub import: ImportRecord,
    /// How many pieces its document is stored in.
    pub chunks: u64,
    /// The claim: the chunk transactions of this claim check that it is
    /// still the current one ([`Imports::fence`]).
    pub attempt: u32,
}

/// A refused row kept with its import.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Rejection {
    /// 1-based data row number.
    pub row_no: i64,
    /// Why.
    pub reason: String,
}

/// The imports repository.
#[derive(Debug, Clone, Copy)]
pub struct Imports<'a> {
    pub(crate) db: &'a Db,
}

impl Imports<'_> {
    /// Starts storing an upload of `org`'s `user`: a row in `uploading`
    /// state, invisible to reads until [`Imports::finish_upload`].
    pub async fn begin_upload(
        &self,
        org: OrgId,
        user: UserId,
        kind: ImportKind,
    ) -> Result<ImportId> {
        let now = Utc::now();
        let mut tx = self.db.begin().await?;
        let (id,): (i64,) = tx
            .fetch_one(
                Sql::new(
                    "INSERT INTO imports (organization_id, user_id, kind, status, created_at, heartbeat_at) \
                     VALUES ($1, $2, $3, 'uploading', $4, $5) RETURNING id",
                )
                .arg(org)
                .arg(user)
                .arg(kind.as_str())
                .arg(now)
                .arg(now),
            )
            .await?;
        tx.commit().await?;
        Ok(ImportId(id))
    }

    /// Stores piece `seq` of an upload (the pieces are read back in order).
    pub async fn append_chunk(&self, id: ImportId, seq: u64, data: Vec<u8>) -> Result<()> {
        let len = data.len() as i64;
        let mut tx = self.db.begin().await?;
        tx.execute(
            Sql::new("INSERT INTO import_chunks (import_id, seq, data) VALUES ($1, $2, $3)")
                .arg(id.0)
                .arg(seq as i64)
                .arg(data),
        )
        .await?;
        tx.execute(
            Sql::new(
                "UPDATE imports SET bytes = bytes + $1, chunks = chunks + 1, heartbeat_at = $2 \
                 WHERE id = $3 AND status = 'uploading'",
            )
            .arg(len)
            .arg(Utc::now())
            .arg(id.0),
        )
        .await?;
        tx.commit().await
    }

    /// Ends an upload: the import is queued for processing.
    pub async fn finish_upload(&self, id: ImportId) -> Result<()> {
        let mut tx = self.db.begin().await?;
        tx.execute(
            Sql::new(
                "UPDATE imports SET status = 'queued', heartbeat_at = NULL \
                 WHERE id = $1 AND status = 'uploading'",
            )
            .arg(id.0),
        )
        .await?;
        tx.commit().await
    }

    /// Forgets an upload that did not complete (and its stored pieces); an
    /// import already queued is left alone.
    pub async fn discard_upload(&self, id: ImportId) -> Result<()> {
        let mut tx = self.db.begin().await?;
        tx.execute(
            Sql::new(
                "DELETE FROM import_chunks WHERE import_id IN \
                 (SELECT id FROM imports WHERE id = $1 AND status = 'uploading')",
            )
            .arg(id.0),
        )
        .await?;
        tx.execute(
            Sql::new("DELETE FROM imports WHERE id = $1 AND status = 'uploading'").arg(id.0),
        )
        .await?;
        tx.commit().await
    }

    /// Deletes uploads that stopped arriving before `before` (their request
    /// died with its process); returns how many.
    pub async fn discard_stale_uploads(&self, before: DateTime<Utc>) -> Result<u64> {
        let mut tx = self.db.begin().await?;
        tx.execute(
            Sql::new(
                "DELETE FROM import_chunks WHERE import_id IN \
                 (SELECT id FROM imports WHERE status = 'uploading' AND heartbeat_at < $1)",
            )
            .arg(before),
        )
        .await?;
        let n = tx
            .execute(
                Sql::new("DELETE FROM imports WHERE status = 'uploading' AND heartbeat_at < $1")
                    .arg(before),
            )
            .await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Claims the oldest import that is queued, or running without a
    /// checkpoint since `stale_before` (its instance died or stalled), for
    /// `instance`. Each claim counts an attempt. `None`: nothing to do, or
    /// another instance claimed it first.
    pub async fn claim(
        &self,
        instance: &str,
        stale_before: DateTime<Utc>,
    ) -> Result<Option<Claimed>> {
        let now = Utc::now();
        let mut q = Sql::new(
            "UPDATE imports SET status = 'running', attempts = attempts + 1, instance = $1, \
             heartbeat_at = $2, started_at = COALESCE(started_at, $2) \
             WHERE id = (SELECT id FROM imports \
                 WHERE status = 'queued' OR (status = 'running' AND heartbeat_at < $3) \
                 ORDER BY id LIMIT 1) \
             AND (status = 'queued' OR (status = 'running' AND heartbeat_at < $3)) \
             RETURNING chunks, ",
        )
        .arg(instance)
        .arg(now)
        .arg(stale_before);
        q.push(COLUMNS);
        let mut tx = self.db.begin().await?;
        let row: Option<ClaimRow> = tx.fetch_optional(q).await?;
        tx.commit().await?;
        row.map(|r| {
            let import = ImportRecord::try_from(r.row)?;
            Ok(Claimed {
                chunks: u64::try_from(r.chunks).unwrap_or(0),
                attempt: import.attempts,
                import,
            })
        })
        .transpose()
    }

    /// Piece `seq` of the document of import `id`.
    pub async fn chunk(&self, id: ImportId, seq: u64) -> Result<Vec<u8>> {
        let row: Option<(Vec<u8>,)> = self
            .db
            .fetch_optional(
                Sql::new("SELECT data FROM import_chunks WHERE import_id = $1 AND seq = $2")
                    .arg(id.0)
                    .arg(seq as i64),
            )
            .await?;
        row.map(|(d,)| d)
            .ok_or_else(|| corrupt(format!("import {} has no piece {seq}", id.0)))
    }

    /// First statement of a chunk's transaction: checks that claim `attempt`
    /// of import `id` is still the current one and moves its heartbeat. On
    /// PostgreSQL this locks the import's row until the transaction ends, so
    /// no other instance can take the import over meanwhile. `false`: the
    /// import was taken over (or ended); write nothing.
    pub async fn fence(&self, tx: &mut Tx, id: ImportId, attempt: u32) -> Result<bool> {
        let n = tx
            .execute(
                Sql::new(
                    "UPDATE imports SET heartbeat_at = $1 \
                     WHERE id = $2 AND attempts = $3 AND status = 'running'",
                )
                .arg(Utc::now())
                .arg(id.0)
                .arg(i64::from(attempt)),
            )
            .await?;
        Ok(n == 1)
    }

    /// Last statements of a chunk's transaction: the checkpoint, the chunk's
    /// kept rejections, and, when `done`, the end of the import (its stored
    /// document deleted).
    pub async fn checkpoint(
        &self,
        tx: &mut Tx,
        id: ImportId,
        progress: Progress,
        rejections: &[Rejection],
        done: bool,
    ) -> Result<()> {
        let now = Utc::now();
        let mut q = Sql::new("UPDATE imports SET rows_read = ");
        q.bind(progress.rows_read as i64)
            .push(", created = ")
            .bind(progress.created as i64)
            .push(", updated = ")
            .bind(progress.updated as i64)
            .push(", rejected = ")
            .bind(progress.rejected as i64)
            .push(", heartbeat_at = ")
            .bind(now);
        if done {
            q.push(", status = 'completed', error = NULL, finished_at = ")
                .bind(now);
        }
        q.push(" WHERE id = ").bind(id.0);
        tx.execute(q).await?;
        for chunk in rejections.chunks(200) {
            let mut q =
                Sql::new("INSERT INTO import_rejections (import_id, row_no, reason) VALUES ");
            for (i, r) in chunk.iter().enumerate() {
                if i > 0 {
                    q.push(", ");
                }
                q.push("(")
                    .bind(id.0)
                    .push(", ")
                    .bind(r.row_no)
                    .push(", ")
                    .bind(r.reason.clone())
                    .push(")");
            }
            tx.execute(q).await?;
        }
        if done {
            tx.execute(Sql::new("DELETE FROM import_chunks WHERE import_id = $1").arg(id.0))
                .await?;
        }
        Ok(())
    }

    /// Ends claim `attempt` of import `id` for good: failed, with why; its
    /// stored document deleted. What earlier chunks committed stays.
    pub async fn fail(&self, id: ImportId, attempt: u32, error: &str) -> Result<()> {
        let mut tx = self.db.begin().await?;
        let n = tx
            .execute(
                Sql::new(
                    "UPDATE imports SET status = 'failed', error = $1, finished_at = $2 \
                     WHERE id = $3 AND attempts = $4 AND status = 'running'",
                )
                .arg(error)
                .arg(Utc::now())
                .arg(id.0)
                .arg(i64::from(attempt)),
            )
            .await?;
        if n == 1 {
            tx.execute(Sql::new("DELETE FROM import_chunks WHERE import_id = $1").arg(id.0))
                .await?;
        }
        tx.commit().await
    }

    /// Gives claim `attempt` of import `id` up after an error another
    /// attempt may not meet (the database went away): queued again, with
    /// why, from its last checkpoint.
    pub async fn release(&self, id: ImportId, attempt: u32, error: &str) -> Result<()> {
        self.db
            .execute(
                Sql::new(
                    "UPDATE imports SET status = 'queued', error = $1, heartbeat_at = NULL \
                     WHERE id = $2 AND attempts = $3 AND status = 'running'",
                )
                .arg(error)
                .arg(id.0)
                .arg(i64::from(attempt)),
            )
            .await?;
        Ok(())
    }

    /// One import of `org` (not one still uploading).
    pub async fn get(&self, org: OrgId, id: ImportId) -> Result<ImportRecord> {
        let mut q = Sql::new("SELECT ");
        q.push(COLUMNS)
            .push(" FROM imports WHERE organization_id = ")
            .bind(org)
            .push(" AND id = ")
            .bind(id.0)
            .push(" AND status <> 'uploading'");
        let row: Option<ImportRow> = self.db.fetch_optional(q).await?;
        row.ok_or(StoreError::NotFound { entity: "import" })?
            .try_into()
    }

    /// The first `limit` kept rejections of import `id`, by row.
    pub async fn rejections(&self, id: ImportId, limit: u32) -> Result<Vec<Rejection>> {
        Ok(self
            .db
            .fetch_all(
                Sql::new(
                    "SELECT row_no, reason FROM import_rejections WHERE import_id = $1 \
                     ORDER BY row_no LIMIT $2",
                )
                .arg(id.0)
                .arg(i64::from(limit)),
            )
            .await?)
    }

    /// A page of `org`'s imports, newest first.
    pub async fn list(&self, org: OrgId, page: Page) -> Result<Paged<ImportRecord>> {
        let mut q = Sql::new("SELECT ");
        q.push(COLUMNS)
            .push(" FROM imports WHERE organization_id = ")
            .bind(org)
            .push(" AND status <> 'uploading' ORDER BY id DESC LIMIT ")
            .bind(i64::from(page.limit) + 1)
            .push(" OFFSET ")
            .bind(page.offset as i64);
        let rows: Vec<ImportRow> = self.db.fetch_all(q).await?;
        Paged::from_overfetch(rows, page).try_map(ImportRecord::try_from)
    }
}

#[derive(sqlx::FromRow)]
struct ClaimRow {
    chunks: i64,
    #[sqlx(flatten)]
    row: ImportRow,
}
