//! Behaviour on synthetic series with known parameters and on awkward input.

use super::{Arima, AutoArima, Order};
use crate::{Fitted, ForecastError, Model};

use crate::test_noise as noise;

#[test]
fn ar1_with_mean_recovers_its_parameters() {
    // y_t - 10 = 0.6 (y_{t-1} - 10) + e_t, sigma = 2, n = 2000: standard errors
    // are about 0.018 for phi and 0.11 for the mean.
    let e = noise(2000, 7);
    let mut y = vec![10.0; 2000];
    for t in 1..2000 {
        y[t] = 10.0 + 0.6 * (y[t - 1] - 10.0) + 2.0 * e[t];
    }
    let fit = Arima::new(Order::new(1, 0, 0), true)
        .fit_series(&y)
        .unwrap();
    assert!((fit.ar()[0] - 0.6).abs() < 0.05, "{:?}", fit.ar());
    assert!((fit.constant().unwrap() - 10.0).abs() < 0.3);
    assert!((fit.sigma2() - 4.0).abs() < 0.4, "{}", fit.sigma2());
}

#[test]
fn seasonal_ma_model_recovers_its_parameters() {
    // (1-B)(1-B^12) y = (1 - 0.4B)(1 - 0.6B^12) e, n = 600.
    let e = noise(600, 11);
    let mut w = vec![0.0; 600];
    for t in 0..600 {
        let mut v = e[t];
        if t >= 1 {
            v -= 0.4 * e[t - 1];
        }
        if t >= 12 {
            v -= 0.6 * e[t - 12];
        }
        if t >= 13 {
            v += 0.24 * e[t - 13];
        }
        w[t] = v;
    }
    let mut y = vec![0.0; 600];
    for t in 0..600 {
        let lag1 = if t >= 1 { y[t - 1] } else { 0.0 };
        let lag12 = if t >= 12 { y[t - 12] } else { 0.0 };
        let lag13 = if t >= 13 { y[t - 13] } else { 0.0 };
        y[t] = w[t] + lag1 + lag12 - lag13;
    }
    let y: Vec<f64> = y.iter().map(|v| v + 100.0).collect();
    let fit = Arima::new(Order::seasonal(0, 1, 1, 0, 1, 1, 12), false)
        .fit_series(&y)
        .unwrap();
    assert!((fit.ma()[0] + 0.4).abs() < 0.1, "{:?}", fit.ma());
    assert!((fit.sma()[0] + 0.6).abs() < 0.1, "{:?}", fit.sma());
    assert_eq!(fit.spec(), "ARIMA(0,1,1)(0,1,1)[12]");
}

#[test]
fn auto_arima_finds_seasonal_differencing_on_seasonal_series() {
    let e = noise(120, 3);
    let y: Vec<f64> = (0..120)
        .map(|t| {
            200.0
                + 1.5 * t as f64
                + 40.0 * (2.0 * std::f64::consts::PI * t as f64 / 12.0).sin()
                + 3.0 * e[t]
        })
        .collect();
    let fit = AutoArima::default().fit_series(&y, 12).unwrap();
    assert_eq!(fit.order().sd, 1, "{}", fit.spec());
    let f = fit.predict(12, 0.95).unwrap();
    // The next season repeats the pattern one year higher.
    for h in 0..12 {
        let t = (120 + h) as f64;
        let truth = 200.0 + 1.5 * t + 40.0 * (2.0 * std::f64::consts::PI * t / 12.0).sin();
        assert!(
            (f.mean[h] - truth).abs() < 15.0,
            "h={h}: {} vs {truth}",
            f.mean[h]
        );
        assert!(f.lower[h] < f.mean[h] && f.mean[h] < f.upper[h]);
    }
    let params = fit.params();
    for name in ["sigma2", "loglik", "aicc"] {
        assert!(
            params.iter().any(|(k, v)| k == name && v.is_finite()),
            "{params:?}"
        );
    }
    assert_eq!(fit.fitted_values().len(), 120);
}

#[test]
fn non_finite_input_is_rejected() {
    let mut y: Vec<f64> = (0..40).map(|t| t as f64).collect();
    y[17] = f64::NAN;
    assert_eq!(
        AutoArima::default().fit(&y, 12).err(),
        Some(ForecastError::NonFinite { index: 17 })
    );
    y[17] = f64::INFINITY;
    assert_eq!(
        Arima::new(Order::new(1, 0, 0), true).fit_series(&y).err(),
        Some(ForecastError::NonFinite { index: 17 })
    );
}

#[test]
fn empty_series_is_too_short() {
    assert!(matches!(
        AutoArima::default().fit(&[], 12),
        Err(ForecastError::TooShort { got: 0, .. })
    ));
}

