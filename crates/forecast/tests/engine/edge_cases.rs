//! The CRM's inputs are messy: too short, constant, all zero, negative,
//! non-finite. None of these may panic; each has a defined outcome.

use neuracrm_forecast::report::{
    ForecastOutcome, ForecastReport, ForecastRequest, MIN_OBSERVATIONS, TrendDirection,
    forecast_series,
};
use neuracrm_forecast::{ForecastError, model_by_name};

fn ready(y: &[f64], req: &ForecastRequest) -> Box<ForecastReport> {
    match forecast_series(y, req).unwrap() {
        ForecastOutcome::Ready(r) => r,
        ForecastOutcome::Insufficient { reason, .. } => panic!("unexpected: {reason}"),
    }
}

fn assert_sane(r: &ForecastReport, h: usize) {
    let f = &r.forecast;
    assert_eq!(f.len(), h);
    for j in 0..h {
        assert!(f.mean[j].is_finite() && f.lower[j].is_finite() && f.upper[j].is_finite());
        assert!(
            f.lower[j] <= f.mean[j] + 1e-9 && f.mean[j] <= f.upper[j] + 1e-9,
            "step {j}: {f:?}"
        );
    }
    assert_eq!(r.model_performance[0].model, "ensemble");
}

#[test]
fn fewer_than_six_observations_is_an_empty_forecast_with_a_reason() {
    for n in 0..MIN_OBSERVATIONS {
        let y = vec![10.0; n];
        match forecast_series(&y, &ForecastRequest::default()).unwrap() {
            ForecastOutcome::Insufficient {
                observations,
                needed,
                reason,
            } => {
                assert_eq!((observations, needed), (n, 6));
                assert!(reason.contains("at least 6"), "{reason}");
            }
            ForecastOutcome::Ready(_) => panic!("{n} observations must not forecast"),
        }
    }
}

#[test]
fn non_finite_input_is_an_error() {
    let mut y: Vec<f64> = (0..30).map(|t| t as f64).collect();
    y[7] = f64::NAN;
    assert_eq!(
        forecast_series(&y, &ForecastRequest::default()).unwrap_err(),
        ForecastError::NonFinite { index: 7 }
    );
    y[7] = f64::INFINITY;
    assert!(matches!(
        forecast_series(&y, &ForecastRequest::default()),
        Err(ForecastError::NonFinite { index: 7 })
    ));
    // Even too-short series with NaN are errors, not "insufficient".
    assert!(forecast_series(&[f64::NAN], &ForecastRequest::default()).is_err());
}

#[test]
fn bad_arguments_are_errors() {
    let y = vec![1.0; 12];
    let zero_h = ForecastRequest {
        horizon: 0,
        ..ForecastRequest::default()
    };
    assert!(matches!(
        forecast_series(&y, &zero_h),
        Err(ForecastError::InvalidArgument(_))
    ));
    let bad_level = ForecastRequest {
        level: 1.5,
        ..ForecastRequest::default()
    };
    assert!(matches!(
        forecast_series(&y, &bad_level),
        Err(ForecastError::InvalidArgument(_))
    ));
}

#[test]
fn constant_and_zero_series_forecast_the_constant() {
    for c in [0.0, 250.0, -40.0] {
        let y = vec![c; 30];
        let r = ready(
            &y,
            &ForecastRequest {
                horizon: 6,
                ..ForecastRequest::default()
            },
        );
        assert_sane(&r, 6);
        for v in &r.forecast.mean {
            assert!((v - c).abs() < 1e-9, "constant {c}: {v}");
        }
        assert_eq!(r.insights.trend, TrendDirection::Flat);
        assert!(r.insights.anomalies.is_empty());
    }
}

#[test]
fn negative_values_and_zeros_mixed_do_not_panic() {
    // Net revenue with refunds: negative months and zero months.
    let y: Vec<f64> = (0..40)
        .map(|t| match t % 5 {
            0 => 0.0,
            1 => -120.0,
            _ => 300.0 + 10.0 * t as f64,
        })
        .collect();
    let r = ready(
        &y,
        &ForecastRequest {
            horizon: 12,
            ..ForecastRequest::default()
        },
    );
    assert_sane(&r, 12);
    assert!(
        r.model_performance
            .iter()
            .all(|p| p.error.is_none() || p.model != "ensemble")
    );
}

