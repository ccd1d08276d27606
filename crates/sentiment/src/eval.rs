//! `neuracrm sentiment eval`: accuracy, macro-F1 and speed of VADER and,
//! optionally, a trained model, on the same labelled texts.

use std::io::Read;
use std::time::Instant;

use serde::Serialize;

use crate::metrics::{accuracy, labels_present, macro_f1};
use crate::{Label, LabelledData, Result, SentimentIntensityAnalyzer, SentimentModel};

/// Which engine produced a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// The rule-based VADER analyser.
    Vader,
    /// A trained TF-IDF model.
    Model,
}

impl Method {
    /// The method's word (`vader`, `model`), as serialised and stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Vader => "vader",
            Method::Model => "model",
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One engine's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalResult {
    /// Engine evaluated.
    pub method: Method,
    /// Share of texts labelled as the gold label.
    pub accuracy: f64,
    /// Macro-F1 over the labels present in the gold data.
    pub macro_f1: f64,
    /// Texts scored per second (one thread, scoring only).
    pub per_second: f64,
}

/// The eval report: `{"results": [...]}` as JSON, a table as text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    /// One entry per engine, VADER first.
    pub results: Vec<EvalResult>,
}

impl std::fmt::Display for EvalReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:<8} {:>9} {:>9} {:>14}",
            "method", "accuracy", "macro-F1", "texts/second"
        )?;
        for r in &self.results {
            write!(
                f,
                "\n{:<8} {:>9.4} {:>9.4} {:>14.0}",
                r.method.to_string(),
                r.accuracy,
                r.macro_f1,
                r.per_second
            )?;
        }
        Ok(())
    }
}

fn result(method: Method, gold: &[Label], pred: &[Label], seconds: f64) -> EvalResult {
    EvalResult {
        method,
        accuracy: accuracy(gold, pred),
        macro_f1: macro_f1(gold, pred, &labels_present(gold)),
        per_second: if seconds > 0.0 {
            gold.len() as f64 / seconds
        } else {
            f64::INFINITY
        },
    }
}

/// Evaluate VADER (label: compound ≥ 0.05 positive, ≤ −0.05 negative, else
/// neutral) and, when given, `model` on all of `data`.
pub fn evaluate(
    data: &LabelledData,
    vader: &SentimentIntensityAnalyzer,
    model: Option<&SentimentModel>,
) -> EvalReport {
    let started = Instant::now();
    let pred: Vec<Label> = data
        .texts
        .iter()
        .map(|t| Label::from_compound(vader.polarity_scores(t).compound))
        .collect();
    let mut results = vec![result(
        Method::Vader,
        &data.labels,
        &pred,
        started.elapsed().as_secs_f64(),
    )];
    if let Some(model) = model {
        let started = Instant::now();
        let pred: Vec<Label> = data.texts.iter().map(|t| model.predict(t).label).collect();
        results.push(result(
            Method::Model,
            &data.labels,
            &pred,
            started.elapsed().as_secs_f64(),
        ));
    }
    EvalReport { results }
}

/// [`evaluate`] on a CSV with `text,label` columns.
pub fn evaluate_csv<R: Read>(
    input: R,
    vader: &SentimentIntensityAnalyzer,
    model: Option<&SentimentModel>,
) -> Result<EvalReport> {
    Ok(evaluate(&crate::read_labelled(input)?, vader, model))
}
