//! Opening a SQLite database that an older version left behind: the pending
//! migrations apply, and the planner gets statistics for what they added
//! (without them SQLite took a new index of migration 0016 for the 1M-lead
//! list and sorted every lead). SQLite files only, whatever the backend
//! under test: PostgreSQL gathers its statistics itself (autovacuum).

use neuracrm_domain::{Cents, DealStage, NewContact, NewDeal};
use neuracrm_store::{ConnectOptions, Sql, Store};

async fn stat_rows(store: &Store, index: &str) -> i64 {
    let (n,): (i64,) = store
        .db()
        .fetch_one(
            Sql::new("SELECT CAST(COUNT(*) AS BIGINT) FROM sqlite_stat1 WHERE idx = $1")
                .arg(index.to_string()),
        )
        .await
        .unwrap();
    n
}

#[tokio::test]
async fn an_upgrade_that_adds_indexes_gathers_their_statistics() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("old.db").display());
    let store = Store::open(&url, &ConnectOptions::default()).await.unwrap();
    let org = store.organizations().create("Acme").await.unwrap();
    for i in 0..30 {
        let new = NewContact {
            first_name: format!("Person {i}"),
            ..Default::default()
        };
        store.contacts().create(org.id, None, &new).await.unwrap();
        let deal = NewDeal {
            contact_id: None,
            lead_id: None,
            owner_id: None,
            title: format!("Deal {i}"),
            value_cents: Cents::new(100 * i).unwrap(),
            stage: DealStage::Proposal,
            expected_close: None,
            closed_at: None,
        };
        store.deals().create(org.id, None, &deal).await.unwrap();
    }
    // Opened again with nothing pending: no statistics are gathered (a
    // fresh database has none, and nothing changed).
    drop(store);
    let store = Store::open(&url, &ConnectOptions::default()).await.unwrap();
    let has_stat1: Vec<(String,)> = store
        .db()
        .fetch_all(Sql::new(
            "SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'",
        ))
        .await
        .unwrap();
    assert!(has_stat1.is_empty(), "no ANALYZE without a migration");
    // As an older version left it: the last migration not applied.
    for sql in [
        "DROP INDEX deals_org_status_stage",
        "DROP INDEX deals_org_stage_closed",
        "DROP INDEX deals_org_stage_value",
        "DELETE FROM _sqlx_migrations WHERE version = 19",
    ] {
        store.db().execute(Sql::new(sql)).await.unwrap();
    }
    drop(store);
    let store = Store::open(&url, &ConnectOptions::default()).await.unwrap();
    assert_eq!(
        stat_rows(&store, "deals_org_status_stage").await,
        1,
        "the new index"
    );
    assert_eq!(
        stat_rows(&store, "contacts_org_created").await,
        1,
        "and the others"
    );
}
