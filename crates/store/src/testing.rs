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
            let schema = format!(
                "t_{}_{}_{}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed),
                chrono::Utc::now().timestamp_micros() % 1_000_000
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
