//! The generator writes what it promises, the same way every time, on both
//! backends.

use chrono::NaiveDate;
use neuracrm_store::seed::{SeedSpec, seed};
use neuracrm_store::{Page, Sort};

use crate::harness::store;

fn spec() -> SeedSpec {
    SeedSpec {
        orgs: 2,
        contacts: 60,
        leads: 150,
        deals: 70,
        activities: 900,
        months: 18,
        seed: 11,
        anchor: NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
    }
}

/// (id, title, description, status, budget_cents)
type LeadDump = (i64, String, Option<String>, String, Option<i64>);

fn hash(p: &str) -> String {
    neuracrm_domain::password::hash(p)
}

#[tokio::test]
async fn seeding_is_deterministic_and_complete() {
    let (a, b) = (store().await, store().await);
    let ra = seed(&a.store, &spec(), &hash, |_| {}).await.unwrap();
    let rb = seed(&b.store, &spec(), &hash, |_| {}).await.unwrap();
    assert_eq!(rb.activities, ra.activities);
    assert_eq!(
        (ra.contacts, ra.leads, ra.deals, ra.activities),
        (120, 300, 140, 1_800)
    );
    assert_eq!(
        ra.organizations
            .iter()
            .map(|o| &o.admin_email)
            .collect::<Vec<_>>(),
        ["admin@org1.example", "admin@org2.example"]
    );

    // Same rows, column by column, in both databases.
    let dump = |s: &neuracrm_store::Store| {
        let db = s.db().clone();
        async move {
            let leads: Vec<LeadDump> = db
                .fetch_all(neuracrm_store::Sql::new(
                    "SELECT id, title, description, status, budget_cents FROM leads ORDER BY id",
                ))
                .await
                .unwrap();
            let acts: Vec<(i64, String, Option<i64>, chrono::DateTime<chrono::Utc>)> = db
                .fetch_all(neuracrm_store::Sql::new("SELECT lead_id, type, duration_seconds, occurred_at FROM activities ORDER BY id"))
                .await
                .unwrap();
            let deals: Vec<(i64, String, Option<chrono::DateTime<chrono::Utc>>)> = db
                .fetch_all(neuracrm_store::Sql::new(
                    "SELECT value_cents, status, closed_at FROM deals ORDER BY id",
                ))
                .await
                .unwrap();
            (leads, acts, deals)
        }
    };
    let (da, db_) = (dump(&a.store).await, dump(&b.store).await);
    assert_eq!(da, db_);
    assert_eq!(da.0.len(), 300);

    // The admin can be found and the password verifies.
    let admin = neuracrm_domain::Email::parse("admin@org2.example").unwrap();
    let creds = a.store.users().credentials(&admin).await.unwrap().unwrap();
    assert!(neuracrm_domain::password::verify(
        "neuracrm-demo",
        &creds.password_hash
    ));
    assert_eq!(creds.user.role, neuracrm_domain::Role::Admin);

    // Every org's records stay its own: org 2's leads reference org 2's contacts.
    let org2 = creds.user.organization_id;
    let leads = a
        .store
        .leads()
        .list(
            org2,
            &Default::default(),
            Sort::default(),
            Page {
                limit: 200,
                offset: 0,
            },
        )
        .await
        .unwrap();
    for l in leads.items.iter().take(20) {
        a.store
            .contacts()
            .get(org2, l.contact_id.unwrap())
            .await
            .unwrap();
    }
    // The truth curve is recorded for forecast checks.
    let settings = a.store.organizations().settings(org2).await.unwrap();
    assert_eq!(
        settings["demo"]["expected_revenue_cents"]
            .as_array()
            .unwrap()
            .len(),
        18
    );
}

#[tokio::test]
async fn seeding_again_adds_organizations() {
    let t = store().await;
    let one = SeedSpec { orgs: 1, ..spec() };
    seed(&t.store, &one, &hash, |_| {}).await.unwrap();
    let again = seed(&t.store, &one, &hash, |_| {}).await.unwrap();
    assert_eq!(again.organizations[0].admin_email, "admin@org2.example");
    assert_eq!(t.store.organizations().ids().await.unwrap().len(), 2);
    // The generated ids did not collide with the first run's.
    let (n,): (i64,) = t
        .store
        .db()
        .fetch_one(neuracrm_store::Sql::new(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM leads",
        ))
        .await
        .unwrap();
    assert_eq!(n, 300);
}

/// A bulk load into an empty database (50,000 leads or more) turns the
/// stored-metrics triggers off and puts them back: after it, the stored
/// metrics of the seeded organization are computed in full on the first
/// read, and a later write marks its contact stale again.
#[tokio::test]
async fn a_bulk_seed_puts_the_metric_triggers_back() {
    use neuracrm_store::Sql;
    use neuracrm_store::segments::Scope;
    let s = store().await;
    let bulk = SeedSpec {
        orgs: 1,
        contacts: 300,
        leads: 50_000,
        deals: 100,
        activities: 2_000,
        ..spec()
    };
    seed(&s.store, &bulk, &hash, |_| {}).await.unwrap();
    let org = neuracrm_domain::OrgId(1);
    let now = chrono::Utc::now();
    let synced = s.store.segments().sync(org, now, true).await.unwrap();
    assert!(synced.full && synced.recomputed == 300, "{synced:?}");
    let before = s
        .store
        .segments()
        .metrics(org, Scope::All, now)
        .await
        .unwrap();
    let (contact,): (i64,) = s
        .store
        .db()
        .fetch_one(Sql::new(
            "SELECT MIN(id) FROM contacts WHERE organization_id = 1",
        ))
        .await
        .unwrap();
    s.store
        .db()
        .execute(
            Sql::new(
                "INSERT INTO activities (organization_id, type, contact_id, occurred_at, created_at) \
                 VALUES (1, 'note', $1, $2, $2)",
            )
            .arg(contact)
            .arg(now),
        )
        .await
        .unwrap();
    let synced = s.store.segments().sync(org, now, true).await.unwrap();
    assert_eq!(
        (synced.recomputed, synced.full),
        (1, false),
        "the trigger marked it"
    );
    let after = s
        .store
        .segments()
        .metrics(org, Scope::All, now)
        .await
        .unwrap();
    let find = |all: &[neuracrm_store::segments::ContactMetrics]| {
        all.iter()
            .find(|m| m.contact_id == contact)
            .unwrap()
            .total_activities
    };
    assert_eq!(find(&after), find(&before) + 1);
}
