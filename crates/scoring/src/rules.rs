//! The scoring rules as data.
//!
//! Every table is written in *default points* (out of the factor's default
//! maximum); the engine scales them to the organization's weights. SCORING.md
//! at the crate root renders the same tables for the README, and a test checks
//! the two agree. Changing a rule means changing a row here, not a branch in
//! the engine.

use serde::{Deserialize, Serialize};
use std::fmt;

// ---------------------------------------------------------------- engagement

/// Email interactions (opens + clicks): the first row whose count is
/// *more than* the threshold gives the points.
pub const EMAIL_INTERACTION_BANDS: &[(u64, f64)] = &[(10, 15.0), (5, 10.0), (0, 5.0)];

/// Total website-visit seconds: the first row *more than* the threshold adds
/// its points. Engagement is capped at its maximum (25).
pub const WEBSITE_SECONDS_BANDS: &[(u64, f64)] = &[(1800, 10.0), (600, 5.0)];

// -------------------------------------------------------------- company size

/// Employee count: the first row whose minimum is *at most* the count.
pub const COMPANY_SIZE_BANDS: &[(u32, f64)] = &[
    (1000, 15.0), // enterprise
    (250, 12.0),  // mid-market
    (50, 9.0),    // small business
    (10, 6.0),    // micro business
    (0, 3.0),     // fewer than 10
];

/// Points when the employee count is unknown (counts as missing data).
pub const COMPANY_SIZE_UNKNOWN: f64 = 2.0;

// ------------------------------------------------------------ decision maker

/// Seniority read from a job title, highest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Seniority {
    /// A title with no recognised seniority word.
    IndividualContributor,
    /// Manager, team lead, supervisor.
    Manager,
    /// Director, head of, general manager.
    Director,
    /// Vice president (VP, SVP, EVP).
    VicePresident,
    /// C-level, founder, owner, president, managing director.
    Executive,
}

impl Seniority {
    /// Default points (out of 15).
    pub const fn points(self) -> f64 {
        match self {
            Seniority::Executive => 15.0,
            Seniority::VicePresident => 12.0,
            Seniority::Director => 10.0,
            Seniority::Manager => 7.0,
            Seniority::IndividualContributor => 3.0,
        }
    }

    /// Human name used in evidence.
    pub const fn label(self) -> &'static str {
        match self {
            Seniority::Executive => "executive",
            Seniority::VicePresident => "vice president",
            Seniority::Director => "director",
            Seniority::Manager => "manager",
            Seniority::IndividualContributor => "individual contributor",
        }
    }
}

impl fmt::Display for Seniority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Points when no job title is recorded (counts as missing data).
pub const SENIORITY_UNKNOWN: f64 = 2.0;

/// What a title phrase says about seniority.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TitleRule {
    /// The title holder is at least this senior.
    Level(Seniority),
    /// The title holder is at most this senior, whatever else the title says
    /// ("Assistant to the CEO", "Marketing intern").
    Cap(Seniority),
}

/// Job-title phrases. The highest `Level` found wins, lowered by the lowest
/// `Cap` found. Leftmost-longest matching means "vice president" is not read
/// as "president", and "product owner" not as "owner".
pub const TITLE_PHRASES: &[(&str, TitleRule)] = {
    use Seniority::*;
    use TitleRule::{Cap, Level};
    &[
        ("ceo", Level(Executive)),
        ("cto", Level(Executive)),
        ("cfo", Level(Executive)),
        ("coo", Level(Executive)),
        ("cio", Level(Executive)),
        ("cmo", Level(Executive)),
        ("cro", Level(Executive)),
        ("cpo", Level(Executive)),
        ("ciso", Level(Executive)),
        ("chief", Level(Executive)),
        ("founder", Level(Executive)),
        ("co-founder", Level(Executive)),
        ("cofounder", Level(Executive)),
        ("owner", Level(Executive)),
        ("co-owner", Level(Executive)),
        ("president", Level(Executive)),
        ("managing director", Level(Executive)),
        ("executive director", Level(Executive)),
        ("managing partner", Level(Executive)),
        ("vice president", Level(VicePresident)),
        ("vice-president", Level(VicePresident)),
        ("vp", Level(VicePresident)),
        ("svp", Level(VicePresident)),
        ("evp", Level(VicePresident)),
        ("assistant vice president", Level(Director)),
        ("avp", Level(Director)),
        ("director", Level(Director)),
        ("head of", Level(Director)),
        ("head", Level(Director)),
        ("general manager", Level(Director)),
        ("manager", Level(Manager)),
        ("team lead", Level(Manager)),
        ("team leader", Level(Manager)),
        ("supervisor", Level(Manager)),
        ("product owner", Level(IndividualContributor)),
        ("process owner", Level(IndividualContributor)),
        ("account owner", Level(IndividualContributor)),
        ("assistant", Cap(IndividualContributor)),
        ("executive assistant", Cap(IndividualContributor)),
        ("intern", Cap(IndividualContributor)),
        ("trainee", Cap(IndividualContributor)),
        ("student", Cap(IndividualContributor)),
    ]
};

