//! The ensemble's weights must come from out-of-sample errors only.

use neuracrm_forecast::ensemble::Ensemble;
use neuracrm_forecast::naive::SeasonalNaive;
use neuracrm_forecast::theta::Theta;
use neuracrm_forecast::{Fitted, Forecast, ForecastError, Model};

/// Memorises the training data (perfect in-sample fit) and forecasts its mean
/// shifted far away: the best model by any in-sample measure, the worst out of
/// sample.
struct Memoriser;

struct MemoriserFit {
    y: Vec<f64>,
}

impl Model for Memoriser {
    fn name(&self) -> &'static str {
        "memoriser"
    }
    fn fit(&self, y: &[f64], _period: usize) -> Result<Box<dyn Fitted>, ForecastError> {
        Ok(Box::new(MemoriserFit { y: y.to_vec() }))
    }
}

impl Fitted for MemoriserFit {
    fn predict(&self, h: usize, level: f64) -> Result<Forecast, ForecastError> {
        let mean = self.y.iter().sum::<f64>() / self.y.len() as f64;
        let v = 3.0 * mean + 100.0;
        Ok(Forecast {
            mean: vec![v; h],
            lower: vec![v - 1.0; h],
            upper: vec![v + 1.0; h],
            level,
        })
    }
    fn spec(&self) -> String {
        "memoriser".into()
    }
    fn params(&self) -> Vec<(String, f64)> {
        vec![]
    }
    fn fitted_values(&self) -> Vec<f64> {
        self.y.clone()
    }
}

/// Fails on every series shorter than `min`.
struct Picky {
    min: usize,
}

impl Model for Picky {
    fn name(&self) -> &'static str {
        "picky"
    }
    fn fit(&self, y: &[f64], period: usize) -> Result<Box<dyn Fitted>, ForecastError> {
        if y.len() < self.min {
            return Err(ForecastError::TooShort {
                got: y.len(),
                needed: self.min,
            });
        }
        SeasonalNaive.fit(y, period)
    }
}

fn seasonal_series(n: usize) -> Vec<f64> {
    (0..n)
        .map(|t| {
            200.0
                + 2.0 * t as f64
                + 30.0 * ((t % 12) as f64 * std::f64::consts::FRAC_PI_6).sin()
                + ((t * 17) % 9) as f64
        })
        .collect()
}

#[test]
fn in_sample_perfection_earns_no_weight() {
    let y = seasonal_series(60);
    let ens = Ensemble {
        top_k: 2,
        ..Ensemble::new(vec![
            Box::new(Memoriser),
            Box::new(Theta),
            Box::new(SeasonalNaive),
        ])
    };
    let fit = ens.fit_ensemble(&y, 12).unwrap();
    let w: std::collections::HashMap<_, _> = fit.weights().into_iter().collect();
    assert_eq!(w["memoriser"], 0.0, "{w:?}");
    assert!((w["theta"] + w["seasonal_naive"] - 1.0).abs() < 1e-12);
    assert_ne!(fit.best_model(), "memoriser");
    let mem = fit
        .performance()
        .iter()
        .find(|p| p.model == "memoriser")
        .unwrap();
    let theta = fit
        .performance()
        .iter()
        .find(|p| p.model == "theta")
        .unwrap();
    assert!(mem.backtest.as_ref().unwrap().smape > theta.backtest.as_ref().unwrap().smape);
}

#[test]
fn weights_follow_backtest_errors_and_are_not_constant() {
    let ens = Ensemble::new(vec![Box::new(Theta), Box::new(SeasonalNaive)]);
    // Strongly seasonal: seasonal naive should weigh at least as much as on a
    // pure random-walk-like trend, where it lags a whole season behind.
    let seasonal: Vec<f64> = (0..60)
        .map(|t| 100.0 + 50.0 * ((t % 12) as f64 - 5.5).abs())
        .collect();
    let trend: Vec<f64> = (0..60)
        .map(|t| 100.0 + 5.0 * t as f64 + ((t * 7) % 3) as f64)
        .collect();
    let w_of = |y: &[f64]| -> f64 {
        let fit = ens.fit_ensemble(y, 12).unwrap();
        let total: f64 = fit.weights().iter().map(|p| p.1).sum();
        assert!((total - 1.0).abs() < 1e-12);
        fit.weights()
            .into_iter()
            .find(|p| p.0 == "seasonal_naive")
            .unwrap()
            .1
    };
    let (ws, wt) = (w_of(&seasonal), w_of(&trend));
    assert!(ws > wt + 0.1, "seasonal {ws} vs trend {wt}");
}

