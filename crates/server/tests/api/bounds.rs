//! Bounded values (issue 15, findings 3, 5 and 7): money at most 10^13
//! currency units, dates from 1900-01-01 to 2200-12-31, CSV amounts whose
//! commas separate thousands; sums over a whole book within bounds never
//! overflow, and a value stored before the bounds existed still answers.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use neuracrm_store::Sql;
use serde_json::{Value, json};

use crate::helpers::{Tenant, TestApp, assert_error, rejected_rows, spawn_tenant};

/// The largest amount, in cents (10^13 currency units).
pub const MAX_CENTS: i64 = 1_000_000_000_000_000;

/// The first day of the month `k` months before the current one.
pub fn months_ago(k: i32) -> NaiveDate {
    let today = Utc::now().date_naive();
    let total = today.year() * 12 + today.month0() as i32 - k;
    NaiveDate::from_ymd_opt(total.div_euclid(12), total.rem_euclid(12) as u32 + 1, 1).unwrap()
}

fn noon(d: NaiveDate) -> DateTime<Utc> {
    d.with_day(10)
        .unwrap()
        .and_hms_opt(12, 0, 0)
        .unwrap()
        .and_utc()
}

/// Inserts `n` deals of `value_cents` straight into the table, as a database
/// written by an earlier version (or by a bulk load) holds them: one
/// statement, whatever `n`.
#[allow(clippy::too_many_arguments)]
pub async fn insert_deals(
    app: &TestApp,
    t: &Tenant,
    n: i64,
    value_cents: i64,
    stage: &str,
    status: &str,
    expected_close: Option<NaiveDate>,
    closed_at: Option<DateTime<Utc>>,
) {
    app.store
        .db()
        .execute(
            Sql::new(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1) \
                 INSERT INTO deals (organization_id, title, value_cents, stage, status, \
                   expected_close, closed_at, created_at, updated_at) \
                 SELECT $2, 'Stored', $3, $4, $5, $6, $7, $8, $8 FROM n",
            )
            .arg(n)
            .arg(t.org_id)
            .arg(value_cents)
            .arg(stage)
            .arg(status)
            .arg(expected_close)
            .arg(closed_at)
            .arg(Utc::now()),
        )
        .await
        .unwrap();
}

async fn last_deal_id(app: &TestApp, t: &Tenant) -> i64 {
    let page = app
        .get_ok("/api/deals?limit=1&sort=created_at&order=desc", &t.token)
        .await;
    page["items"][0]["id"].as_i64().unwrap()
}

