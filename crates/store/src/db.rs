//! One database handle for both backends, and one way to run SQL on it.
//!
//! Every statement is written once, with `$1, $2, ...` placeholders, which both
//! PostgreSQL and sqlx's SQLite driver accept. A [`Sql`] carries the text and its
//! typed [`Param`]s; [`Db`] and [`Tx`] bind them for whichever backend the URL
//! chose and decode rows into structs that derive `sqlx::FromRow` for both.
//! Where the dialects really differ (date arithmetic, bulk loading) the
//! repository asks [`Db::backend`] and writes each form once.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, ConnectOptions as _, Postgres, Sqlite, Transaction};

use crate::sqlite_read::{FromSqlite, Reader};
use crate::sqlite_write::Writer;
use crate::{Result, StoreError};

/// sqlx logs a statement slower than this...
const SLOW_STATEMENT: Duration = Duration::from_secs(1);
/// ...at this level: debug, not sqlx's warn, which printed whole multi-row
/// statements (a seed's 400-row INSERT) on a busy machine's healthy start.
/// The request log's latency and the benchmarks are where slowness shows.
const SLOW_STATEMENT_LOG: log::LevelFilter = log::LevelFilter::Debug;

/// Which database engine a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// A connection pool on either backend.
///
/// SQLite gets a pool of readers and a single writer connection: SQLite allows
/// one writer at a time, and funnelling writes through one connection turns
/// lock contention into a queue instead of `SQLITE_BUSY` errors.
#[derive(Debug, Clone)]
pub enum Db {
    /// SQLite: readers and the one writer.
    Sqlite {
        /// Pool for reads.
        read: SqlitePool,
        /// One connection for writes and write transactions.
        write: SqlitePool,
        /// The hot reads of a file database ([`Db::fetch_all_fast`]).
        fast: Option<Arc<Reader>>,
        /// The bulk writes of a file database (`Db::sqlite_write`).
        bulk: Option<Arc<Writer>>,
    },
    /// PostgreSQL.
    Postgres(PgPool),
}

/// Pool sizing and behaviour.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Maximum connections (readers on SQLite).
    pub max_connections: u32,
    /// How long to wait for a connection before failing.
    pub acquire_timeout: Duration,
    /// PostgreSQL only: run every connection in this schema (tests use one
    /// fresh schema each).
    pub pg_schema: Option<String>,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            max_connections: 8,
            acquire_timeout: Duration::from_secs(5),
            pg_schema: None,
        }
    }
}

