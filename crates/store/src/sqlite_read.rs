//! The hot SQLite reads without sqlx-sqlite's per-row hand-offs.
//!
//! sqlx-sqlite runs each connection on a worker thread of its own and sends
//! every row to the async caller through a channel: a 50-lead page is dozens
//! of thread wake-ups, a chunk of 5,000 leads for the batch scorer thousands.
//! `perf` put about a quarter of the API's single-lead read, and of the
//! scorer's reads, in the kernel's scheduler and in the allocator (each row's
//! values are copied before they are sent).
//!
//! This reader runs the whole query on a blocking thread with `rusqlite`
//! (the same SQLite library: both crates link one `libsqlite3-sys`), decodes
//! the rows there, and hands the finished `Vec` back once. Connections are
//! read-only, kept between queries with their prepared statements, and at
//! most `max` run at once. Rows are decoded by [`FromSqlite`], declared next to
//! the row types with `sqlite_row!`, with the same text formats sqlx uses
//! (timestamps RFC 3339, dates `YYYY-MM-DD`, JSON as text), so both paths read
//! the same rows the same way.
//!
//! Only file databases get a reader; an in-memory database (tests) is private
//! to its sqlx connection, so its reads stay on sqlx.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags};
use tokio::sync::Semaphore;

use crate::db::{Param, Sql};

/// A row type the reader can decode.
pub trait FromSqlite: Sized + Send + 'static {
    /// The columns read, by name, in the order [`FromSqlite::from_sqlite`]
    /// takes their indexes.
    const COLUMNS: &'static [&'static str];
    /// Decodes one row; `at` holds the index of each of [`Self::COLUMNS`] in
    /// the statement (looked up once per query: by name per row, the lookups
    /// cost more than the decoding).
    fn from_sqlite(row: &rusqlite::Row<'_>, at: &[usize]) -> rusqlite::Result<Self>;
}

/// One column's value, decoded as sqlx decodes it from SQLite.
pub trait Column: Sized {
    /// Reads column `index` (named `name`, for errors) of `row`.
    fn column(row: &rusqlite::Row<'_>, index: usize, name: &str) -> rusqlite::Result<Self>;
}

/// Implements [`FromSqlite`] for a struct whose fields are read by the
/// column of the same name (those after `default` are not read).
macro_rules! sqlite_row {
    ($ty:ident { $($field:ident),* $(,)? }) => {
        $crate::sqlite_read::sqlite_row!($ty { $($field),* } default {});
    };
    // `default { ... }`: fields no column fills, left at their `Default`
    // (filled by the caller afterwards).
    ($ty:ident { $($field:ident),* $(,)? } default { $($default:ident),* $(,)? }) => {
        impl $crate::sqlite_read::FromSqlite for $ty {
            const COLUMNS: &'static [&'static str] = &[$(stringify!($field)),*];
            fn from_sqlite(row: &rusqlite::Row<'_>, at: &[usize]) -> rusqlite::Result<Self> {
                let mut at = at.iter().copied();
                // A missing index (never: `query` makes one per column) reads
                // as an invalid column, an error.
                Ok(Self {
                    $($field: $crate::sqlite_read::Column::column(
                        row,
                        at.next().unwrap_or(usize::MAX),
                        stringify!($field),
                    )?,)*
                    $($default: Default::default(),)*
                })
            }
        }
    };
}
pub(crate) use sqlite_row;

fn conversion(index: usize, e: impl std::error::Error + Send + Sync + 'static) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, Box::new(e))
}

/// A text value, or the error for a value of another type.
fn text<'r>(
    row: &'r rusqlite::Row<'_>,
    index: usize,
    name: &str,
) -> rusqlite::Result<Option<&'r str>> {
    match row.get_ref(index)? {
        ValueRef::Null => Ok(None),
        ValueRef::Text(t) => std::str::from_utf8(t)
            .map(Some)
            .map_err(|e| conversion(index, e)),
        other => Err(rusqlite::Error::InvalidColumnType(
            index,
            name.to_owned(),
            other.data_type(),
        )),
    }
}

macro_rules! plain_column {
    ($($t:ty),*) => {$(
        impl Column for $t {
            fn column(row: &rusqlite::Row<'_>, index: usize, _: &str) -> rusqlite::Result<Self> {
                row.get(index)
            }
        }
        impl Column for Option<$t> {
            fn column(row: &rusqlite::Row<'_>, index: usize, _: &str) -> rusqlite::Result<Self> {
                row.get(index)
            }
        }
    )*};
}
plain_column!(i64, f64, String);

