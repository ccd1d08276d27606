//! `spawn_app`: a server on port 0 over a fresh database.

use neuracrm_server::{App, Settings};
use neuracrm_store::{ConnectOptions, Store};

pub struct TestApp {
    pub address: String,
    pub store: Store,
    pub client: reqwest::Client,
    _dir: Option<tempfile::TempDir>,
}

pub async fn fresh_store() -> (Store, String, Option<tempfile::TempDir>) {
    match std::env::var("NEURACRM_TEST_POSTGRES_URL")
        .ok()
        .filter(|s| !s.is_empty())
    {
        Some(url) => {
            let schema = format!(
                "api_{}_{}",
                std::process::id(),
                chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0) % 1_000_000_000_000
            );
            let admin = neuracrm_store::Db::connect(
                &url,
                &ConnectOptions {
                    max_connections: 1,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
            admin
                .execute(neuracrm_store::Sql::new(&format!("CREATE SCHEMA {schema}")))
                .await
                .unwrap();
            admin.close().await;
            let opts = ConnectOptions {
                max_connections: 4,
                pg_schema: Some(schema),
                ..Default::default()
            };
            (Store::open(&url, &opts).await.unwrap(), url, None)
        }
        None => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("api.db").display());
            (
                Store::open(&url, &ConnectOptions::default()).await.unwrap(),
                url,
                Some(dir),
            )
        }
    }
}

pub async fn spawn_app() -> TestApp {
    let (store, url, dir) = fresh_store().await;
    let app = App::build(Settings::for_database(&url), store.clone())
        .await
        .unwrap();
    let address = format!("http://{}", app.local_addr().unwrap());
    tokio::spawn(app.run_until(std::future::pending()));
    TestApp {
        address,
        store,
        client: reqwest::Client::new(),
        _dir: dir,
    }
}
