//! `/api/forecast` and `/api/forecasting-models` over HTTP: the six-month
//! rule, query validation, the cache and its invalidation by a won deal,
//! model CRUD, stored results and accuracy after a cycle.

use std::time::{Duration, Instant};

use chrono::{Datelike, NaiveDate, Utc};
use neuracrm_events::BroadcastBus;
use neuracrm_jobs::forecasting::{CycleOptions, run_cycle};
use serde_json::{Value, json};

use crate::helpers::{Tenant, TestApp, assert_error, spawn_tenant, spawn_two_tenants};

/// The first day of the month `k` months before the current one.
fn months_ago(k: i32) -> NaiveDate {
    let today = Utc::now().date_naive();
    let total = today.year() * 12 + today.month0() as i32 - k;
    NaiveDate::from_ymd_opt(total.div_euclid(12), total.rem_euclid(12) as u32 + 1, 1).unwrap()
}

/// A won deal closed on the 10th of the month `k` months ago.
async fn won(app: &TestApp, t: &Tenant, k: i32, cents: i64) -> Value {
    let closed = format!("{}T12:00:00Z", months_ago(k).with_day(10).unwrap());
    app.post_ok(
        "/api/deals",
        &t.token,
        json!({"title": "Won", "value_cents": cents, "stage": "closed_won", "closed_at": closed}),
        201,
    )
    .await
}

/// Won deals in each of the last `months` months, with a season.
pub(crate) async fn history(app: &TestApp, t: &Tenant, months: i32) {
    for k in 1..=months {
        let season = [0, 3, 6, 3, 0, -3, -6, -3][k as usize % 8];
        won(app, t, k, 500_000 - 5_000 * k as i64 + 40_000 * season).await;
    }
}

#[tokio::test]
async fn six_months_are_needed_and_bad_queries_are_refused() {
    let (app, t) = spawn_tenant("Alpha").await;
    let by_t = app.with(&t.token);
    let f = app.get_ok("/api/forecast", &t.token).await;
    assert_eq!(f["status"], "insufficient_history", "{f}");
    assert_eq!(f["forecast"], json!([]));
    assert!(f["reason"].as_str().unwrap().contains("no deal"), "{f}");

    history(&app, &t, 5).await;
    let f = app
        .get_ok(
            "/api/forecast?metric=revenue&months=12&model=ensemble",
            &t.token,
        )
        .await;
    assert_eq!(f["status"], "insufficient_history", "{f}");
    assert_eq!(f["history"].as_array().unwrap().len(), 5);
    assert!(f["reason"].as_str().unwrap().contains("at least 6"), "{f}");

    won(&app, &t, 6, 100_000).await;
    let f = app
        .get_ok("/api/forecast?months=3&model=theta", &t.token)
        .await;
    assert_eq!(f["status"], "ready", "{f}");
    assert_eq!(f["forecast"].as_array().unwrap().len(), 3);
    assert_eq!(
        f["forecast"][0]["period"],
        crate::forecast::label(months_ago(0))
    );
    assert_eq!(f["model_performance"][0]["model"], "theta");
    assert_eq!(f["level"], 0.95);

    for (q, field) in [
        ("metric=profit", "metric"),
        ("months=0", "months"),
        ("months=61", "months"),
        ("months=twelve", "months"),
        ("model=crystal_ball", "model"),
        ("horizon=3", "horizon"),
    ] {
        let e = by_t
            .get_err(&format!("/api/forecast?{q}"), 400, "invalid_query")
            .await;
        assert_eq!(e["error"]["field"], field, "{q}: {e}");
    }
    by_t.get_err("/api/forecast/accuracy?metric=x", 400, "invalid_query")
        .await;
    let r = app.get_anonymous("/api/forecast").await;
    assert_eq!(r.status(), 401);
}

pub fn label(d: NaiveDate) -> String {
    format!("{:04}-{:02}", d.year(), d.month())
}

