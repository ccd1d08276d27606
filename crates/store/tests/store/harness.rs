//! Opens a fresh store on the backend under test.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use neuracrm_store::{ConnectOptions, Store};

/// Keeps the store's backing resources alive for the test.
pub struct TestDb {
    pub store: Store,
    _dir: Option<tempfile::TempDir>,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

pub fn postgres_url() -> Option<String> {
    std::env::var("NEURACRM_TEST_POSTGRES_URL")
        .ok()
        .filter(|s| !s.is_empty())
}

/// A migrated, empty store.
pub async fn store() -> TestDb {
    match postgres_url() {
        Some(url) => {
            let schema = format!(
                "t_{}_{}_{}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed),
                chrono::Utc::now().timestamp_micros() % 1_000_000
            );
            let admin = neuracrm_store::Db::connect(
                &url,
                &ConnectOptions {
                    max_connections: 1,
                    ..Default::default()
                },
            )
            .await
            .expect("NEURACRM_TEST_POSTGRES_URL is set but PostgreSQL is unreachable");
            admin
                .execute(neuracrm_store::Sql::new(&format!("CREATE SCHEMA {schema}")))
                .await
                .unwrap();
            admin.close().await;
            let opts = ConnectOptions {
                max_connections: 4,
                pg_schema: Some(schema.clone()),
                ..Default::default()
            };
            let store = Store::open(&url, &opts).await.unwrap();
            TestDb { store, _dir: None }
        }
        None => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("crm.db").display());
            let store = Store::open(&url, &ConnectOptions::default()).await.unwrap();
            TestDb {
                store,
                _dir: Some(dir),
            }
        }
    }
}

/// Says, outside the test harness's capture, which backend was not tested.
#[test]
fn backend_under_test_is_reported() {
    let mut err = std::io::stderr();
    match postgres_url() {
        Some(_) => {
            let _ = writeln!(err, "neuracrm-store: story tests ran on PostgreSQL");
        }
        None => {
            let _ = writeln!(
                err,
                "neuracrm-store: PostgreSQL was NOT tested (set NEURACRM_TEST_POSTGRES_URL); story tests ran on SQLite"
            );
        }
    }
}