#[test]
fn constant_and_zero_series_forecast_the_constant_with_no_width() {
    for v in [0.0, 5.0, -3.0] {
        let y = vec![v; 30];
        let fit = AutoArima::default().fit(&y, 12).unwrap();
        let f = fit.predict(6, 0.9).unwrap();
        assert!(f.mean.iter().all(|m| *m == v), "{f:?}");
        assert!(
            f.lower
                .iter()
                .zip(&f.upper)
                .all(|(l, u)| *l == v && *u == v)
        );
    }
}

#[test]
fn linear_trend_is_extrapolated_exactly() {
    let y: Vec<f64> = (0..30).map(|t| -50.0 + 2.5 * t as f64).collect();
    let fit = AutoArima::default().fit(&y, 12).unwrap();
    let f = fit.predict(3, 0.95).unwrap();
    for (h, m) in f.mean.iter().enumerate() {
        let want = -50.0 + 2.5 * (30 + h) as f64;
        assert!((m - want).abs() < 1e-9, "{m} vs {want}");
    }
}

#[test]
fn short_series_get_non_seasonal_models_without_panicking() {
    let e = noise(23, 5);
    for n in 1..23 {
        let y: Vec<f64> = (0..n).map(|t| 100.0 + 5.0 * e[t] + t as f64).collect();
        let fit = AutoArima::default()
            .fit(&y, 12)
            .unwrap_or_else(|err| panic!("n={n}: {err}"));
        assert!(!fit.spec().contains("[12]"), "n={n}: {}", fit.spec());
        let f = fit.predict(4, 0.95).unwrap();
        assert!(
            f.mean
                .iter()
                .chain(&f.lower)
                .chain(&f.upper)
                .all(|v| v.is_finite()),
            "n={n}: {f:?}"
        );
    }
}

#[test]
fn negative_and_intermittent_series_are_handled() {
    let e = noise(60, 9);
    let negative: Vec<f64> = (0..60).map(|t| -1000.0 + 50.0 * e[t]).collect();
    let f = AutoArima::default()
        .fit(&negative, 12)
        .unwrap()
        .predict(12, 0.95)
        .unwrap();
    assert!(f.mean.iter().all(|m| *m < -800.0 && *m > -1200.0), "{f:?}");
    let zeros: Vec<f64> = (0..60)
        .map(|t| if t % 7 == 0 { 30.0 + e[t] } else { 0.0 })
        .collect();
    let f = AutoArima::default()
        .fit(&zeros, 12)
        .unwrap()
        .predict(12, 0.95)
        .unwrap();
    assert!(f.mean.iter().all(|m| m.is_finite()));
}

#[test]
fn invalid_arguments_are_errors() {
    let y: Vec<f64> = (0..50).map(|t| (t % 5) as f64).collect();
    let fit = AutoArima::default().fit(&y, 12).unwrap();
    assert!(matches!(
        fit.predict(3, 1.5),
        Err(ForecastError::InvalidArgument(_))
    ));
    assert!(matches!(
        Arima::new(Order::seasonal(0, 0, 0, 1, 0, 0, 1), false).fit_series(&y),
        Err(ForecastError::InvalidArgument(_))
    ));
    assert!(matches!(
        Arima::new(Order::new(1, 0, 0), false).fit_with_coefficients(&y, &[0.1, 0.2]),
        Err(ForecastError::InvalidArgument(_))
    ));
    assert!(matches!(
        Arima::new(Order::new(3, 0, 0), false).fit_series(&y[..3]),
        Err(ForecastError::TooShort { .. })
    ));
}

#[test]
fn exhaustive_and_approximate_searches_agree_with_stepwise_on_a_clear_case() {
    // An AR(1) around a mean: every search should find a one-coefficient AR
    // model with a mean, and the exhaustive search can only do as well or better
    // by AICc than the stepwise one.
    let e = noise(150, 21);
    let mut y = vec![50.0; 150];
    for t in 1..150 {
        y[t] = 50.0 + 0.7 * (y[t - 1] - 50.0) + e[t];
    }
    let stepwise = AutoArima::default().fit_series(&y, 1).unwrap();
    let exhaustive = AutoArima {
        stepwise: false,
        max_order: 3,
        ..AutoArima::default()
    }
    .fit_series(&y, 1)
    .unwrap();
    let approx = AutoArima {
        approximation: true,
        ..AutoArima::default()
    }
    .fit_series(&y, 1)
    .unwrap();
    assert!(
        exhaustive.aicc() <= stepwise.aicc() + 1e-6,
        "{} vs {}",
        exhaustive.aicc(),
        stepwise.aicc()
    );
    for fit in [&stepwise, &exhaustive, &approx] {
        assert_eq!(fit.order().d, 0, "{}", fit.spec());
        assert!(
            fit.constant().is_some_and(|c| (c - 50.0).abs() < 1.0),
            "{}",
            fit.spec()
        );
        assert!(
            !fit.spec().contains("CSS"),
            "approximate searches refit the winner by ML"
        );
    }
    assert_eq!(stepwise.spec(), "ARIMA(1,0,0) with non-zero mean");
}
