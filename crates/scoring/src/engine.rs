//! The engine: a [`Scorer`] compiled from one organization's
//! [`ScoringConfig`], scoring [`LeadFacts`] at a given `now`.
//!
//! `score` is pure and deterministic (same facts, same `now`, same result),
//! reads no clock, performs no IO and does not allocate except for the
//! reference count of the matched industry name: phrase automata are built in
//! [`Scorer::new`] (industry, per organization) or once per process (the static
//! wording tables), evidence is structured, recommendations are inline.

use crate::config::{IndustryTable, ScoringConfig};
use crate::error::ScoringError;
use crate::explain::{ACTIONS, Evidence, FactorScore, LeadScore, Recommendation};
use crate::factor::Factor;
use crate::facts::LeadFacts;
use crate::intent::IntentAssessment;
use crate::intent::MAX_INTENT;
use crate::matcher::PhraseMatcher;
use crate::rules::{
    BUDGET_AMOUNT_BANDS, COMPANY_SIZE_BANDS, COMPANY_SIZE_UNKNOWN, DECISION_DATE_BANDS,
    EMAIL_INTERACTION_BANDS, RECENCY_BANDS, SENIORITY_UNKNOWN, Seniority, TITLE_PHRASES, TitleRule,
    WEBSITE_SECONDS_BANDS, band,
};
use crate::wording::TextWording;
use chrono::{DateTime, Utc};
use smallvec::SmallVec;
use std::borrow::Cow;
use std::sync::{Arc, LazyLock};

static TITLE_MATCHER: LazyLock<Option<PhraseMatcher>> =
    LazyLock::new(|| PhraseMatcher::new(TITLE_PHRASES.iter().map(|(p, _)| p)).ok());

/// A compiled scoring configuration. Cheap to share (`Arc<Scorer>`) across
/// the batch scorer's workers; build one per organization and keep it while
/// its configuration is unchanged.
#[derive(Debug, Clone)]
pub struct Scorer {
    config: ScoringConfig,
    /// weight × 100 per factor.
    max: [f64; 7],
    /// max / default_max per factor: rule points are written in default points.
    scale: [f64; 7],
    industry: IndustryIndex,
}

#[derive(Debug, Clone)]
struct IndustryIndex {
    matcher: Option<PhraseMatcher>,
    /// Pattern index → rule index.
    rule_of_pattern: Vec<usize>,
    names: Vec<Arc<str>>,
    points: Vec<f64>,
    other_points: f64,
}

impl IndustryIndex {
    fn new(table: &IndustryTable) -> Result<Self, ScoringError> {
        let mut phrases = Vec::new();
        let mut rule_of_pattern = Vec::new();
        for (i, rule) in table.rules.iter().enumerate() {
            for p in std::iter::once(&rule.name).chain(&rule.synonyms) {
                phrases.push(p.trim());
                rule_of_pattern.push(i);
            }
        }
        let matcher = if phrases.is_empty() {
            None
        } else {
            Some(PhraseMatcher::new_compact(&phrases).map_err(|e| {
                ScoringError::config("industries", format!("cannot compile the table: {e}"))
            })?)
        };
        Ok(Self {
            matcher,
            rule_of_pattern,
            names: table
                .rules
                .iter()
                .map(|r| Arc::from(r.name.trim()))
                .collect(),
            points: table.rules.iter().map(|r| r.points).collect(),
            other_points: table.other_points,
        })
    }
}

impl Default for Scorer {
    fn default() -> Self {
        // The default configuration is valid and compiles (tested); should it
        // ever not, fall back to an industry-less index rather than panic.
        Self::new(&ScoringConfig::default()).unwrap_or_else(|_| {
            let config = ScoringConfig::default();
            Self::compile(config, None)
        })
    }
}

impl Scorer {
    /// Validates and compiles a configuration.
    ///
    /// # Errors
    /// [`ScoringError::InvalidConfig`] as [`ScoringConfig::validate`].
    pub fn new(config: &ScoringConfig) -> Result<Self, ScoringError> {
        config.validate()?;
        let industry = IndustryIndex::new(&config.industries)?;
        Ok(Self::compile(config.clone(), Some(industry)))
    }

    fn compile(config: ScoringConfig, industry: Option<IndustryIndex>) -> Self {
        let max = Factor::ALL.map(|f| config.weights.get(f) * 100.0);
        let scale = Factor::ALL.map(|f| max[f.index()] / f.default_max());
        let industry = industry.unwrap_or(IndustryIndex {
            matcher: None,
            rule_of_pattern: Vec::new(),
            names: Vec::new(),
            points: Vec::new(),
            other_points: config.industries.other_points,
        });
        Self {
            config,
            max,
            scale,
            industry,
        }
    }

    /// The configuration this scorer was built from.
    pub fn config(&self) -> &ScoringConfig {
        &self.config
    }

    /// A factor's maximum points under this configuration (weight × 100).
    pub fn max_points(&self, factor: Factor) -> f64 {
        self.max[factor.index()]
    }

