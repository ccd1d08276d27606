//! Metrics against hand counts and a naive computation; every operand, with
//! SQL metacharacters, on the backend under test.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use neuracrm_domain::segments::Rule;
use neuracrm_domain::{ContactId, OrgId};
use serde_json::{Value, json};

use super::{ContactMetrics, Scope};
use crate::testing::fresh_store;
use crate::{Sql, Store};

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-06-15T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn ago(days: i64) -> DateTime<Utc> {
    now() - Duration::days(days)
}

async fn org(store: &Store, name: &str) -> OrgId {
    store.organizations().create(name).await.unwrap().id
}

async fn insert(store: &Store, q: Sql) -> i64 {
    let (id,): (i64,) = store.db().fetch_one(q).await.unwrap();
    id
}

async fn contact(store: &Store, org: OrgId, name: &str, created: DateTime<Utc>) -> i64 {
    contact_with(store, org, name, None, None, created).await
}

async fn contact_with(
    store: &Store,
    org: OrgId,
    name: &str,
    industry: Option<&str>,
    company: Option<&str>,
    created: DateTime<Utc>,
) -> i64 {
    insert(
        store,
        Sql::new(
            "INSERT INTO contacts (organization_id, first_name, industry, company, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
        )
        .arg(org)
        .arg(name)
        .arg(industry.map(str::to_string))
        .arg(company.map(str::to_string))
        .arg(created),
    )
    .await
}

async fn lead(
    store: &Store,
    org: OrgId,
    contact: Option<i64>,
    score: Option<f64>,
    status: &str,
) -> i64 {
    insert(
        store,
        Sql::new(
            "INSERT INTO leads (organization_id, contact_id, title, status, source, score, created_at, updated_at) \
             VALUES ($1, $2, 'L', $3, 'website', $4, $5, $5) RETURNING id",
        )
        .arg(org)
        .arg(contact)
        .arg(status)
        .arg(score)
        .arg(ago(200)),
    )
    .await
}

async fn deal(
    store: &Store,
    org: OrgId,
    contact: Option<i64>,
    lead: Option<i64>,
    value: i64,
    status: &str,
    closed: Option<DateTime<Utc>>,
) -> i64 {
    let stage = match status {
        "won" => "closed_won",
        "lost" => "closed_lost",
        _ => "proposal",
    };
    insert(
        store,
        Sql::new(
            "INSERT INTO deals (organization_id, contact_id, lead_id, title, value_cents, stage, status, closed_at, created_at, updated_at) \
             VALUES ($1, $2, $3, 'D', $4, $5, $6, $7, $8, $8) RETURNING id",
        )
        .arg(org)
        .arg(contact)
        .arg(lead)
        .arg(value)
        .arg(stage)
        .arg(status)
        .arg(closed)
        .arg(ago(200)),
    )
    .await
}

async fn activity(
    store: &Store,
    org: OrgId,
    links: (Option<i64>, Option<i64>, Option<i64>),
    at: DateTime<Utc>,
) -> i64 {
    let (contact, lead, deal) = links;
    insert(
        store,
        Sql::new(
            "INSERT INTO activities (organization_id, type, contact_id, lead_id, deal_id, occurred_at, created_at) \
             VALUES ($1, 'note', $2, $3, $4, $5, $5) RETURNING id",
        )
        .arg(org)
        .arg(contact)
        .arg(lead)
        .arg(deal)
        .arg(at),
    )
    .await
}

async fn sentiment(store: &Store, org: OrgId, activity: i64, compound: f64) {
    store
        .db()
        .execute(
            Sql::new(
                "INSERT INTO activity_sentiment (organization_id, activity_id, label, confidence, \
                 negative, neutral, positive, compound, method, analyzed_at) \
                 VALUES ($1, $2, 'neutral', 1, 0, 1, 0, $3, 'vader', $4)",
            )
            .arg(org)
            .arg(activity)
            .arg(compound)
            .arg(now()),
        )
        .await
        .unwrap();
}

async fn metrics_of(store: &Store, org: OrgId) -> BTreeMap<i64, ContactMetrics> {
    let all = store
        .segments()
        .metrics(org, Scope::All, now())
        .await
        .unwrap();
    // The read without RFM is the same but for the RFM scores.
    let without: Vec<ContactMetrics> = all
        .iter()
        .map(|m| ContactMetrics {
            rfm_recency: None,
            rfm_frequency: None,
            rfm_monetary: None,
            rfm_segment: None,
            ..m.clone()
        })
        .collect();
    let got = store
        .segments()
        .metrics_without_rfm(org, Scope::All, now())
        .await
        .unwrap();
    assert_eq!(got, without);
    all.into_iter().map(|m| (m.contact_id, m)).collect()
}

