//! Train → save → load → analyze/eval through the public API.

use neuracrm_sentiment::forest::ForestConfig;
use neuracrm_sentiment::{
    Algorithm, Analyzer, Label, Method, SentimentIntensityAnalyzer, SentimentModel, TrainOptions,
};

use crate::common::synthetic;

fn small_rf() -> TrainOptions {
    TrainOptions {
        forest: ForestConfig {
            n_trees: 12,
            ..ForestConfig::default()
        },
        ..TrainOptions::default()
    }
}

#[test]
fn training_is_deterministic_for_a_seed() {
    let data = synthetic(300);
    let (a, ra) = neuracrm_sentiment::train(&data, &small_rf()).unwrap();
    let (b, rb) = neuracrm_sentiment::train(&data, &small_rf()).unwrap();
    assert!(
        a.to_bytes().unwrap() == b.to_bytes().unwrap(),
        "same seed, different model"
    );
    assert_eq!((ra.accuracy, ra.macro_f1), (rb.accuracy, rb.macro_f1));
    let mut other = small_rf();
    other.forest.seed = 7;
    let (c, _) = neuracrm_sentiment::train(&data, &other).unwrap();
    assert!(
        a.to_bytes().unwrap() != c.to_bytes().unwrap(),
        "seed ignored"
    );
    // Thread count does not change the forest.
    let mut one = small_rf();
    one.forest.threads = 1;
    let (d, _) = neuracrm_sentiment::train(&data, &one).unwrap();
    assert!(a == d, "thread count changed the forest");
}

#[test]
fn both_algorithms_learn_the_synthetic_data_and_report_held_out_scores() {
    let data = synthetic(300);
    for (algorithm, vader_features) in [
        (Algorithm::RandomForest, true),
        (Algorithm::LogisticRegression, true),
        (Algorithm::RandomForest, false),
        (Algorithm::LogisticRegression, false),
    ] {
        let options = TrainOptions {
            algorithm,
            vader_features,
            ..small_rf()
        };
        let (model, report) = neuracrm_sentiment::train(&data, &options).unwrap();
        assert_eq!(report.n_test, 60, "20% of 300 held out");
        assert_eq!(report.n_train, 240);
        assert_eq!(report.labels, Label::ALL);
        assert!(report.accuracy > 0.95, "{algorithm}: {report}");
        assert!(report.macro_f1 > 0.95, "{algorithm}: {report}");
        assert_eq!(model.metrics.accuracy, report.accuracy);
        assert_eq!(model.vader_features, vader_features);
        let text = report.to_string();
        assert!(text.contains("held-out accuracy"), "{text}");
        let p = model.predict("terrible support, the integration is broken");
        assert_eq!(p.label, Label::Negative);
        assert!((p.probabilities.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    }
}

#[test]
fn two_class_data_gives_a_two_class_model() {
    let mut data = synthetic(300);
    let keep: Vec<usize> = (0..data.texts.len())
        .filter(|&i| data.labels[i] != Label::Neutral)
        .collect();
    data.texts = keep.iter().map(|&i| data.texts[i].clone()).collect();
    data.labels = keep.iter().map(|&i| data.labels[i]).collect();
    let (model, report) = neuracrm_sentiment::train(&data, &small_rf()).unwrap();
    assert_eq!(model.labels, [Label::Negative, Label::Positive]);
    assert_eq!(report.labels.len(), 2);
    assert_eq!(model.predict("great demo").probabilities[1], 0.0);
}

#[test]
fn one_label_is_not_enough() {
    let mut data = synthetic(30);
    data.labels.iter_mut().for_each(|l| *l = Label::Positive);
    assert!(matches!(
        neuracrm_sentiment::train(&data, &small_rf()),
        Err(neuracrm_sentiment::Error::NotEnoughData(_))
    ));
}

#[test]
fn analyzer_uses_the_model_when_loaded_and_vader_otherwise() {
    let (model, _) = neuracrm_sentiment::train(&synthetic(300), &small_rf()).unwrap();
    let with = Analyzer::with_model(Some(model));
    let a = with.analyze("angry about the outage and the delay");
    assert_eq!((a.label, a.method), (Label::Negative, Method::Model));
    assert!(a.confidence > 0.5 && a.confidence <= 1.0);
    assert!(((a.negative + a.neutral + a.positive) - 1.0).abs() < 1e-9);
    let without = Analyzer::with_model(None);
    let b = without.analyze("angry about the outage and the delay");
    assert_eq!(b.method, Method::Vader);
    assert_eq!(
        b.compound, a.compound,
        "VADER's compound is reported in both modes"
    );
}

#[test]
fn eval_report_json_has_the_documented_shape() {
    let data = synthetic(90);
    let (model, _) = neuracrm_sentiment::train(&data, &small_rf()).unwrap();
    let vader = SentimentIntensityAnalyzer::new();
    let report = neuracrm_sentiment::evaluate(&data, &vader, Some(&model));
    let json = serde_json::to_value(&report).unwrap();
    let results = json["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["method"], "vader");
    assert_eq!(results[1]["method"], "model");
    for r in results {
        let keys: Vec<&String> = r.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["accuracy", "macro_f1", "method", "per_second"]);
        assert!(r["per_second"].as_f64().unwrap() > 0.0);
    }
    assert!(results[1]["accuracy"].as_f64().unwrap() > 0.9);
    let table = report.to_string();
    assert!(
        table.starts_with("method") && table.contains("vader") && table.contains("model"),
        "{table}"
    );
}

#[test]
fn eval_from_csv_with_quoted_texts() {
    let csv = "text,label\n\"Great call, thanks!\",positive\n\"Awful, \"\"broken\"\" again\",negative\nMeeting at ten,neutral\n";
    let vader = SentimentIntensityAnalyzer::new();
    let report = neuracrm_sentiment::evaluate_csv(csv.as_bytes(), &vader, None).unwrap();
    assert_eq!(report.results.len(), 1);
    // VADER gets all three right: 0.8, -0.7, 0.0 compounds.
    assert_eq!(report.results[0].accuracy, 1.0);
    assert_eq!(report.results[0].macro_f1, 1.0);
}

#[test]
fn saved_model_loads_from_disk() {
    let (model, _) = neuracrm_sentiment::train(&synthetic(120), &small_rf()).unwrap();
    let path = std::env::temp_dir().join(format!(
        "neuracrm-sentiment-test-{}.model",
        std::process::id()
    ));
    model.save(&path).unwrap();
    let back = SentimentModel::load(&path);
    std::fs::remove_file(&path).unwrap();
    assert!(back.unwrap() == model, "disk round trip changed the model");
}
