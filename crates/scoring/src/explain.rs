//! What a score says about itself: per-factor points, maximum, evidence and
//! whether real data backed it; the confidence; recommendations.
//!
//! Evidence is structured (numbers, the matched phrase as a `&'static str`,
//! the configured industry name as a shared `Arc<str>`), so scoring a lead
//! allocates nothing for it; the sentence ("12 opens+clicks, 640 s on site")
//! is rendered only when asked, by `Display` or when serialized (the
//! `explanation` field of each factor in the stored JSON).

use crate::factor::{Category, Factor};
use crate::intent::{IntentAssessment, IntentFailure};
use crate::rules::Seniority;
use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};
use smallvec::SmallVec;
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// The result of scoring one lead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeadScore {
    /// Sum of the factors' points, rounded to 2 decimals, 0–100.
    pub total: f64,
    /// From the rounded total and the organization's thresholds.
    pub category: Category,
    /// Share of the weight whose factors were backed by real data, 0–1.
    pub confidence: f64,
    /// One entry per factor, in [`Factor::ALL`] order.
    pub factors: [FactorScore; 7],
    /// Up to three, weakest factor first.
    pub recommendations: SmallVec<[Recommendation; 3]>,
}

impl LeadScore {
    /// The breakdown of one factor.
    pub fn factor(&self, factor: Factor) -> &FactorScore {
        &self.factors[factor.index()]
    }
}

/// One factor's contribution.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FactorScore {
    /// Which factor.
    pub factor: Factor,
    /// Points earned, 0–`max`.
    pub points: f64,
    /// The factor's maximum: weight × 100.
    pub max: f64,
    /// True when real data produced the points, false when they are the
    /// default for missing data.
    pub backed: bool,
    /// What produced the points.
    pub evidence: Evidence,
}

impl Serialize for FactorScore {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("FactorScore", 6)?;
        st.serialize_field("factor", &self.factor)?;
        st.serialize_field("points", &self.points)?;
        st.serialize_field("max", &self.max)?;
        st.serialize_field("backed", &self.backed)?;
        st.serialize_field("evidence", &self.evidence)?;
        st.serialize_field("explanation", &self.evidence.to_string())?;
        st.end()
    }
}

impl fmt::Display for FactorScore {
    /// `engagement 20/25: 12 opens+clicks, 640 s on site`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}/{}: {}",
            self.factor,
            Points(self.points),
            Points(self.max),
            self.evidence
        )
    }
}

/// Points with at most two decimals and no trailing zeros.
struct Points(f64);

impl fmt::Display for Points {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rounded = (self.0 * 100.0).round() / 100.0;
        write!(f, "{rounded}")
    }
}

/// The data behind one factor's points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Evidence {
    /// Industry: the table entry matched, if any.
    Industry {
        /// Canonical name of the matched entry; `None` = other/unknown.
        matched: Option<Arc<str>>,
        /// False when no industry was recorded at all.
        recorded: bool,
    },
    /// Company size.
    CompanySize {
        /// Employee count, if recorded.
        employees: Option<u32>,
    },
    /// Email and website engagement.
    Engagement {
        /// Email opens.
        opens: u32,
        /// Email clicks.
        clicks: u32,
        /// Seconds on the website.
        website_seconds: u64,
        /// Activities of any type.
        activities: u32,
    },
    /// Decision-maker seniority.
    DecisionMaker {
        /// Seniority read from the title; `None` = no title.
        seniority: Option<Seniority>,
        /// The title phrase that decided it.
        phrase: Option<Cow<'static, str>>,
    },
    /// Urgency.
    Urgency {
        /// Days until the expected decision (negative: passed).
        days_to_decision: Option<i64>,
        /// Strongest urgent phrase found.
        phrase: Option<Cow<'static, str>>,
        /// A phrase that cancelled urgent wording ("no rush").
        cancelled_by: Option<Cow<'static, str>>,
        /// Days since the last activity.
        days_since_activity: Option<i64>,
    },
    /// Budget signals.
    BudgetSignals {
        /// Stated budget in cents.
        budget_cents: Option<i64>,
        /// Strongest budget phrase found.
        phrase: Option<Cow<'static, str>>,
        /// A phrase that cancelled budget wording ("not approved").
        cancelled_by: Option<Cow<'static, str>>,
    },
    /// Buying intent.
    AiInsights {
        /// The assessment, if one was made.
        assessment: Option<IntentAssessment>,
    },
}