    /// Scores one lead as of `now`. Total over every input: never panics,
    /// never fails.
    pub fn score(&self, facts: &LeadFacts, now: DateTime<Utc>) -> LeadScore {
        let wording = TextWording::read(lead_texts(facts));
        self.score_with(facts, &wording, facts.intent, now)
    }

    /// Scores one lead whose buying intent is read by the offline estimator
    /// from its title and description, whatever [`LeadFacts::intent`] holds:
    /// the same result as [`Scorer::score`] with `intent` set to
    /// [`crate::OfflineIntent::assess_text`] of
    /// [`crate::intent::intent_text`], from one scan of the text instead of
    /// two (the batch scorer without an LLM).
    pub fn score_offline(&self, facts: &LeadFacts, now: DateTime<Utc>) -> LeadScore {
        let wording = TextWording::read(lead_texts(facts));
        self.score_with(facts, &wording, Some(wording.intent_assessment()), now)
    }

    fn score_with(
        &self,
        facts: &LeadFacts,
        wording: &TextWording,
        intent: Option<IntentAssessment>,
        now: DateTime<Utc>,
    ) -> LeadScore {
        let raw = [
            self.industry(facts),
            company_size(facts),
            engagement(facts),
            decision_maker(facts),
            urgency(facts, wording, now),
            budget(facts, wording),
            ai_insights(intent),
        ];
        let mut next = 0;
        let factors = raw.map(|(points, backed, evidence)| {
            let i = next;
            next += 1;
            let factor = Factor::ALL[i];
            let points = if points.is_finite() {
                points.clamp(0.0, factor.default_max())
            } else {
                0.0
            };
            FactorScore {
                factor,
                points: points * self.scale[i],
                max: self.max[i],
                backed,
                evidence,
            }
        });
        let sum: f64 = factors.iter().map(|f| f.points).sum();
        let total = ((sum * 100.0).round() / 100.0).clamp(0.0, 100.0);
        let confidence: f64 = factors
            .iter()
            .filter(|f| f.backed)
            .map(|f| self.config.weights.get(f.factor))
            .sum();
        let confidence = ((confidence * 1e6).round() / 1e6).clamp(0.0, 1.0);
        let recommendations = recommend(&factors);
        LeadScore {
            total,
            category: self.config.thresholds.categorize(total),
            confidence,
            factors,
            recommendations,
        }
    }

    fn industry(&self, facts: &LeadFacts) -> (f64, bool, Evidence) {
        let ix = &self.industry;
        let text = facts.industry.as_deref().map(str::trim).unwrap_or("");
        if text.is_empty() {
            let e = Evidence::Industry {
                matched: None,
                recorded: false,
            };
            return (ix.other_points, false, e);
        }
        let rule = ix
            .matcher
            .as_ref()
            .and_then(|m| m.first_word_match(text))
            .and_then(|p| ix.rule_of_pattern.get(p).copied());
        match rule.and_then(|r| Some((ix.points.get(r)?, ix.names.get(r)?))) {
            Some((&points, name)) => {
                let e = Evidence::Industry {
                    matched: Some(Arc::clone(name)),
                    recorded: true,
                };
                (points, true, e)
            }
            None => {
                let e = Evidence::Industry {
                    matched: None,
                    recorded: true,
                };
                (ix.other_points, true, e)
            }
        }
    }
}

fn company_size(facts: &LeadFacts) -> (f64, bool, Evidence) {
    let e = Evidence::CompanySize {
        employees: facts.company_size,
    };
    match facts.company_size {
        Some(n) => (
            band(COMPANY_SIZE_BANDS, |min| n >= min).unwrap_or(0.0),
            true,
            e,
        ),
        None => (COMPANY_SIZE_UNKNOWN, false, e),
    }
}

fn engagement(facts: &LeadFacts) -> (f64, bool, Evidence) {
    let interactions = u64::from(facts.email_opens) + u64::from(facts.email_clicks);
    let seconds = facts.website_seconds;
    let email = band(EMAIL_INTERACTION_BANDS, |t| interactions > t).unwrap_or(0.0);
    let web = band(WEBSITE_SECONDS_BANDS, |t| seconds > t).unwrap_or(0.0);
    let backed = facts.activity_count > 0 || interactions > 0 || seconds > 0;
    let e = Evidence::Engagement {
        opens: facts.email_opens,
        clicks: facts.email_clicks,
        website_seconds: seconds,
        activities: facts.activity_count,
    };
    (email + web, backed, e)
}

