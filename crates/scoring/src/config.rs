//! Per-organization scoring configuration, stored by the server as JSON.
//!
//! Every field has a default, so `{}` is a valid configuration and an
//! organization stores only what it changed. A configuration is checked by
//! [`ScoringConfig::validate`] (which [`crate::Scorer::new`] calls) and the
//! error names the offending field as it is spelled in the JSON.
//!
//! **Weights and scaling.** A factor's maximum is `weight × 100`. The rule
//! tables are written in default points (industry out of 20, engagement out of
//! 25, …); when an organization changes a weight, a rule's points scale
//! proportionally: `points / default_max × (weight × 100)`. With industry at
//! 0.30 instead of 0.20, technology is worth 30 instead of 20 and retail 18
//! instead of 12. Weights are applied exactly once (the seed's formula applied
//! them a second time and capped every score at 17).

use crate::error::ScoringError;
use crate::factor::{Category, Factor};
use serde::{Deserialize, Serialize};

/// Tolerance on the sum of the weights.
pub const WEIGHT_SUM_TOLERANCE: f64 = 1e-6;

/// Per-organization scoring configuration.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ScoringConfig {
    /// Share of the 100 points each factor can earn.
    pub weights: Weights,
    /// Industry points and synonyms.
    pub industries: IndustryTable,
    /// Category thresholds on the 0–100 total.
    pub thresholds: CategoryThresholds,
}

impl ScoringConfig {
    /// Checks every field; the error names the first offending one.
    ///
    /// # Errors
    /// [`ScoringError::InvalidConfig`] when a weight is outside 0–1 or not
    /// finite, the weights do not sum to 1 (±1e-6), the thresholds are not
    /// `100 ≥ hot > warm > lukewarm > 0`, or an industry rule has an empty or
    /// duplicate name/synonym or points outside 0–20.
    pub fn validate(&self) -> Result<(), ScoringError> {
        self.weights.validate()?;
        self.thresholds.validate()?;
        self.industries.validate()
    }
}

/// Factor weights; each in 0–1, together summing to 1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Weights {
    /// Default 0.20.
    pub industry: f64,
    /// Default 0.15.
    pub company_size: f64,
    /// Default 0.25.
    pub engagement: f64,
    /// Default 0.15.
    pub decision_maker: f64,
    /// Default 0.10.
    pub urgency: f64,
    /// Default 0.10.
    pub budget_signals: f64,
    /// Default 0.05.
    pub ai_insights: f64,
}

impl Default for Weights {
    fn default() -> Self {
        Self {
            industry: 0.20,
            company_size: 0.15,
            engagement: 0.25,
            decision_maker: 0.15,
            urgency: 0.10,
            budget_signals: 0.10,
            ai_insights: 0.05,
        }
    }
}

impl Weights {
    /// The weight of one factor.
    pub const fn get(&self, factor: Factor) -> f64 {
        match factor {
            Factor::Industry => self.industry,
            Factor::CompanySize => self.company_size,
            Factor::Engagement => self.engagement,
            Factor::DecisionMaker => self.decision_maker,
            Factor::Urgency => self.urgency,
            Factor::BudgetSignals => self.budget_signals,
            Factor::AiInsights => self.ai_insights,
        }
    }

    /// Sets the weight of one factor (builder style, for tests and the API).
    pub fn with(mut self, factor: Factor, weight: f64) -> Self {
        let slot = match factor {
            Factor::Industry => &mut self.industry,
            Factor::CompanySize => &mut self.company_size,
            Factor::Engagement => &mut self.engagement,
            Factor::DecisionMaker => &mut self.decision_maker,
            Factor::Urgency => &mut self.urgency,
            Factor::BudgetSignals => &mut self.budget_signals,
            Factor::AiInsights => &mut self.ai_insights,
        };
        *slot = weight;
        self
    }

    /// Each weight finite and within 0–1, the sum within 1e-6 of 1.
    ///
    /// # Errors
    /// [`ScoringError::InvalidConfig`] naming `weights.<factor>` or `weights`.
    pub fn validate(&self) -> Result<(), ScoringError> {
        for factor in Factor::ALL {
            let w = self.get(factor);
            if !w.is_finite() || !(0.0..=1.0).contains(&w) {
                return Err(ScoringError::config(
                    format!("weights.{}", factor.name()),
                    format!("must be between 0 and 1, got {w}"),
                ));
            }
        }
        let sum: f64 = Factor::ALL.iter().map(|&f| self.get(f)).sum();
        if (sum - 1.0).abs() > WEIGHT_SUM_TOLERANCE {
            return Err(ScoringError::config(
                "weights",
                format!("must sum to 1 (tolerance 1e-6), got {sum}"),
            ));
        }
        Ok(())
    }
}