fn quoted<'a>(p: &'a Option<Cow<'static, str>>) -> &'a str {
    p.as_deref().unwrap_or("")
}

fn plural(n: i64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Evidence::Industry {
                matched: Some(name),
                ..
            } => write!(f, "industry: {name}"),
            Evidence::Industry {
                matched: None,
                recorded: true,
            } => f.write_str("industry not in the table (scored as other)"),
            Evidence::Industry {
                matched: None,
                recorded: false,
            } => f.write_str("no industry recorded (scored as other)"),
            Evidence::CompanySize { employees: Some(n) } => write!(f, "{n} employees"),
            Evidence::CompanySize { employees: None } => f.write_str("company size unknown"),
            Evidence::Engagement {
                opens,
                clicks,
                website_seconds,
                activities,
            } => {
                let interactions = u64::from(*opens) + u64::from(*clicks);
                if interactions == 0 && *website_seconds == 0 && *activities == 0 {
                    f.write_str("no tracked activity")
                } else {
                    write!(
                        f,
                        "{interactions} opens+clicks, {website_seconds} s on site"
                    )
                }
            }
            Evidence::DecisionMaker {
                seniority: Some(s),
                phrase,
            } => match phrase {
                Some(p) => write!(f, "job title reads as {s} (\"{p}\")"),
                None => write!(f, "job title reads as {s}"),
            },
            Evidence::DecisionMaker {
                seniority: None, ..
            } => f.write_str("no job title recorded"),
            Evidence::Urgency {
                days_to_decision,
                phrase,
                cancelled_by,
                days_since_activity,
            } => {
                let mut sep = "";
                if let Some(d) = *days_to_decision {
                    if d < 0 {
                        write!(f, "decision date passed {} day{} ago", -d, plural(-d))?;
                    } else {
                        write!(f, "decision in {d} day{}", plural(d))?;
                    }
                    sep = ", ";
                }
                if cancelled_by.is_some() {
                    write!(f, "{sep}urgency denied (\"{}\")", quoted(cancelled_by))?;
                    sep = ", ";
                } else if phrase.is_some() {
                    write!(f, "{sep}urgent wording (\"{}\")", quoted(phrase))?;
                    sep = ", ";
                }
                if let Some(d) = *days_since_activity {
                    write!(f, "{sep}last activity {d} day{} ago", plural(d))?;
                    sep = ", ";
                }
                if sep.is_empty() {
                    f.write_str("no timeline, urgent wording or activity")?;
                }
                Ok(())
            }
            Evidence::BudgetSignals {
                budget_cents,
                phrase,
                cancelled_by,
            } => {
                let mut sep = "";
                if let Some(c) = *budget_cents {
                    let dollars = c / 100;
                    write!(f, "stated budget ${dollars}")?;
                    sep = ", ";
                }
                if cancelled_by.is_some() {
                    write!(f, "{sep}budget denied (\"{}\")", quoted(cancelled_by))?;
                    sep = ", ";
                } else if phrase.is_some() {
                    write!(f, "{sep}budget wording (\"{}\")", quoted(phrase))?;
                    sep = ", ";
                }
                if sep.is_empty() {
                    f.write_str("no budget stated or mentioned")?;
                }
                Ok(())
            }
            Evidence::AiInsights { assessment: None } => f.write_str("buying intent not assessed"),
            Evidence::AiInsights {
                assessment: Some(a),
            } => {
                let failed = |f: &mut fmt::Formatter<'_>, failure: &IntentFailure| match failure {
                    IntentFailure::NoText => write!(f, "no text to read for buying intent"),
                    other => write!(f, "LLM failed: {other}"),
                };
                match (a.answered_by, &a.failure) {
                    (Some(source), None) => {
                        write!(f, "buying intent {}/5 from {source}", a.intent)?;
                    }
                    (Some(source), Some(failure)) => {
                        write!(f, "buying intent {}/5 from {source} after ", a.intent)?;
                        failed(f, failure)?;
                    }
                    (None, Some(failure)) => {
                        failed(f, failure)?;
                        f.write_str(" (scored 0)")?;
                    }
                    (None, None) => f.write_str("buying intent not assessed")?,
                }
                if a.cached {
                    f.write_str(" (cached)")?;
                }
                Ok(())
            }
        }
    }
}

