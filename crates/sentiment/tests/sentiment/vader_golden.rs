//! Golden VADER scores: every case in `tests/golden/vader_golden.json` was
//! produced by `tests/golden/make_vader_golden.py` with vaderSentiment==3.3.2
//! (CPython 3.11); we must print the same four 4-decimal numbers and the very
//! same compound float.

use neuracrm_sentiment::SentimentIntensityAnalyzer;
use serde::Deserialize;

#[derive(Deserialize)]
struct Golden {
    #[serde(rename = "vaderSentiment")]
    version: String,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    rule: String,
    text: String,
    /// `f"{neg:.4f},{neu:.4f},{pos:.4f},{compound:.4f}"` from Python.
    expected: String,
    /// `repr(compound)` from Python.
    compound: String,
}

fn golden() -> Golden {
    serde_json::from_str(include_str!("../golden/vader_golden.json")).expect("golden file parses")
}

#[test]
fn every_golden_case_matches_python_exactly() {
    let golden = golden();
    assert_eq!(golden.version, "3.3.2");
    let vader = SentimentIntensityAnalyzer::new();
    let mut failures = Vec::new();
    for case in &golden.cases {
        let scores = vader.polarity_scores(&case.text);
        let line = scores.to_csv_line();
        let compound: f64 = case.compound.parse().expect("python repr is a float");
        if line != case.expected || scores.compound.to_bits() != compound.to_bits() {
            failures.push(format!(
                "[{}] {:?}: python {} ({}), ours {line} ({:?})",
                case.rule, case.text, case.expected, case.compound, scores.compound
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_rule_is_exercised_several_times() {
    let golden = golden();
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for case in &golden.cases {
        *counts.entry(case.rule.as_str()).or_default() += 1;
    }
    for rule in [
        "boosters and dampeners",
        "capitalisation emphasis",
        "negation",
        "never so / never this",
        "without",
        "no",
        "but",
        "least",
        "idioms and special cases",
        "exclamation and question marks",
        "emoji and emoticons",
        "punctuation only and empty",
        "unicode and odd whitespace",
    ] {
        assert!(
            counts.get(rule).copied().unwrap_or(0) >= 5,
            "rule {rule:?}: {counts:?}"
        );
    }
}

#[test]
fn golden_cases_are_not_all_neutral() {
    // Guards against a golden file regenerated from a broken analyser.
    let golden = golden();
    let nonzero = golden
        .cases
        .iter()
        .filter(|c| !c.expected.ends_with(",0.0000"))
        .count();
    assert!(
        nonzero > golden.cases.len() * 2 / 3,
        "{nonzero} of {}",
        golden.cases.len()
    );
}