#[test]
fn weights_are_inverse_backtest_mase() {
    let y = seasonal_series(72);
    let fit = Ensemble::new(vec![Box::new(Theta), Box::new(SeasonalNaive)])
        .fit_ensemble(&y, 12)
        .unwrap();
    let perf = fit.performance();
    let mase = |name: &str| {
        perf.iter()
            .find(|p| p.model == name)
            .unwrap()
            .backtest
            .as_ref()
            .unwrap()
            .mase
    };
    let (a, b) = (mase("theta"), mase("seasonal_naive"));
    let w: std::collections::HashMap<_, _> = fit.weights().into_iter().collect();
    let want = (1.0 / a) / (1.0 / a + 1.0 / b);
    assert!(
        (w["theta"] - want).abs() < 1e-12,
        "{} vs {want}",
        w["theta"]
    );
}

#[test]
fn ensemble_row_is_out_of_sample_and_reported_first() {
    let y = seasonal_series(72);
    let fit = Ensemble::default().fit_ensemble(&y, 12).unwrap();
    let perf = fit.performance();
    assert_eq!(perf[0].model, "ensemble");
    let bt = perf[0].backtest.as_ref().unwrap();
    assert_eq!((bt.folds, bt.horizon), (2, 12));
    assert!(bt.smape.is_finite() && bt.mase.is_finite() && bt.mape.is_finite());
    for p in &perf[1..] {
        let b = p.backtest.as_ref().unwrap();
        assert!(
            b.smape > 0.0,
            "{}: a backtest error of exactly 0 would be suspicious",
            p.model
        );
    }
    let f = fit.predict(18, 0.95).unwrap();
    assert_eq!(f.len(), 18);
    assert!(f.lower.iter().zip(&f.upper).all(|(l, u)| l < u));
}

#[test]
fn a_member_failing_on_short_folds_is_reported_and_left_out() {
    // Fits the full series (60) but not the backtest windows (36, 48).
    let y = seasonal_series(60);
    let ens = Ensemble::new(vec![Box::new(Picky { min: 55 }), Box::new(Theta)]);
    let fit = ens.fit_ensemble(&y, 12).unwrap();
    let w: std::collections::HashMap<_, _> = fit.weights().into_iter().collect();
    assert_eq!(w["picky"], 0.0);
    assert_eq!(w["theta"], 1.0);
    let picky = fit
        .performance()
        .iter()
        .find(|p| p.model == "picky")
        .unwrap();
    assert!(picky.backtest.is_none() && picky.error.is_some());
    // A member that cannot fit at all is reported with its error.
    let ens = Ensemble::new(vec![Box::new(Picky { min: 1000 }), Box::new(Theta)]);
    let fit = ens.fit_ensemble(&y, 12).unwrap();
    let picky = fit
        .performance()
        .iter()
        .find(|p| p.model == "picky")
        .unwrap();
    assert!(picky.error.as_deref().unwrap().contains("1000"));
}

#[test]
fn report_plan_backtests_the_whole_horizon_with_at_least_half_the_series() {
    use neuracrm_forecast::ensemble::report_plan;
    // 36 months, 12 ahead: two overlapping 12-month windows, from 24 and 18.
    assert_eq!(report_plan(36, 12, 2), (vec![24, 18], 12));
    // Room for disjoint windows: they do not overlap.
    assert_eq!(report_plan(72, 12, 2), (vec![60, 48], 12));
    // 24 months, 12 ahead: one window, trained on the first half.
    assert_eq!(report_plan(24, 12, 2), (vec![12], 12));
    // Further ahead than half the series: as far as half the series allows.
    assert_eq!(report_plan(36, 60, 2), (vec![18], 18));
    // Too short for any fold.
    assert!(report_plan(4, 3, 2).0.is_empty());
}

#[test]
fn reported_errors_are_those_of_forecasts_as_far_ahead_as_the_one_made() {
    // What broke: with 24 or 36 months of history the ensemble reported the
    // errors of 6- or 9-month forecasts beside a 12-month forecast.
    let ens = Ensemble::default();
    for (n, folds) in [(24, 1), (36, 2)] {
        let y = seasonal_series(n);
        let fit = ens.fit_ensemble_for(&y, 12, Some(12)).unwrap();
        for p in fit.performance() {
            match &p.backtest {
                Some(b) => assert_eq!((b.folds, b.horizon), (folds, 12), "{n}: {}", p.model),
                // A seasonally differenced ARIMA cannot forecast from 12
                // months, the one origin of a 24-month series: said so.
                None => assert!(p.model != "ensemble" && p.error.is_some(), "{n}: {p:?}"),
            }
        }
        // The weights, hence the forecast, do not depend on the horizon asked.
        let plain = ens.fit_ensemble(&y, 12).unwrap();
        assert_eq!(plain.weights(), fit.weights());
        assert_eq!(
            plain.predict(12, 0.95).unwrap(),
            fit.predict(12, 0.95).unwrap()
        );
    }
}
