//! The seven factors and the four categories: names shared by the
//! configuration, the engine, the stored breakdown and the API.

use serde::{Deserialize, Serialize};
use std::fmt;

/// One of the seven scoring factors. The order of [`Factor::ALL`] is the order
/// of [`crate::LeadScore::factors`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Factor {
    /// Fit of the company's industry.
    Industry,
    /// Company size by employee count.
    CompanySize,
    /// Email opens and clicks, time on the website.
    Engagement,
    /// Seniority of the contact's job title.
    DecisionMaker,
    /// Expected decision date, urgent wording, recent activity.
    Urgency,
    /// Stated budget and budget wording.
    BudgetSignals,
    /// Buying intent (0–5) read from the lead's text by an LLM or offline.
    AiInsights,
}

impl Factor {
    /// All factors, in breakdown order.
    pub const ALL: [Factor; 7] = [
        Factor::Industry,
        Factor::CompanySize,
        Factor::Engagement,
        Factor::DecisionMaker,
        Factor::Urgency,
        Factor::BudgetSignals,
        Factor::AiInsights,
    ];

    /// Position in [`Factor::ALL`] and in [`crate::LeadScore::factors`].
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The factor's maximum points under the default weights (weight × 100);
    /// the rule tables are written in these points.
    pub const fn default_max(self) -> f64 {
        match self {
            Factor::Industry => 20.0,
            Factor::CompanySize => 15.0,
            Factor::Engagement => 25.0,
            Factor::DecisionMaker => 15.0,
            Factor::Urgency => 10.0,
            Factor::BudgetSignals => 10.0,
            Factor::AiInsights => 5.0,
        }
    }

    /// The snake_case name used in JSON and configuration paths.
    pub const fn name(self) -> &'static str {
        match self {
            Factor::Industry => "industry",
            Factor::CompanySize => "company_size",
            Factor::Engagement => "engagement",
            Factor::DecisionMaker => "decision_maker",
            Factor::Urgency => "urgency",
            Factor::BudgetSignals => "budget_signals",
            Factor::AiInsights => "ai_insights",
        }
    }
}

impl fmt::Display for Factor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The lead's temperature, from the total and the
/// [`crate::CategoryThresholds`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Below the lukewarm threshold.
    Cold,
    /// At least the lukewarm threshold (default 40).
    Lukewarm,
    /// At least the warm threshold (default 60).
    Warm,
    /// At least the hot threshold (default 80).
    Hot,
}

impl Category {
    /// The snake_case name stored in `leads.score_category`.
    pub const fn name(self) -> &'static str {
        match self {
            Category::Cold => "cold",
            Category::Lukewarm => "lukewarm",
            Category::Warm => "warm",
            Category::Hot => "hot",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_maxima_sum_to_one_hundred_and_index_matches_order() {
        let sum: f64 = Factor::ALL.iter().map(|f| f.default_max()).sum();
        assert_eq!(sum, 100.0);
        for (i, f) in Factor::ALL.iter().enumerate() {
            assert_eq!(f.index(), i);
        }
    }

    #[test]
    fn names_match_serde() {
        for f in Factor::ALL {
            assert_eq!(
                serde_json::to_string(&f).unwrap(),
                format!("\"{}\"", f.name())
            );
        }
        assert_eq!(
            serde_json::to_string(&Category::Lukewarm).unwrap(),
            "\"lukewarm\""
        );
    }
}
