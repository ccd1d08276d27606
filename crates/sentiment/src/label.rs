//! The three sentiment classes and how labels are spelled in data files.

use serde::{Deserialize, Serialize};

/// A sentiment class. Ordered negative < neutral < positive so that class
/// indices are stable across data sets and model files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Label {
    /// Negative sentiment.
    Negative,
    /// Neither clearly negative nor positive.
    Neutral,
    /// Positive sentiment.
    Positive,
}

impl Label {
    /// All labels in class-index order.
    pub const ALL: [Label; 3] = [Label::Negative, Label::Neutral, Label::Positive];

    /// Parse the spellings the peer scripts accept: positive/negative/neutral,
    /// pos/neg/neu, 1/+1/0/-1 (case-insensitive, surrounding spaces ignored).
    pub fn parse(s: &str) -> Option<Label> {
        match s.trim().to_ascii_lowercase().as_str() {
            "positive" | "pos" | "1" | "+1" => Some(Label::Positive),
            "negative" | "neg" | "-1" => Some(Label::Negative),
            "neutral" | "neu" | "0" => Some(Label::Neutral),
            _ => None,
        }
    }

    /// VADER's three-class rule on the compound score (README and paper):
    /// ≥ 0.05 positive, ≤ −0.05 negative, otherwise neutral.
    pub fn from_compound(compound: f64) -> Label {
        if compound >= 0.05 {
            Label::Positive
        } else if compound <= -0.05 {
            Label::Negative
        } else {
            Label::Neutral
        }
    }

    /// Lowercase name, as written in data and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Negative => "negative",
            Label::Neutral => "neutral",
            Label::Positive => "positive",
        }
    }
}

impl std::fmt::Display for Label {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_peer_spellings() {
        assert_eq!(Label::parse(" POS "), Some(Label::Positive));
        assert_eq!(Label::parse("-1"), Some(Label::Negative));
        assert_eq!(Label::parse("0"), Some(Label::Neutral));
        assert_eq!(Label::parse("2"), None);
    }

    #[test]
    fn compound_thresholds_are_inclusive() {
        assert_eq!(Label::from_compound(0.05), Label::Positive);
        assert_eq!(Label::from_compound(0.0499), Label::Neutral);
        assert_eq!(Label::from_compound(-0.05), Label::Negative);
    }
}
