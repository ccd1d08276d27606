//! The forecast cycle: replace-not-append, accuracy written beside earlier
//! forecasts, failure isolation, the six-month rule, cleanup.

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use neuracrm_domain::*;
use neuracrm_events::{BroadcastBus, EventBus};
use neuracrm_jobs::forecasting::{
    CycleOptions, FitOutcome, ModelStatus, cleanup, fit_series, run_cycle, run_cycle_with,
};
use neuracrm_store::testing::fresh_store;
use neuracrm_store::{Sql, Store};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// One won deal per month from `first` for `months` months, on the 10th,
/// worth a trend with a yearly swing.
async fn history(s: &Store, org: OrgId, first: NaiveDate, months: i32) {
    for k in 0..months {
        let m = neuracrm_store::forecasts::add_months(first, k);
        let season = [0, 2, 4, 6, 4, 2, 0, -2, -4, -6, -4, -2][k as usize % 12];
        let cents = 100_000 + 2_000 * k as i64 + 10_000 * season;
        won(
            s,
            org,
            cents,
            &format!(
                "{}-10T12:00:00Z",
                neuracrm_store::forecasts::period_label(m)
            ),
        )
        .await;
    }
}

async fn won(s: &Store, org: OrgId, cents: i64, closed: &str) {
    s.deals()
        .create(
            org,
            None,
            &NewDeal {
                contact_id: None,
                lead_id: None,
                owner_id: None,
                title: "Won".into(),
                value_cents: Cents::new(cents).unwrap(),
                stage: DealStage::ClosedWon,
                expected_close: None,
                closed_at: Some(BoundedTime::new(at(closed), "closed_at").unwrap()),
            },
        )
        .await
        .unwrap();
}

async fn model(s: &Store, org: OrgId, algorithm: ForecastAlgorithm, h: i64) -> ForecastingModel {
    s.forecasting_models()
        .create(
            org,
            None,
            &NewForecastingModel {
                name: None,
                metric: ForecastMetric::Revenue,
                algorithm,
                horizon_months: h,
                active: true,
            },
        )
        .await
        .unwrap()
}

fn day(y: i32, m: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, 1).unwrap()
}

#[tokio::test]
async fn a_rerun_replaces_its_results_and_a_closed_month_gets_its_actual() {
    let t = fresh_store().await;
    let s = &t.store;
    let org = s.organizations().create("Alpha").await.unwrap().id;
    history(s, org, day(2023, 7), 24).await; // 2023-07 .. 2025-06
    let m = model(s, org, ForecastAlgorithm::Theta, 3).await;
    let bus = BroadcastBus::default();
    let mut sub = bus.subscribe_org(org);
    let opts = CycleOptions {
        org: None,
        now: at("2025-07-15T00:00:00Z"),
        ..Default::default()
    };

    let first = run_cycle(s, &bus, &opts).await.unwrap();
    assert_eq!(first.models.len(), 1, "{first:?}");
    assert_eq!(first.models[0].status, ModelStatus::Stored, "{first:?}");
    assert_eq!(first.models[0].origin.as_deref(), Some("2025-06"));
    let r1 = s.forecasting_models().results(org, m.id).await.unwrap();
    assert_eq!(
        r1.iter().map(|r| r.period.as_str()).collect::<Vec<_>>(),
        ["2025-07", "2025-08", "2025-09"]
    );
    let again = run_cycle(s, &bus, &opts).await.unwrap();
    assert_eq!(again.models[0].status, ModelStatus::Stored);
    let r2 = s.forecasting_models().results(org, m.id).await.unwrap();
    assert_eq!(
        r2.len(),
        3,
        "the same origin is replaced, not appended: {r2:?}"
    );
    for e in 0..2 {
        let ev = sub.try_recv().unwrap().unwrap();
        assert_eq!(
            ev.kind,
            EventKind::ForecastUpdated { model_id: m.id },
            "run {e}"
        );
    }
    let stamped = s.forecasting_models().get(org, m.id).await.unwrap();
    assert_eq!(stamped.last_trained, Some(opts.now));
    assert_eq!(stamped.last_status.as_deref(), Some("stored"));

    // July closes with 1,234.56: a month later the July forecast made from
    // June gets it as its actual, and a new vintage starts from July.
    won(s, org, 123_456, "2025-07-31T23:59:59Z").await;
    let next = CycleOptions {
        now: at("2025-08-02T00:00:00Z"),
        ..opts.clone()
    };
    let third = run_cycle(s, &bus, &next).await.unwrap();
    assert_eq!(third.models[0].origin.as_deref(), Some("2025-07"));
    assert_eq!(third.actuals_written, 1, "{third:?}");
    let r3 = s.forecasting_models().results(org, m.id).await.unwrap();
    assert_eq!(r3.len(), 6);
    let july: Vec<_> = r3.iter().filter(|r| r.period == "2025-07").collect();
    assert_eq!(july.len(), 1);
    assert_eq!(july[0].actual, Some(1234.56));
    assert!((july[0].error.unwrap() - (july[0].value - 1234.56)).abs() < 1e-9);
    assert_eq!(july[0].horizon, Some(1));
    let acc = s
        .forecasting_models()
        .accuracy(org, None, true)
        .await
        .unwrap();
    assert_eq!(acc.len(), 1);
    assert_eq!((acc[0].horizon, acc[0].forecasts), (Some(1), 1));
}

