//! `analyze(text)` for the CRM: one call that uses the organisation's trained
//! model when there is one and VADER otherwise, with the same answer shape.

use serde::Serialize;

use crate::eval::Method;
use crate::{Label, SentimentIntensityAnalyzer, SentimentModel};

/// The sentiment of one text.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Analysis {
    /// Negative, neutral or positive.
    pub label: Label,
    /// How sure, in [0, 1]. Model: the label's probability. VADER: |compound|
    /// for positive/negative; for neutral, 1 − |compound| / 0.05 (1 when the
    /// compound is exactly 0, falling to 0 at the thresholds).
    pub confidence: f64,
    /// Model: class probability. VADER: the `neg` proportion.
    pub negative: f64,
    /// Model: class probability. VADER: the `neu` proportion.
    pub neutral: f64,
    /// Model: class probability. VADER: the `pos` proportion.
    pub positive: f64,
    /// VADER's compound score (computed in both modes: it is cheap and a
    /// useful second opinion).
    pub compound: f64,
    /// Which engine decided the label.
    pub method: Method,
}

impl std::fmt::Display for Analysis {
    /// `positive (confidence 0.57, vader; neg 0.000 neu 0.619 pos 0.381, compound 0.5719)`
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (confidence {:.2}, {}; neg {:.3} neu {:.3} pos {:.3}, compound {:.4})",
            self.label,
            self.confidence,
            self.method,
            self.negative,
            self.neutral,
            self.positive,
            self.compound
        )
    }
}

/// Holds VADER and an optional trained model; build once, share (`Sync`).
#[derive(Debug, Clone, Default)]
pub struct Analyzer {
    vader: SentimentIntensityAnalyzer,
    model: Option<SentimentModel>,
}

impl Analyzer {
    /// VADER only.
    pub fn new() -> Self {
        Self::default()
    }

    /// Use `model` for labels, VADER when `model` is `None`.
    pub fn with_model(model: Option<SentimentModel>) -> Self {
        Self {
            vader: SentimentIntensityAnalyzer::new(),
            model,
        }
    }

    /// The loaded model, if any.
    pub fn model(&self) -> Option<&SentimentModel> {
        self.model.as_ref()
    }

    /// The VADER analyser.
    pub fn vader(&self) -> &SentimentIntensityAnalyzer {
        &self.vader
    }

    /// Analyse one text.
    pub fn analyze(&self, text: &str) -> Analysis {
        let scores = self.vader.polarity_scores(text);
        if let Some(model) = &self.model {
            let p = model.predict(text);
            return Analysis {
                label: p.label,
                confidence: p.confidence,
                negative: p.probabilities[0],
                neutral: p.probabilities[1],
                positive: p.probabilities[2],
                compound: scores.compound,
                method: Method::Model,
            };
        }
        let label = Label::from_compound(scores.compound);
        let confidence = match label {
            Label::Neutral => (1.0 - scores.compound.abs() / 0.05).clamp(0.0, 1.0),
            _ => scores.compound.abs(),
        };
        Analysis {
            label,
            confidence,
            negative: scores.neg,
            neutral: scores.neu,
            positive: scores.pos,
            compound: scores.compound,
            method: Method::Vader,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vader_fallback_labels_and_confidence() {
        let a = Analyzer::new();
        let r = a.analyze("The customer was happy with the renewal.");
        // compound 0.5719 (vaderSentiment 3.3.2, see the golden file)
        assert_eq!((r.label, r.method), (Label::Positive, Method::Vader));
        assert_eq!(r.confidence, 0.5719);
        assert_eq!((r.negative, r.neutral, r.positive), (0.0, 0.619, 0.381));
        assert_eq!(
            r.to_string(),
            "positive (confidence 0.57, vader; neg 0.000 neu 0.619 pos 0.381, compound 0.5719)"
        );
        let r = a.analyze("Quarterly business review scheduled for Tuesday.");
        assert_eq!((r.label, r.confidence), (Label::Neutral, 1.0));
        let r = a.analyze("Onboarding was a disaster.");
        assert_eq!((r.label, r.confidence), (Label::Negative, 0.6249));
    }
}