/// Every metric of a contact with several leads, deals and activities,
/// against a count by hand. With the specification's single LEFT JOIN chain
/// the 4 deals times 5 activities times 3 leads would have multiplied the
/// sums and counts.
#[tokio::test]
async fn metrics_match_a_hand_count() {
    let db = fresh_store().await;
    let s = &db.store;
    let o = org(s, "Acme").await;
    let a = contact(s, o, "Ada", ago(100)).await;
    let b = contact(s, o, "Bo", ago(10)).await;
    let lonely = contact(s, o, "Cy", ago(400)).await;
    let l1 = lead(s, o, Some(a), Some(50.0), "qualified").await;
    let l2 = lead(s, o, Some(a), Some(70.0), "new").await;
    lead(s, o, Some(a), None, "new").await;
    let won1 = deal(s, o, Some(a), None, 1_000, "won", Some(ago(10))).await;
    deal(s, o, Some(a), None, 3_000, "won", Some(ago(40))).await;
    deal(s, o, Some(a), None, 500, "lost", Some(ago(30))).await;
    let open = deal(s, o, Some(a), Some(l1), 2_000, "open", None).await;
    let a1 = activity(s, o, (Some(a), None, None), ago(5)).await;
    // Names the contact and its lead: counted once.
    activity(s, o, (Some(a), Some(l1), None), ago(20)).await;
    let a3 = activity(s, o, (None, Some(l2), None), ago(60)).await;
    // Names its deal and the deal's lead (both Ada's): counted once.
    activity(s, o, (None, Some(l1), Some(open)), ago(95)).await;
    // Names Bo and Ada's won deal: once for each of them.
    activity(s, o, (Some(b), None, Some(won1)), ago(2)).await;
    activity(s, o, (Some(b), None, None), ago(1)).await;
    sentiment(s, o, a1, 0.5).await;
    sentiment(s, o, a3, -0.3).await;

    let m = metrics_of(s, o).await;
    let ada = &m[&a];
    assert_eq!(ada.total_leads, 3);
    assert_eq!(ada.avg_lead_score, Some(60.0));
    assert_eq!(
        (
            ada.total_deals,
            ada.won_deals,
            ada.lost_deals,
            ada.open_deals
        ),
        (4, 2, 1, 1)
    );
    assert_eq!(ada.total_deal_value_cents, 6_500);
    assert_eq!(ada.avg_deal_value_cents, Some(1_625.0));
    assert_eq!(ada.won_value_cents, 4_000);
    assert_eq!(ada.open_value_cents, 2_000);
    assert_eq!(ada.first_won_at, Some(ago(40)));
    assert_eq!(ada.last_won_at, Some(ago(10)));
    assert_eq!(ada.total_activities, 5);
    assert_eq!(ada.last_activity_at, Some(ago(2)));
    assert_eq!(ada.activities_30d, 3);
    assert_eq!(ada.activities_90d, 4);
    assert_eq!(ada.latest_sentiment, Some(0.5), "a1 is the latest analysed");
    assert_eq!(ada.conversion_rate, Some(2.0 / 3.0));
    let months = 100.0 / super::sql::DAYS_PER_MONTH;
    assert!((ada.activity_score - 5.0 / months).abs() < 1e-9);
    assert!((ada.customer_value_score - (4_000.0 + 2_000.0 * 2.0 / 3.0)).abs() < 1e-6);

    let bo = &m[&b];
    assert_eq!((bo.total_activities, bo.activities_30d), (2, 2));
    assert_eq!((bo.total_deals, bo.total_leads), (0, 0));
    assert_eq!(bo.activity_score, 2.0, "under a month counts as one");
    assert_eq!(bo.conversion_rate, None);

    let cy = &m[&lonely];
    assert_eq!((cy.total_activities, cy.total_deals), (0, 0));
    assert_eq!((cy.avg_lead_score, cy.last_activity_at), (None, None));

    // The same numbers for a page of contacts and for one.
    let page = s
        .segments()
        .metrics(o, Scope::Contacts(&[ContactId(a)]), now())
        .await
        .unwrap();
    assert_eq!(&page[0], ada);
}

/// Each contact's quintile, NTILE(5) as SQL defines it, from (key, contact)
/// pairs ordered by key then contact.
fn ntile(mut order: Vec<(i64, i64)>) -> BTreeMap<i64, i64> {
    order.sort();
    let n = order.len();
    let mut out = BTreeMap::new();
    let mut i = 0;
    for b in 1..=5 {
        let size = n / 5 + usize::from(b <= n % 5);
        for (_, c) in &order[i..i + size] {
            out.insert(*c, b as i64);
        }
        i += size;
    }
    out
}

/// A tiny deterministic generator (no dependency on a crate's stream).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
    fn maybe(&mut self, ids: &[i64]) -> Option<i64> {
        let k = self.next(ids.len() as u64 + 1) as usize;
        ids.get(k).copied()
    }
}

