//! The CRM's monthly series against sums computed by hand: gaps, deals on
//! month boundaries, lost and open deals, other organizations; forecasting
//! models and their stored results.

use chrono::{DateTime, NaiveDate, Utc};
use neuracrm_domain::*;
use neuracrm_store::Store;
use neuracrm_store::forecasting_models::{ModelFilter, ResultPoint};
use neuracrm_store::{Page, StoreError};

use crate::harness::store;
use crate::stories::contact;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

async fn deal(
    s: &Store,
    org: OrgId,
    contact: Option<ContactId>,
    cents: i64,
    stage: DealStage,
    closed: Option<&str>,
    expected: Option<&str>,
) -> Deal {
    s.deals()
        .create(
            org,
            None,
            &NewDeal {
                contact_id: contact,
                lead_id: None,
                owner_id: None,
                title: format!("{stage} {cents}"),
                value_cents: Cents::new(cents).unwrap(),
                stage,
                expected_close: expected
                    .map(|e| BoundedDate::new(day(e), "expected_close").unwrap()),
                closed_at: closed.map(|c| BoundedTime::new(t(c), "closed_at").unwrap()),
            },
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn monthly_series_match_hand_computed_sums() {
    let ts = store().await;
    let s = &ts.store;
    let a = s.organizations().create("Alpha").await.unwrap().id;
    let b = s.organizations().create("Beta").await.unwrap().id;
    let c = |n: &str| contact(n, None);
    let c1 = s.contacts().create(a, None, &c("Ann")).await.unwrap().id;
    let c2 = s.contacts().create(a, None, &c("Bob")).await.unwrap().id;
    let c3 = s.contacts().create(a, None, &c("Cy")).await.unwrap().id;
    let c4 = s.contacts().create(a, None, &c("Di")).await.unwrap().id;
    use DealStage::{ClosedLost as Lost, ClosedWon as Won};
    // The last second of January and the first of February.
    deal(
        s,
        a,
        Some(c1),
        10_000,
        Won,
        Some("2025-01-31T23:59:59Z"),
        None,
    )
    .await;
    deal(
        s,
        a,
        Some(c2),
        5_000,
        Won,
        Some("2025-02-01T00:00:00Z"),
        None,
    )
    .await;
    // c1 again: revenue and a won deal, not a new customer.
    deal(
        s,
        a,
        Some(c1),
        2_550,
        Won,
        Some("2025-02-15T12:00:00Z"),
        None,
    )
    .await;
    // March and April: only a lost deal, which counts for nothing.
    deal(
        s,
        a,
        Some(c3),
        999_900,
        Lost,
        Some("2025-03-10T08:00:00Z"),
        None,
    )
    .await;
    // c3 lost in March, first won in May: a new customer in May. A won deal
    // without a contact adds revenue but no customer. 23:30 at UTC-2 is May.
    deal(
        s,
        a,
        Some(c3),
        1_000,
        Won,
        Some("2025-04-30T23:30:00-02:00"),
        None,
    )
    .await;
    deal(s, a, None, 7, Won, Some("2025-05-20T00:00:00Z"), None).await;
    // After the end of the series (the month still running).
    deal(
        s,
        a,
        Some(c4),
        40_000,
        Won,
        Some("2025-07-01T00:00:00Z"),
        None,
    )
    .await;
    // Open deals: pipeline only.
    deal(
        s,
        a,
        Some(c4),
        100_000,
        DealStage::Prospecting,
        None,
        Some("2025-08-10"),
    )
    .await;
    deal(
        s,
        a,
        None,
        20_000,
        DealStage::Negotiation,
        None,
        Some("2025-08-31"),
    )
    .await;
    deal(s, a, None, 10_000, DealStage::Proposal, None, None).await;
    deal(
        s,
        a,
        None,
        30_000,
        DealStage::Prospecting,
        None,
        Some("2025-09-02"),
    )
    .await;
    // Another organization, in the same months.
    let bc = s.contacts().create(b, None, &c("Eve")).await.unwrap().id;
    deal(
        s,
        b,
        Some(bc),
        77_700,
        Won,
        Some("2025-03-03T00:00:00Z"),
        None,
    )
    .await;
    deal(
        s,
        b,
        None,
        50_000,
        DealStage::Proposal,
        None,
        Some("2025-08-01"),
    )
    .await;

    let m = s.forecasts().monthly(a, day("2025-07-01")).await.unwrap();
    assert_eq!(m.start, Some(day("2025-01-01")));
    assert_eq!(m.revenue, vec![100.0, 75.5, 0.0, 0.0, 10.07, 0.0]);
    assert_eq!(m.deals_won, vec![1.0, 2.0, 0.0, 0.0, 2.0, 0.0]);
    assert_eq!(m.new_customers, vec![1.0, 1.0, 0.0, 0.0, 1.0, 0.0]);
    let rev = m.series(ForecastMetric::Revenue);
    assert_eq!(rev.periods()[4], "2025-05");
    assert_eq!(rev.last_month(), Some(day("2025-06-01")));

    // `until` is any day of the month that is excluded.
    let later = s.forecasts().monthly(a, day("2025-08-17")).await.unwrap();
    assert_eq!(later.revenue.len(), 7);
    assert_eq!(later.revenue[6], 400.0);
    assert_eq!(later.new_customers[6], 1.0, "c4's first won deal");

    let mb = s.forecasts().monthly(b, day("2025-07-01")).await.unwrap();
    assert_eq!(mb.start, Some(day("2025-03-01")));
    assert_eq!(mb.revenue, vec![777.0, 0.0, 0.0, 0.0]);

    let none = s.forecasts().monthly(a, day("2025-01-01")).await.unwrap();
    assert_eq!((none.start, none.revenue.len()), (None, 0));

    let p = s.forecasts().weighted_pipeline(a).await.unwrap();
    assert_eq!(p.len(), 3, "{p:?}");
    // Two days of August, two stages, one month.
    assert_eq!(p[0].period.as_deref(), Some("2025-08"));
    assert_eq!((p[0].deals, p[0].value), (2, 1200.0));
    assert!((p[0].weighted_value - (1000.0 * 0.10 + 200.0 * 0.75)).abs() < 1e-9);
    assert_eq!(p[1].period.as_deref(), Some("2025-09"));
    assert_eq!((p[1].deals, p[1].value), (1, 300.0));
    assert!((p[1].weighted_value - 30.0).abs() < 1e-9);
    // The undated last.
    assert_eq!(p[2].period, None);
    assert!((p[2].weighted_value - 50.0).abs() < 1e-9);
}

fn model(metric: ForecastMetric, h: i64) -> NewForecastingModel {
    NewForecastingModel {
        name: None,
        metric,
        algorithm: ForecastAlgorithm::Ensemble,
        horizon_months: h,
        active: true,
    }
}

fn points(from: u32, values: &[f64]) -> Vec<ResultPoint> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| ResultPoint {
            period: format!("2025-{:02}", from + i as u32),
            horizon: i as i64 + 1,
            value: *v,
            lower: v - 10.0,
            upper: v + 10.0,
        })
        .collect()
}