#[test]
fn short_series_use_non_seasonal_variants_only() {
    // Six to 23 months: fewer than two seasons, so period 1 everywhere.
    for n in [6, 7, 11, 13, 23] {
        let y: Vec<f64> = (0..n)
            .map(|t| 100.0 + 3.0 * t as f64 + if t % 12 == 11 { 40.0 } else { 0.0 })
            .collect();
        let r = ready(
            &y,
            &ForecastRequest {
                horizon: 4,
                ..ForecastRequest::default()
            },
        );
        assert_sane(&r, 4);
        assert_eq!(r.period_used, 1, "n = {n}");
        assert_eq!(r.insights.seasonal_peak, None);
        let ets = r
            .model_performance
            .iter()
            .find(|p| p.model == "ets")
            .unwrap();
        assert!(ets.spec.ends_with(",N)"), "n = {n}: {}", ets.spec);
    }
    let y: Vec<f64> = (0..24).map(|t| 100.0 + (t % 12) as f64).collect();
    assert_eq!(ready(&y, &ForecastRequest::default()).period_used, 12);
}

#[test]
fn every_model_survives_odd_input() {
    let inputs: Vec<Vec<f64>> = vec![
        vec![0.0; 8],
        vec![5.0; 40],
        (0..8).map(|t| t as f64).collect(),
        (0..40).map(|t| -(t as f64)).collect(),
        (0..40)
            .map(|t| if t % 2 == 0 { 0.0 } else { 1e6 })
            .collect(),
        (0..30).map(|t| 1e-9 * t as f64).collect(),
    ];
    for name in [
        "ensemble",
        "auto_arima",
        "prophet",
        "ets",
        "ets_fast",
        "theta",
        "regression",
        "seasonal_naive",
    ] {
        let model = model_by_name(name).unwrap();
        for y in &inputs {
            // Errors are allowed (typed); panics and non-finite forecasts are not.
            if let Ok(fit) = model.fit(y, 12) {
                let f = fit.predict(6, 0.8).unwrap();
                assert!(
                    f.mean
                        .iter()
                        .chain(&f.lower)
                        .chain(&f.upper)
                        .all(|v| v.is_finite()),
                    "{name} on {y:?}: {f:?}"
                );
            }
        }
    }
}

#[test]
fn insights_name_trend_peak_trough_and_anomalies() {
    // Four years starting in January: December peak, February trough, 2%
    // monthly growth, and one broken month (index 30, July of year 3).
    let shape = [
        0.9, 0.7, 0.95, 1.0, 1.0, 1.05, 1.0, 0.95, 1.0, 1.05, 1.1, 1.3,
    ];
    let mut y: Vec<f64> = (0..48)
        .map(|t| {
            1000.0 * 1.02f64.powi(t as i32) * shape[t % 12] * (1.0 + 0.01 * ((t * 7) % 5) as f64)
        })
        .collect();
    y[30] *= 2.5;
    let r = ready(
        &y,
        &ForecastRequest {
            horizon: 12,
            start_month: Some(1),
            ..ForecastRequest::default()
        },
    );
    assert_sane(&r, 12);
    let ins = &r.insights;
    assert_eq!(ins.trend, TrendDirection::Up);
    assert!(
        ins.growth_rate_pct_per_period > 1.0,
        "{}",
        ins.growth_rate_pct_per_period
    );
    assert_eq!(ins.seasonal_peak, Some(12));
    assert_eq!(ins.seasonal_trough, Some(2));
    assert!(ins.next_season_vs_last_pct.unwrap() > 5.0);
    let first = ins.anomalies.first().expect("the broken month is reported");
    assert_eq!((first.index, first.month), (30, Some(7)));
    assert!(first.actual > first.expected);

    // A falling series is Down.
    let down: Vec<f64> = (0..36)
        .map(|t| 500.0 - 8.0 * t as f64 + ((t * 13) % 7) as f64)
        .collect();
    assert_eq!(
        ready(&down, &ForecastRequest::default()).insights.trend,
        TrendDirection::Down
    );
}

#[test]
fn report_serialises_with_a_status_tag() {
    let out = forecast_series(&[1.0, 2.0], &ForecastRequest::default()).unwrap();
    let json = serde_json::to_value(&out).unwrap();
    assert_eq!(json["status"], "insufficient");
    assert_eq!(json["observations"], 2);
}
