//! The evaluation harness on a tiny CSV written by the test.

use neuracrm_forecast::ForecastError;
use neuracrm_forecast::eval::{EvalOptions, parse_series_csv, run_eval};

fn write_csv(name: &str, body: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "neuracrm-forecast-eval-{}-{name}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("series.csv");
    std::fs::write(&path, body).unwrap();
    path
}

fn tiny_csv() -> String {
    let mut s = String::from("series_id,date,value\n");
    // Rows deliberately out of order: the harness sorts by id, then by date.
    for (id, base) in [("B", 50.0), ("A", 10.0), ("C", 80.0)] {
        for t in (0..40).rev() {
            let v = base + t as f64 + if t % 12 == 0 { 5.0 } else { 0.0 };
            s.push_str(&format!(
                "{id},20{:02}-{:02}-01,{v}\n",
                10 + t / 12,
                t % 12 + 1
            ));
        }
    }
    s
}

#[test]
fn scores_every_model_and_serialises_the_documented_shape() {
    let path = write_csv("ok", &tiny_csv());
    let opts = EvalOptions {
        path,
        h: 6,
        models: vec!["seasonal_naive".into(), "theta".into()],
        min_train: 12,
        ..EvalOptions::default()
    };
    let report = run_eval(&opts).unwrap();
    assert_eq!((report.series, report.h), (3, 6));
    assert_eq!(report.models.len(), 2);
    let snaive = &report.models[0];
    // Hand check of seasonal naive on series A (sorted first): train t=0..33,
    // test t=34..39 = 10+t (no t%12==0 in the test window); the forecast for
    // t is the value at t-12, i.e. 10+t-12 except t=36 whose source t=24 has
    // the +5 bump... t=36 itself has the bump: actual 51, forecast 10+24+5 = 39.
    let a_train: Vec<f64> = (0..34)
        .map(|t| 10.0 + t as f64 + if t % 12 == 0 { 5.0 } else { 0.0 })
        .collect();
    let a_test: Vec<f64> = (34..40)
        .map(|t| 10.0 + t as f64 + if t % 12 == 0 { 5.0 } else { 0.0 })
        .collect();
    let a_fc: Vec<f64> = (34..40).map(|t| a_train[t - 12]).collect();
    let s_a = neuracrm_forecast::metrics::smape(&a_test, &a_fc);
    assert!(s_a > 0.0);
    assert!(snaive.smape_mean > 0.0 && snaive.smape_median > 0.0 && snaive.mase_mean > 0.0);
    assert_eq!(snaive.failures, 0);
    assert!((0.0..=1.0).contains(&snaive.coverage95));
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(json["series"], 3);
    assert_eq!(json["h"], 6);
    let row = &json["models"][1];
    assert_eq!(row["model"], "theta");
    for key in [
        "smape_mean",
        "smape_median",
        "mase_mean",
        "coverage95",
        "ms_per_series",
        "failures",
    ] {
        assert!(row.get(key).is_some(), "missing {key}");
    }
    let table = report.to_string();
    assert!(table.contains("theta") && table.contains("sMAPE"));

    // Threads and every-K: the same numbers from two threads; every 2nd series = A, C.
    let threaded = run_eval(&EvalOptions {
        threads: 2,
        ..opts.clone()
    })
    .unwrap();
    assert_eq!(threaded.models[1].smape_mean, report.models[1].smape_mean);
    let sampled = run_eval(&EvalOptions { every: 2, ..opts }).unwrap();
    assert_eq!(sampled.series, 2);
}

#[test]
fn seasonal_naive_smape_by_hand() {
    // One series whose seasonal naive forecast is off by a known amount.
    let mut csv = String::from("series_id,date,value\n");
    let y: Vec<f64> = (0..30)
        .map(|t| if t < 24 { 100.0 } else { 150.0 })
        .collect();
    for (t, v) in y.iter().enumerate() {
        csv.push_str(&format!("S,2000-{:02}-{:02},{v}\n", t / 28 + 1, t % 28 + 1));
    }
    let path = write_csv("hand", &csv);
    let opts = EvalOptions {
        path,
        h: 6,
        models: vec!["seasonal_naive".into()],
        min_train: 12,
        ..EvalOptions::default()
    };
    let r = run_eval(&opts).unwrap();
    // Forecast 100 for actual 150: 200*50/250 = 40 per step.
    assert!(
        (r.models[0].smape_mean - 40.0).abs() < 1e-12,
        "{}",
        r.models[0].smape_mean
    );
    // Training data is constant: MASE falls back to scale 1, MAE 50.
    assert!((r.models[0].mase_mean - 50.0).abs() < 1e-12);
}

#[test]
fn file_and_format_errors_are_clear() {
    let missing = EvalOptions {
        path: "/nonexistent/series.csv".into(),
        ..EvalOptions::default()
    };
    assert!(matches!(run_eval(&missing), Err(ForecastError::Io(m)) if m.contains("/nonexistent")));
    assert!(matches!(
        parse_series_csv("id,when,amount\n"),
        Err(ForecastError::Parse { line: 1, .. })
    ));
    assert!(matches!(
        parse_series_csv("series_id,date,value\nA,2020-01-01,abc\n"),
        Err(ForecastError::Parse { line: 2, .. })
    ));
    let path = write_csv("unknown", &tiny_csv());
    let bad_model = EvalOptions {
        path,
        models: vec!["crystal_ball".into()],
        ..EvalOptions::default()
    };
    assert!(matches!(
        run_eval(&bad_model),
        Err(ForecastError::InvalidArgument(_))
    ));
}