// ------------------------------------------------------------------- urgency

/// Days until the expected decision date: the first row whose upper bound
/// (inclusive) is at least the days gives the points; later than the last row
/// gives 0. A date already passed (negative days) earns a little: the deal is
/// live but slipping.
pub const DECISION_DATE_BANDS: &[(i64, f64)] = &[(-1, 1.0), (14, 5.0), (30, 4.0), (90, 2.0)];

/// Urgent wording in the title or description: the strongest phrase counts.
/// A phrase with negative points ("no rush") cancels all urgent wording.
pub const URGENCY_PHRASES: &[(&str, f64)] = &[
    ("urgent", 3.0),
    ("urgently", 3.0),
    ("asap", 3.0),
    ("as soon as possible", 3.0),
    ("immediately", 3.0),
    ("right away", 3.0),
    ("this week", 3.0),
    ("this month", 3.0),
    ("this quarter", 2.0),
    ("end of quarter", 2.0),
    ("end of the quarter", 2.0),
    ("deadline", 2.0),
    ("time-sensitive", 2.0),
    ("time sensitive", 2.0),
    ("go-live", 1.0),
    ("go live", 1.0),
    ("soon", 1.0),
    ("not urgent", -1.0),
    ("no rush", -1.0),
    ("no urgency", -1.0),
    ("no deadline", -1.0),
    ("no timeline", -1.0),
    ("next year", -1.0),
    ("someday", -1.0),
    ("long term", -1.0),
    ("long-term", -1.0),
];

/// Days since the last activity: the first row whose upper bound (inclusive)
/// is at least the days adds its points.
pub const RECENCY_BANDS: &[(i64, f64)] = &[(2, 2.0), (7, 1.0)];

// ------------------------------------------------------------ budget signals

/// Stated budget in cents: the first row whose minimum is at most the budget.
/// A stated budget of zero or less earns nothing (but is real data).
pub const BUDGET_AMOUNT_BANDS: &[(i64, f64)] = &[
    (100_000 * 100, 7.0), // $100,000 or more
    (10_000 * 100, 6.0),  // $10,000 or more
    (1, 5.0),             // any positive amount
];

/// Budget wording in the title or description: the strongest phrase counts and
/// adds to the amount's points (capped at 10). A phrase with negative points
/// ("no budget", "not approved") cancels all budget wording.
pub const BUDGET_PHRASES: &[(&str, f64)] = &[
    ("budget approved", 4.0),
    ("approved budget", 4.0),
    ("budget allocated", 4.0),
    ("allocated budget", 4.0),
    ("funding secured", 4.0),
    ("budget confirmed", 4.0),
    ("approved", 3.0),
    ("allocated", 3.0),
    ("budgeted", 3.0),
    ("funded", 3.0),
    ("earmarked", 3.0),
    ("signed off", 3.0),
    ("purchase order", 3.0),
    ("budget", 1.0),
    ("funding", 1.0),
    ("no budget", -1.0),
    ("not approved", -1.0),
    ("not yet approved", -1.0),
    ("not budgeted", -1.0),
    ("not funded", -1.0),
    ("unfunded", -1.0),
    ("no funding", -1.0),
    ("budget freeze", -1.0),
    ("budget cuts", -1.0),
    ("pending approval", -1.0),
];