/// sqlx writes `DateTime<Utc>` as RFC 3339; values written by SQLite itself
/// (`CURRENT_TIMESTAMP`) read as `YYYY-MM-DD HH:MM:SS[.fff]` in UTC.
fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(s, "%F %T%.f")
                .ok()
                .map(|t| t.and_utc())
        })
}

#[derive(Debug, thiserror::Error)]
#[error("invalid {kind}: {value:?}")]
struct BadText {
    kind: &'static str,
    value: String,
}

impl Column for Option<DateTime<Utc>> {
    fn column(row: &rusqlite::Row<'_>, index: usize, name: &str) -> rusqlite::Result<Self> {
        text(row, index, name)?
            .map(|s| {
                parse_time(s).ok_or_else(|| {
                    conversion(
                        index,
                        BadText {
                            kind: "timestamp",
                            value: s.to_owned(),
                        },
                    )
                })
            })
            .transpose()
    }
}

impl Column for Option<NaiveDate> {
    fn column(row: &rusqlite::Row<'_>, index: usize, name: &str) -> rusqlite::Result<Self> {
        text(row, index, name)?
            .map(|s| NaiveDate::parse_from_str(s, "%F").map_err(|e| conversion(index, e)))
            .transpose()
    }
}

impl Column for Option<sqlx::types::Json<serde_json::Value>> {
    fn column(row: &rusqlite::Row<'_>, index: usize, name: &str) -> rusqlite::Result<Self> {
        text(row, index, name)?
            .map(|s| {
                serde_json::from_str(s)
                    .map(sqlx::types::Json)
                    .map_err(|e| conversion(index, e))
            })
            .transpose()
    }
}

/// A required column: `NULL` is an error, as in sqlx.
fn required<T>(index: usize, name: &str, v: Option<T>) -> rusqlite::Result<T> {
    v.ok_or_else(|| {
        rusqlite::Error::InvalidColumnType(index, name.to_owned(), rusqlite::types::Type::Null)
    })
}

impl Column for DateTime<Utc> {
    fn column(row: &rusqlite::Row<'_>, index: usize, name: &str) -> rusqlite::Result<Self> {
        required(index, name, Option::<Self>::column(row, index, name)?)
    }
}

impl Column for NaiveDate {
    fn column(row: &rusqlite::Row<'_>, index: usize, name: &str) -> rusqlite::Result<Self> {
        required(index, name, Option::<Self>::column(row, index, name)?)
    }
}

/// A parameter as sqlx binds it on SQLite.
impl rusqlite::ToSql for Param {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(value(self))
    }
}

fn value(p: &Param) -> ToSqlOutput<'_> {
    use rusqlite::types::Value;
    let v = match p {
        Param::Int(v) => v.map(Value::Integer),
        Param::Real(v) => v.map(Value::Real),
        Param::Text(v) => {
            return v.as_deref().map_or(ToSqlOutput::Owned(Value::Null), |s| {
                ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes()))
            });
        }
        Param::Bool(v) => v.map(|b| Value::Integer(b.into())),
        Param::Date(v) => v.map(|d| Value::Text(d.format("%F").to_string())),
        Param::Time(v) => {
            v.map(|t| Value::Text(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false)))
        }
        Param::Json(v) => v.as_ref().map(|j| Value::Text(j.to_string())),
        Param::Bytes(v) => {
            return v.as_deref().map_or(ToSqlOutput::Owned(Value::Null), |b| {
                ToSqlOutput::Borrowed(ValueRef::Blob(b))
            });
        }
    };
    ToSqlOutput::Owned(v.unwrap_or(Value::Null))
}

/// A connection to the file at `path`, set up as `Db::connect` sets up the
/// sqlx connections (busy timeout, page cache, temporary storage).
pub(crate) fn open(path: &Path, flags: OpenFlags) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "cache_size", -65536)?;
    conn.pragma_update(None, "temp_store", "memory")?;
    Ok(conn)
}

