//! Stored buying-intent answers: reads mark them used (at most once a day),
//! and the prune deletes those unused since a cutoff, one organization's or
//! all, never another organization's.

use chrono::{DateTime, Duration, Utc};
use neuracrm_domain::OrgId;
use neuracrm_store::intent_cache::IntentWrite;
use neuracrm_store::{ConnectOptions, Db, Sql, Store};

use crate::harness::{postgres_url, store};

fn key(c: char) -> String {
    c.to_string().repeat(64)
}

fn answer(c: char) -> IntentWrite {
    IntentWrite {
        key: key(c),
        intent: 4.0,
        source: "llm",
    }
}

/// Half a second past the minute: the times compared below differ in their
/// fractions, which SQLite compares as text.
fn t0() -> DateTime<Utc> {
    "2026-11-01T10:00:00.5Z".parse().unwrap()
}

/// The stored `used_at` of `org`'s answer for `k`, read without marking it.
async fn used_at(s: &Store, org: OrgId, k: &str) -> Option<DateTime<Utc>> {
    s.db()
        .fetch_optional::<(DateTime<Utc>,)>(
            Sql::new(
                "SELECT used_at FROM intent_cache WHERE organization_id = $1 AND cache_key = $2",
            )
            .arg(org)
            .arg(k),
        )
        .await
        .unwrap()
        .map(|(t,)| t)
}

#[tokio::test]
async fn a_read_marks_the_answer_used_and_rewrites_it_at_most_once_a_day() {
    let t = store().await;
    let s = &t.store;
    let cache = s.intent_cache();
    let org = s.organizations().create("Acme").await.unwrap().id;
    cache
        .put_many(org, &[answer('a'), answer('b')], t0())
        .await
        .unwrap();
    assert_eq!(
        used_at(s, org, &key('a')).await,
        Some(t0()),
        "a write is a use"
    );

    // Within the day: served, not rewritten.
    let soon = t0() + Duration::hours(23);
    let hit = cache.get(org, &key('a'), soon).await.unwrap().unwrap();
    assert_eq!((hit.intent, hit.answered_at), (4.0, t0()));
    assert_eq!(used_at(s, org, &key('a')).await, Some(t0()));

    // A day later: marked at the time of the read.
    let later = t0() + Duration::days(2);
    cache.get(org, &key('a'), later).await.unwrap().unwrap();
    assert_eq!(used_at(s, org, &key('a')).await, Some(later));
    assert_eq!(used_at(s, org, &key('b')).await, Some(t0()), "not read");
    cache
        .get(org, &key('a'), later + Duration::hours(23))
        .await
        .unwrap();
    assert_eq!(used_at(s, org, &key('a')).await, Some(later));

    // A batch read: every hit due is marked, a key without an answer is
    // simply absent, and an answer marked within the day stays as it was.
    let batch = t0() + Duration::days(2) + Duration::hours(12);
    let found = cache
        .get_many(org, &[key('a'), key('b'), key('c')], batch)
        .await
        .unwrap();
    let mut keys: Vec<&String> = found.keys().collect();
    keys.sort();
    assert_eq!(keys, [&key('a'), &key('b')]);
    assert_eq!(used_at(s, org, &key('a')).await, Some(later));
    assert_eq!(used_at(s, org, &key('b')).await, Some(batch));

    // Writing an answer again is a use too.
    let rewrite = t0() + Duration::days(5);
    cache.put_many(org, &[answer('b')], rewrite).await.unwrap();
    assert_eq!(used_at(s, org, &key('b')).await, Some(rewrite));

    // A read with an earlier clock (another instance's) never moves it back.
    cache.get(org, &key('b'), t0()).await.unwrap().unwrap();
    assert_eq!(used_at(s, org, &key('b')).await, Some(rewrite));
}

#[tokio::test]
async fn mark_used_moves_only_the_answers_due_and_only_the_organizations_own() {
    let t = store().await;
    let s = &t.store;
    let cache = s.intent_cache();
    let org = s.organizations().create("Acme").await.unwrap().id;
    let other = s.organizations().create("Other").await.unwrap().id;
    cache
        .put_many(org, &[answer('a'), answer('b')], t0())
        .await
        .unwrap();
    cache.put_many(other, &[answer('a')], t0()).await.unwrap();
    let fresh = t0() + Duration::days(3);
    cache.put_many(org, &[answer('b')], fresh).await.unwrap();

    let now = t0() + Duration::days(3) + Duration::hours(1);
    let (a, b) = (key('a'), key('b'));
    let marked = cache.mark_used(org, &[&a, &b], now).await.unwrap();
    assert_eq!(marked, 1, "b was used within the day");
    assert_eq!(used_at(s, org, &a).await, Some(now));
    assert_eq!(used_at(s, org, &b).await, Some(fresh));
    assert_eq!(
        used_at(s, other, &a).await,
        Some(t0()),
        "not theirs to mark"
    );
}

