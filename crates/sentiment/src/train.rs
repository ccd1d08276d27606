//! `neuracrm sentiment train`: split, fit, measure on held-out data, package.
//!
//! Scores are only ever measured on the held-out 20%: a model's training-set
//! accuracy says nothing about the texts it will see.

use std::io::Read;
use std::time::Instant;

use serde::Serialize;

use crate::forest::{ForestConfig, RandomForest};
use crate::logreg::{LogRegConfig, LogisticRegression};
use crate::metrics::{accuracy, labels_present, macro_f1};
use crate::model::{
    Classifier, ModelMetrics, SentimentModel, VADER_FEATURES, VaderFeatures, featurize,
};
use crate::split::stratified_split;
use crate::tfidf::{TfidfConfig, TfidfVectorizer};
use crate::{Error, Label, LabelledData, Result};

/// Which classifier to train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Algorithm {
    /// Random forest (`rf`), the default.
    RandomForest,
    /// Multinomial logistic regression (`logreg`).
    LogisticRegression,
}

impl std::str::FromStr for Algorithm {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "rf" | "random_forest" | "randomforest" => Ok(Algorithm::RandomForest),
            "logreg" | "logistic_regression" | "lr" => Ok(Algorithm::LogisticRegression),
            _ => Err(Error::InvalidOption(format!(
                "unknown algorithm {s:?} (expected rf or logreg)"
            ))),
        }
    }
}

impl std::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Algorithm::RandomForest => "rf",
            Algorithm::LogisticRegression => "logreg",
        })
    }
}

/// Everything `train` can be told.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOptions {
    /// Classifier to fit.
    pub algorithm: Algorithm,
    /// TF-IDF options.
    pub tfidf: TfidfConfig,
    /// Random forest options (used with [`Algorithm::RandomForest`]).
    pub forest: ForestConfig,
    /// Logistic regression options (used with [`Algorithm::LogisticRegression`]).
    pub logreg: LogRegConfig,
    /// Append VADER's scores to the TF-IDF features (on by default: the
    /// rules know negation and intensity, which bags of words learn poorly).
    pub vader_features: bool,
    /// Share of rows held out for testing.
    pub test_fraction: f64,
    /// Seed of the split (the forest has its own in `forest.seed`).
    pub seed: u64,
}

impl Default for TrainOptions {
    /// RF with 100 trees on word 1–2-grams, 5,000 features, sublinear tf
    /// (as the Python peer), 80/20 stratified split, seed 42.
    fn default() -> Self {
        Self {
            algorithm: Algorithm::RandomForest,
            tfidf: TfidfConfig {
                sublinear_tf: true,
                ..TfidfConfig::default()
            },
            forest: ForestConfig::default(),
            logreg: LogRegConfig::default(),
            vader_features: true,
            test_fraction: 0.2,
            seed: 42,
        }
    }
}

/// What training measured. `Display` is the CLI's text; `Serialize` its JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainReport {
    /// Classifier trained.
    pub algorithm: Algorithm,
    /// Labels of the data, in class order.
    pub labels: Vec<Label>,
    /// Training rows.
    pub n_train: usize,
    /// Held-out rows.
    pub n_test: usize,
    /// Vocabulary size.
    pub vocabulary: usize,
    /// Held-out accuracy.
    pub accuracy: f64,
    /// Held-out macro-F1.
    pub macro_f1: f64,
    /// Wall time of fitting TF-IDF and the classifier, seconds.
    pub train_seconds: f64,
    /// Wall time of predicting the held-out rows, seconds.
    pub predict_seconds: f64,
}

impl std::fmt::Display for TrainReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let labels: Vec<&str> = self.labels.iter().map(|l| l.as_str()).collect();
        writeln!(
            f,
            "algorithm {}  labels {}  train {}  held-out {}  vocabulary {}",
            self.algorithm,
            labels.join("/"),
            self.n_train,
            self.n_test,
            self.vocabulary
        )?;
        write!(
            f,
            "held-out accuracy {:.4}  macro-F1 {:.4}  training {:.2} s  prediction {:.3} s",
            self.accuracy, self.macro_f1, self.train_seconds, self.predict_seconds
        )
    }
}