/// Removes the password from a database URL, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..scheme_end + 3], user, &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Whether a `sqlite:` URL names an in-memory database.
pub(crate) fn is_memory_url(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

impl Db {
    /// Opens the database named by `url` (`sqlite://PATH`, `sqlite::memory:`
    /// or `postgres://...`), creating a SQLite file if needed, and checks that
    /// it answers. Migrations are applied separately by [`Db::migrate`].
    pub async fn connect(url: &str, opts: &ConnectOptions) -> Result<Db> {
        let target = redact_url(url);
        let connect_err = |source| StoreError::Connect {
            target: target.clone(),
            source,
        };
        let db = if url.starts_with("sqlite:") {
            let base = SqliteConnectOptions::from_str(url)
                .map_err(|_| StoreError::BadUrl(target.clone()))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                .pragma("cache_size", "-65536")
                .pragma("temp_store", "memory")
                // A page of a list arrives in one hand-over from the connection's
                // worker thread instead of several (each one a thread switch).
                .row_buffer_size(256)
                .log_slow_statements(SLOW_STATEMENT_LOG, SLOW_STATEMENT);
            let memory = is_memory_url(url);
            let bulk = (!memory).then(|| Arc::new(Writer::new(base.get_filename())));
            let fast = (!memory).then(|| {
                Arc::new(Reader::new(
                    base.get_filename(),
                    opts.max_connections as usize,
                ))
            });
            // The writer opens first: it creates the file and switches it to WAL.
            let write = SqlitePoolOptions::new()
                .max_connections(1)
                .acquire_timeout(opts.acquire_timeout)
                .connect_with(base.clone())
                .await
                .map_err(connect_err)?;
            let read = if memory {
                write.clone()
            } else {
                SqlitePoolOptions::new()
                    .max_connections(opts.max_connections.max(1))
                    .acquire_timeout(opts.acquire_timeout)
                    .connect_with(base)
                    .await
                    .map_err(connect_err)?
            };
            Db::Sqlite {
                read,
                write,
                fast,
                bulk,
            }
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let mut pg =
                PgConnectOptions::from_str(url).map_err(|_| StoreError::BadUrl(target.clone()))?;
            if let Some(schema) = &opts.pg_schema {
                pg = pg.options([("search_path", schema.as_str())]);
            }
            pg = pg.log_slow_statements(SLOW_STATEMENT_LOG, SLOW_STATEMENT);
            let pool = PgPoolOptions::new()
                .max_connections(opts.max_connections.max(1))
                .acquire_timeout(opts.acquire_timeout)
                .connect_with(pg)
                .await
                .map_err(connect_err)?;
            Db::Postgres(pool)
        } else {
            return Err(StoreError::BadUrl(target));
        };
        db.ping().await.map_err(|e| match e {
            StoreError::Database(source) => StoreError::Connect { target, source },
            other => other,
        })?;
        Ok(db)
    }

    /// Applies the backend's pending migrations (forward-only).
    ///
    /// On SQLite, when a migration was applied to a database that holds
    /// rows, its statistics are gathered again (`ANALYZE`, in full: 17 s on
    /// the 1M-lead data set, once per upgrade). The planner goes by them: an
    /// index a migration adds has none, and SQLite then takes it for more
    /// selective than it is (after migration 0016 the 1M-lead list sorted all
    /// its leads through a new (organization, contact, score) index, 175 ms,
    /// instead of reading 51 through (organization, created)). Approximate
    /// statistics (`analysis_limit`) are not enough: with them a contact's
    /// timeline walked all 10 million activities in time order (30 s).
    pub async fn migrate(&self) -> Result<()> {
        match self {
            Db::Sqlite { write, .. } => {
                let migrator = sqlx::migrate!("./migrations/sqlite");
                let applied = |pool: &sqlx::SqlitePool| {
                    let pool = pool.clone();
                    async move {
                        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM _sqlx_migrations")
                            .fetch_one(&pool)
                            .await
                            .unwrap_or(0)
                    }
                };
                let before = applied(write).await;
                migrator.run(write).await?;
                if before > 0 && applied(write).await > before {
                    sqlx::query("ANALYZE").execute(write).await?;
                }
            }
            Db::Postgres(pool) => sqlx::migrate!("./migrations/postgres").run(pool).await?,
        }
        Ok(())
    }

    /// Which engine this is.
    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite { .. } => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Runs a trivial query: the database is reachable.
    pub async fn ping(&self) -> Result<()> {
        let (one,): (i64,) = self.fetch_one(Sql::new("SELECT CAST(1 AS BIGINT)")).await?;
        debug_assert_eq!(one, 1);
        Ok(())
    }

    /// Starts a write transaction (`BEGIN IMMEDIATE` on SQLite, so that the
    /// write lock is taken up front rather than on the first write).
    pub async fn begin(&self) -> Result<Tx> {
        Ok(match self {
            Db::Sqlite { write, .. } => Tx::Sqlite(write.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Closes every connection.
    pub async fn close(&self) {
        match self {
            Db::Sqlite {
                read,
                write,
                fast,
                bulk,
            } => {
                if let Some(reader) = fast {
                    reader.close();
                }
                if let Some(writer) = bulk {
                    writer.close();
                }
                read.close().await;
                write.close().await;
            }
            Db::Postgres(pool) => pool.close().await,
        }
    }
}

/// A value bound to a `$N` placeholder.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    /// Integer (ids, cents, counts).
    Int(Option<i64>),
    /// Floating point.
    Real(Option<f64>),
    /// Text (and vocabulary words).
    Text(Option<String>),
    /// Boolean.
    Bool(Option<bool>),
    /// Calendar date.
    Date(Option<NaiveDate>),
    /// Timestamp in UTC.
    Time(Option<DateTime<Utc>>),
    /// JSON document (TEXT on SQLite, JSONB on PostgreSQL).
    Json(Option<serde_json::Value>),
    /// Bytes (BLOB on SQLite, BYTEA on PostgreSQL).
    Bytes(Option<Vec<u8>>),
}

macro_rules! param_from {
    ($($t:ty => $variant:ident $(via $conv:expr)?),* $(,)?) => {$(
        impl From<$t> for Param {
            fn from(v: $t) -> Self {
                Param::$variant(Some(param_from!(@conv v $(, $conv)?)))
            }
        }
        impl From<Option<$t>> for Param {
            fn from(v: Option<$t>) -> Self {
                Param::$variant(v.map(|v| param_from!(@conv v $(, $conv)?)))
            }
        }
    )*};
    (@conv $v:ident) => { $v.into() };
    (@conv $v:ident, $conv:expr) => { ($conv)($v) };
}

param_from! {
    i64 => Int,
    f64 => Real,
    bool => Bool,
    String => Text,
    &str => Text via |s: &str| s.to_string(),
    NaiveDate => Date,
    DateTime<Utc> => Time,
    neuracrm_domain::BoundedDate => Date via neuracrm_domain::BoundedDate::get,
    neuracrm_domain::BoundedTime => Time via neuracrm_domain::BoundedTime::get,
    serde_json::Value => Json,
    Vec<u8> => Bytes,
    neuracrm_domain::OrgId => Int via |v: neuracrm_domain::OrgId| v.0,
    neuracrm_domain::UserId => Int via |v: neuracrm_domain::UserId| v.0,
    neuracrm_domain::ContactId => Int via |v: neuracrm_domain::ContactId| v.0,
    neuracrm_domain::LeadId => Int via |v: neuracrm_domain::LeadId| v.0,
    neuracrm_domain::DealId => Int via |v: neuracrm_domain::DealId| v.0,
    neuracrm_domain::ActivityId => Int via |v: neuracrm_domain::ActivityId| v.0,
    neuracrm_domain::ForecastModelId => Int via |v: neuracrm_domain::ForecastModelId| v.0,
    neuracrm_domain::SegmentId => Int via |v: neuracrm_domain::SegmentId| v.0,
    neuracrm_domain::EmailTemplateId => Int via |v: neuracrm_domain::EmailTemplateId| v.0,
    neuracrm_domain::CampaignId => Int via |v: neuracrm_domain::CampaignId| v.0,
    neuracrm_domain::CallId => Int via |v: neuracrm_domain::CallId| v.0,
    neuracrm_domain::SessionId => Text via |v: neuracrm_domain::SessionId| v.to_string(),
    neuracrm_domain::Cents => Int via |v: neuracrm_domain::Cents| v.get(),
    neuracrm_domain::Email => Text via |v: neuracrm_domain::Email| v.as_str().to_string(),
    neuracrm_domain::Role => Text via |v: neuracrm_domain::Role| v.as_str().to_string(),
    neuracrm_domain::LeadStatus => Text via |v: neuracrm_domain::LeadStatus| v.as_str().to_string(),
    neuracrm_domain::LeadSource => Text via |v: neuracrm_domain::LeadSource| v.as_str().to_string(),
    neuracrm_domain::DealStage => Text via |v: neuracrm_domain::DealStage| v.as_str().to_string(),
    neuracrm_domain::DealStatus => Text via |v: neuracrm_domain::DealStatus| v.as_str().to_string(),
    neuracrm_domain::ActivityType => Text via |v: neuracrm_domain::ActivityType| v.as_str().to_string(),
    neuracrm_domain::ForecastMetric => Text via |v: neuracrm_domain::ForecastMetric| v.as_str().to_string(),
    neuracrm_domain::ForecastAlgorithm => Text via |v: neuracrm_domain::ForecastAlgorithm| v.as_str().to_string(),
}

/// A SQL statement with its parameters.
///
/// Static statements use [`Sql::new`] with literal `$N` placeholders and
/// [`Sql::arg`]; statements built from optional filters use [`Sql::push`] and
/// [`Sql::bind`], which writes the next placeholder itself. Only trusted text
/// (literals and whitelisted column names) is ever pushed; every value is bound.
#[derive(Debug, Clone, Default)]
pub struct Sql {
    pub(crate) text: String,
    pub(crate) params: Vec<Param>,
}

impl Sql {
    /// A statement from trusted text.
    pub fn new(text: &str) -> Self {
        Self {
            text: text.to_string(),
            params: Vec::new(),
        }
    }

    /// Adds a value for the next placeholder already written in the text.
    pub fn arg(mut self, v: impl Into<Param>) -> Self {
        self.params.push(v.into());
        self
    }

    /// Appends trusted text.
    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder for `v` and binds it.
    pub fn bind(&mut self, v: impl Into<Param>) -> &mut Self {
        self.params.push(v.into());
        self.text.push('$');
        self.text.push_str(&self.params.len().to_string());
        self
    }

    /// The statement text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// For SQLite: when the placeholders are exactly `$1`, `$2`, ... `$N`
    /// in the order of the text, each once (as in a multi-row INSERT),
    /// rewrites them to anonymous `?`. sqlx binds a named parameter by
    /// asking SQLite for its name, which walks a list of every name: binding
    /// N of them costs N², and 4,800 placeholders took 85 % of a bulk load.
    /// Anonymous parameters bind by position, in linear time. Any other
    /// text (a placeholder used twice, out of order) is left as it is.
    pub fn positional(self) -> Self {
        if self.params.len() < 64 {
            return self; // not worth a pass
        }
        let bytes = self.text.as_bytes();
        let mut out = String::with_capacity(self.text.len());
        let mut next = 1usize;
        let (mut i, mut copied) = (0usize, 0usize);
        let mut quote: Option<u8> = None;
        while i < bytes.len() {
            let b = bytes[i];
            match quote {
                Some(q) if b == q => quote = None,
                Some(_) => {}
                None if b == b'\'' || b == b'"' => quote = Some(b),
                None if b == b'$' => {
                    let digits = bytes[i + 1..]
                        .iter()
                        .take_while(|d| d.is_ascii_digit())
                        .count();
                    let n: Option<usize> = self.text[i + 1..i + 1 + digits].parse().ok();
                    if n != Some(next) {
                        return self;
                    }
                    out.push_str(&self.text[copied..i]);
                    out.push('?');
                    next += 1;
                    i += 1 + digits;
                    copied = i;
                    continue;
                }
                None => {}
            }
            i += 1;
        }
        if next - 1 != self.params.len() {
            return self;
        }
        out.push_str(&self.text[copied..]);
        Sql {
            text: out,
            params: self.params,
        }
    }
}

/// A row type decodable on both backends (derive `sqlx::FromRow`).
pub trait Row:
    for<'r> sqlx::FromRow<'r, SqliteRow> + for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin
{
}
impl<T> Row for T where
    T: for<'r> sqlx::FromRow<'r, SqliteRow> + for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin
{
}

macro_rules! bind_all {
    ($q:expr, $params:expr) => {{
        let mut q = $q;
        for p in $params {
            q = match p {
                Param::Int(v) => q.bind(v),
                Param::Real(v) => q.bind(v),
                Param::Text(v) => q.bind(v),
                Param::Bool(v) => q.bind(v),
                Param::Date(v) => q.bind(v),
                Param::Time(v) => q.bind(v),
                Param::Json(v) => q.bind(v.map(sqlx::types::Json)),
                Param::Bytes(v) => q.bind(v),
            };
        }
        q
    }};
}

macro_rules! rows {
    ($sql:expr, $method:ident, $ex:expr) => {
        bind_all!(
            sqlx::query_as::<_, R>(AssertSqlSafe($sql.text)),
            $sql.params
        )
        .$method($ex)
        .await
    };
}

macro_rules! exec {
    ($sql:expr, $ex:expr) => {
        bind_all!(sqlx::query(AssertSqlSafe($sql.text)), $sql.params)
            .execute($ex)
            .await
            .map(|r| r.rows_affected())
    };
}

impl Db {
    /// All rows of a hot read: on a SQLite file, run and decoded on a
    /// blocking thread by [`Reader`] (one hand-off per query instead of one
    /// per row); otherwise as [`Db::fetch_all`].
    pub async fn fetch_all_fast<R: Row + FromSqlite>(&self, q: Sql) -> Result<Vec<R>, sqlx::Error> {
        match self {
            Db::Sqlite {
                fast: Some(reader), ..
            } => Ok(reader.fetch_all(q.positional()).await?),
            _ => self.fetch_all(q).await,
        }
    }

    /// The rows of a primary-key lookup: on a SQLite file, run on the
    /// calling thread when a reader connection is idle
    /// (`Reader::fetch_point`); otherwise as [`Db::fetch_all_fast`].
    pub async fn fetch_point<R: Row + FromSqlite>(&self, q: Sql) -> Result<Vec<R>, sqlx::Error> {
        match self {
            Db::Sqlite {
                fast: Some(reader), ..
            } => Ok(reader.fetch_point(q.positional()).await?),
            _ => self.fetch_all(q).await,
        }
    }

    /// All rows of a query.
    pub async fn fetch_all<R: Row>(&self, q: Sql) -> Result<Vec<R>, sqlx::Error> {
        match self {
            Db::Sqlite { read, .. } => {
                let q = q.positional();
                rows!(q, fetch_all, read)
            }
            Db::Postgres(pool) => rows!(q, fetch_all, pool),
        }
    }

    /// At most one row.
    pub async fn fetch_optional<R: Row>(&self, q: Sql) -> Result<Option<R>, sqlx::Error> {
        match self {
            Db::Sqlite { read, .. } => {
                let q = q.positional();
                rows!(q, fetch_optional, read)
            }
            Db::Postgres(pool) => rows!(q, fetch_optional, pool),
        }
    }

    /// Exactly one row.
    pub async fn fetch_one<R: Row>(&self, q: Sql) -> Result<R, sqlx::Error> {
        match self {
            Db::Sqlite { read, .. } => {
                let q = q.positional();
                rows!(q, fetch_one, read)
            }
            Db::Postgres(pool) => rows!(q, fetch_one, pool),
        }
    }

    /// Runs a statement outside a transaction; returns the rows affected.
    pub async fn execute(&self, q: Sql) -> Result<u64, sqlx::Error> {
        match self {
            Db::Sqlite { write, .. } => {
                let q = q.positional();
                exec!(q, write)
            }
            Db::Postgres(pool) => exec!(q, pool),
        }
    }
}

/// A write transaction on either backend. Dropped without [`Tx::commit`], it
/// rolls back.
#[derive(Debug)]
pub enum Tx {
    /// SQLite.
    Sqlite(Transaction<'static, Sqlite>),
    /// PostgreSQL.
    Postgres(Transaction<'static, Postgres>),
}

impl Tx {
    /// Makes the transaction's writes permanent.
    pub async fn commit(self) -> Result<()> {
        match self {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }

    /// Which engine this is.
    pub fn backend(&self) -> Backend {
        match self {
            Tx::Sqlite(_) => Backend::Sqlite,
            Tx::Postgres(_) => Backend::Postgres,
        }
    }

    /// All rows of a query.
    pub async fn fetch_all<R: Row>(&mut self, q: Sql) -> Result<Vec<R>, sqlx::Error> {
        match self {
            Tx::Sqlite(t) => {
                let q = q.positional();
                rows!(q, fetch_all, &mut **t)
            }
            Tx::Postgres(t) => rows!(q, fetch_all, &mut **t),
        }
    }

    /// At most one row.
    pub async fn fetch_optional<R: Row>(&mut self, q: Sql) -> Result<Option<R>, sqlx::Error> {
        match self {
            Tx::Sqlite(t) => {
                let q = q.positional();
                rows!(q, fetch_optional, &mut **t)
            }
            Tx::Postgres(t) => rows!(q, fetch_optional, &mut **t),
        }
    }

    /// Exactly one row.
    pub async fn fetch_one<R: Row>(&mut self, q: Sql) -> Result<R, sqlx::Error> {
        match self {
            Tx::Sqlite(t) => {
                let q = q.positional();
                rows!(q, fetch_one, &mut **t)
            }
            Tx::Postgres(t) => rows!(q, fetch_one, &mut **t),
        }
    }

    /// Runs a statement; returns the rows affected.
    pub async fn execute(&mut self, q: Sql) -> Result<u64, sqlx::Error> {
        match self {
            Tx::Sqlite(t) => {
                let q = q.positional();
                exec!(q, &mut **t)
            }
            Tx::Postgres(t) => exec!(q, &mut **t),
        }
    }

    /// Marks a point the transaction can go back to with
    /// [`Tx::rollback_to_savepoint`]: on PostgreSQL a failed statement
    /// aborts the whole transaction unless it is undone to a savepoint, so a
    /// loop that may refuse one item without losing the others needs one.
    pub async fn savepoint(&mut self) -> Result<()> {
        self.execute(Sql::new("SAVEPOINT item")).await?;
        Ok(())
    }

    /// Forgets the last savepoint, keeping what was done since.
    pub async fn release_savepoint(&mut self) -> Result<()> {
        self.execute(Sql::new("RELEASE SAVEPOINT item")).await?;
        Ok(())
    }

    /// Undoes everything since the last savepoint (and forgets it).
    pub async fn rollback_to_savepoint(&mut self) -> Result<()> {
        self.execute(Sql::new("ROLLBACK TO SAVEPOINT item")).await?;
        self.release_savepoint().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbered(n: usize) -> Sql {
        let mut q = Sql::new("INSERT INTO t (a, b) VALUES ");
        for i in 0..n {
            if i > 0 {
                q.push(", ");
            }
            q.push("(");
            q.bind(i as i64);
            q.push(", '$9 stays'), (");
            q.bind("x");
            q.push(")");
        }
        q
    }

    #[test]
    fn in_order_placeholders_become_positional() {
        let q = numbered(40).positional();
        assert!(!q.text().contains("$1"), "{}", q.text());
        assert_eq!(q.text().matches('?').count(), 80);
        assert!(q.text().contains("'$9 stays'"), "literals are untouched");
        assert_eq!(q.params.len(), 80);
    }

    #[test]
    fn reused_or_unordered_placeholders_stay_named() {
        let few = numbered(2).positional();
        assert!(few.text().contains("$1"), "small statements are left alone");
        let mut q = numbered(40);
        q.push(" RETURNING $1");
        let q = q.positional();
        assert!(
            q.text().contains("$80"),
            "a reused placeholder keeps the names"
        );
        let mut q = Sql::new("SELECT $2, $1");
        for i in 0..100 {
            q = q.arg(i as i64);
        }
        assert!(q.positional().text().contains("$2, $1"));
    }

    #[test]
    fn passwords_never_leave_in_urls() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/crm"),
            "postgres://app:***@db:5432/crm"
        );
        assert_eq!(redact_url("postgres://app@db/crm"), "postgres://app@db/crm");
        assert_eq!(redact_url("sqlite://crm.db"), "sqlite://crm.db");
    }

    #[test]
    fn bind_numbers_placeholders_in_order() {
        let mut q = Sql::new("SELECT 1 WHERE a = ");
        q.bind(1i64).push(" AND b = ").bind("x");
        assert_eq!(q.text(), "SELECT 1 WHERE a = $1 AND b = $2");
        assert_eq!(
            q.params,
            vec![Param::Int(Some(1)), Param::Text(Some("x".into()))]
        );
    }
}