/// Category thresholds on the rounded total: `total ≥ hot` is Hot, and so on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CategoryThresholds {
    /// Default 80.
    pub hot: f64,
    /// Default 60.
    pub warm: f64,
    /// Default 40.
    pub lukewarm: f64,
}

impl Default for CategoryThresholds {
    fn default() -> Self {
        Self {
            hot: 80.0,
            warm: 60.0,
            lukewarm: 40.0,
        }
    }
}

impl CategoryThresholds {
    /// The category of a total (inclusive lower bounds).
    pub fn categorize(&self, total: f64) -> Category {
        if total >= self.hot {
            Category::Hot
        } else if total >= self.warm {
            Category::Warm
        } else if total >= self.lukewarm {
            Category::Lukewarm
        } else {
            Category::Cold
        }
    }

    /// Strictly ordered `100 ≥ hot > warm > lukewarm > 0`, all finite.
    ///
    /// # Errors
    /// [`ScoringError::InvalidConfig`] naming `thresholds.<name>`.
    pub fn validate(&self) -> Result<(), ScoringError> {
        let checks = [
            ("hot", self.hot),
            ("warm", self.warm),
            ("lukewarm", self.lukewarm),
        ];
        for (name, v) in checks {
            if !v.is_finite() || v <= 0.0 || v > 100.0 {
                return Err(ScoringError::config(
                    format!("thresholds.{name}"),
                    format!("must be greater than 0 and at most 100, got {v}"),
                ));
            }
        }
        if self.hot <= self.warm {
            return Err(ScoringError::config(
                "thresholds.hot",
                format!(
                    "must be greater than thresholds.warm ({}), got {}",
                    self.warm, self.hot
                ),
            ));
        }
        if self.warm <= self.lukewarm {
            return Err(ScoringError::config(
                "thresholds.warm",
                format!(
                    "must be greater than thresholds.lukewarm ({}), got {}",
                    self.lukewarm, self.warm
                ),
            ));
        }
        Ok(())
    }
}

/// Industry points, in default points (out of 20), with synonyms.
///
/// The industry text is matched case-insensitively, as whole words, against
/// every rule's name and synonyms; the leftmost (then longest) match wins, so
/// "Computer Software" is technology and "Hospital & Health Care" healthcare.
/// Text that matches nothing earns `other_points`, as does a missing industry
/// (which also counts as missing data for the confidence).
///
/// In JSON, `industries.rules` given by an organization replaces the default
/// list as a whole (start from the default's JSON to edit one entry);
/// `other_points` alone may be given and keeps the default rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct IndustryTable {
    /// The named industries.
    pub rules: Vec<IndustryRule>,
    /// Points for any other or unknown industry (default 5).
    pub other_points: f64,
}

/// One industry: its canonical name, points and synonyms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndustryRule {
    /// Canonical name, also matched ("technology").
    pub name: String,
    /// Points out of the default 20.
    pub points: f64,
    /// Other words for it ("software", "saas", "it").
    #[serde(default)]
    pub synonyms: Vec<String>,
}

/// Default industry table: (name, points, synonyms). Kept as data so that the
/// README table (SCORING.md) and the code cannot drift apart unnoticed (a test
/// checks SCORING.md lists every entry).
pub(crate) const DEFAULT_INDUSTRIES: &[(&str, f64, &[&str])] = &[
    (
        "technology",
        20.0,
        &[
            "tech",
            "software",
            "saas",
            "it",
            "information technology",
            "it services",
            "internet",
            "computer software",
            "computer",
            "computers",
            "cloud",
            "cybersecurity",
            "cyber security",
            "telecommunications",
            "telecom",
            "semiconductors",
            "electronics",
            "data",
            "ai",
            "artificial intelligence",
        ],
    ),
    (
        "healthcare",
        18.0,
        &[
            "health care",
            "health",
            "medical",
            "hospital",
            "hospitals",
            "pharma",
            "pharmaceutical",
            "pharmaceuticals",
            "biotech",
            "biotechnology",
            "life sciences",
            "medtech",
            "clinic",
        ],
    ),
    (
        "finance",
        16.0,
        &[
            "financial",
            "financial services",
            "banking",
            "bank",
            "insurance",
            "fintech",
            "investment",
            "investments",
            "accounting",
            "capital markets",
            "wealth management",
        ],
    ),
    (
        "manufacturing",
        14.0,
        &[
            "industrial",
            "industrials",
            "automotive",
            "aerospace",
            "chemicals",
            "machinery",
            "factory",
        ],
    ),
    (
        "retail",
        12.0,
        &[
            "e-commerce",
            "ecommerce",
            "consumer goods",
            "wholesale",
            "cpg",
            "fmcg",
            "stores",
        ],
    ),
    (
        "education",
        10.0,
        &[
            "edtech",
            "higher education",
            "e-learning",
            "elearning",
            "university",
            "school",
            "schools",
            "k-12",
        ],
    ),
    (
        "government",
        8.0,
        &[
            "public sector",
            "gov",
            "federal",
            "state government",
            "local government",
            "municipal",
            "public administration",
            "defense",
            "defence",
        ],
    ),
    (
        "nonprofit",
        6.0,
        &[
            "non-profit",
            "non profit",
            "not-for-profit",
            "not for profit",
            "ngo",
            "charity",
            "charitable",
        ],
    ),
];