/// The metrics of every contact of a generated organization (many leads,
/// deals and activities each, links crossing contacts) equal a naive
/// per-contact computation in Rust.
#[tokio::test]
async fn metrics_equal_a_naive_computation_on_generated_data() {
    let db = fresh_store().await;
    let s = &db.store;
    let o = org(s, "Gen").await;
    let other = org(s, "Other").await;
    let mut r = Lcg(7);
    let mut contacts = Vec::new();
    for i in 0..25 {
        contacts.push(contact(s, o, &format!("c{i}"), ago(r.next(700) as i64)).await);
    }
    // Another organization's rows never count.
    let stranger = contact(s, other, "x", ago(5)).await;
    activity(s, other, (Some(stranger), None, None), ago(1)).await;
    let mut leads = Vec::new(); // (id, contact, score)
    for _ in 0..60 {
        let c = r.maybe(&contacts);
        let score = (r.next(3) > 0).then(|| r.next(101) as f64);
        leads.push((lead(s, o, c, score, "new").await, c, score));
    }
    let lead_ids: Vec<i64> = leads.iter().map(|l| l.0).collect();
    let mut deals = Vec::new(); // (id, contact, value, status, closed)
    for _ in 0..70 {
        let c = r.maybe(&contacts);
        let status = ["won", "lost", "open"][r.next(3) as usize];
        let closed = (status != "open").then(|| ago(r.next(500) as i64));
        let value = r.next(1_000_000) as i64;
        let l = r.maybe(&lead_ids);
        deals.push((
            deal(s, o, c, l, value, status, closed).await,
            c,
            value,
            status,
            closed,
        ));
    }
    let deal_ids: Vec<i64> = deals.iter().map(|d| d.0).collect();
    let mut acts = Vec::new(); // (id, contact, lead, deal, at)
    for _ in 0..400 {
        let links = (r.maybe(&contacts), r.maybe(&lead_ids), r.maybe(&deal_ids));
        let at = ago(r.next(200) as i64) - Duration::minutes(r.next(1440) as i64);
        let id = activity(s, o, links, at).await;
        if r.next(4) == 0 {
            sentiment(s, o, id, r.next(200) as f64 / 100.0 - 1.0).await;
        }
        acts.push((id, links, at));
    }
    let analysed: BTreeMap<i64, f64> = s
        .db()
        .fetch_all::<(i64, f64)>(
            Sql::new(
                "SELECT activity_id, compound FROM activity_sentiment WHERE organization_id = $1",
            )
            .arg(o),
        )
        .await
        .unwrap()
        .into_iter()
        .collect();

    let got = metrics_of(s, o).await;
    assert_eq!(got.len(), contacts.len());
    let lead_contact: BTreeMap<i64, Option<i64>> = leads.iter().map(|l| (l.0, l.1)).collect();
    let deal_contact: BTreeMap<i64, Option<i64>> = deals.iter().map(|d| (d.0, d.1)).collect();
    for &c in &contacts {
        let m = &got[&c];
        let my_leads: Vec<_> = leads.iter().filter(|l| l.1 == Some(c)).collect();
        let scores: Vec<f64> = my_leads.iter().filter_map(|l| l.2).collect();
        assert_eq!(m.total_leads, my_leads.len() as i64);
        let avg = (!scores.is_empty()).then(|| scores.iter().sum::<f64>() / scores.len() as f64);
        match (m.avg_lead_score, avg) {
            (Some(x), Some(y)) => assert!((x - y).abs() < 1e-9, "{x} {y}"),
            (x, y) => assert_eq!(x, y),
        }
        let my_deals: Vec<_> = deals.iter().filter(|d| d.1 == Some(c)).collect();
        let count = |st: &str| my_deals.iter().filter(|d| d.3 == st).count() as i64;
        let sum = |st: Option<&str>| {
            my_deals
                .iter()
                .filter(|d| st.is_none_or(|st| d.3 == st))
                .map(|d| d.2)
                .sum::<i64>()
        };
        assert_eq!(m.total_deals, my_deals.len() as i64);
        assert_eq!(
            (m.won_deals, m.lost_deals, m.open_deals),
            (count("won"), count("lost"), count("open"))
        );
        assert_eq!(m.total_deal_value_cents, sum(None));
        assert_eq!(m.won_value_cents, sum(Some("won")));
        assert_eq!(m.open_value_cents, sum(Some("open")));
        let won_at: Vec<_> = my_deals
            .iter()
            .filter(|d| d.3 == "won")
            .filter_map(|d| d.4)
            .collect();
        assert_eq!(m.first_won_at, won_at.iter().min().copied());
        assert_eq!(m.last_won_at, won_at.iter().max().copied());
        // Each activity once if it names the contact, one of its leads or
        // one of its deals.
        let mine: Vec<_> = acts
            .iter()
            .filter(|(_, (ac, al, ad), _)| {
                *ac == Some(c)
                    || al.is_some_and(|l| lead_contact[&l] == Some(c))
                    || ad.is_some_and(|d| deal_contact[&d] == Some(c))
            })
            .collect();
        assert_eq!(m.total_activities, mine.len() as i64, "contact {c}");
        assert_eq!(m.last_activity_at, mine.iter().map(|a| a.2).max());
        let within = |d: i64| mine.iter().filter(|a| a.2 >= ago(d)).count() as i64;
        assert_eq!(
            (m.activities_30d, m.activities_90d),
            (within(30), within(90))
        );
        let latest = mine
            .iter()
            .filter(|a| analysed.contains_key(&a.0))
            .max_by_key(|a| (a.2, a.0))
            .map(|a| analysed[&a.0]);
        assert_eq!(m.latest_sentiment, latest, "contact {c}");
    }

    // RFM: quintiles among the customers, computed independently.
    // (contact, last won time, won deals, won value)
    type Customer = (i64, DateTime<Utc>, i64, i64);
    let customers: Vec<Customer> = contacts
        .iter()
        .filter_map(|&c| {
            let won: Vec<_> = deals
                .iter()
                .filter(|d| d.1 == Some(c) && d.3 == "won")
                .collect();
            let last = won.iter().filter_map(|d| d.4).max()?;
            Some((c, last, won.len() as i64, won.iter().map(|d| d.2).sum()))
        })
        .collect();
    assert!(customers.len() > 5, "the data has customers to rank");
    let rank_by =
        |key: &dyn Fn(&Customer) -> i64| ntile(customers.iter().map(|c| (key(c), c.0)).collect());
    let r = rank_by(&|c| c.1.timestamp());
    let f = rank_by(&|c| c.2);
    let m = rank_by(&|c| c.3);
    for &c in &contacts {
        let got = &got[&c];
        let want = r.get(&c).map(|&r| {
            let f = f[&c];
            (
                r,
                f,
                m[&c],
                neuracrm_domain::segments::rfm_segment(r, f).to_string(),
            )
        });
        let have = got.rfm_recency.map(|r| {
            (
                r,
                got.rfm_frequency.unwrap(),
                got.rfm_monetary.unwrap(),
                got.rfm_segment.clone().unwrap(),
            )
        });
        assert_eq!(have, want, "contact {c}");
    }
}

