//! Property: random books of money and dates within bounds never make the
//! forecast, pipeline, scoring or analytics endpoints answer 5xx.
//!
//! Each case writes a few deals and leads through the API with amounts from
//! 0 to the maximum and dates anywhere from 1900-01-01 to 2200-12-31 (the
//! edges favoured), then asks for a forecast, the pipeline, a score per lead
//! and the scoring analytics. The cases add to one organization's book (one
//! registration: sign-ups and logins are rate limited), which grows to
//! hundreds of maximal deals over a run. The number of cases is
//! `NEURACRM_PROPTEST_CASES` (default 12): a case takes a fraction of a
//! second.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};

use crate::bounds::MAX_CENTS;
use crate::helpers::{Tenant, TestApp, spawn_tenant};

const STAGES: [&str; 6] = [
    "prospecting",
    "qualification",
    "proposal",
    "negotiation",
    "closed_won",
    "closed_lost",
];

fn first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(1900, 1, 1).unwrap()
}

fn last_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2200, 12, 31).unwrap()
}

/// Amounts from 0 to the maximum, the edges and small ones favoured.
fn cents() -> impl Strategy<Value = i64> {
    prop_oneof![Just(MAX_CENTS), Just(0i64), 0..=MAX_CENTS, 0i64..1_000_000,]
}

/// Dates within bounds, the edges and the years around now favoured.
fn date() -> impl Strategy<Value = NaiveDate> {
    let span = (last_day() - first_day()).num_days();
    let today = Utc::now().date_naive();
    prop_oneof![
        Just(first_day()),
        Just(last_day()),
        (0..=span).prop_map(|d| first_day() + Duration::days(d)),
        (-1500i64..1500).prop_map(move |d| today + Duration::days(d)),
    ]
}

/// Times within bounds (UTC), the last second of the range included.
fn time() -> impl Strategy<Value = DateTime<Utc>> {
    (date(), 0i64..86_400)
        .prop_map(|(d, s)| d.and_hms_opt(0, 0, 0).unwrap().and_utc() + Duration::seconds(s))
}

#[derive(Debug, Clone)]
struct DealCase {
    cents: i64,
    stage: &'static str,
    expected_close: Option<NaiveDate>,
    closed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
struct LeadCase {
    budget: Option<i64>,
    expected_decision: Option<NaiveDate>,
}

#[derive(Debug, Clone)]
struct Book {
    deals: Vec<DealCase>,
    leads: Vec<LeadCase>,
    metric: &'static str,
    months: u32,
    model: &'static str,
}

fn book() -> impl Strategy<Value = Book> {
    let deal = (
        cents(),
        prop::sample::select(STAGES.to_vec()),
        prop::option::of(date()),
        prop::option::of(time()),
    )
        .prop_map(|(cents, stage, expected_close, closed_at)| DealCase {
            cents,
            stage,
            expected_close,
            // Only a won or lost deal has a close time.
            closed_at: closed_at.filter(|_| stage.starts_with("closed_")),
        });
    let lead = (prop::option::of(cents()), prop::option::of(date())).prop_map(
        |(budget, expected_decision)| LeadCase {
            budget,
            expected_decision,
        },
    );
    (
        prop::collection::vec(deal, 1..8),
        prop::collection::vec(lead, 1..3),
        prop::sample::select(vec!["revenue", "deals_won", "new_customers"]),
        1u32..=24,
        prop::sample::select(vec!["ensemble", "theta", "seasonal_naive", "ets"]),
    )
        .prop_map(|(deals, leads, metric, months, model)| Book {
            deals,
            leads,
            metric,
            months,
            model,
        })
}

async fn status_and_body(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Adds `book` to `t`'s and asks every endpoint; the first answer that is
/// not a success, with its body.
async fn check(app: &TestApp, t: &Tenant, book: Book) -> Result<(), String> {
    let ok = |what: &str, (status, body): (u16, Value), want: u16| {
        if status == want {
            Ok(body)
        } else {
            Err(format!("{what}: {status} {body}"))
        }
    };
    for d in &book.deals {
        let mut body = json!({"title": "Deal", "value_cents": d.cents, "stage": d.stage});
        if let Some(e) = d.expected_close {
            body["expected_close"] = json!(e);
        }
        if let Some(c) = d.closed_at {
            body["closed_at"] = json!(c);
        }
        ok(
            "POST /api/deals",
            status_and_body(app.post("/api/deals", &t.token, body).await).await,
            201,
        )?;
    }
    let mut leads = Vec::new();
    for l in &book.leads {
        let mut body =
            json!({"title": "Lead", "description": "Budget approved, we need it this quarter."});
        if let Some(b) = l.budget {
            body["budget_cents"] = json!(b);
        }
        if let Some(e) = l.expected_decision {
            body["expected_decision"] = json!(e);
        }
        let lead = ok(
            "POST /api/leads",
            status_and_body(app.post("/api/leads", &t.token, body).await).await,
            201,
        )?;
        leads.push(lead["id"].as_i64().unwrap());
    }
    let forecast = format!(
        "/api/forecast?metric={}&months={}&model={}",
        book.metric, book.months, book.model
    );
    for path in [
        forecast.as_str(),
        "/api/forecast/pipeline",
        "/api/scoring/analytics",
    ] {
        ok(
            &format!("GET {path}"),
            status_and_body(app.get(path, &t.token).await).await,
            200,
        )?;
    }
    for id in leads {
        let path = format!("/api/leads/{id}/score");
        ok(
            &format!("POST {path}"),
            status_and_body(app.post(&path, &t.token, json!({})).await).await,
            200,
        )?;
    }
    ok(
        "GET /api/scoring/analytics",
        status_and_body(app.get("/api/scoring/analytics", &t.token).await).await,
        200,
    )?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_money_and_dates_within_bounds_never_answer_5xx() {
    let (app, t) = spawn_tenant("Props").await;
    let cases = std::env::var("NEURACRM_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12);
    let mut runner = TestRunner::new(Config {
        cases,
        // Shrinking writes a case per step; a few are enough to see it.
        max_shrink_iters: 32,
        failure_persistence: None,
        ..Config::default()
    });
    let handle = tokio::runtime::Handle::current();
    let result = runner.run(&book(), |b| {
        tokio::task::block_in_place(|| handle.block_on(check(&app, &t, b)))
            .map_err(TestCaseError::fail)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
