//! Test support (feature `testing`): a fresh, migrated store per test, on the
//! backend under test. With `NEURACRM_TEST_POSTGRES_URL` set, each store lives
//! in a new PostgreSQL schema; otherwise in a new SQLite file.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::{ConnectOptions, Db, Sql, Store};

/// A store and what keeps its database alive.
pub struct TestStore {
    /// The store.
    pub store: Store,
    /// The URL it was opened with.
    pub url: String,
    /// The PostgreSQL schema, when on PostgreSQL.
    pub pg_schema: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Test schemas older than this are leftovers of finished runs.
const STALE_AFTER_SECS: i64 = 2 * 3600;

static STALE_DROPPED: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();

/// Drops the schemas earlier test runs left behind (a test cannot drop its
/// own when it ends: `Drop` cannot await, and blocking there deadlocks with
/// the pool's pending rollbacks). Once per process, best effort: a schema
/// still locked, or dropped by another process meanwhile, is skipped.
async fn drop_stale_schemas(admin: &Db) {
    let Ok(names) = admin
        .fetch_all::<(String,)>(Sql::new(
            "SELECT nspname::TEXT FROM pg_namespace WHERE nspname LIKE 'tt%'",
        ))
        .await
    else {
        return;
    };
    let cut = chrono::Utc::now().timestamp() - STALE_AFTER_SECS;
    let _ = admin.execute(Sql::new("SET lock_timeout = '2s'")).await;
    for (name,) in names {
        if is_stale(&name, cut) {
            let _ = admin
                .execute(Sql::new(&format!("DROP SCHEMA IF EXISTS {name} CASCADE")))
                .await;
        }
    }
}

/// Whether `name` is a test schema created before `cut` (unix seconds).
fn is_stale(name: &str, cut: i64) -> bool {
    let Some(rest) = name.strip_prefix("tt") else {
        return false;
    };
    let mut parts = rest.split('_');
    let (Some(secs), Some(pid), Some(n), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(pid) && digits(n) && secs.parse::<i64>().is_ok_and(|t| t < cut)
}

/// The PostgreSQL URL under test, if any.
pub fn postgres_url() -> Option<String> {
    std::env::var("NEURACRM_TEST_POSTGRES_URL")
        .ok()
        .filter(|s| !s.is_empty())
}

/// A migrated, empty store. Panics (failing the test) when the backend under
/// test is unreachable: a test never silently falls back to another backend.
pub async fn fresh_store() -> TestStore {
    match postgres_url() {
        Some(url) => {
            // `tt<unix seconds>_<pid>_<n>`: the time in the name lets a
            // later run tell a leftover schema from one in use.
            let schema = format!(
                "tt{}_{}_{}",
                chrono::Utc::now().timestamp(),
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed),
            );
            let admin = Db::connect(
                &url,
                &ConnectOptions {
                    max_connections: 1,
                    ..Default::default()
                },
            )
            .await
            .expect("NEURACRM_TEST_POSTGRES_URL is set but PostgreSQL is unreachable");
            STALE_DROPPED
                .get_or_init(|| drop_stale_schemas(&admin))
                .await;
            admin
                .execute(Sql::new(&format!("CREATE SCHEMA {schema}")))
                .await
                .expect("creating a test schema");
            admin.close().await;
            let opts = ConnectOptions {
                max_connections: 4,
                pg_schema: Some(schema.clone()),
                ..Default::default()
            };
            let store = Store::open(&url, &opts)
                .await
                .expect("opening the test schema");
            TestStore {
                store,
                url,
                pg_schema: Some(schema),
                _dir: None,
            }
        }
        None => {
            let dir = tempfile::tempdir().expect("a temporary directory");
            let url = format!("sqlite://{}", dir.path().join("test.db").display());
            let store = Store::open(&url, &ConnectOptions::default())
                .await
                .expect("opening a test database");
            TestStore {
                store,
                url,
                pg_schema: None,
                _dir: Some(dir),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_stale;

    #[test]
    fn only_old_test_schemas_are_stale() {
        assert!(is_stale("tt1000_42_0", 2000));
        assert!(!is_stale("tt3000_42_0", 2000), "too recent");
        assert!(!is_stale("tt1000_42", 2000), "not our shape");
        assert!(!is_stale("tt1000_42_0_x", 2000));
        assert!(!is_stale("public", 2000));
        assert!(!is_stale("ttx_1_2", 2000));
        assert!(!is_stale("t_123_4_5", 2000), "the old naming is left alone");
    }
}