/// Train on `data` with a stratified split (by `source` and label when the
/// data has a source column, by label otherwise) and return the model and its
/// held-out report.
pub fn train(data: &LabelledData, options: &TrainOptions) -> Result<(SentimentModel, TrainReport)> {
    if data.texts.len() != data.labels.len() {
        return Err(Error::InvalidOption(format!(
            "{} texts but {} labels",
            data.texts.len(),
            data.labels.len()
        )));
    }
    let labels = labels_present(&data.labels);
    if labels.len() < 2 {
        return Err(Error::NotEnoughData(
            "training needs at least two different labels".into(),
        ));
    }
    let strata: Vec<(String, Label)> = data
        .labels
        .iter()
        .enumerate()
        .map(|(i, &l)| (data.sources.get(i).cloned().unwrap_or_default(), l))
        .collect();
    let split = stratified_split(&strata, options.test_fraction, options.seed)?;
    let class_of = |l: Label| labels.iter().position(|&x| x == l).unwrap_or(0);
    let train_texts: Vec<&str> = split
        .train
        .iter()
        .map(|&i| data.texts[i].as_str())
        .collect();
    let train_y: Vec<usize> = split
        .train
        .iter()
        .map(|&i| class_of(data.labels[i]))
        .collect();
    if labels_present(
        &split
            .train
            .iter()
            .map(|&i| data.labels[i])
            .collect::<Vec<_>>(),
    )
    .len()
        != labels.len()
    {
        return Err(Error::NotEnoughData(
            "every label needs rows in the training split".into(),
        ));
    }

    let started = Instant::now();
    let vectorizer = TfidfVectorizer::fit(&train_texts, options.tfidf)?;
    let vader = VaderFeatures::default();
    let vader_ref = options.vader_features.then_some(&vader.0);
    let x: Vec<_> = train_texts
        .iter()
        .map(|t| featurize(&vectorizer, vader_ref, t))
        .collect();
    let n_features = vectorizer.len()
        + if options.vader_features {
            VADER_FEATURES
        } else {
            0
        };
    let k = labels.len();
    let classifier =
        match options.algorithm {
            Algorithm::RandomForest => Classifier::RandomForest(RandomForest::fit(
                &x,
                &train_y,
                k,
                n_features,
                &options.forest,
            )?),
            Algorithm::LogisticRegression => Classifier::LogisticRegression(
                LogisticRegression::fit(&x, &train_y, k, n_features, &options.logreg)?,
            ),
        };
    let train_seconds = started.elapsed().as_secs_f64();
    drop(x);

    let mut model = SentimentModel {
        vectorizer,
        vader_features: options.vader_features,
        vader,
        classifier,
        labels: labels.clone(),
        metrics: ModelMetrics {
            accuracy: 0.0,
            macro_f1: 0.0,
            n_train: split.train.len(),
            n_test: split.test.len(),
        },
        written_by: env!("CARGO_PKG_VERSION").to_owned(),
    };
    let started = Instant::now();
    let pred: Vec<Label> = split
        .test
        .iter()
        .map(|&i| model.predict(&data.texts[i]).label)
        .collect();
    let predict_seconds = started.elapsed().as_secs_f64();
    let gold: Vec<Label> = split.test.iter().map(|&i| data.labels[i]).collect();
    model.metrics.accuracy = accuracy(&gold, &pred);
    model.metrics.macro_f1 = macro_f1(&gold, &pred, &labels);
    let report = TrainReport {
        algorithm: options.algorithm,
        labels,
        n_train: split.train.len(),
        n_test: split.test.len(),
        vocabulary: model.vectorizer.len(),
        accuracy: model.metrics.accuracy,
        macro_f1: model.metrics.macro_f1,
        train_seconds,
        predict_seconds,
    };
    Ok((model, report))
}

/// [`train`] on a CSV with `text,label` columns (and optionally `source`).
pub fn train_csv<R: Read>(
    input: R,
    options: &TrainOptions,
) -> Result<(SentimentModel, TrainReport)> {
    train(&crate::read_labelled(input)?, options)
}