#[tokio::test]
async fn a_deal_worth_more_than_the_maximum_is_refused() {
    let (app, t) = spawn_tenant("Acme").await;
    let by_t = app.with(&t.token);
    let acme = by_t;
    for too_much in [json!(MAX_CENTS + 1), json!(i64::MAX), json!(u64::MAX)] {
        let deal = json!({"title": "Whale", "value_cents": too_much});
        let e = acme.post_invalid("/api/deals", deal).await;
        assert_eq!(e["error"]["field"], "value_cents", "{e}");
        assert_eq!(
            e["error"]["message"],
            "value_cents must be at most 1000000000000000 cents (10^13 currency units)"
        );
        let lead = json!({"title": "Whale", "budget_cents": too_much});
        let e = acme.post_invalid("/api/leads", lead).await;
        assert_eq!(e["error"]["field"], "budget_cents", "{e}");
        assert!(
            e["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("budget_cents must be at most"),
            "{e}"
        );
    }
    // The maximum itself is a deal.
    let largest = json!({"title": "Largest", "value_cents": MAX_CENTS});
    let d = by_t.create("/api/deals", largest).await;
    assert_eq!(d["value_cents"], MAX_CENTS);
    let largest = json!({"title": "Largest", "budget_cents": MAX_CENTS});
    let l = by_t.create("/api/leads", largest).await;
    assert_eq!(l["budget_cents"], MAX_CENTS);
    // A change above it is refused and changes nothing.
    for (path, field) in [
        (format!("/api/deals/{}", d["id"]), "value_cents"),
        (format!("/api/leads/{}", l["id"]), "budget_cents"),
    ] {
        let e = assert_error(
            app.patch(&path, &t.token, json!({field: MAX_CENTS + 1}))
                .await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(e["error"]["field"], field, "{e}");
        assert_eq!(app.get_ok(&path, &t.token).await[field], MAX_CENTS);
    }
    // The document says so.
    let doc = app.openapi().await;
    for (schema, field) in [
        ("CreateDeal", "value_cents"),
        ("DealPatchBody", "value_cents"),
        ("DealOut", "value_cents"),
        ("CreateLead", "budget_cents"),
        ("LeadPatchBody", "budget_cents"),
        ("LeadOut", "budget_cents"),
    ] {
        let max = &doc["components"]["schemas"][schema]["properties"][field]["maximum"];
        assert_eq!(max.as_i64(), Some(MAX_CENTS), "{schema}.{field}: {max}");
    }
}

#[tokio::test]
async fn a_book_of_maximal_deals_still_forecasts_and_sums() {
    let (app, t) = spawn_tenant("Acme").await;
    // 10,000 deals of 10^15 cents make 10^19 cents, beyond 2^63 (about
    // 9.2·10^18): the sum of last month's revenue, and of one month of the
    // open pipeline, overflowed a 64-bit SUM on either backend.
    let whales = 10_000;
    let last_month = noon(months_ago(1));
    insert_deals(
        &app,
        &t,
        whales,
        MAX_CENTS,
        "closed_won",
        "won",
        None,
        Some(last_month),
    )
    .await;
    for k in 2..=7 {
        insert_deals(
            &app,
            &t,
            100,
            MAX_CENTS,
            "closed_won",
            "won",
            None,
            Some(noon(months_ago(k))),
        )
        .await;
    }
    let expected = months_ago(-2);
    insert_deals(
        &app,
        &t,
        whales,
        MAX_CENTS,
        "negotiation",
        "open",
        Some(expected),
        None,
    )
    .await;
    insert_deals(
        &app,
        &t,
        whales,
        MAX_CENTS,
        "prospecting",
        "open",
        None,
        None,
    )
    .await;

    let f = app
        .get_ok("/api/forecast?metric=revenue&months=3", &t.token)
        .await;
    assert_eq!(f["status"], "ready", "{f}");
    let history = f["history"].as_array().unwrap();
    assert_eq!(history.len(), 7, "{f}");
    // Exact: 10^4 deals of 10^13 units.
    assert_eq!(history[6]["value"].as_f64(), Some(1e17), "{f}");
    assert_eq!(history[0]["value"].as_f64(), Some(1e15), "{f}");
    let f = app
        .get_ok("/api/forecast?metric=deals_won&months=3", &t.token)
        .await;
    assert_eq!(f["history"][6]["value"].as_f64(), Some(10_000.0), "{f}");

    let p = app.get_ok("/api/forecast/pipeline", &t.token).await;
    let months = p["months"].as_array().unwrap();
    let dated = months
        .iter()
        .find(|m| m["period"] == crate::forecast::label(expected))
        .unwrap_or_else(|| panic!("{p}"));
    assert_eq!(dated["deals"], whales, "{p}");
    assert_eq!(dated["value"].as_f64(), Some(1e17), "{p}");
    assert_eq!(dated["weighted_value"].as_f64(), Some(0.75e17), "{p}");
    let undated = months.iter().find(|m| m["period"].is_null()).unwrap();
    assert_eq!(undated["value"].as_f64(), Some(1e17), "{p}");
}

#[tokio::test]
async fn a_stored_out_of_range_value_still_answers() {
    let (app, t) = spawn_tenant("Acme").await;
    let by_t = app.with(&t.token);
    // What an earlier version let in: i64::MAX cents, and a deal won in
    // year 1 (finding 5).
    for k in 1..=6 {
        insert_deals(
            &app,
            &t,
            1,
            i64::MAX,
            "closed_won",
            "won",
            None,
            Some(noon(months_ago(k))),
        )
        .await;
    }
    let won_in_year_1 = NaiveDate::from_ymd_opt(1, 3, 1).unwrap();
    insert_deals(
        &app,
        &t,
        1,
        500,
        "closed_won",
        "won",
        Some(won_in_year_1),
        Some(noon(won_in_year_1)),
    )
    .await;
    let year_1_deal = last_deal_id(&app, &t).await;
    insert_deals(
        &app,
        &t,
        2,
        i64::MAX,
        "proposal",
        "open",
        Some(won_in_year_1),
        None,
    )
    .await;
    let huge_deal = last_deal_id(&app, &t).await;
    app.store
        .db()
        .execute(
            Sql::new(
                "INSERT INTO leads (organization_id, title, status, source, budget_cents, \
                 expected_decision, created_at, updated_at) \
                 VALUES ($1, 'Stored', 'new', 'other', $2, $3, $4, $4)",
            )
            .arg(t.org_id)
            .arg(i64::MAX)
            .arg(won_in_year_1)
            .arg(Utc::now()),
        )
        .await
        .unwrap();
    let lead = app.get_ok("/api/leads", &t.token).await["items"][0]["id"]
        .as_i64()
        .unwrap();

    // The records read, the amount as the maximum, the date as stored.
    let d = app
        .get_ok(&format!("/api/deals/{huge_deal}"), &t.token)
        .await;
    assert_eq!(d["value_cents"], MAX_CENTS, "{d}");
    let d = app
        .get_ok(&format!("/api/deals/{year_1_deal}"), &t.token)
        .await;
    assert_eq!(d["expected_close"], "0001-03-01", "{d}");
    assert!(
        d["closed_at"].as_str().unwrap().starts_with("0001-03-10"),
        "{d}"
    );
    let l = app.get_ok(&format!("/api/leads/{lead}"), &t.token).await;
    assert_eq!(
        (l["budget_cents"].as_i64(), l["expected_decision"].as_str()),
        (Some(MAX_CENTS), Some("0001-03-01")),
        "{l}"
    );
    assert_eq!(
        app.get_ok("/api/deals?sort=value", &t.token).await["items"][0]["value_cents"],
        MAX_CENTS
    );

    // The forecast counts each at the maximum, and leaves the deal won in
    // year 1 out of the series (which would otherwise start 24,000 months
    // back).
    for metric in ["revenue", "deals_won", "new_customers"] {
        let f = app
            .get_ok(&format!("/api/forecast?metric={metric}&months=3"), &t.token)
            .await;
        let history = f["history"].as_array().unwrap();
        assert_eq!(
            history.len(),
            6,
            "{metric}: {} months from {}",
            history.len(),
            history[0]["period"]
        );
        if metric == "revenue" {
            assert_eq!(history[0]["value"].as_f64(), Some(1e13), "{}", history[0]);
        }
    }
    let p = app.get_ok("/api/forecast/pipeline", &t.token).await;
    assert_eq!(p["months"][0]["period"], "0001-03", "{p}");
    assert_eq!(p["months"][0]["value"].as_f64(), Some(2e13), "{p}");
    let scored = by_t
        .post_ok(&format!("/api/leads/{lead}/score"), json!({}))
        .await;
    assert!(scored["total"].is_number(), "{scored}");
    app.get_ok("/api/scoring/analytics", &t.token).await;
    app.get_ok("/api/forecast/accuracy", &t.token).await;

    // A change of another field keeps the date as stored, and stores the
    // amount as it reads: the maximum.
    let d = by_t
        .patch_ok(
            &format!("/api/deals/{huge_deal}"),
            json!({"title": "Renamed"}),
        )
        .await;
    assert_eq!(
        (d["value_cents"].as_i64(), d["expected_close"].as_str()),
        (Some(MAX_CENTS), Some("0001-03-01")),
        "{d}"
    );
    by_t.patch_ok(
        &format!("/api/leads/{lead}"),
        json!({"status": "contacted"}),
    )
    .await;
}

#[tokio::test]
async fn a_won_deal_closed_in_year_1_is_refused() {
    let (app, t) = spawn_tenant("Acme").await;
    let by_t = app.with(&t.token);
    let words = "must fall between 1900-01-01 and 2200-12-31";
    for (body, field) in [
        (
            json!({"title": "Old", "stage": "closed_won", "closed_at": "0001-01-01T00:00:00Z"}),
            "closed_at",
        ),
        (
            json!({"title": "Old", "stage": "closed_won", "closed_at": "1899-12-31T23:59:59Z"}),
            "closed_at",
        ),
        (
            json!({"title": "Late", "stage": "closed_won", "closed_at": "2201-01-01T00:00:00Z"}),
            "closed_at",
        ),
        (
            json!({"title": "Old", "expected_close": "0001-01-01"}),
            "expected_close",
        ),
    ] {
        let e = by_t
            .post_err("/api/deals", body.clone(), 422, "validation_failed")
            .await;
        assert_eq!(e["error"]["field"], field, "{body}: {e}");
        assert_eq!(e["error"]["message"], format!("{field} {words}"), "{e}");
    }
    // The edges are in.
    let d = app
        .post_ok(
            "/api/deals",
            &t.token,
            json!({"title": "Edge", "stage": "closed_won", "closed_at": "1900-01-01T00:00:00Z",
                   "expected_close": "2200-12-31"}),
            201,
        )
        .await;
    let path = format!("/api/deals/{}", d["id"]);
    for (body, field) in [
        (json!({"closed_at": "0001-06-01T00:00:00Z"}), "closed_at"),
        (json!({"expected_close": "2201-01-01"}), "expected_close"),
    ] {
        let e = by_t.patch_err(&path, body, 422, "validation_failed").await;
        assert_eq!(e["error"]["message"], format!("{field} {words}"), "{e}");
    }
    // The other records' dates, and every date filter.
    let c = app
        .post_ok("/api/contacts", &t.token, json!({"first_name": "Ada"}), 201)
        .await;
    for (path, body, field) in [
        (
            "/api/leads",
            json!({"title": "L", "expected_decision": "2201-01-01"}),
            "expected_decision",
        ),
        (
            "/api/activities",
            json!({"type": "note", "contact_id": c["id"], "occurred_at": "1899-12-31T23:59:59Z"}),
            "occurred_at",
        ),
    ] {
        let e = by_t.post_err(path, body, 422, "validation_failed").await;
        assert_eq!(e["error"]["message"], format!("{field} {words}"), "{e}");
    }
    for (q, field) in [
        ("/api/deals?closed_from=0001-01-01T00:00:00Z", "closed_from"),
        ("/api/deals?closed_to=2201-01-01T00:00:00Z", "closed_to"),
        (
            "/api/deals?expected_close_to=1899-12-31",
            "expected_close_to",
        ),
        (
            "/api/deals?created_from=0001-01-01T00:00:00Z",
            "created_from",
        ),
        ("/api/leads?created_to=2300-01-01T00:00:00Z", "created_to"),
        (
            "/api/contacts?created_from=1000-01-01T00:00:00Z",
            "created_from",
        ),
        (
            "/api/activities?occurred_from=0001-01-01T00:00:00Z",
            "occurred_from",
        ),
    ] {
        let e = assert_error(app.get(q, &t.token).await, 400, "invalid_query").await;
        assert_eq!(e["error"]["field"], field, "{q}: {e}");
        assert_eq!(
            e["error"]["message"],
            format!("{field} {words}"),
            "{q}: {e}"
        );
    }
    let page = app
        .get_ok(
            "/api/deals?closed_from=1900-01-01T00:00:00Z&closed_to=2200-12-31T23:59:59Z",
            &t.token,
        )
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    // The revenue history starts in 1900 at the earliest, not in year 1.
    let f = app
        .get_ok("/api/forecast?months=1&model=seasonal_naive", &t.token)
        .await;
    assert!(
        f["history"][0]["period"].as_str().unwrap() >= "1900-01",
        "{f}"
    );
}

#[tokio::test]
async fn csv_amount_digit_groups_must_be_thousands() {
    let (app, t) = spawn_tenant("Acme").await;
    let csv = "\
email,first_name,title,budget,expected_decision
a@example.com,A,grouped,\"12,500.50\",2027-01-15
b@example.com,B,plain,12500.50,
c@example.com,C,ones,\"1,2,3\",
d@example.com,D,decimal comma,\"12,50\",
e@example.com,E,too much,10000000000000.01,
f@example.com,F,the maximum,\"10,000,000,000,000\",
g@example.com,G,old,5,1899-12-31
";
    let r = app
        .with(&t.token)
        .post_raw("/api/import/leads", "text/csv", csv)
        .await;
    assert_eq!(r.status(), 200);
    let report: Value = r.json().await.unwrap();
    assert_eq!(report["created"], 3, "{report}");
    let reasons = rejected_rows(&report["rejected"]);
    assert_eq!(
        reasons.iter().map(|(row, _)| *row).collect::<Vec<_>>(),
        [3, 4, 5, 7],
        "{report}"
    );
    for (row, reason) in &reasons[..2] {
        assert!(
            reason.starts_with("budget must be an amount whose commas separate thousands"),
            "row {row}: {reason}"
        );
    }
    assert!(
        reasons[2]
            .1
            .starts_with("budget must be at most 10000000000000"),
        "{reasons:?}"
    );
    assert_eq!(
        reasons[3].1,
        "expected_decision must fall between 1900-01-01 and 2200-12-31"
    );
    let leads = app
        .get_ok("/api/leads?sort=title&order=asc", &t.token)
        .await;
    let budgets: Vec<(String, i64)> = leads["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["title"].as_str().unwrap().to_string(),
                l["budget_cents"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        budgets,
        [
            ("grouped".to_string(), 1_250_050),
            ("plain".to_string(), 1_250_050),
            ("the maximum".to_string(), MAX_CENTS),
        ]
    );
}
