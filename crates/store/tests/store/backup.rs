//! Online backups (`Db::backup_to`): a copy taken while another task keeps
//! writing is a valid database holding a consistent state. Backups copy
//! SQLite only, so these tests use a SQLite file whatever the backend under
//! test; on PostgreSQL the refusal is tested.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use chrono::NaiveDate;
use neuracrm_domain::{NewContact, OrgId};
use neuracrm_store::seed::{SeedSpec, seed};
use neuracrm_store::{ConnectOptions, Db, Sql, Store, StoreError};

use crate::harness::{postgres_url, store};

async fn count(db: &Db, sql: &str) -> i64 {
    let (n,): (i64,) = db.fetch_one(Sql::new(sql)).await.unwrap();
    n
}

/// Every table and index, by type and name.
async fn schema(db: &Db) -> Vec<(String, String)> {
    db.fetch_all(Sql::new(
        "SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name",
    ))
    .await
    .unwrap()
}

/// The row count of every table.
async fn row_counts(db: &Db) -> Vec<(String, i64)> {
    let mut counts = Vec::new();
    for (kind, name) in schema(db).await {
        if kind == "table" {
            let n = count(
                db,
                &format!("SELECT CAST(COUNT(*) AS BIGINT) FROM \"{name}\""),
            )
            .await;
            counts.push((name, n));
        }
    }
    counts
}

/// Opens a copy as the server would (migrations recognised, none pending)
/// and checks that SQLite finds it sound.
async fn open_copy(path: &Path) -> Store {
    let url = format!("sqlite://{}", path.display());
    let copy = Store::open(&url, &ConnectOptions::default())
        .await
        .expect("the copy opens and its migrations are recognised");
    let check: Vec<(String,)> = copy
        .db()
        .fetch_all(Sql::new("PRAGMA integrity_check"))
        .await
        .unwrap();
    assert_eq!(check, [("ok".to_string(),)], "{}", path.display());
    copy
}

const WRITER_CONTACTS: &str =
    "SELECT CAST(COUNT(*) AS BIGINT) FROM contacts WHERE first_name LIKE 'Writer %'";
const CONTACT_CREATES: &str = "SELECT CAST(COUNT(*) AS BIGINT) FROM audit_log \
     WHERE entity = 'contact' AND action = 'create'";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_taken_while_writing_is_consistent_and_complete() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("live.db").display());
    let source = Store::open(&url, &ConnectOptions::default()).await.unwrap();
    // Enough rows that a copy takes a while (a few MB).
    let spec = SeedSpec {
        orgs: 2,
        contacts: 300,
        leads: 600,
        deals: 200,
        activities: 15_000,
        months: 12,
        seed: 3,
        anchor: NaiveDate::from_ymd_opt(2026, 6, 1).unwrap(),
    };
    seed(&source, &spec, &|_: &str| "not-a-hash".to_string(), |_| {})
        .await
        .unwrap();
    let db = source.db();
    let audit_before = count(db, CONTACT_CREATES).await;

    // One task keeps creating contacts, each with its audit entry in the same
    // transaction: in a consistent copy, both counts moved together.
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    let writer = tokio::spawn({
        let (store, stop, written) = (source.clone(), stop.clone(), written.clone());
        async move {
            while !stop.load(Ordering::Relaxed) {
                let n = written.load(Ordering::Relaxed);
                let new = NewContact {
                    first_name: format!("Writer {n}"),
                    company: Some("Backup Test Ltd".into()),
                    ..Default::default()
                };
                store.contacts().create(OrgId(1), None, &new).await.unwrap();
                written.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    while written.load(Ordering::Relaxed) < 20 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }

    // Copies until one was taken while rows were being written (the first,
    // almost always), checking every copy.
    let mut overlapped = false;
    for attempt in 0..10 {
        let before = count(db, WRITER_CONTACTS).await;
        let path = dir.path().join(format!("during-{attempt}.db"));
        let summary = db.backup_to(&path).await.unwrap();
        let after = count(db, WRITER_CONTACTS).await;
        assert_eq!(summary.path, path);
        assert_eq!(summary.bytes, std::fs::metadata(&path).unwrap().len());

        let copy = open_copy(&path).await;
        assert_eq!(
            schema(copy.db()).await,
            schema(db).await,
            "every table and index"
        );
        let in_copy = count(copy.db(), WRITER_CONTACTS).await;
        assert!(
            (before..=after).contains(&in_copy),
            "{before} <= {in_copy} <= {after}"
        );
        assert_eq!(
            count(copy.db(), CONTACT_CREATES).await - audit_before,
            in_copy,
            "each contact in the copy has its audit entry, and no entry is without its contact"
        );
        copy.db().close().await;
        if after > before {
            overlapped = true;
            break;
        }
    }
    assert!(overlapped, "no copy was taken while the writer wrote");

    // Writes paused: the copy holds exactly what the source holds.
    stop.store(true, Ordering::Relaxed);
    writer.await.unwrap();
    let path = dir.path().join("paused.db");
    db.backup_to(&path).await.unwrap();
    let copy = open_copy(&path).await;
    let (source_counts, copy_counts) = (row_counts(db).await, row_counts(copy.db()).await);
    assert_eq!(copy_counts, source_counts);
    for table in [
        "organizations",
        "users",
        "contacts",
        "leads",
        "deals",
        "activities",
        "audit_log",
    ] {
        assert!(
            copy_counts.iter().any(|(t, n)| t == table && *n > 0),
            "{table}: {copy_counts:?}"
        );
    }
    copy.db().close().await;

    // An existing file is never overwritten.
    let before = std::fs::read(&path).unwrap();
    let err = db.backup_to(&path).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::BackupTargetExists { path: p } if *p == path),
        "{err}"
    );
    assert!(err.to_string().contains("already exists"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before, "left as it was");
    source.db().close().await;
}

#[tokio::test]
async fn a_failed_backup_leaves_no_file() {
    let t = store().await;
    if t.store.db().backend() != neuracrm_store::Backend::Sqlite {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("no-such-dir").join("copy.db");
    let err = t.store.db().backup_to(&out).await.unwrap_err();
    assert!(err.to_string().contains("cannot create"), "{err}");
    assert!(!out.exists());
}

#[tokio::test]
async fn postgres_is_backed_up_with_pg_dump() {
    if postgres_url().is_none() {
        return;
    }
    let t = store().await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("copy.db");
    let err = t.store.db().backup_to(&out).await.unwrap_err();
    assert!(err.to_string().contains("pg_dump"), "{err}");
    assert!(!out.exists());
}