/// Contacts for the operand table: names say what each is.
async fn fixture(store: &Store) -> (OrgId, BTreeMap<String, i64>) {
    let o = org(store, "Ops").await;
    let other = org(store, "Stranger").await;
    let mut ids = BTreeMap::new();
    for (name, industry, company, created) in [
        ("tech", Some("Technology"), Some("Acme Corp"), 400),
        (
            "health",
            Some("healthcare"),
            Some("100% \"real\" O'Brien_\\"),
            40,
        ),
        ("nothing", None, None, 10),
        ("quote", Some("x'; DROP TABLE contacts; --"), Some("a_b"), 5),
    ] {
        ids.insert(
            name.to_string(),
            contact_with(store, o, name, industry, company, ago(created)).await,
        );
    }
    // The other organization has a contact matching every rule below.
    let s = contact_with(
        store,
        other,
        "stranger",
        Some("Technology"),
        Some("Acme Corp"),
        ago(3),
    )
    .await;
    let sl = lead(store, other, Some(s), Some(99.0), "qualified").await;
    deal(
        store,
        other,
        Some(s),
        Some(sl),
        9_000_000,
        "won",
        Some(ago(3)),
    )
    .await;
    activity(store, other, (Some(s), None, None), ago(1)).await;

    let (tech, health) = (ids["tech"], ids["health"]);
    let l = lead(store, o, Some(tech), Some(85.0), "qualified").await;
    lead(store, o, Some(health), Some(30.0), "new").await;
    deal(
        store,
        o,
        Some(tech),
        Some(l),
        6_000_000,
        "won",
        Some(ago(100)),
    )
    .await;
    deal(store, o, Some(tech), None, 1_000, "open", None).await;
    deal(store, o, Some(health), None, 50_000, "lost", Some(ago(20))).await;
    activity(store, o, (Some(tech), None, None), ago(70)).await;
    activity(store, o, (Some(health), None, None), ago(3)).await;
    (o, ids)
}