#[tokio::test]
async fn the_prune_deletes_answers_unused_since_the_cutoff_and_keeps_those_read_since() {
    let t = store().await;
    let s = &t.store;
    let cache = s.intent_cache();
    let org = s.organizations().create("Acme").await.unwrap().id;
    // All three answered at the same time; only the use differs.
    cache
        .put_many(org, &[answer('a'), answer('b'), answer('c')], t0())
        .await
        .unwrap();
    let read = t0() + Duration::days(20);
    cache.get(org, &key('a'), read).await.unwrap().unwrap();
    cache
        .get_many(org, &[key('b')], read + Duration::milliseconds(1))
        .await
        .unwrap();

    // The cutoff is exclusive, to the millisecond.
    assert_eq!(cache.prune_unused(Some(org), t0()).await.unwrap(), 0);
    let cutoff = t0() + Duration::milliseconds(1);
    assert_eq!(cache.prune_unused(Some(org), cutoff).await.unwrap(), 1);
    assert_eq!(cache.count(org).await.unwrap(), 2);
    assert_eq!(used_at(s, org, &key('c')).await, None, "unused: deleted");
    let hit = cache.get(org, &key('a'), read).await.unwrap();
    assert!(hit.is_some(), "read since the cutoff: kept");

    // A whole-second cutoff after a fractional `used_at` (SQLite's text).
    let whole: DateTime<Utc> = "2026-11-21T10:00:01Z".parse().unwrap();
    assert_eq!(cache.prune_unused(Some(org), whole).await.unwrap(), 2);
    assert_eq!(cache.count(org).await.unwrap(), 0);
}

#[tokio::test]
async fn a_prune_of_one_organization_never_deletes_another_organizations_answers() {
    let t = store().await;
    let s = &t.store;
    let cache = s.intent_cache();
    let mine = s.organizations().create("Mine").await.unwrap().id;
    let theirs = s.organizations().create("Theirs").await.unwrap().id;
    // The same text, so the same key, unused by both for as long.
    cache
        .put_many(mine, &[answer('a'), answer('b')], t0())
        .await
        .unwrap();
    cache
        .put_many(theirs, &[answer('a'), answer('c')], t0())
        .await
        .unwrap();
    let cutoff = t0() + Duration::days(30);

    assert_eq!(cache.prune_unused(Some(mine), cutoff).await.unwrap(), 2);
    assert_eq!(cache.count(mine).await.unwrap(), 0);
    assert_eq!(cache.count(theirs).await.unwrap(), 2, "theirs untouched");

    // Every organization at once.
    cache.put_many(mine, &[answer('d')], t0()).await.unwrap();
    let kept = t0() + Duration::days(31);
    cache.put_many(theirs, &[answer('e')], kept).await.unwrap();
    assert_eq!(cache.prune_unused(None, cutoff).await.unwrap(), 3);
    assert_eq!(cache.count(mine).await.unwrap(), 0);
    assert_eq!(cache.count(theirs).await.unwrap(), 1);
    assert_eq!(used_at(s, theirs, &key('e')).await, Some(kept));
}

#[tokio::test]
async fn a_prune_larger_than_one_sqlite_delete_removes_every_row_due() {
    let t = store().await;
    let s = &t.store;
    let cache = s.intent_cache();
    let org = s.organizations().create("Acme").await.unwrap().id;
    // More than the 10,000 rows of one delete on SQLite.
    let rows: Vec<IntentWrite> = (0..10_050)
        .map(|i| IntentWrite {
            key: format!("{i:064x}"),
            intent: 1.0,
            source: "llm",
        })
        .collect();
    cache.put_many(org, &rows, t0()).await.unwrap();
    cache
        .put_many(org, &[answer('a')], t0() + Duration::days(40))
        .await
        .unwrap();
    let deleted = cache
        .prune_unused(None, t0() + Duration::days(30))
        .await
        .unwrap();
    assert_eq!(deleted, 10_050);
    assert_eq!(cache.count(org).await.unwrap(), 1);
}