/// How long a read on the blocking pool waits for a busy database (as the
/// sqlx connections).
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How much of the file each reader maps (before SQLite's own cap).
const MMAP_BYTES: i64 = 1 << 36;

/// Read-only connections to one SQLite file, used on blocking threads.
#[derive(Debug)]
pub struct Reader {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    running: Semaphore,
}

/// Why a read failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// SQLite refused or a value did not decode.
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    /// The blocking task died (a panic while decoding).
    #[error("the read was cancelled: {0}")]
    Join(#[from] tokio::task::JoinError),
    /// The database was closed (`Db::close`).
    #[error("the database is closed")]
    Closed,
}

impl From<ReadError> for sqlx::Error {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::Sqlite(e @ rusqlite::Error::FromSqlConversionFailure(..))
            | ReadError::Sqlite(e @ rusqlite::Error::InvalidColumnType(..)) => {
                sqlx::Error::Decode(Box::new(e))
            }
            ReadError::Closed => sqlx::Error::PoolClosed,
            other => sqlx::Error::Io(std::io::Error::other(other)),
        }
    }
}

impl Reader {
    /// A reader of the database file at `path`, running at most `max`
    /// queries at once.
    pub(crate) fn new(path: &Path, max: usize) -> Self {
        Self {
            path: path.to_owned(),
            idle: Mutex::new(Vec::new()),
            running: Semaphore::new(max.max(1)),
        }
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        let conn = open(&self.path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        // Pages read straight from the mapped file instead of copied in by a
        // `pread` each: `score --all` on 1M leads 17.6-21.0 s -> 15.2 s. SQLite
        // caps the size at its compile-time limit, 2 GB unless built with
        // `SQLITE_MAX_MMAP_SIZE` (`.cargo/config.toml` raises it to 1 TiB),
        // and reads the rest of a larger file as before.
        conn.pragma_update(None, "mmap_size", MMAP_BYTES)?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(conn)
    }

    /// Closes every idle connection and refuses further reads (a read
    /// running now closes its connection when it ends).
    pub(crate) fn close(&self) {
        self.running.close();
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    fn give_back(&self, conn: Connection) {
        if !self.running.is_closed() {
            self.idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(conn);
        }
    }

    /// Every row of `q`, decoded as `R`.
    pub(crate) async fn fetch_all<R: FromSqlite>(
        self: &Arc<Self>,
        q: Sql,
    ) -> Result<Vec<R>, ReadError> {
        let _permit = self
            .running
            .acquire()
            .await
            .map_err(|_| ReadError::Closed)?;
        let me = Arc::clone(self);
        let rows = tokio::task::spawn_blocking(move || {
            let idle = me.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let conn = match idle {
                Some(c) => c,
                None => me.open()?,
            };
            let rows = query(&conn, &q);
            // A connection is returned after any outcome: an error belongs to
            // the statement, not to the connection.
            me.give_back(conn);
            rows
        })
        .await??;
        Ok(rows)
    }

    /// The rows of a primary-key lookup, run on the calling thread when a
    /// connection is idle, else as [`Reader::fetch_all`]. Such a lookup reads
    /// a few B-tree pages, microseconds from the page cache: less than the
    /// two thread hand-offs of a blocking task, which `perf` showed costing
    /// a fifth of a single-lead read. (Readers of a WAL database never wait
    /// for the writer.) Only for statements that cannot run long.
    pub(crate) async fn fetch_point<R: FromSqlite>(
        self: &Arc<Self>,
        q: Sql,
    ) -> Result<Vec<R>, ReadError> {
        let inline = match self.running.try_acquire() {
            Ok(permit) => self
                .idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .pop()
                .map(|conn| (permit, conn)),
            Err(_) => None,
        };
        let Some((permit, conn)) = inline else {
            return self.fetch_all(q).await;
        };
        // Never wait on this thread: a read that would (SQLite busy while
        // the WAL index is rebuilt or reset, whose handler sleeps up to
        // 100 ms at a time) goes to the blocking pool, which may wait.
        let rows = conn
            .busy_timeout(Duration::ZERO)
            .and_then(|()| query(&conn, &q));
        let restored = conn.busy_timeout(BUSY_TIMEOUT);
        self.give_back(conn);
        drop(permit);
        match rows {
            Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) => {
                self.fetch_all(q).await
            }
            rows => {
                restored?;
                Ok(rows?)
            }
        }
    }
}

/// Runs `q` (a write) on `conn`, its statement prepared once per
/// connection; the rows it changed.
pub(crate) fn execute(conn: &Connection, q: &Sql) -> rusqlite::Result<usize> {
    let mut stmt = conn.prepare_cached(&q.text)?;
    bind(&mut stmt, q)?;
    stmt.raw_execute()
}

/// Reads `q`'s rows on `conn`, its statement prepared once per connection.
pub(crate) fn query<R: FromSqlite>(conn: &Connection, q: &Sql) -> rusqlite::Result<Vec<R>> {
    let mut stmt = conn.prepare_cached(&q.text)?;
    bind(&mut stmt, q)?;
    let at = R::COLUMNS
        .iter()
        .map(|name| stmt.column_index(name))
        .collect::<rusqlite::Result<Vec<usize>>>()?;
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(R::from_sqlite(row, &at)?);
    }
    Ok(out)
}

