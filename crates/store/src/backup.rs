//! Online backups.
//!
//! A SQLite database is copied with `VACUUM INTO` on a reader connection. The
//! copy is the snapshot of one read transaction, so it is consistent (every
//! committed transaction is in it whole or not at all) while the server goes
//! on writing: in WAL mode a reader and the writer do not wait for each other.
//! The copy is a compacted, ordinary SQLite file, synced to disk before the
//! call returns; restoring is copying it back while no process has the
//! database open. A backup never overwrites a file, and a failed one leaves
//! no file behind.
//!
//! A PostgreSQL database is backed up with its own tool: [`pg_dump_command`]
//! says how, for the same server, port, user and database, without the
//! password.
//!
//! ```no_run
//! # async fn demo(store: &neuracrm_store::Store) -> Result<(), neuracrm_store::StoreError> {
//! let copy = store.db().backup_to(std::path::Path::new("crm-backup.db")).await?;
//! println!("{} bytes in {:.1} s", copy.bytes, copy.seconds);
//! # Ok(()) }
//! ```

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgSslMode};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions as _, Connection as _};

use crate::db::{Db, is_memory_url, redact_url};
use crate::{Result, StoreError};

/// A finished backup.
#[derive(Debug, Clone, PartialEq)]
pub struct BackupSummary {
    /// The copy.
    pub path: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// How long the copy took.
    pub seconds: f64,
}

impl Db {
    /// Copies this SQLite database (a file or an in-memory one) to the new
    /// file `out`, consistently, while other tasks and processes go on
    /// writing. Fails with [`StoreError::BackupTargetExists`] when `out`
    /// exists, and with [`StoreError::Backup`] on PostgreSQL (see
    /// [`pg_dump_command`]).
    pub async fn backup_to(&self, out: &Path) -> Result<BackupSummary> {
        match self {
            Db::Sqlite { read, .. } => {
                let mut conn = read.acquire().await?;
                vacuum_into(&mut conn, out).await
            }
            Db::Postgres(_) => Err(StoreError::Backup(
                "a PostgreSQL database is backed up with pg_dump, not copied by NeuraCRM".into(),
            )),
        }
    }
}

/// Copies the SQLite database file named by `url` to the new file `out`
/// (see [`Db::backup_to`]) over one connection of its own: no migration is
/// applied and nothing is created at `url`. Refuses an in-memory database
/// (it exists only inside the process that opened it), a file that does not
/// exist, and a PostgreSQL URL (see [`pg_dump_command`]).
pub async fn backup_url(url: &str, out: &Path) -> Result<BackupSummary> {
    let target = redact_url(url);
    if is_postgres_url(url) {
        return Err(StoreError::Backup(format!(
            "{target} is a PostgreSQL database: back it up with pg_dump"
        )));
    }
    if !url.starts_with("sqlite:") {
        return Err(StoreError::BadUrl(target));
    }
    if is_memory_url(url) {
        return Err(StoreError::Backup(format!(
            "{target} is an in-memory database: it exists only inside the process that \
             opened it, so there is nothing on disk to back up"
        )));
    }
    let opts = SqliteConnectOptions::from_str(url)
        .map_err(|_| StoreError::BadUrl(target.clone()))?
        .create_if_missing(false)
        .busy_timeout(Duration::from_secs(10));
    let source = opts.get_filename();
    if !source.is_file() {
        return Err(StoreError::Backup(format!(
            "there is no SQLite database at {}",
            source.display()
        )));
    }
    // Checked before connecting too, for a prompt answer; `vacuum_into`
    // makes the check that holds.
    refuse_existing(out)?;
    let mut conn = opts.connect().await.map_err(|source| StoreError::Connect {
        target: target.clone(),
        source,
    })?;
    let done = vacuum_into(&mut conn, out).await;
    let _ = conn.close().await;
    done
}

fn refuse_existing(out: &Path) -> Result<()> {
    // A path that cannot be inspected is treated as taken.
    if out.try_exists().unwrap_or(true) {
        return Err(StoreError::BackupTargetExists {
            path: out.to_path_buf(),
        });
    }
    Ok(())
}