/// A database with the migrations before `0009_intent_cache_used_at` applied
/// (and what keeps it alive): a SQLite file, or a new PostgreSQL schema.
async fn before_used_at() -> (Db, Option<tempfile::TempDir>) {
    const BEFORE: i64 = 8;
    match postgres_url() {
        Some(url) => {
            let admin = Db::connect(&url, &ConnectOptions::default()).await.unwrap();
            // The shape `testing` gives its schemas, so a leftover is dropped
            // by a later run.
            let schema = format!(
                "tt{}_{}_{}",
                Utc::now().timestamp(),
                std::process::id(),
                900_000 + Utc::now().timestamp_subsec_micros()
            );
            admin
                .execute(Sql::new(&format!("CREATE SCHEMA {schema}")))
                .await
                .unwrap();
            admin.close().await;
            let opts = ConnectOptions {
                pg_schema: Some(schema),
                ..Default::default()
            };
            let db = Db::connect(&url, &opts).await.unwrap();
            let Db::Postgres(pool) = &db else {
                unreachable!()
            };
            sqlx::migrate!("./migrations/postgres")
                .run_to(BEFORE, pool)
                .await
                .unwrap();
            (db, None)
        }
        None => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("old.db").display());
            let db = Db::connect(&url, &ConnectOptions::default()).await.unwrap();
            let Db::Sqlite { write, .. } = &db else {
                unreachable!()
            };
            sqlx::migrate!("./migrations/sqlite")
                .run_to(BEFORE, write)
                .await
                .unwrap();
            (db, Some(dir))
        }
    }
}

/// The upgrade must not make old answers of unchanged leads look unused: a
/// lead scored just before it is not reread for up to 7 days, so an answer
/// counted as last used at `answered_at` would be pruned before any batch
/// marked it.
#[tokio::test]
async fn answers_stored_before_the_upgrade_count_as_used_at_the_upgrade() {
    let (db, _dir) = before_used_at().await;
    let answered: DateTime<Utc> = "2025-01-01T00:00:00Z".parse().unwrap();
    db.execute(
        Sql::new("INSERT INTO organizations (id, name, settings, created_at) VALUES (7, 'Old', '{}', $1)")
            .arg(answered),
    )
    .await
    .unwrap();
    db.execute(
        Sql::new(
            "INSERT INTO intent_cache (organization_id, cache_key, intent, source, answered_at) \
             VALUES (7, $1, 3.5, 'llm', $2)",
        )
        .arg(key('a'))
        .arg(answered),
    )
    .await
    .unwrap();
    let before = Utc::now() - Duration::seconds(1);
    db.migrate().await.unwrap();
    let s = Store::from_db(db);
    let org = OrgId(7);

    let used = used_at(&s, org, &key('a'))
        .await
        .expect("the answer is kept");
    assert!(
        used >= before && used <= Utc::now() + Duration::seconds(1),
        "{used}"
    );
    let cache = s.intent_cache();
    // A prune of the usual retention right after the upgrade keeps it.
    let deleted = cache
        .prune_unused(None, Utc::now() - Duration::days(30))
        .await
        .unwrap();
    assert_eq!(deleted, 0);
    let hit = cache
        .get(org, &key('a'), Utc::now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (hit.intent, hit.source.as_str(), hit.answered_at),
        (3.5, "llm", answered)
    );
    // The rebuilt SQLite table keeps its constraints.
    let bad = s
        .db()
        .execute(
            Sql::new(
                "INSERT INTO intent_cache (organization_id, cache_key, intent, source, answered_at, used_at) \
                 VALUES (7, $1, 9, 'llm', $2, $2)",
            )
            .arg(key('b'))
            .arg(answered),
        )
        .await;
    assert!(bad.is_err(), "intent above 5 is refused");
    // And a row written without `used_at` (an instance still on the
    // previous release, during a rolling upgrade) counts as used now.
    s.db()
        .execute(
            Sql::new(
                "INSERT INTO intent_cache (organization_id, cache_key, intent, source, answered_at) \
                 VALUES (7, $1, 2, 'llm', $2)",
            )
            .arg(key('c'))
            .arg(answered),
        )
        .await
        .unwrap();
    let used = used_at(&s, org, &key('c')).await.unwrap();
    assert!(used >= before, "{used}");
}