/// Binds `q`'s parameters as sqlx would: `$N` by name, `?` in order.
fn bind(stmt: &mut rusqlite::CachedStatement<'_>, q: &Sql) -> rusqlite::Result<()> {
    let params = &q.params;
    if stmt.parameter_count() > 0 && stmt.parameter_name(1).is_none() {
        // Anonymous `?` (`Sql::positional`): in order.
        for (i, p) in params.iter().enumerate() {
            stmt.raw_bind_parameter(i + 1, p)?;
        }
    } else {
        for (i, p) in params.iter().enumerate() {
            if let Some(index) = stmt.parameter_index(&format!("${}", i + 1))? {
                stmt.raw_bind_parameter(index, p)?;
            }
        }
    }
    Ok(())
}

#[cfg(all(test, feature = "testing"))]
mod tests {
    use super::*;
    use crate::db::{ConnectOptions, Db};
    use chrono::TimeZone;

    #[derive(Debug, PartialEq, sqlx::FromRow)]
    struct Probe {
        id: i64,
        at: DateTime<Utc>,
        maybe_at: Option<DateTime<Utc>>,
        day: Option<NaiveDate>,
        doc: Option<sqlx::types::Json<serde_json::Value>>,
        ratio: Option<f64>,
        word: String,
    }
    sqlite_row!(Probe {
        id,
        at,
        maybe_at,
        day,
        doc,
        ratio,
        word
    });

