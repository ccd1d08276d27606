//! Bulk writes on SQLite's one writer connection, without sqlx's hand-offs.
//!
//! sqlx-sqlite runs each statement by sending it to the connection's worker
//! thread and waiting for the answer, so writing a row per statement costs a
//! pair of thread switches per row; the batch scorer therefore wrote its
//! chunks as 500-row `UPDATE ... FROM (VALUES ...)` statements, which SQLite
//! parses anew (2,500 placeholders each) and runs through a materialized
//! table. Measured with Python's `sqlite3` on the 1M-lead database, 200,000
//! score writes: 1.7-2.5 s that way, 1.0 s as one prepared single-row UPDATE
//! run per row, 0.5 s when the row's indexed columns are left out.
//!
//! `Db::sqlite_write` runs a closure on a blocking thread with a `rusqlite`
//! connection of its own to the file (the same SQLite library: both crates
//! link one `libsqlite3-sys`), inside `BEGIN IMMEDIATE` ... `COMMIT`, so a
//! statement prepared once runs per row. Meanwhile it holds the sqlx writer
//! pool's one connection: the process still writes through one connection at
//! a time, and its other writes queue for the pool as before, never for
//! SQLite's lock. In-memory databases, private to their sqlx connection, have
//! no such writer.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::db::Db;
use crate::{Result, StoreError};

/// The bulk-write connection of a SQLite file, opened on first use.
#[derive(Debug)]
pub struct Writer {
    path: PathBuf,
    idle: Mutex<Option<Connection>>,
    closed: AtomicBool,
}

impl Writer {
    pub(crate) fn new(path: &Path) -> Self {
        Self {
            path: path.to_owned(),
            idle: Mutex::new(None),
            closed: AtomicBool::new(false),
        }
    }

    /// Opened as `Db::connect` opens the sqlx connections.
    fn open(&self) -> rusqlite::Result<Connection> {
        let conn = crate::sqlite_read::open(&self.path, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        conn.set_prepared_statement_cache_capacity(16);
        Ok(conn)
    }

    /// Drops the connection and refuses further writes.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).take();
    }

    async fn run<T, F>(self: &Arc<Self>, turn: &sqlx::SqlitePool, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        // The pool's one connection is the process's turn to write.
        let turn = turn.acquire().await?;
        if self.closed.load(Ordering::SeqCst) {
            return Err(StoreError::Database(sqlx::Error::PoolClosed));
        }
        let me = Arc::clone(self);
        let done = tokio::task::spawn_blocking(move || {
            let _turn = turn;
            let idle = me.idle.lock().unwrap_or_else(|e| e.into_inner()).take();
            let mut conn = match idle {
                Some(c) => c,
                None => me.open()?,
            };
            // Rolled back when dropped uncommitted: on an error, or a panic
            // (the connection is then dropped too, and reopened next time).
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = f(&tx).and_then(|out| tx.commit().map(|()| out));
            if !me.closed.load(Ordering::SeqCst) {
                *me.idle.lock().unwrap_or_else(|e| e.into_inner()) = Some(conn);
            }
            out
        })
        .await;
        match done {
            Ok(out) => out.map_err(write_error),
            Err(e) => Err(StoreError::Database(sqlx::Error::Io(
                std::io::Error::other(e),
            ))),
        }
    }
}

impl Db {
    /// On a SQLite file, runs `f` in one write transaction on the bulk-write
    /// connection, on a blocking thread: committed when `f` returns `Ok`,
    /// rolled back otherwise (a panic included). `None` on PostgreSQL and on
    /// in-memory SQLite, whose callers write set-based statements instead.
    pub(crate) async fn sqlite_write<T, F>(&self, f: F) -> Option<Result<T>>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        match self {
            Db::Sqlite {
                write,
                bulk: Some(writer),
                ..
            } => Some(writer.run(write, f).await),
            _ => None,
        }
    }
}

fn write_error(e: rusqlite::Error) -> StoreError {
    StoreError::Database(sqlx::Error::from(crate::sqlite_read::ReadError::Sqlite(e)))
}

#[cfg(all(test, feature = "testing"))]
mod tests {
    use crate::db::{ConnectOptions, Db, Sql};

    async fn db() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("w.db").display());
        let db = Db::connect(&url, &ConnectOptions::default()).await.unwrap();
        db.execute(Sql::new(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, at TEXT, n INTEGER NOT NULL)",
        ))
        .await
        .unwrap();
        (dir, db)
    }

    async fn rows(db: &Db) -> Vec<(i64, Option<String>, i64)> {
        db.fetch_all(Sql::new("SELECT id, at, n FROM t ORDER BY id"))
            .await
            .unwrap()
    }

    fn insert(c: &rusqlite::Connection, id: i64) -> rusqlite::Result<usize> {
        let at = crate::Param::from(chrono::DateTime::from_timestamp(1_700_000_000, 5).unwrap());
        c.execute("INSERT INTO t (id, at, n) VALUES (?1, ?2, 1)", (id, &at))
    }

    #[tokio::test]
    async fn commits_on_ok_and_binds_as_sqlx_binds() {
        let (_dir, db) = db().await;
        let n = db.sqlite_write(|c| insert(c, 1)).await.unwrap().unwrap();
        assert_eq!(n, 1);
        // The time as sqlx writes it, so SQL comparisons of stored text agree.
        let at = chrono::DateTime::from_timestamp(1_700_000_000, 5).unwrap();
        db.execute(Sql::new("INSERT INTO t (id, at, n) VALUES (2, $1, 1)").arg(at))
            .await
            .unwrap();
        let got = rows(&db).await;
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].1, got[1].1);
    }

    #[tokio::test]
    async fn an_error_or_a_panic_rolls_back_and_the_next_write_works() {
        let (_dir, db) = db().await;
        let failed = db
            .sqlite_write(|c| {
                insert(c, 1)?;
                // NOT NULL violated: the whole transaction goes.
                c.execute("INSERT INTO t (id, n) VALUES (2, NULL)", ())
            })
            .await
            .unwrap();
        assert!(failed.is_err());
        assert!(rows(&db).await.is_empty());

        let panicked = db
            .sqlite_write(|c| -> rusqlite::Result<()> {
                insert(c, 3)?;
                panic!("bug in the closure");
            })
            .await
            .unwrap();
        assert!(panicked.is_err());
        assert!(rows(&db).await.is_empty());

        // The writer (and sqlx's writer, whose turn it held) still write.
        db.sqlite_write(|c| insert(c, 4)).await.unwrap().unwrap();
        db.execute(Sql::new("UPDATE t SET n = 2 WHERE id = 4"))
            .await
            .unwrap();
        assert_eq!(
            rows(&db)
                .await
                .iter()
                .map(|r| (r.0, r.2))
                .collect::<Vec<_>>(),
            [(4, 2)]
        );
    }

    #[tokio::test]
    async fn a_closed_database_refuses_writes_and_memory_has_no_bulk_writer() {
        let (_dir, db) = db().await;
        db.close().await;
        assert!(db.sqlite_write(|c| insert(c, 1)).await.unwrap().is_err());

        let memory = Db::connect("sqlite::memory:", &ConnectOptions::default())
            .await
            .unwrap();
        assert!(memory.sqlite_write(|c| insert(c, 1)).await.is_none());
    }
}
