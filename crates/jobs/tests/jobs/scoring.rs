use chrono::{Duration, NaiveDate, Utc};
use neuracrm_domain::{ActivityType, LeadId, NewActivity, OrgId};
use neuracrm_jobs::scoring::{ScoreChange, ScoreOptions, ScoreSink, score_leads, score_one};
use neuracrm_store::seed::{SeedSpec, seed};
use neuracrm_store::testing::fresh_store;
use neuracrm_store::{Backend, Sql};

fn spec(leads: u32, deals: u32, activities: u64) -> SeedSpec {
    SeedSpec {
        orgs: 1,
        contacts: leads / 2,
        leads,
        deals,
        activities,
        months: 24,
        seed: 3,
        anchor: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
    }
}

fn hash(_: &str) -> String {
    "not-a-real-hash".into()
}

async fn count(store: &neuracrm_store::Store, sql: &'static str) -> i64 {
    let (n,): (i64,) = store.db().fetch_one(Sql::new(sql)).await.unwrap();
    n
}

#[tokio::test]
async fn scores_what_is_stale_and_only_that() {
    let t = fresh_store().await;
    let s = &t.store;
    seed(s, &spec(300, 100, 3_000), &hash, |_| {})
        .await
        .unwrap();
    let opts = ScoreOptions {
        chunk: 64,
        ..Default::default()
    };

    let first = score_leads(s, &opts, |_| {}).await.unwrap();
    assert_eq!(
        (first.total_processed, first.successful, first.failed),
        (300, 300, 0)
    );
    assert_eq!(
        count(
            s,
            "SELECT CAST(COUNT(*) AS BIGINT) FROM leads WHERE score IS NULL"
        )
        .await,
        0
    );
    assert_eq!(
        count(s, "SELECT CAST(COUNT(*) AS BIGINT) FROM lead_score_history").await,
        300
    );

    // Nothing changed: nothing to do.
    let second = score_leads(s, &opts, |_| {}).await.unwrap();
    assert_eq!(second.total_processed, 0);

    // A new activity makes its lead stale.
    let org = OrgId(1);
    let lead = LeadId(7);
    s.activities()
        .create(
            org,
            None,
            &NewActivity {
                kind: ActivityType::EmailClick,
                lead_id: Some(lead),
                deal_id: None,
                contact_id: None,
                user_id: None,
                subject: None,
                body: None,
                duration_seconds: None,
                occurred_at: None,
            },
        )
        .await
        .unwrap();
    let opts_later = ScoreOptions {
        now: Utc::now() + Duration::seconds(1),
        ..opts.clone()
    };
    let third = score_leads(s, &opts_later, |_| {}).await.unwrap();
    assert_eq!(third.total_processed, 1);

    // --all rescores everything; unchanged scores do not grow the history.
    let all = score_leads(
        s,
        &ScoreOptions {
            all: true,
            ..opts_later
        },
        |_| {},
    )
    .await
    .unwrap();
    assert_eq!(all.total_processed, 300);
    assert!(count(s, "SELECT CAST(COUNT(*) AS BIGINT) FROM lead_score_history").await <= 302);

    // The stored breakdown explains the score.
    let l = s.leads().get(org, lead).await.unwrap();
    let factors = rendered(&l);
    assert_eq!(factors["factors"].as_array().unwrap().len(), 7);
    let sum: f64 = factors["factors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["points"].as_f64().unwrap())
        .sum();
    assert!(
        (sum - l.score.unwrap()).abs() < 0.01,
        "{sum} vs {:?}",
        l.score
    );
    assert!(["hot", "warm", "lukewarm", "cold"].contains(&l.score_category.as_deref().unwrap()));
}

#[tokio::test]
async fn one_failing_lead_never_stops_the_batch() {
    let t = fresh_store().await;
    let s = &t.store;
    seed(s, &spec(200, 50, 1_000), &hash, |_| {}).await.unwrap();
    // Make storing a score fail for lead 42 only, on either backend.
    match s.db().backend() {
        Backend::Sqlite => s
            .db()
            .execute(Sql::new(
                "CREATE TRIGGER refuse_42 BEFORE UPDATE OF score ON leads WHEN NEW.id = 42 \
                 BEGIN SELECT RAISE(ABORT, 'refused'); END",
            ))
            .await
            .unwrap(),
        Backend::Postgres => s
            .db()
            .execute(Sql::new(
                "ALTER TABLE leads ADD CONSTRAINT refuse_42 CHECK (id <> 42 OR score IS NULL)",
            ))
            .await
            .unwrap(),
    };
    let r = score_leads(
        s,
        &ScoreOptions {
            chunk: 50,
            ..Default::default()
        },
        |_| {},
    )
    .await
    .unwrap();
    assert_eq!((r.total_processed, r.successful, r.failed), (200, 199, 1));
    assert_eq!(
        count(
            s,
            "SELECT CAST(COUNT(*) AS BIGINT) FROM leads WHERE score IS NULL"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn the_score_separates_won_from_lost_on_generated_data() {
    // The generator draws outcomes from the lead's features; the score must
    // rank won deals' leads above lost ones' (ROC AUC), clearly above chance.
    let t = fresh_store().await;
    let s = &t.store;
    seed(s, &spec(3_000, 2_000, 30_000), &hash, |_| {})
        .await
        .unwrap();
    score_leads(s, &ScoreOptions::default(), |_| {})
        .await
        .unwrap();
    let rows: Vec<(f64, String)> = s
        .db()
        .fetch_all(Sql::new(
            "SELECT l.score, d.status FROM deals d JOIN leads l ON l.id = d.lead_id \
             WHERE d.status IN ('won', 'lost')",
        ))
        .await
        .unwrap();
    let won: Vec<f64> = rows.iter().filter(|r| r.1 == "won").map(|r| r.0).collect();
    let lost: Vec<f64> = rows.iter().filter(|r| r.1 == "lost").map(|r| r.0).collect();
    assert!(
        won.len() > 100 && lost.len() > 100,
        "{} won, {} lost",
        won.len(),
        lost.len()
    );
    let mut wins = 0.0;
    for w in &won {
        for l in &lost {
            wins += if w > l {
                1.0
            } else if w == l {
                0.5
            } else {
                0.0
            };
        }
    }
    let auc = wins / (won.len() * lost.len()) as f64;
    assert!(auc > 0.65, "ROC AUC {auc:.3}");
}

/// Collects what a batch reports.
#[derive(Default)]
struct Collect {
    read: u64,
    changes: Vec<(OrgId, ScoreChange)>,
}

impl ScoreSink for &mut Collect {
    fn progress(&mut self, leads: u64) {
        self.read += leads;
    }
    fn scored(&mut self, org: OrgId, changes: &[ScoreChange]) {
        self.changes
            .extend(changes.iter().map(|c| (org, c.clone())));
    }
}

#[tokio::test]
async fn the_batch_reports_each_changed_score_once_it_is_stored() {
    let t = fresh_store().await;
    let s = &t.store;
    let mut two_orgs = spec(120, 20, 600);
    two_orgs.orgs = 2;
    seed(s, &two_orgs, &hash, |_| {}).await.unwrap();
    let opts = ScoreOptions {
        chunk: 50,
        ..Default::default()
    };

    let mut first = Collect::default();
    let r = score_leads(s, &opts, &mut first).await.unwrap();
    assert_eq!(r.successful, 240);
    assert_eq!(first.read, 240);
    assert_eq!(first.changes.len(), 240, "every first score is news");
    for (org, c) in &first.changes {
        assert_eq!((c.old_score, c.old_category.as_deref()), (None, None));
        // The change names the organization that owns the lead, and what was stored.
        let l = s.leads().get(*org, c.lead_id).await.unwrap();
        assert_eq!(l.score, Some(c.new_score));
        assert_eq!(l.score_category.as_deref(), Some(c.new_category.as_str()));
    }

    // Rescoring unchanged leads stores them again but reports nothing.
    let mut again = Collect::default();
    let r = score_leads(
        s,
        &ScoreOptions {
            all: true,
            ..opts.clone()
        },
        &mut again,
    )
    .await
    .unwrap();
    assert_eq!((r.successful, again.changes.len()), (240, 0));

    // A lead whose engagement jumps is reported with its old and new score.
    // (the least engaged lead of organization 1: 12 opens must raise it)
    let org = OrgId(1);
    let engagement =
        |l: &neuracrm_domain::Lead| rendered(l)["factors"][2]["points"].as_f64().unwrap();
    let mut leads = Vec::new();
    for (o, c) in &first.changes {
        if *o == org {
            leads.push(s.leads().get(org, c.lead_id).await.unwrap());
        }
    }
    let before = leads
        .into_iter()
        .min_by(|a, b| engagement(a).total_cmp(&engagement(b)))
        .unwrap();
    assert!(engagement(&before) < 15.0, "{:?}", before.score_factors);
    let lead = before.id;
    for _ in 0..12 {
        s.activities()
            .create(
                org,
                None,
                &NewActivity {
                    kind: ActivityType::EmailOpen,
                    lead_id: Some(lead),
                    deal_id: None,
                    contact_id: None,
                    user_id: None,
                    subject: None,
                    body: None,
                    duration_seconds: None,
                    occurred_at: None,
                },
            )
            .await
            .unwrap();
    }
    let mut third = Collect::default();
    score_leads(
        s,
        &ScoreOptions {
            now: Utc::now() + Duration::seconds(1),
            ..opts
        },
        &mut third,
    )
    .await
    .unwrap();
    assert_eq!(third.changes.len(), 1, "only the lead that changed");
    let (o, c) = &third.changes[0];
    assert_eq!((*o, c.lead_id), (org, lead));
    assert_eq!(c.old_score, before.score);
    assert!(c.new_score > before.score.unwrap(), "{c:?}");
}

#[tokio::test]
async fn scoring_one_lead_stores_it_and_stays_inside_its_organization() {
    let offline = neuracrm_scoring::IntentAssessor::new(std::sync::Arc::new(
        neuracrm_scoring::OfflineIntent::new(),
    ));
    let t = fresh_store().await;
    let s = &t.store;
    let mut two_orgs = spec(20, 5, 100);
    two_orgs.orgs = 2;
    seed(s, &two_orgs, &hash, |_| {}).await.unwrap();
    let (org_of_lead, other_org) = (OrgId(1), OrgId(2));
    let lead = s
        .leads()
        .list(
            org_of_lead,
            &Default::default(),
            Default::default(),
            Default::default(),
        )
        .await
        .unwrap()
        .items[0]
        .id;

    let now = Utc::now();
    let one = score_one(s, org_of_lead, lead, now, &offline)
        .await
        .unwrap();
    let change = one.change.expect("a first score is a change");
    assert_eq!(change.new_score, one.score.total);
    let stored = s.leads().get(org_of_lead, lead).await.unwrap();
    assert_eq!(stored.score, Some(one.score.total));
    assert_eq!(
        stored.score_category.as_deref(),
        Some(one.score.category.name())
    );
    assert_eq!(
        s.scoring()
            .history(org_of_lead, lead, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    // Same facts, same score: stored again, not a change, no new history.
    let again = score_one(s, org_of_lead, lead, now, &offline)
        .await
        .unwrap();
    assert!(again.change.is_none());
    assert_eq!(
        s.scoring()
            .history(org_of_lead, lead, 10)
            .await
            .unwrap()
            .len(),
        1
    );

    // Another organization cannot score it: not found, and nothing written.
    let e = score_one(s, other_org, lead, now, &offline)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            neuracrm_jobs::JobError::Store(neuracrm_store::StoreError::NotFound { .. })
        ),
        "{e:?}"
    );
}

/// The lead's stored breakdown as users read it.
fn rendered(l: &neuracrm_domain::Lead) -> serde_json::Value {
    let stored = l.score_factors.as_ref().expect("the lead was scored");
    serde_json::to_value(neuracrm_scoring::stored::decode(stored).unwrap()).unwrap()
}

#[tokio::test]
async fn contacts_held_in_memory_or_joined_give_the_same_scores() {
    let t = fresh_store().await;
    let s = &t.store;
    seed(s, &spec(200, 60, 2_000), &hash, |_| {}).await.unwrap();
    let stored = || async {
        let rows: Vec<(i64, f64, String)> = s
            .db()
            .fetch_all(Sql::new(
                "SELECT id, score, CAST(score_factors AS TEXT) FROM leads ORDER BY id",
            ))
            .await
            .unwrap();
        rows
    };
    let now = Utc::now();
    let run = |max_contacts_in_memory| ScoreOptions {
        all: true,
        chunk: 32,
        now,
        max_contacts_in_memory,
        ..Default::default()
    };
    // Held: the seed's 100 contacts fit.
    let held = score_leads(s, &run(100), |_| {}).await.unwrap();
    let first = stored().await;
    // Joined: more contacts than allowed in memory.
    let joined = score_leads(s, &run(99), |_| {}).await.unwrap();
    assert_eq!((held.successful, joined.successful), (200, 200));
    assert_eq!(stored().await, first);
    // The contacts' fields reached the scores: not every lead scored the
    // industry of an unrecorded one.
    let industries: std::collections::HashSet<&str> = first
        .iter()
        .filter_map(|(_, _, f)| f.split("]").next())
        .collect();
    assert!(industries.len() > 2, "{industries:?}");
}