    async fn db() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let db = Db::connect(&url, &ConnectOptions::default()).await.unwrap();
        db.execute(Sql::new(
            "CREATE TABLE probe (id INTEGER PRIMARY KEY, at TEXT, maybe_at TEXT, day TEXT, \
             doc TEXT, ratio REAL, word TEXT NOT NULL, flag INTEGER)",
        ))
        .await
        .unwrap();
        (dir, db)
    }

    #[tokio::test]
    async fn reads_what_sqlx_reads_and_binds_as_sqlx_binds() {
        let (_dir, db) = db().await;
        let t0 = Utc.with_ymd_and_hms(2026, 11, 30, 9, 15, 0).unwrap()
            + chrono::Duration::nanoseconds(123_456_789);
        for i in 0..100i64 {
            db.execute(
                Sql::new(
                    "INSERT INTO probe (id, at, maybe_at, day, doc, ratio, word, flag) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .arg(i)
                .arg(t0 + chrono::Duration::minutes(i))
                .arg((i % 3 == 0).then_some(t0))
                .arg(
                    (i % 2 == 0)
                        .then(|| NaiveDate::from_ymd_opt(2026, 1, 1 + (i % 28) as u32).unwrap()),
                )
                .arg((i % 5 == 0).then(|| serde_json::json!({"i": i, "s": "ü"})))
                .arg((i % 4 != 0).then_some(i as f64 / 3.0))
                .arg(format!("w{i}"))
                .arg(i % 2 == 0),
            )
            .await
            .unwrap();
        }
        // A timestamp written by SQLite itself, not by sqlx.
        db.execute(Sql::new(
            "INSERT INTO probe (id, at, word, flag) VALUES (100, '2026-11-30 10:00:00', 'sql', 1)",
        ))
        .await
        .unwrap();
        let q = || {
            Sql::new(
                "SELECT id, at, maybe_at, day, doc, ratio, word FROM probe \
                 WHERE at >= $1 AND (day IS NULL OR day >= $2) AND flag = $3 AND word <> $4 ORDER BY id",
            )
            .arg(t0 + chrono::Duration::minutes(10))
            .arg(NaiveDate::from_ymd_opt(2026, 1, 5).unwrap())
            .arg(true)
            .arg("w12")
        };
        let slow: Vec<Probe> = db.fetch_all(q()).await.unwrap();
        let fast: Vec<Probe> = db.fetch_all_fast(q()).await.unwrap();
        assert!(slow.len() > 30, "{}", slow.len());
        assert_eq!(fast, slow);
        let point: Vec<Probe> = db.fetch_point(q()).await.unwrap();
        assert_eq!(point, slow);
        let sql_written: Vec<Probe> = db
            .fetch_all_fast(
                Sql::new("SELECT id, at, maybe_at, day, doc, ratio, word FROM probe WHERE id = $1")
                    .arg(100i64),
            )
            .await
            .unwrap();
        assert_eq!(
            sql_written[0].at,
            Utc.with_ymd_and_hms(2026, 11, 30, 10, 0, 0).unwrap()
        );

        // Many placeholders (rewritten to anonymous `?`), bound in order.
        let mut many =
            Sql::new("SELECT id, at, maybe_at, day, doc, ratio, word FROM probe WHERE id IN (");
        for i in 0..80i64 {
            if i > 0 {
                many.push(", ");
            }
            many.bind(i * 2);
        }
        many.push(") ORDER BY id");
        let rows: Vec<Probe> = db.fetch_all_fast(many).await.unwrap();
        assert_eq!(rows.len(), 51); // 0, 2, ..., 98 and 100
        assert!(rows.iter().all(|r| r.id % 2 == 0));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_point_read_on_a_busy_database_waits_on_the_blocking_pool() {
        // A rollback-journal database, where a writer's exclusive lock makes
        // readers busy (in WAL mode they rarely are, which is why this test
        // sets one up by hand).
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("busy.db");
        let setup = Connection::open(&path).unwrap();
        setup
            .execute_batch(
                "PRAGMA journal_mode = DELETE; CREATE TABLE probe (id INTEGER PRIMARY KEY, \
                 at TEXT, maybe_at TEXT, day TEXT, doc TEXT, ratio REAL, word TEXT NOT NULL); \
                 INSERT INTO probe (id, at, word) VALUES (1, '2026-11-30T10:00:00Z', 'a');",
            )
            .unwrap();
        drop(setup);
        let reader = Arc::new(Reader::new(&path, 2));
        let q = || {
            Sql::new("SELECT id, at, maybe_at, day, doc, ratio, word FROM probe WHERE id = $1")
                .arg(1i64)
        };
        // Opens a connection and leaves it idle, so the next read is inline.
        assert_eq!(reader.fetch_point::<Probe>(q()).await.unwrap().len(), 1);

        let (locked, is_locked) = std::sync::mpsc::channel();
        let holder_path = path.clone();
        let holder = std::thread::spawn(move || {
            let c = Connection::open(holder_path).unwrap();
            c.execute_batch("BEGIN EXCLUSIVE").unwrap();
            locked.send(()).unwrap();
            std::thread::sleep(Duration::from_millis(300));
            c.execute_batch("COMMIT").unwrap();
        });
        is_locked.recv().unwrap();
        let t = std::time::Instant::now();
        let rows = reader.fetch_point::<Probe>(q()).await.unwrap();
        assert_eq!(rows.len(), 1);
        // Busy inline (timeout zero there), it waited for the lock on the
        // blocking pool instead of failing.
        assert!(
            t.elapsed() >= Duration::from_millis(150),
            "{:?}",
            t.elapsed()
        );
        holder.join().unwrap();
    }

    #[tokio::test]
    async fn a_closed_database_refuses_reads() {
        let (_dir, db) = db().await;
        let q = || Sql::new("SELECT id, at, maybe_at, day, doc, ratio, word FROM probe");
        assert!(db.fetch_all_fast::<Probe>(q()).await.unwrap().is_empty());
        db.close().await;
        let refused = db.fetch_all_fast::<Probe>(q()).await.unwrap_err();
        assert!(matches!(refused, sqlx::Error::PoolClosed), "{refused:?}");
        let refused = db.fetch_point::<Probe>(q()).await.unwrap_err();
        assert!(matches!(refused, sqlx::Error::PoolClosed), "{refused:?}");
    }

    #[tokio::test]
    async fn a_value_that_does_not_decode_is_an_error_not_a_panic() {
        let (_dir, db) = db().await;
        db.execute(Sql::new(
            "INSERT INTO probe (id, at, word) VALUES (1, NULL, 'a'), (2, 'not a time', 'b'), (3, 42, 'c')",
        ))
        .await
        .unwrap();
        for id in 1..=3i64 {
            let q =
                Sql::new("SELECT id, at, maybe_at, day, doc, ratio, word FROM probe WHERE id = $1")
                    .arg(id);
            let err = db.fetch_all_fast::<Probe>(q).await.unwrap_err();
            assert!(matches!(err, sqlx::Error::Decode(_)), "{id}: {err:?}");
        }
        // A statement SQLite refuses.
        let err = db
            .fetch_all_fast::<Probe>(Sql::new("SELECT nope FROM probe"))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
    }
}