/// Points for an industry outside the table, or none recorded.
pub(crate) const DEFAULT_OTHER_INDUSTRY_POINTS: f64 = 5.0;

impl Default for IndustryTable {
    fn default() -> Self {
        Self {
            rules: DEFAULT_INDUSTRIES
                .iter()
                .map(|&(name, points, synonyms)| IndustryRule {
                    name: name.to_owned(),
                    points,
                    synonyms: synonyms.iter().map(|s| (*s).to_owned()).collect(),
                })
                .collect(),
            other_points: DEFAULT_OTHER_INDUSTRY_POINTS,
        }
    }
}

impl IndustryTable {
    /// Points within 0–20, names and synonyms non-empty and unique
    /// (case-insensitively) across the whole table.
    ///
    /// # Errors
    /// [`ScoringError::InvalidConfig`] naming `industries.other_points`,
    /// `industries.rules[i].name`, `.points` or `.synonyms[j]`.
    pub fn validate(&self) -> Result<(), ScoringError> {
        let max = Factor::Industry.default_max();
        let check_points = |field: String, p: f64| {
            if !p.is_finite() || p < 0.0 || p > max {
                Err(ScoringError::config(
                    field,
                    format!("must be between 0 and {max} (default points), got {p}"),
                ))
            } else {
                Ok(())
            }
        };
        check_points("industries.other_points".to_owned(), self.other_points)?;
        let mut seen: Vec<String> = Vec::new();
        let mut check_phrase = |field: String, phrase: &str| {
            let key = phrase.trim().to_ascii_lowercase();
            if key.is_empty() {
                return Err(ScoringError::config(field, "must not be empty"));
            }
            if seen.contains(&key) {
                return Err(ScoringError::config(
                    field,
                    format!("\"{phrase}\" appears more than once in the industry table"),
                ));
            }
            seen.push(key);
            Ok(())
        };
        for (i, rule) in self.rules.iter().enumerate() {
            check_phrase(format!("industries.rules[{i}].name"), &rule.name)?;
            check_points(format!("industries.rules[{i}].points"), rule.points)?;
            for (j, s) in rule.synonyms.iter().enumerate() {
                check_phrase(format!("industries.rules[{i}].synonyms[{j}]"), s)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(r: Result<(), ScoringError>) -> String {
        match r {
            Err(ScoringError::InvalidConfig { field, .. }) => field,
            other => panic!("expected InvalidConfig, got {other:?}"),
        }
    }

    #[test]
    fn default_config_is_valid_and_empty_json_is_the_default() {
        ScoringConfig::default().validate().unwrap();
        let parsed: ScoringConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(parsed, ScoringConfig::default());
        let partial: ScoringConfig = serde_json::from_str(r#"{"thresholds":{"hot":90}}"#).unwrap();
        assert_eq!(partial.thresholds.hot, 90.0);
        assert_eq!(partial.thresholds.warm, 60.0);
        let other: ScoringConfig =
            serde_json::from_str(r#"{"industries":{"other_points":2}}"#).unwrap();
        assert_eq!(other.industries.rules, IndustryTable::default().rules);
        assert_eq!(other.industries.other_points, 2.0);
        let bad: ScoringConfig = serde_json::from_str(r#"{"weights":{"industry":0.3}}"#).unwrap();
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .contains("weights: must sum to 1")
        );
    }

    #[test]
    fn config_round_trips_through_json() {
        let c = ScoringConfig::default();
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<ScoringConfig>(&json).unwrap(), c);
    }

    #[test]
    fn each_weight_out_of_range_is_named() {
        for factor in Factor::ALL {
            for bad in [-0.01, 1.01, f64::NAN, f64::INFINITY] {
                let w = Weights::default().with(factor, bad);
                assert_eq!(field_of(w.validate()), format!("weights.{}", factor.name()));
            }
        }
    }

    #[test]
    fn weights_must_sum_to_one_within_tolerance() {
        let w = Weights::default().with(Factor::Industry, 0.25);
        let err = w.validate().unwrap_err();
        assert_eq!(field_of(Err(err.clone())), "weights");
        assert!(err.to_string().contains("sum to 1"), "{err}");
        // Within 1e-6 passes, beyond fails.
        Weights::default()
            .with(Factor::Industry, 0.2 + 5e-7)
            .validate()
            .unwrap();
        assert!(
            Weights::default()
                .with(Factor::Industry, 0.2 + 2e-6)
                .validate()
                .is_err()
        );
        // A factor may be switched off entirely.
        Weights::default()
            .with(Factor::AiInsights, 0.0)
            .with(Factor::Engagement, 0.30)
            .validate()
            .unwrap();
    }

    #[test]
    fn thresholds_must_be_strictly_ordered_and_in_range() {
        let t = |hot, warm, lukewarm| CategoryThresholds {
            hot,
            warm,
            lukewarm,
        };
        assert_eq!(field_of(t(100.5, 60.0, 40.0).validate()), "thresholds.hot");
        assert_eq!(
            field_of(t(80.0, 60.0, 0.0).validate()),
            "thresholds.lukewarm"
        );
        assert_eq!(
            field_of(t(80.0, 60.0, -1.0).validate()),
            "thresholds.lukewarm"
        );
        assert_eq!(
            field_of(t(80.0, f64::NAN, 40.0).validate()),
            "thresholds.warm"
        );
        assert_eq!(field_of(t(60.0, 60.0, 40.0).validate()), "thresholds.hot");
        assert_eq!(field_of(t(80.0, 40.0, 40.0).validate()), "thresholds.warm");
        assert_eq!(field_of(t(80.0, 30.0, 40.0).validate()), "thresholds.warm");
        t(100.0, 50.0, 0.5).validate().unwrap();
    }

    #[test]
    fn category_boundaries_are_inclusive_lower_bounds() {
        let t = CategoryThresholds::default();
        assert_eq!(t.categorize(100.0), Category::Hot);
        assert_eq!(t.categorize(80.0), Category::Hot);
        assert_eq!(t.categorize(79.99), Category::Warm);
        assert_eq!(t.categorize(60.0), Category::Warm);
        assert_eq!(t.categorize(59.99), Category::Lukewarm);
        assert_eq!(t.categorize(40.0), Category::Lukewarm);
        assert_eq!(t.categorize(39.99), Category::Cold);
        assert_eq!(t.categorize(0.0), Category::Cold);
        let custom = CategoryThresholds {
            hot: 90.0,
            warm: 70.0,
            lukewarm: 50.0,
        };
        assert_eq!(custom.categorize(85.0), Category::Warm);
        assert_eq!(custom.categorize(90.0), Category::Hot);
    }

    #[test]
    fn industry_points_and_phrases_are_checked() {
        let mut t = IndustryTable::default();
        t.rules[2].points = -1.0;
        assert_eq!(field_of(t.validate()), "industries.rules[2].points");
        let mut t = IndustryTable::default();
        t.rules[0].points = 20.5;
        assert_eq!(field_of(t.validate()), "industries.rules[0].points");
        let t = IndustryTable {
            other_points: -0.5,
            ..IndustryTable::default()
        };
        assert_eq!(field_of(t.validate()), "industries.other_points");
        let mut t = IndustryTable::default();
        t.rules[1].name = "  ".into();
        assert_eq!(field_of(t.validate()), "industries.rules[1].name");
        let mut t = IndustryTable::default();
        t.rules[1].synonyms.push("SOFTWARE".into());
        assert_eq!(
            field_of(t.validate()),
            format!(
                "industries.rules[1].synonyms[{}]",
                t.rules[1].synonyms.len() - 1
            )
        );
        // Zero points is allowed.
        let mut t = IndustryTable::default();
        t.rules[7].points = 0.0;
        t.validate().unwrap();
    }

    #[test]
    fn scoring_config_validate_reports_each_part() {
        let mut c = ScoringConfig::default();
        c.weights.urgency = 2.0;
        assert_eq!(field_of(c.validate()), "weights.urgency");
        let mut c = ScoringConfig::default();
        c.thresholds.warm = 90.0;
        assert_eq!(field_of(c.validate()), "thresholds.hot");
        let mut c = ScoringConfig::default();
        c.industries.rules[3].points = f64::NAN;
        assert_eq!(field_of(c.validate()), "industries.rules[3].points");
    }
}