#[tokio::test]
async fn a_failing_model_is_recorded_and_the_others_go_on() {
    let t = fresh_store().await;
    let s = &t.store;
    let a = s.organizations().create("Alpha").await.unwrap().id;
    let b = s.organizations().create("Beta").await.unwrap().id;
    let c = s.organizations().create("Gamma").await.unwrap().id;
    history(s, a, day(2023, 1), 30).await;
    history(s, b, day(2023, 1), 30).await;
    history(s, c, day(2025, 3), 4).await; // four months: too short
    let good = model(s, a, ForecastAlgorithm::SeasonalNaive, 2).await;
    let panics = model(s, a, ForecastAlgorithm::Theta, 2).await;
    let corrupt = model(s, a, ForecastAlgorithm::Regression, 2).await;
    s.db()
        .execute(
            Sql::new("UPDATE forecasting_models SET algorithm = 'astrology' WHERE id = $1")
                .arg(corrupt.id),
        )
        .await
        .unwrap();
    let other = model(s, b, ForecastAlgorithm::Theta, 2).await;
    let short = model(s, c, ForecastAlgorithm::SeasonalNaive, 2).await;
    // A fitter whose first Theta fit (organization A's, which runs first)
    // panics; B's Theta model must still run.
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = calls.clone();
    let fitter: neuracrm_jobs::forecasting::Fitter = Arc::new(move |series, h, alg, level| {
        if alg == ForecastAlgorithm::Theta
            && seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0
        {
            panic!("a model blew up");
        }
        fit_series(series, h, alg, level)
    });
    let bus = BroadcastBus::default();
    let opts = CycleOptions {
        now: at("2025-07-15T00:00:00Z"),
        ..Default::default()
    };
    let sum = run_cycle_with(s, &bus, &opts, fitter).await.unwrap();
    let status = |id: ForecastModelId| {
        sum.models
            .iter()
            .find(|m| m.model_id == id.0)
            .map(|m| (m.status, m.message.clone()))
            .unwrap()
    };
    assert_eq!(sum.models.len(), 5, "{sum:?}");
    assert_eq!(status(good.id).0, ModelStatus::Stored);
    assert_eq!(status(panics.id).0, ModelStatus::Failed);
    assert_eq!(status(corrupt.id).0, ModelStatus::Failed);
    assert!(status(corrupt.id).1.unwrap().contains("astrology"));
    assert_eq!(
        status(other.id).0,
        ModelStatus::Stored,
        "the next organization ran"
    );
    let (st, why) = status(short.id);
    assert_eq!(st, ModelStatus::InsufficientHistory);
    assert!(why.unwrap().contains("at least 6"));
    assert_eq!(sum.count(ModelStatus::Failed), 2);
    assert!(sum.line().contains("2 failed"), "{}", sum.line());

    let repo = s.forecasting_models();
    assert_eq!(repo.results(a, good.id).await.unwrap().len(), 2);
    assert_eq!(repo.results(b, other.id).await.unwrap().len(), 2);
    assert!(repo.results(a, panics.id).await.unwrap().is_empty());
    assert!(repo.results(c, short.id).await.unwrap().is_empty());
    let p = repo.get(a, panics.id).await.unwrap();
    assert_eq!(p.last_status.as_deref(), Some("failed"));
    assert!(p.last_error.unwrap().contains("did not finish"));
    assert_eq!(p.last_trained, None);
    let sh = repo.get(c, short.id).await.unwrap();
    assert_eq!(sh.last_status.as_deref(), Some("insufficient_history"));

    // Only one organization when asked; an unknown one is an error.
    let one = run_cycle(
        s,
        &bus,
        &CycleOptions {
            org: Some(b),
            ..opts.clone()
        },
    )
    .await
    .unwrap();
    assert_eq!(one.organizations, 1);
    assert!(one.models.iter().all(|m| m.organization_id == b.0));
    assert!(
        run_cycle(
            s,
            &bus,
            &CycleOptions {
                org: Some(OrgId(9_999)),
                ..opts
            }
        )
        .await
        .is_err()
    );
}