/// A suggestion about one of the weakest factors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    /// The factor to work on.
    pub factor: Factor,
    /// Its points.
    pub points: f64,
    /// Its maximum.
    pub max: f64,
    /// What to do.
    pub action: Cow<'static, str>,
}

impl fmt::Display for Recommendation {
    /// `decision_maker (2/15): Record the contact's job title.`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}/{}): {}",
            self.factor,
            Points(self.points),
            Points(self.max),
            self.action
        )
    }
}

/// (factor, action when data is missing, action when the data is weak).
pub(crate) const ACTIONS: [(Factor, &str, &str); 7] = [
    (
        Factor::Industry,
        "Record the company's industry: it is unknown and scored as 'other'.",
        "Industry is a weak fit: confirm the use case before investing more time.",
    ),
    (
        Factor::CompanySize,
        "Find out the company's employee count.",
        "Small company: offer a starter plan or self-serve onboarding.",
    ),
    (
        Factor::Engagement,
        "No tracked engagement yet: send a personalised email or a webinar invitation.",
        "Engagement is low: send targeted content and follow up on opened emails.",
    ),
    (
        Factor::DecisionMaker,
        "Record the contact's job title.",
        "The contact is not a decision maker: ask to be introduced to the budget holder.",
    ),
    (
        Factor::Urgency,
        "Ask for the expected decision date and the timeline.",
        "Little urgency: agree on a decision date and a concrete next step.",
    ),
    (
        Factor::BudgetSignals,
        "Ask whether a budget is allocated, and how much.",
        "Budget is unclear: qualify the budget and the approval process.",
    ),
    (
        Factor::AiInsights,
        "Describe the lead's needs in its description so buying intent can be read.",
        "Low buying intent: nurture with case studies and offer a demo.",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intent::IntentSource;

    #[test]
    fn actions_table_is_in_factor_order() {
        for (i, (f, _, _)) in ACTIONS.iter().enumerate() {
            assert_eq!(f.index(), i);
        }
    }

    #[test]
    fn evidence_renders_sentences() {
        let e = Evidence::Engagement {
            opens: 9,
            clicks: 3,
            website_seconds: 640,
            activities: 14,
        };
        assert_eq!(e.to_string(), "12 opens+clicks, 640 s on site");
        let fs = FactorScore {
            factor: Factor::Engagement,
            points: 20.0,
            max: 25.0,
            backed: true,
            evidence: e,
        };
        assert_eq!(
            fs.to_string(),
            "engagement 20/25: 12 opens+clicks, 640 s on site"
        );
        let r = Recommendation {
            factor: Factor::DecisionMaker,
            points: 2.0 / 3.0,
            max: 15.0,
            action: Cow::Borrowed("Record the contact's job title."),
        };
        assert_eq!(
            r.to_string(),
            "decision_maker (0.67/15): Record the contact's job title."
        );
        let u = Evidence::Urgency {
            days_to_decision: Some(-3),
            phrase: Some(Cow::Borrowed("asap")),
            cancelled_by: None,
            days_since_activity: Some(1),
        };
        assert_eq!(
            u.to_string(),
            "decision date passed 3 days ago, urgent wording (\"asap\"), last activity 1 day ago"
        );
        let a = Evidence::AiInsights {
            assessment: Some(IntentAssessment {
                cached: true,
                ..IntentAssessment::answered(4.0, IntentSource::Llm)
            }),
        };
        assert_eq!(a.to_string(), "buying intent 4/5 from LLM (cached)");
        let failed = Evidence::AiInsights {
            assessment: Some(IntentAssessment::failed(IntentFailure::HttpStatus {
                status: 500,
            })),
        };
        assert_eq!(failed.to_string(), "LLM failed: HTTP status 500 (scored 0)");
    }
}