/// `VACUUM INTO out` on `conn`, into a file this call creates (so that it
/// never overwrites one, and removes only its own on failure).
async fn vacuum_into(conn: &mut SqliteConnection, out: &Path) -> Result<BackupSummary> {
    let started = Instant::now();
    let Some(out_text) = out.to_str() else {
        return Err(StoreError::Backup(format!(
            "the backup file name {} is not valid UTF-8",
            out.display()
        )));
    };
    // `create_new` fails when the file exists, atomically; SQLite accepts an
    // empty file as the target of VACUUM INTO.
    match OpenOptions::new().write(true).create_new(true).open(out) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(StoreError::BackupTargetExists {
                path: out.to_path_buf(),
            });
        }
        Err(e) => {
            return Err(StoreError::Backup(format!(
                "cannot create {}: {e}",
                out.display()
            )));
        }
    }
    let copied = async {
        sqlx::query("VACUUM INTO ?1")
            .bind(out_text)
            .execute(&mut *conn)
            .await?;
        // VACUUM INTO does not sync the copy: make it durable before saying
        // it is done.
        let file = std::fs::File::open(out)
            .and_then(|f| f.sync_all().map(|()| f))
            .map_err(|e| StoreError::Backup(format!("cannot sync {}: {e}", out.display())))?;
        if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
            // Best effort: the directory entry of the new file.
            let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
        }
        let bytes = file
            .metadata()
            .map_err(|e| StoreError::Backup(format!("cannot read {}: {e}", out.display())))?
            .len();
        Ok(bytes)
    }
    .await;
    match copied {
        Ok(bytes) => Ok(BackupSummary {
            path: out.to_path_buf(),
            bytes,
            seconds: started.elapsed().as_secs_f64(),
        }),
        Err(e) => {
            let _ = std::fs::remove_file(out);
            Err(e)
        }
    }
}

fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// The `pg_dump` command that backs up the PostgreSQL database named by
/// `url` into `out` (custom format, for `pg_restore`): its server, port, user
/// and database, and never its password (pg_dump asks for it, or reads
/// `PGPASSWORD` or `~/.pgpass`). An `sslmode` other than the default is
/// passed as `PGSSLMODE`. Fails with [`StoreError::BadUrl`] for a URL that is
/// not PostgreSQL's.
pub fn pg_dump_command(url: &str, out: &Path) -> Result<String> {
    let bad = || StoreError::BadUrl(redact_url(url));
    if !is_postgres_url(url) {
        return Err(bad());
    }
    let opts = PgConnectOptions::from_str(url).map_err(|_| bad())?;
    let mut cmd = String::new();
    let ssl = match opts.get_ssl_mode() {
        PgSslMode::Prefer => None,
        PgSslMode::Disable => Some("disable"),
        PgSslMode::Allow => Some("allow"),
        PgSslMode::Require => Some("require"),
        PgSslMode::VerifyCa => Some("verify-ca"),
        PgSslMode::VerifyFull => Some("verify-full"),
    };
    if let Some(mode) = ssl {
        cmd.push_str(&format!("PGSSLMODE={mode} "));
    }
    let host = match opts.get_socket() {
        Some(dir) => dir.display().to_string(),
        None => opts.get_host().to_string(),
    };
    cmd.push_str("pg_dump --format=custom");
    cmd.push_str(&format!(" --host={}", shell_quote(&host)));
    cmd.push_str(&format!(" --port={}", opts.get_port()));
    cmd.push_str(&format!(" --username={}", shell_quote(opts.get_username())));
    if let Some(db) = opts.get_database() {
        cmd.push_str(&format!(" --dbname={}", shell_quote(db)));
    }
    cmd.push_str(&format!(
        " --file={}",
        shell_quote(&out.display().to_string())
    ));
    Ok(cmd)
}

/// `s` as one POSIX shell word.
fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.,/:@%+=".contains(c));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pg_dump_names_the_server_but_never_the_password() {
        let cmd = pg_dump_command(
            "postgres://app:hunter2@db.internal:6543/crm?sslmode=require",
            Path::new("crm.dump"),
        )
        .unwrap();
        assert_eq!(
            cmd,
            "PGSSLMODE=require pg_dump --format=custom --host=db.internal --port=6543 \
             --username=app --dbname=crm --file=crm.dump"
        );
        let cmd = pg_dump_command(
            "postgresql://o%27brien:p%40ss@127.0.0.1/my%20crm",
            Path::new("my backup.dump"),
        )
        .unwrap();
        assert!(!cmd.contains("p@ss") && !cmd.contains("p%40ss"), "{cmd}");
        assert!(
            cmd.contains(r"--username='o'\''brien'")
                && cmd.contains("--port=5432")
                && cmd.contains("--dbname='my crm'")
                && cmd.contains("--file='my backup.dump'"),
            "{cmd}"
        );
        assert!(matches!(
            pg_dump_command("sqlite://crm.db", Path::new("x")),
            Err(StoreError::BadUrl(_))
        ));
    }

    #[tokio::test]
    async fn what_cannot_be_backed_up_is_refused_in_words() {
        let dir = tempfile_dir();
        let out = dir.join("out.db");
        let msg = |r: Result<BackupSummary>| r.unwrap_err().to_string();
        let memory = msg(backup_url("sqlite::memory:", &out).await);
        assert!(memory.contains("in-memory database"), "{memory}");
        let pg = msg(backup_url("postgres://app:hunter2@db/crm", &out).await);
        assert!(pg.contains("pg_dump") && !pg.contains("hunter2"), "{pg}");
        let missing = msg(backup_url("sqlite://no/such/file.db", &out).await);
        assert!(
            missing.contains("no SQLite database at no/such/file.db"),
            "{missing}"
        );
        assert!(!out.exists(), "nothing was written");
        let _ = std::fs::remove_dir_all(dir);
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "neuracrm-backup-unit-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