// ----------------------------------------------------------------- ai insights

/// Offline buying-intent phrases: the weights of the distinct phrases found
/// are added and the sum clamped to 0–5. Negative phrases pull it down.
pub const INTENT_PHRASES: &[(&str, f64)] = &[
    ("ready to buy", 3.0),
    ("ready to purchase", 3.0),
    ("ready to sign", 3.0),
    ("sign the contract", 3.0),
    ("purchase order", 3.0),
    ("budget approved", 2.0),
    ("contract", 1.5),
    ("proposal", 1.0),
    ("quote", 1.0),
    ("pricing", 1.0),
    ("price", 0.5),
    ("demo", 1.0),
    ("trial", 1.0),
    ("pilot", 1.0),
    ("timeline", 1.0),
    ("rollout", 1.0),
    ("implementation", 0.5),
    ("onboarding", 0.5),
    ("evaluating", 0.5),
    ("comparing", 0.5),
    ("shortlist", 1.0),
    ("decision", 0.5),
    ("not interested", -4.0),
    ("no interest", -4.0),
    ("just browsing", -3.0),
    ("just looking", -3.0),
    ("unsubscribe", -3.0),
    ("not ready", -2.0),
    ("no budget", -2.0),
    ("maybe next year", -2.0),
    ("student project", -2.0),
    ("competitor", -0.5),
];

/// Looks up the first band in `bands` whose predicate on the threshold holds.
pub(crate) fn band<T: Copy>(bands: &[(T, f64)], pred: impl Fn(T) -> bool) -> Option<f64> {
    bands.iter().find(|(t, _)| pred(*t)).map(|&(_, p)| p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DEFAULT_INDUSTRIES;

    const SCORING_MD: &str = include_str!("../SCORING.md");

    fn documented(phrase: &str) -> bool {
        SCORING_MD.contains(&format!("`{phrase}`"))
    }

    #[test]
    fn scoring_md_lists_every_phrase_and_synonym() {
        let phrases = URGENCY_PHRASES
            .iter()
            .chain(BUDGET_PHRASES)
            .chain(INTENT_PHRASES)
            .map(|(p, _)| *p)
            .chain(TITLE_PHRASES.iter().map(|(p, _)| *p))
            .chain(
                DEFAULT_INDUSTRIES
                    .iter()
                    .flat_map(|(_, _, s)| s.iter().copied()),
            );
        for p in phrases {
            assert!(documented(p), "SCORING.md does not list `{p}`");
        }
        for (name, points, _) in DEFAULT_INDUSTRIES {
            assert!(
                SCORING_MD.contains(&format!("| {name} | {points} |")),
                "{name}"
            );
        }
    }

    #[test]
    fn tables_are_ordered_as_the_engine_reads_them() {
        // First match wins, so thresholds must run from strictest to loosest.
        assert!(EMAIL_INTERACTION_BANDS.windows(2).all(|w| w[0].0 > w[1].0));
        assert!(WEBSITE_SECONDS_BANDS.windows(2).all(|w| w[0].0 > w[1].0));
        assert!(COMPANY_SIZE_BANDS.windows(2).all(|w| w[0].0 > w[1].0));
        assert!(BUDGET_AMOUNT_BANDS.windows(2).all(|w| w[0].0 > w[1].0));
        assert!(DECISION_DATE_BANDS.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(RECENCY_BANDS.windows(2).all(|w| w[0].0 < w[1].0));
        // No rule row exceeds its factor's default maximum.
        let top = |t: &[(u64, f64)]| t.first().map_or(0.0, |r| r.1);
        assert_eq!(
            top(EMAIL_INTERACTION_BANDS) + top(WEBSITE_SECONDS_BANDS),
            25.0
        );
        assert!(COMPANY_SIZE_BANDS.iter().all(|r| r.1 <= 15.0));
        assert!(INTENT_PHRASES.iter().all(|r| r.1 <= 5.0));
    }
}