fn decision_maker(facts: &LeadFacts) -> (f64, bool, Evidence) {
    let title = facts.job_title.as_deref().map(str::trim).unwrap_or("");
    if title.is_empty() {
        let e = Evidence::DecisionMaker {
            seniority: None,
            phrase: None,
        };
        return (SENIORITY_UNKNOWN, false, e);
    }
    let mut level: Option<(Seniority, &'static str)> = None;
    let mut cap: Option<(Seniority, &'static str)> = None;
    if let Some(m) = TITLE_MATCHER.as_ref() {
        m.for_each_word_match(title, |i| {
            let Some(&(phrase, rule)) = TITLE_PHRASES.get(i) else {
                return;
            };
            match rule {
                TitleRule::Level(s) if level.is_none_or(|(l, _)| s > l) => {
                    level = Some((s, phrase))
                }
                TitleRule::Cap(s) if cap.is_none_or(|(c, _)| s < c) => cap = Some((s, phrase)),
                _ => {}
            }
        });
    }
    let (seniority, phrase) = match (level, cap) {
        (Some(l), Some(c)) if c.0 < l.0 => (c.0, Some(c.1)),
        (Some(l), _) => (l.0, Some(l.1)),
        (None, Some(c)) => (c.0, Some(c.1)),
        (None, None) => (Seniority::IndividualContributor, None),
    };
    let e = Evidence::DecisionMaker {
        seniority: Some(seniority),
        phrase: phrase.map(Cow::Borrowed),
    };
    (seniority.points(), true, e)
}

/// The texts wording is read from: the lead's title and description.
fn lead_texts(facts: &LeadFacts) -> impl Iterator<Item = &str> {
    [facts.title.as_deref(), facts.description.as_deref()]
        .into_iter()
        .flatten()
}

fn urgency(facts: &LeadFacts, wording: &TextWording, now: DateTime<Utc>) -> (f64, bool, Evidence) {
    let days_to_decision = facts
        .expected_decision
        .map(|d| d.signed_duration_since(now.date_naive()).num_days());
    let date = days_to_decision
        .and_then(|days| band(DECISION_DATE_BANDS, |upper| days <= upper))
        .unwrap_or(0.0);
    let wording = &wording.urgency;
    // Activity stamped in the future (clock skew) counts as today.
    let days_since_activity = facts
        .last_activity_at
        .map(|t| now.signed_duration_since(t).num_days().max(0));
    let recency = days_since_activity
        .and_then(|days| band(RECENCY_BANDS, |upper| days <= upper))
        .unwrap_or(0.0);
    let backed = days_to_decision.is_some() || wording.found() || days_since_activity.is_some();
    let points = date + wording.points() + recency;
    let e = Evidence::Urgency {
        days_to_decision,
        phrase: wording.best.map(|(_, p)| Cow::Borrowed(p)),
        cancelled_by: wording.cancelled_by.map(Cow::Borrowed),
        days_since_activity,
    };
    (points, backed, e)
}

fn budget(facts: &LeadFacts, wording: &TextWording) -> (f64, bool, Evidence) {
    let amount = facts
        .budget_cents
        .and_then(|c| band(BUDGET_AMOUNT_BANDS, |min| c >= min))
        .unwrap_or(0.0);
    let wording = &wording.budget;
    let backed = facts.budget_cents.is_some() || wording.found();
    let e = Evidence::BudgetSignals {
        budget_cents: facts.budget_cents,
        phrase: wording.best.map(|(_, p)| Cow::Borrowed(p)),
        cancelled_by: wording.cancelled_by.map(Cow::Borrowed),
    };
    (amount + wording.points(), backed, e)
}

fn ai_insights(intent: Option<IntentAssessment>) -> (f64, bool, Evidence) {
    let Some(a) = intent else {
        return (0.0, false, Evidence::AiInsights { assessment: None });
    };
    let intent = if a.intent.is_finite() {
        a.intent.clamp(0.0, MAX_INTENT)
    } else {
        0.0
    };
    // Intent 0–5 maps onto the default maximum of 5 points one to one.
    let points = intent / MAX_INTENT * Factor::AiInsights.default_max();
    let backed = a.answered_by.is_some();
    (
        points,
        backed,
        Evidence::AiInsights {
            assessment: Some(a),
        },
    )
}

/// Up to three of the weakest factors relative to their maximum; factors at
/// their maximum or with no weight are never recommended. Ties go to the factor
/// with more points to gain, then to breakdown order.
pub(crate) fn recommend(factors: &[FactorScore; 7]) -> SmallVec<[Recommendation; 3]> {
    let mut order: [usize; 7] = [0, 1, 2, 3, 4, 5, 6];
    let ratio = |f: &FactorScore| f.points / f.max;
    order.sort_unstable_by(|&a, &b| {
        let (fa, fb) = (&factors[a], &factors[b]);
        let ra = if fa.max > 0.0 {
            ratio(fa)
        } else {
            f64::INFINITY
        };
        let rb = if fb.max > 0.0 {
            ratio(fb)
        } else {
            f64::INFINITY
        };
        ra.total_cmp(&rb)
            .then((fb.max - fb.points).total_cmp(&(fa.max - fa.points)))
            .then(a.cmp(&b))
    });
    order
        .iter()
        .map(|&i| &factors[i])
        .filter(|f| f.max > 0.0 && f.points < f.max - 1e-9)
        .take(3)
        .map(|f| {
            let (_, missing, weak) = ACTIONS[f.factor.index()];
            Recommendation {
                factor: f.factor,
                points: f.points,
                max: f.max,
                action: Cow::Borrowed(if f.backed { weak } else { missing }),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