#[tokio::test]
async fn models_are_org_scoped_and_runs_replace_their_origin() {
    let ts = store().await;
    let s = &ts.store;
    let a = s.organizations().create("Alpha").await.unwrap().id;
    let b = s.organizations().create("Beta").await.unwrap().id;
    let repo = s.forecasting_models();
    let m = repo
        .create(a, None, &model(ForecastMetric::Revenue, 3))
        .await
        .unwrap();
    assert_eq!(m.name, "revenue for 3 months (ensemble)");
    let bad = repo
        .create(a, None, &model(ForecastMetric::Revenue, 61))
        .await;
    assert!(matches!(bad, Err(StoreError::Invalid(_))), "{bad:?}");
    assert!(matches!(
        repo.get(b, m.id).await,
        Err(StoreError::NotFound { .. })
    ));
    let other = repo
        .create(b, None, &model(ForecastMetric::DealsWon, 2))
        .await
        .unwrap();
    let list = repo
        .list(a, &ModelFilter::default(), Page::default())
        .await
        .unwrap();
    assert_eq!(
        list.items.iter().map(|x| x.id).collect::<Vec<_>>(),
        vec![m.id]
    );

    let at = Utc::now();
    repo.store_run(
        a,
        m.id,
        ForecastMetric::Revenue,
        "2025-01",
        0.95,
        &points(2, &[1.0, 2.0, 3.0]),
        at,
    )
    .await
    .unwrap();
    // The same origin again: replaced, not appended.
    repo.store_run(
        a,
        m.id,
        ForecastMetric::Revenue,
        "2025-01",
        0.95,
        &points(2, &[10.0, 20.0, 30.0]),
        at,
    )
    .await
    .unwrap();
    // A later origin: a new vintage.
    repo.store_run(
        a,
        m.id,
        ForecastMetric::Revenue,
        "2025-02",
        0.95,
        &points(3, &[40.0, 50.0, 60.0]),
        at,
    )
    .await
    .unwrap();
    let r = repo.results(a, m.id).await.unwrap();
    assert_eq!(r.len(), 6, "{r:?}");
    assert_eq!(
        r.iter().map(|x| x.value).collect::<Vec<_>>(),
        vec![10.0, 20.0, 30.0, 40.0, 50.0, 60.0]
    );
    // Another organization cannot store under A's model.
    assert!(matches!(
        repo.store_run(
            b,
            m.id,
            ForecastMetric::Revenue,
            "2025-03",
            0.95,
            &points(4, &[1.0]),
            at
        )
        .await,
        Err(StoreError::NotFound { .. })
    ));

    // March closed at 35, April at 0: written beside both vintages of March.
    let n = repo
        .write_actuals(
            a,
            ForecastMetric::Revenue,
            &[("2025-03".into(), 35.0), ("2025-04".into(), 0.0)],
        )
        .await
        .unwrap();
    assert_eq!(n, 4, "March twice, April twice");
    // Writing B's actuals touches nothing of A.
    repo.write_actuals(b, ForecastMetric::Revenue, &[("2025-03".into(), 1e9)])
        .await
        .unwrap();
    let r = repo.results(a, m.id).await.unwrap();
    let march: Vec<_> = r.iter().filter(|x| x.period == "2025-03").collect();
    assert_eq!(march.len(), 2);
    assert_eq!(march[0].error, Some(20.0 - 35.0));
    assert_eq!(march[1].error, Some(40.0 - 35.0));

    let by_h = repo.accuracy(a, None, true).await.unwrap();
    // Horizon 1: March from Feb (40 vs 35). Horizon 2: March from Jan (20 vs
    // 35), April from Feb (50 vs 0). Horizon 3: April from Jan (30 vs 0).
    assert_eq!(by_h.len(), 3, "{by_h:?}");
    assert_eq!((by_h[0].horizon, by_h[0].forecasts), (Some(1), 1));
    assert_eq!(by_h[0].mae, Some(5.0));
    assert_eq!(by_h[1].forecasts, 2);
    assert_eq!(by_h[1].mae, Some((15.0 + 50.0) / 2.0));
    assert!(
        (by_h[1].mape.unwrap() - 100.0 * 15.0 / 35.0).abs() < 1e-9,
        "zero actuals are left out"
    );
    assert_eq!(by_h[1].bias, Some((-15.0 + 50.0) / 2.0));
    assert_eq!(by_h[0].coverage, Some(1.0));
    assert_eq!(by_h[1].coverage, Some(0.0));
    let overall = repo.accuracy(a, None, false).await.unwrap();
    assert_eq!(overall.len(), 1);
    assert_eq!((overall[0].horizon, overall[0].forecasts), (None, 4));
    assert!(repo.accuracy(b, None, false).await.unwrap().is_empty());

    // Cleanup: only results generated before the cut, only of the org asked.
    repo.store_run(
        b,
        other.id,
        ForecastMetric::DealsWon,
        "2025-01",
        0.8,
        &points(2, &[1.0]),
        at,
    )
    .await
    .unwrap();
    assert_eq!(
        repo.cleanup(Some(a), at - chrono::Duration::seconds(1))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        repo.cleanup(Some(a), at + chrono::Duration::seconds(1))
            .await
            .unwrap(),
        6
    );
    assert_eq!(repo.results(b, other.id).await.unwrap().len(), 1);

    let patched = repo
        .update(
            a,
            None,
            m.id,
            &ForecastingModelPatch {
                active: Some(false),
                horizon_months: Some(6),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((patched.active, patched.horizon_months), (false, 6));
    assert!(repo.active(a).await.unwrap().is_empty());
    assert!(matches!(
        repo.delete(b, None, m.id).await,
        Err(StoreError::NotFound { .. })
    ));
    repo.delete(a, None, m.id).await.unwrap();
    assert!(matches!(
        repo.get(a, m.id).await,
        Err(StoreError::NotFound { .. })
    ));
}