async fn names(
    store: &Store,
    o: OrgId,
    ids: &BTreeMap<String, i64>,
    rule: Value,
) -> BTreeSet<String> {
    let rule = Rule::parse(&rule).unwrap_or_else(|e| panic!("{e}"));
    let q = super::compile(store.db().backend(), o, &rule, now());
    // Values are bound, never spliced into the text.
    for v in ["DROP", "O'Brien", "100%", "Acme", "technology"] {
        assert!(!q.text().contains(v), "{v} spliced into {}", q.text());
    }
    let got = store.segments().evaluate(o, &rule, now()).await.unwrap();
    let by_id: BTreeMap<i64, &String> = ids.iter().map(|(k, v)| (*v, k)).collect();
    got.iter()
        .map(|c| {
            by_id
                .get(&c.0)
                .map(|s| s.to_string())
                .unwrap_or_else(|| panic!("contact {} is not of this organization", c.0))
        })
        .collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// Every operand on the backend under test, with SQL metacharacters in the
/// values; no rule ever selects the other organization's matching contact.
#[tokio::test]
async fn every_operand_selects_what_it_says() {
    let db = fresh_store().await;
    let s = &db.store;
    let (o, ids) = fixture(s).await;
    let evil = "x'; DROP TABLE contacts; --";
    let cases: Vec<(Value, &[&str])> = vec![
        (
            json!({"field": "industry", "operand": "is", "value": "TECHNOLOGY"}),
            &["tech"],
        ),
        (
            json!({"field": "industry", "operand": "is", "value": evil}),
            &["quote"],
        ),
        (
            json!({"field": "industry", "operand": "is_not", "value": "technology"}),
            &["health", "nothing", "quote"],
        ),
        (
            json!({"field": "industry", "operand": "in", "value": ["healthcare", evil, "$1"]}),
            &["health", "quote"],
        ),
        (
            json!({"field": "company", "operand": "contains", "value": "%"}),
            &["health"],
        ),
        (
            json!({"field": "company", "operand": "contains", "value": "_"}),
            &["health", "quote"],
        ),
        (
            json!({"field": "company", "operand": "contains", "value": "\\"}),
            &["health"],
        ),
        (
            json!({"field": "company", "operand": "contains", "value": "o'brien"}),
            &["health"],
        ),
        (
            json!({"field": "company", "operand": "not_contains", "value": "\"real\""}),
            &["tech", "nothing", "quote"],
        ),
        (
            json!({"field": "company", "operand": "starts_with", "value": "100%"}),
            &["health"],
        ),
        (
            json!({"field": "company", "operand": "starts_with", "value": "a_"}),
            &["quote"],
        ),
        (
            json!({"field": "company", "operand": "is_empty"}),
            &["nothing"],
        ),
        (
            json!({"field": "industry", "operand": "is_not_empty"}),
            &["tech", "health", "quote"],
        ),
        (
            json!({"field": "won_value_cents", "operand": "gt", "value": 5_000_000}),
            &["tech"],
        ),
        (
            json!({"field": "total_deals", "operand": "gte", "value": 1}),
            &["tech", "health"],
        ),
        (
            json!({"field": "total_deals", "operand": "lt", "value": 1}),
            &["nothing", "quote"],
        ),
        (
            json!({"field": "total_leads", "operand": "lte", "value": 0}),
            &["nothing", "quote"],
        ),
        (
            json!({"field": "total_deals", "operand": "is", "value": 2}),
            &["tech"],
        ),
        (
            json!({"field": "total_deals", "operand": "in", "value": [1, 2]}),
            &["tech", "health"],
        ),
        (
            json!({"field": "avg_lead_score", "operand": "between", "value": [20, 40]}),
            &["health"],
        ),
        (
            json!({"field": "avg_lead_score", "operand": "is_empty"}),
            &["nothing", "quote"],
        ),
        (
            json!({"field": "conversion_rate", "operand": "gte", "value": 1}),
            &["tech"],
        ),
        (
            json!({"field": "conversion_rate", "operand": "is", "value": 0}),
            &["health"],
        ),
        (
            json!({"field": "customer_value_score", "operand": "gt", "value": 6_000_000}),
            &["tech"],
        ),
        (
            json!({"field": "activity_score", "operand": "gt", "value": 0.5}),
            &["health"],
        ),
        (
            json!({"field": "last_activity_at", "operand": "in_last_days", "value": 30}),
            &["health"],
        ),
        (
            json!({"field": "last_activity_at", "operand": "not_in_last_days", "value": 60}),
            &["tech", "nothing", "quote"],
        ),
        (
            json!({"field": "created_at", "operand": "before", "value": "2026-01-01"}),
            &["tech"],
        ),
        (
            json!({"field": "created_at", "operand": "after", "value": ago(20).to_rfc3339()}),
            &["nothing", "quote"],
        ),
        (
            json!({"field": "created_at", "operand": "between", "value": ["2026-01-01", ago(8).to_rfc3339()]}),
            &["health", "nothing"],
        ),
        (
            json!({"field": "last_won_at", "operand": "is_not_empty"}),
            &["tech"],
        ),
        (
            json!({"field": "lead.status", "operand": "is", "value": "qualified"}),
            &["tech"],
        ),
        (
            json!({"field": "lead.status", "operand": "is_not", "value": "qualified"}),
            &["health"],
        ),
        (
            json!({"field": "lead.score", "operand": "gt", "value": 80}),
            &["tech"],
        ),
        (
            json!({"field": "deal.stage", "operand": "in", "value": ["closed_lost", "proposal"]}),
            &["tech", "health"],
        ),
        (
            json!({"field": "deal.value_cents", "operand": "gte", "value": 50_000}),
            &["tech", "health"],
        ),
        (
            json!({"field": "deal.closed_at", "operand": "in_last_days", "value": 30}),
            &["health"],
        ),
        (
            json!({"field": "lead.title", "operand": "contains", "value": "%'"}),
            &[],
        ),
        // One customer: every score is 1 (a quintile of one).
        (
            json!({"field": "rfm_segment", "operand": "is", "value": "hibernating"}),
            &["tech"],
        ),
        (
            json!({"field": "rfm_recency", "operand": "is_empty"}),
            &["health", "nothing", "quote"],
        ),
        // The example: technology, a won deal over 50,000, no
        // activity in 60 days.
        (
            json!({"op": "and", "children": [
                {"field": "industry", "operand": "is", "value": "technology"},
                {"field": "deal.status", "operand": "is", "value": "won"},
                {"field": "deal.value_cents", "operand": "gt", "value": 5_000_000},
                {"field": "last_activity_at", "operand": "not_in_last_days", "value": 60},
            ]}),
            &["tech"],
        ),
        (
            json!({"op": "or", "children": [
                {"field": "industry", "operand": "is", "value": "healthcare"},
                {"op": "not", "children": [{"field": "industry", "operand": "is_not_empty"}]},
            ]}),
            &["health", "nothing"],
        ),
        (
            json!({"op": "not", "children": [{"field": "industry", "operand": "is", "value": "technology"}]}),
            &["health", "nothing", "quote"],
        ),
    ];
    let mut rules = Vec::new();
    for (rule, want) in cases {
        assert_eq!(names(s, o, &ids, rule.clone()).await, set(want), "{rule}");
        rules.push(Rule::parse(&rule).unwrap());
    }
    // All the rules at once (a refresh's one statement per 62 rules; 70
    // here, so across two statements) select what each selects alone.
    let many: Vec<&Rule> = rules.iter().cycle().take(70).collect();
    let q = super::compile_many(s.db().backend(), o, &many[..62], now());
    for v in ["DROP", "O'Brien", "100%", "Acme", "technology"] {
        assert!(!q.text().contains(v), "{v} spliced into {}", q.text());
    }
    let together = s.segments().evaluate_many(o, &many, now()).await.unwrap();
    assert_eq!(together.len(), 70);
    for (rule, got) in many.iter().zip(&together) {
        let alone = s.segments().evaluate(o, rule, now()).await.unwrap();
        assert_eq!(got, &alone, "{}", rule.to_json());
    }
    // The table is intact after all that.
    let (n,): (i64,) = s
        .db()
        .fetch_one(Sql::new("SELECT COUNT(*) FROM contacts"))
        .await
        .unwrap();
    assert_eq!(n, 5);
}

#[tokio::test]
async fn a_refresh_writes_only_the_difference() {
    let db = fresh_store().await;
    let s = &db.store;
    let (o, ids) = fixture(s).await;
    let rule = Rule::parse(&json!({"field": "total_deals", "operand": "gte", "value": 1})).unwrap();
    let members = s.segments().evaluate(o, &rule, now()).await.unwrap();
    // A preview's count and first members are the evaluation's.
    let (count, first) = s
        .segments()
        .count_and_sample(o, &rule, now(), 1)
        .await
        .unwrap();
    assert_eq!(
        (count, first.as_slice()),
        (members.len() as u64, &members[..1])
    );
    let new = neuracrm_domain::NewSegment {
        name: "Buyers".into(),
        description: None,
        kind: neuracrm_domain::SegmentKind::Dynamic,
        rule: rule.to_json(),
    };
    let (seg, applied) = s
        .segments()
        .create(o, None, &new, &rule, &members, ago(1))
        .await
        .unwrap();
    assert_eq!((applied.entered, applied.size), (2, 2));
    let stamp = |name: &str| ContactId(ids[name]);
    let applied = s
        .segments()
        .apply(
            o,
            seg.id,
            seg.updated_at,
            &[stamp("quote"), stamp("tech")],
            &[stamp("health")],
            now(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!((applied.entered, applied.left, applied.size), (1, 1, 2));
    let refs = s.segments().of_contact(o, stamp("tech")).await.unwrap();
    assert_eq!(
        refs[0].entered_at,
        ago(1),
        "a member that stays keeps its time"
    );
    let refs = s.segments().of_contact(o, stamp("quote")).await.unwrap();
    assert_eq!(refs[0].entered_at, now());
    // Another organization's contact id enters nothing.
    let stranger: (i64,) = s
        .db()
        .fetch_one(Sql::new(
            "SELECT id FROM contacts WHERE first_name = 'stranger'",
        ))
        .await
        .unwrap();
    let applied = s
        .segments()
        .apply(
            o,
            seg.id,
            seg.updated_at,
            &[ContactId(stranger.0)],
            &[],
            now(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!((applied.entered, applied.size), (0, 2));
    // A difference computed from a rule the segment no longer has is not
    // written.
    let stale = seg.updated_at - Duration::seconds(1);
    let none = s
        .segments()
        .apply(o, seg.id, stale, &[stamp("nothing")], &[], now())
        .await
        .unwrap();
    assert_eq!(none, None);
}

/// Every contact's metrics (RFM included) computed naively in Rust from the
/// rows as they are now in the database: what the stored metrics must equal
/// after any sequence of writes.
async fn naive(store: &Store, org: OrgId, at: DateTime<Utc>) -> BTreeMap<i64, ContactMetrics> {
    let db = store.db();
    let contacts: Vec<(i64, DateTime<Utc>)> = db
        .fetch_all(
            Sql::new("SELECT id, created_at FROM contacts WHERE organization_id = $1").arg(org),
        )
        .await
        .unwrap();
    let leads: Vec<(i64, Option<i64>, Option<f64>)> = db
        .fetch_all(
            Sql::new("SELECT id, contact_id, score FROM leads WHERE organization_id = $1").arg(org),
        )
        .await
        .unwrap();
    type DealRow = (i64, Option<i64>, i64, String, Option<DateTime<Utc>>);
    let deals: Vec<DealRow> = db
        .fetch_all(
            Sql::new(
                "SELECT id, contact_id, value_cents, status, closed_at FROM deals \
                 WHERE organization_id = $1",
            )
            .arg(org),
        )
        .await
        .unwrap();
    type ActivityRow = (i64, Option<i64>, Option<i64>, Option<i64>, DateTime<Utc>);
    let acts: Vec<ActivityRow> = db
        .fetch_all(
            Sql::new(
                "SELECT id, contact_id, lead_id, deal_id, occurred_at FROM activities \
                 WHERE organization_id = $1",
            )
            .arg(org),
        )
        .await
        .unwrap();
    let analysed: BTreeMap<i64, f64> = db
        .fetch_all::<(i64, f64)>(
            Sql::new(
                "SELECT activity_id, compound FROM activity_sentiment WHERE organization_id = $1",
            )
            .arg(org),
        )
        .await
        .unwrap()
        .into_iter()
        .collect();
    let lead_contact: BTreeMap<i64, Option<i64>> = leads.iter().map(|l| (l.0, l.1)).collect();
    let deal_contact: BTreeMap<i64, Option<i64>> = deals.iter().map(|d| (d.0, d.1)).collect();
    let mut out = BTreeMap::new();
    for &(c, created) in &contacts {
        let scores: Vec<f64> = leads
            .iter()
            .filter(|l| l.1 == Some(c))
            .filter_map(|l| l.2)
            .collect();
        let mine: Vec<&DealRow> = deals.iter().filter(|d| d.1 == Some(c)).collect();
        let count = |st: &str| mine.iter().filter(|d| d.3 == st).count() as i64;
        let sum = |st: Option<&str>| {
            mine.iter()
                .filter(|d| st.is_none_or(|st| d.3 == st))
                .map(|d| d.2)
                .sum::<i64>()
        };
        let won_at: Vec<DateTime<Utc>> = mine
            .iter()
            .filter(|d| d.3 == "won")
            .filter_map(|d| d.4)
            .collect();
        let my_acts: Vec<&ActivityRow> = acts
            .iter()
            .filter(|a| {
                a.1 == Some(c)
                    || a.2.is_some_and(|l| lead_contact[&l] == Some(c))
                    || a.3.is_some_and(|d| deal_contact[&d] == Some(c))
            })
            .collect();
        let within = |d: i64| {
            my_acts
                .iter()
                .filter(|a| a.4 >= at - Duration::days(d))
                .count() as i64
        };
        let (won, lost) = (count("won"), count("lost"));
        let conversion_rate = (won + lost > 0).then(|| won as f64 / (won + lost) as f64);
        let months =
            ((at - created).num_milliseconds() as f64 / 86_400_000.0 / super::sql::DAYS_PER_MONTH)
                .max(1.0);
        let total = sum(None);
        out.insert(
            c,
            ContactMetrics {
                contact_id: c,
                total_leads: leads.iter().filter(|l| l.1 == Some(c)).count() as i64,
                total_deals: mine.len() as i64,
                won_deals: won,
                lost_deals: lost,
                open_deals: count("open"),
                total_deal_value_cents: total,
                avg_deal_value_cents: (!mine.is_empty()).then(|| total as f64 / mine.len() as f64),
                won_value_cents: sum(Some("won")),
                open_value_cents: sum(Some("open")),
                first_won_at: won_at.iter().min().copied(),
                last_won_at: won_at.iter().max().copied(),
                total_activities: my_acts.len() as i64,
                last_activity_at: my_acts.iter().map(|a| a.4).max(),
                activities_30d: within(30),
                activities_90d: within(90),
                avg_lead_score: (!scores.is_empty())
                    .then(|| scores.iter().sum::<f64>() / scores.len() as f64),
                latest_sentiment: my_acts
                    .iter()
                    .filter(|a| analysed.contains_key(&a.0))
                    .max_by_key(|a| (a.4, a.0))
                    .map(|a| analysed[&a.0]),
                conversion_rate,
                activity_score: my_acts.len() as f64 / months,
                customer_value_score: sum(Some("won")) as f64
                    + sum(Some("open")) as f64 * conversion_rate.unwrap_or(0.0),
                rfm_recency: None,
                rfm_frequency: None,
                rfm_monetary: None,
                rfm_segment: None,
            },
        );
    }
    // RFM: NTILE(5) as SQL defines it over (key, contact) among customers.
    // (contact, last won, won deals, won value)
    type Customer = (i64, i64, i64, i64);
    let customers: Vec<Customer> = out
        .values()
        .filter(|m| m.won_deals > 0)
        .map(|m| {
            let last = m.last_won_at.map_or(i64::MIN, |t| t.timestamp_micros());
            (m.contact_id, last, m.won_deals, m.won_value_cents)
        })
        .collect();
    let rank_by =
        |key: &dyn Fn(&Customer) -> i64| ntile(customers.iter().map(|c| (key(c), c.0)).collect());
    let (r, f, m) = (rank_by(&|c| c.1), rank_by(&|c| c.2), rank_by(&|c| c.3));
    for (c, metrics) in out.iter_mut() {
        if let Some(&rr) = r.get(c) {
            metrics.rfm_recency = Some(rr);
            metrics.rfm_frequency = Some(f[c]);
            metrics.rfm_monetary = Some(m[c]);
            metrics.rfm_segment =
                Some(neuracrm_domain::segments::rfm_segment(rr, f[c]).to_string());
        }
    }
    out
}

/// The metrics with their real numbers rounded (a mean computed by SQL and
/// by Rust may differ in the last bit).
fn rounded(m: &ContactMetrics) -> ContactMetrics {
    let r = |x: f64| (x * 1e6).round() / 1e6;
    ContactMetrics {
        avg_deal_value_cents: m.avg_deal_value_cents.map(r),
        avg_lead_score: m.avg_lead_score.map(r),
        conversion_rate: m.conversion_rate.map(r),
        activity_score: r(m.activity_score),
        customer_value_score: r(m.customer_value_score),
        ..m.clone()
    }
}

async fn assert_metrics_are_naive(store: &Store, org: OrgId, at: DateTime<Utc>, when: &str) {
    let got: BTreeMap<i64, ContactMetrics> = store
        .segments()
        .metrics(org, Scope::All, at)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.contact_id, rounded(&m)))
        .collect();
    let want: BTreeMap<i64, ContactMetrics> = naive(store, org, at)
        .await
        .iter()
        .map(|(c, m)| (*c, rounded(m)))
        .collect();
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "{when}"
    );
    for (c, w) in &want {
        assert_eq!(&got[c], w, "contact {c}, {when}");
    }
    // The grid's stored counts are the naive scores grouped.
    let mut cells: BTreeMap<(i64, i64), i64> = BTreeMap::new();
    for m in want.values() {
        if let (Some(r), Some(f)) = (m.rfm_recency, m.rfm_frequency) {
            *cells.entry((r, f)).or_default() += 1;
        }
    }
    let grid: Vec<(i64, i64, i64)> = cells.into_iter().map(|((r, f), n)| (r, f, n)).collect();
    // Read as stored (`rfm_grid` would sync to the real clock first).
    let stored: Vec<(i64, i64, i64)> = store
        .db()
        .fetch_all(super::sql::rfm_grid(org))
        .await
        .unwrap();
    assert_eq!(stored, grid, "the grid, {when}");
}

/// The stored metrics follow every kind of write (leads and deals changing
/// contact, deal status and value, activities added, moved and deleted,
/// sentiment added, changed and removed, a contact deleted) and the passing
/// of time (activities leaving the 30- and 90-day windows), each time equal
/// to a naive computation from the rows; a sync with nothing stale writes
/// nothing, and one after a single write computes only its contacts.
#[tokio::test]
async fn stored_metrics_follow_every_write_and_the_clock() {
    let db = fresh_store().await;
    let s = &db.store;
    let o = org(s, "Live").await;
    let other = org(s, "Other").await;
    let mut r = Lcg(11);
    let mut contacts = Vec::new();
    for i in 0..30 {
        contacts.push(contact(s, o, &format!("c{i}"), ago(r.next(700) as i64)).await);
    }
    let stranger = contact(s, other, "x", ago(5)).await;
    let mut leads = Vec::new();
    for _ in 0..50 {
        let score = (r.next(3) > 0).then(|| r.next(101) as f64);
        leads.push(lead(s, o, r.maybe(&contacts), score, "new").await);
    }
    let mut deals = Vec::new();
    for _ in 0..60 {
        let status = ["won", "lost", "open"][r.next(3) as usize];
        let closed = (status != "open").then(|| ago(r.next(500) as i64));
        let (c, l) = (r.maybe(&contacts), r.maybe(&leads));
        deals.push(deal(s, o, c, l, r.next(1_000_000) as i64, status, closed).await);
    }
    let mut acts = Vec::new();
    for _ in 0..300 {
        let links = (r.maybe(&contacts), r.maybe(&leads), r.maybe(&deals));
        let at = ago(r.next(200) as i64) - Duration::minutes(r.next(1440) as i64);
        let id = activity(s, o, links, at).await;
        if r.next(3) == 0 {
            sentiment(s, o, id, r.next(200) as f64 / 100.0 - 1.0).await;
        }
        acts.push(id);
    }
    assert_metrics_are_naive(s, o, now(), "first read (every contact computed)").await;
    let seg = s.segments();
    assert_eq!(
        seg.sync(o, now(), true).await.unwrap(),
        super::Synced::default()
    );

    // One write: only its contacts are computed again.
    activity(s, o, (Some(contacts[0]), None, None), ago(3)).await;
    let done = seg.sync(o, now(), true).await.unwrap();
    assert_eq!((done.recomputed, done.full), (1, false));
    assert_metrics_are_naive(s, o, now(), "after one activity").await;

    // Every other kind of write.
    let exec = |q: Sql| async move { s.db().execute(q).await.unwrap() };
    exec(
        Sql::new("UPDATE leads SET contact_id = $1 WHERE id = $2")
            .arg(contacts[1])
            .arg(leads[0]),
    )
    .await;
    exec(Sql::new("UPDATE leads SET contact_id = NULL WHERE id = $1").arg(leads[1])).await;
    exec(
        Sql::new("UPDATE deals SET contact_id = $1 WHERE id = $2")
            .arg(contacts[2])
            .arg(deals[0]),
    )
    .await;
    exec(
        Sql::new("UPDATE deals SET status = 'won', closed_at = $1 WHERE id = $2")
            .arg(ago(1))
            .arg(deals[1]),
    )
    .await;
    exec(Sql::new("UPDATE deals SET value_cents = 123456789 WHERE id = $1").arg(deals[2])).await;
    exec(Sql::new("DELETE FROM activity_sentiment WHERE activity_id = $1").arg(acts[0])).await;
    exec(Sql::new("DELETE FROM activities WHERE id = $1").arg(acts[0])).await;
    exec(
        Sql::new("UPDATE activities SET occurred_at = $1 WHERE id = $2")
            .arg(ago(2))
            .arg(acts[1]),
    )
    .await;
    exec(
        Sql::new("UPDATE activities SET contact_id = $1 WHERE id = $2")
            .arg(contacts[3])
            .arg(acts[2]),
    )
    .await;
    exec(Sql::new("UPDATE activity_sentiment SET compound = 0.99 WHERE activity_id IN (SELECT activity_id FROM activity_sentiment WHERE organization_id = $1 ORDER BY activity_id LIMIT 3)").arg(o)).await;
    exec(Sql::new("DELETE FROM activity_sentiment WHERE activity_id = $1").arg(acts[3])).await;
    sentiment(s, o, acts[3], -0.75).await;
    // Through the analysis's own write, an upsert: new and replaced results
    // of activities whose contacts are already marked.
    let write = |id: i64, compound: f64| crate::sentiment::SentimentWrite {
        activity_id: neuracrm_domain::ActivityId(id),
        label: "neutral",
        confidence: 1.0,
        negative: 0.0,
        neutral: 1.0,
        positive: 0.0,
        compound,
        method: "vader",
    };
    let rows: Vec<_> = acts[4..12].iter().map(|&id| write(id, 0.25)).collect();
    assert_eq!(s.sentiment().write(o, &rows, now()).await.unwrap(), 8);
    activity(s, o, (None, Some(leads[2]), None), ago(1)).await;
    activity(s, o, (None, None, Some(deals[3])), ago(1)).await;
    s.contacts()
        .delete(o, None, ContactId(contacts[4]))
        .await
        .unwrap();
    // Another organization's writes change nothing here.
    activity(s, other, (Some(stranger), None, None), ago(1)).await;
    let done = seg.sync(o, now(), true).await.unwrap();
    assert!(!done.full && done.rfm, "{done:?}");
    assert_metrics_are_naive(s, o, now(), "after every kind of write").await;

    // Time passing moves window counts, never the RFM scores: they are not
    // ranked again.
    let later = seg.sync(o, now() + Duration::days(45), true).await.unwrap();
    assert!(later.recomputed > 0 && !later.rfm, "{later:?}");
    // The clock: activities leave the windows as time passes, forwards
    // and back.
    for days in [1, 20, 45, 100, 400, 7] {
        let at = now() + Duration::days(days);
        assert_metrics_are_naive(s, o, at, &format!("{days} days later")).await;
    }
    assert_metrics_are_naive(s, o, now(), "back to now").await;
}