/// GETs until `done` holds, for at most five seconds: the cache is
/// invalidated by an event subscriber, which runs on its own task.
async fn until(app: &TestApp, path: &str, token: &str, done: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let f = app.get_ok(path, token).await;
        if done(&f) || started.elapsed() > Duration::from_secs(5) {
            return f;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_cached_forecast_changes_after_a_deal_is_won() {
    let (app, a, b) = spawn_two_tenants("Alpha", "Beta").await;
    let by_a = app.with(&a.token);
    history(&app, &a, 14).await;
    history(&app, &b, 14).await;
    let path = "/api/forecast?metric=revenue&months=6&model=ensemble";
    let first = app.get_ok(path, &a.token).await;
    assert_eq!(
        (first["status"].as_str(), first["cached"].as_bool()),
        (Some("ready"), Some(false)),
        "{first}"
    );
    assert_eq!(first["model_performance"][0]["model"], "ensemble");
    assert!(
        first["model_performance"].as_array().unwrap().len() >= 3,
        "{first}"
    );
    assert!(first["best_model"].is_string());
    assert!(!first["insights"]["summary"].as_array().unwrap().is_empty());
    for p in first["forecast"].as_array().unwrap() {
        let (lo, v, hi) = (
            p["lower_bound"].as_f64().unwrap(),
            p["predicted_value"].as_f64().unwrap(),
            p["upper_bound"].as_f64().unwrap(),
        );
        assert!(lo <= v && v <= hi, "{p}");
    }
    let b_first = app.get_ok(path, &b.token).await;

    let second = app.get_ok(path, &a.token).await;
    assert_eq!(
        second["cached"], true,
        "the same question is answered from the cache"
    );
    assert_eq!(second["generated_at"], first["generated_at"]);
    assert_eq!(second["forecast"], first["forecast"]);

    // An open deal changes no series: still cached.
    let d = by_a
        .create(
            "/api/deals",
            json!({"title": "Big one", "value_cents": 90_000_000, "stage": "negotiation"}),
        )
        .await;
    // Won last month, for 900,000.00: last month's revenue jumps.
    let closed = format!("{}T09:00:00Z", months_ago(1).with_day(20).unwrap());
    by_a.patch_ok(
        &format!("/api/deals/{}", d["id"]),
        json!({"stage": "closed_won", "closed_at": closed}),
    )
    .await;
    let after = until(&app, path, &a.token, |f| f["cached"] == false).await;
    assert_eq!(
        after["cached"], false,
        "the win invalidated A's cached forecast: {after}"
    );
    let last = |f: &Value| {
        f["history"].as_array().unwrap().last().unwrap()["value"]
            .as_f64()
            .unwrap()
    };
    assert!(
        (last(&after) - last(&first) - 900_000.0).abs() < 1e-6,
        "{} vs {}",
        last(&after),
        last(&first)
    );
    assert_ne!(after["forecast"], first["forecast"]);

    // B's entry was not touched by A's write.
    let b_again = app.get_ok(path, &b.token).await;
    assert_eq!(b_again["cached"], true);
    assert_eq!(b_again["generated_at"], b_first["generated_at"]);
}

#[tokio::test]
async fn forecasting_models_crud_results_and_accuracy() {
    let (app, a) = spawn_tenant("Alpha").await;
    let by_a = app.with(&a.token);
    history(&app, &a, 13).await;
    let m = by_a
        .create(
            "/api/forecasting-models",
            json!({"metric": "revenue", "algorithm": "seasonal_naive", "horizon_months": 3}),
        )
        .await;
    assert_eq!(m["name"], "revenue for 3 months (seasonal_naive)");
    assert_eq!(
        (m["active"].as_bool(), m["last_trained"].is_null()),
        (Some(true), true)
    );
    let id = m["id"].as_i64().unwrap();
    let defaults = by_a
        .create(
            "/api/forecasting-models",
            json!({"metric": "deals_won", "name": "Deals"}),
        )
        .await;
    assert_eq!(
        (
            defaults["algorithm"].as_str(),
            defaults["horizon_months"].as_i64()
        ),
        (Some("ensemble"), Some(12))
    );

    for (body, field) in [
        (
            json!({"metric": "revenue", "horizon_months": 0}),
            "horizon_months",
        ),
        (
            json!({"metric": "revenue", "horizon_months": 61}),
            "horizon_months",
        ),
        (json!({"metric": "profit"}), "metric"),
        (
            json!({"metric": "revenue", "algorithm": "tarot"}),
            "algorithm",
        ),
        (json!({"metric": "revenue", "name": "  "}), "name"),
        (json!({"metric": "revenue", "colour": "red"}), "colour"),
    ] {
        let e = assert_error(
            app.post("/api/forecasting-models", &a.token, body.clone())
                .await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(e["error"]["field"], field, "{body}: {e}");
    }
    let (_, rep) = app.member(&a, "rep@alpha.example.com", "rep").await;
    app.with(&rep)
        .post_err(
            "/api/forecasting-models",
            json!({"metric": "revenue"}),
            403,
            "forbidden",
        )
        .await;
    // The two created here and the starter model every new organization
    // gets (monthly revenue, ensemble, 12 months).
    let all = app.get_ok("/api/forecasting-models", &rep).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 3);
    assert!(
        all["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["name"] == "Monthly revenue" && m["algorithm"] == "ensemble"),
        "{all}"
    );

    let list = by_a
        .get_ok("/api/forecasting-models?metric=revenue&active=true")
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    by_a.patch_ok(
        &format!("/api/forecasting-models/{}", defaults["id"]),
        json!({"active": false}),
    )
    .await;
    let e = by_a
        .patch_err(
            &format!("/api/forecasting-models/{id}"),
            json!({"horizon_months": 100}),
            422,
            "validation_failed",
        )
        .await;
    assert_eq!(e["error"]["field"], "horizon_months");

    let results = format!("/api/forecasting-models/{id}/results");
    assert_eq!(app.get_ok(&results, &a.token).await["items"], json!([]));
    let summary = run_cycle(
        &app.store,
        &BroadcastBus::default(),
        &CycleOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        summary.models.len(),
        2,
        "the starter and the seasonal naive model run, the inactive one is skipped: {summary:?}"
    );
    let stored = app.get_ok(&results, &a.token).await;
    let items = stored["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["period"], label(months_ago(0)));
    assert_eq!(items[0]["origin"], label(months_ago(1)));
    let got = app
        .get_ok(&format!("/api/forecasting-models/{id}"), &a.token)
        .await;
    assert_eq!(got["last_status"], "stored");
    assert!(got["last_trained"].is_string());

    // Pretend the forecast was made a year ago: last month's forecast from
    // two months before, so the cycle writes last month's actual beside it.
    app.store
        .db()
        .execute(
            neuracrm_store::Sql::new(
                "INSERT INTO forecast_results (organization_id, model_id, metric, origin, period, horizon, value, lower, upper, level, generated_at) \
                 VALUES ($1, $2, 'revenue', $3, $4, 2, 1000.0, 0.0, 1000000.0, 0.95, $5)",
            )
            .arg(a.org_id)
            .arg(id)
            .arg(label(months_ago(3)))
            .arg(label(months_ago(1)))
            .arg(Utc::now()),
        )
        .await
        .unwrap();
    run_cycle(
        &app.store,
        &BroadcastBus::default(),
        &CycleOptions::default(),
    )
    .await
    .unwrap();
    let acc = app
        .get_ok("/api/forecast/accuracy?metric=revenue", &a.token)
        .await;
    assert_eq!(acc["by_model"].as_array().unwrap().len(), 1, "{acc}");
    let h = &acc["by_horizon"][0];
    assert_eq!(
        (
            h["model_id"].as_i64(),
            h["horizon"].as_i64(),
            h["forecasts"].as_i64()
        ),
        (Some(id), Some(2), Some(1)),
        "{acc}"
    );
    let actual = 500_000.0 / 100.0 - 50.0 + 400.0 * [0.0, 3.0, 6.0, 3.0, 0.0, -3.0, -6.0, -3.0][1];
    assert!(
        (h["mae"].as_f64().unwrap() - (actual - 1000.0f64).abs()).abs() < 1e-6,
        "{acc}"
    );
    assert_eq!(h["coverage"], 1.0);

    let pipe = app.get_ok("/api/forecast/pipeline", &a.token).await;
    assert_eq!(pipe["stage_probabilities"].as_array().unwrap().len(), 6);

    assert_eq!(
        app.delete(&format!("/api/forecasting-models/{id}"), &a.token)
            .await
            .status(),
        204
    );
    assert_error(app.get(&results, &a.token).await, 404, "not_found").await;
    by_a.get_err("/api/forecasting-models/abc", 400, "invalid_path")
        .await;
}

/// An organization without deals showed a pipeline total of `-0.0` (a float
/// `Sum` starts at negative zero).
#[tokio::test]
async fn an_empty_pipeline_totals_zero_not_minus_zero() {
    let (app, a) = spawn_tenant("Empty").await;
    let r = app.get("/api/forecast/pipeline", &a.token).await;
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(!text.contains("-0.0"), "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["total_value"], json!(0.0));
    assert_eq!(v["total_weighted_value"], json!(0.0));
}