#[tokio::test]
async fn cleanup_deletes_results_older_than_the_cut() {
    let t = fresh_store().await;
    let s = &t.store;
    let a = s.organizations().create("Alpha").await.unwrap().id;
    let b = s.organizations().create("Beta").await.unwrap().id;
    history(s, a, day(2023, 1), 12).await;
    history(s, b, day(2023, 1), 12).await;
    let ma = model(s, a, ForecastAlgorithm::SeasonalNaive, 4).await;
    let mb = model(s, b, ForecastAlgorithm::SeasonalNaive, 4).await;
    let bus = BroadcastBus::default();
    let then = at("2024-01-15T00:00:00Z");
    run_cycle(
        s,
        &bus,
        &CycleOptions {
            now: then,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let repo = s.forecasting_models();
    assert_eq!(
        cleanup(s, None, 90, then + Duration::days(89))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        cleanup(s, Some(a), 90, then + Duration::days(91))
            .await
            .unwrap(),
        4
    );
    assert!(repo.results(a, ma.id).await.unwrap().is_empty());
    assert_eq!(
        repo.results(b, mb.id).await.unwrap().len(),
        4,
        "only A's were asked for"
    );
    assert_eq!(
        cleanup(s, None, 90, then + Duration::days(91))
            .await
            .unwrap(),
        4
    );
}

#[test]
fn a_short_series_is_an_answer_not_an_error() {
    let series = neuracrm_store::forecasts::MonthlySeries {
        metric: ForecastMetric::Revenue,
        start: Some(day(2025, 1)),
        values: vec![1.0, 2.0, 3.0, 4.0, 5.0],
    };
    match fit_series(&series, 3, ForecastAlgorithm::Ensemble, 0.95).unwrap() {
        FitOutcome::InsufficientHistory {
            observations,
            needed,
            ..
        } => {
            assert_eq!((observations, needed), (5, 6))
        }
        other => panic!("{other:?}"),
    }
    let six = neuracrm_store::forecasts::MonthlySeries {
        values: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        ..series
    };
    match fit_series(&six, 3, ForecastAlgorithm::Theta, 0.95).unwrap() {
        FitOutcome::Ready(f) => {
            assert_eq!(f.origin, "2025-06");
            assert_eq!(f.periods, ["2025-07", "2025-08", "2025-09"]);
            assert_eq!(f.report.model, "theta");
            assert_eq!(f.report.model_performance.len(), 1);
            assert!(f.report.forecast.lower.iter().all(|v| *v >= 0.0));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_replay_leaves_the_vintages_a_year_of_cycles_would_have_left() {
    let t = fresh_store().await;
    let s = &t.store;
    let org = s.organizations().create("Alpha").await.unwrap().id;
    history(s, org, day(2023, 1), 36).await; // 2023-01 .. 2025-12
    let m = model(s, org, ForecastAlgorithm::Theta, 3).await;
    let bus = BroadcastBus::default();
    let opts = CycleOptions {
        org: None,
        now: at("2026-01-15T00:00:00Z"),
        ..Default::default()
    };

    let runs = neuracrm_jobs::forecasting::replay(s, &bus, &opts, 4)
        .await
        .unwrap();
    assert_eq!(runs.len(), 5);
    let origins: Vec<_> = runs
        .iter()
        .map(|r| r.models[0].origin.clone().unwrap())
        .collect();
    // Each past run saw only the history before its own month.
    assert_eq!(
        origins,
        ["2025-08", "2025-09", "2025-10", "2025-11", "2025-12"]
    );
    let results = s.forecasting_models().results(org, m.id).await.unwrap();
    assert_eq!(results.len(), 15, "five origins of three months each");
    // Stamped with the time each run would have happened.
    let september: Vec<_> = results
        .iter()
        .filter(|r| r.origin.as_deref() == Some("2025-08"))
        .collect();
    assert_eq!(september.len(), 3);
    assert!(
        september
            .iter()
            .all(|r| r.generated_at == at("2025-09-01T00:00:00Z"))
    );
    // Every vintage of a closed month (up to 2025-12) has its actual:
    // 3 from origin 2025-08, 3 from 09, 2 from 10, 1 from 11, none from 12.
    let scored = results.iter().filter(|r| r.actual.is_some()).count();
    assert_eq!(scored, 9);
    let by_horizon = s
        .forecasting_models()
        .accuracy(org, Some(ForecastMetric::Revenue), true)
        .await
        .unwrap();
    let counts: Vec<_> = by_horizon
        .iter()
        .map(|a| (a.horizon, a.forecasts))
        .collect();
    assert_eq!(counts, [(Some(1), 4), (Some(2), 3), (Some(3), 2)]);
    // The last run is the one at `now`: the model's stamp is today's.
    let stamped = s.forecasting_models().get(org, m.id).await.unwrap();
    assert_eq!(stamped.last_trained, Some(opts.now));
}
