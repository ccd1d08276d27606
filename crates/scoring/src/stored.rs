//! The stored form of a score's breakdown (`leads.score_factors`): compact
//! JSON keeping only what the sentences and recommendations are derived from.
//!
//! Per factor, in [`Factor::ALL`] order: `[points, max, backed, evidence]`,
//! where `evidence` is the variant's fields in declaration order (the
//! factor's position says which variant), e.g. engagement
//! `[20,25,true,[9,3,640,14]]` (points and maximum without a fraction are
//! written as integers). About 300 bytes a lead where the rendered
//! form (field names, explanation sentences, recommendations) takes about
//! 1.8 KB; writing those back was the batch scorer's bottleneck at a million
//! leads. The sentences and the recommendations are rendered on read by
//! [`decode`], from the same structured evidence and the same
//! recommendation rule as the engine, so a read shows exactly what scoring
//! produced.
//!
//! [`decode`] also reads the earlier, rendered form
//! (`{"factors": [...], "recommendations": [...]}`), so scores stored before
//! this format keep reading.

use crate::engine::recommend;
use crate::error::ScoringError;
use crate::explain::{Evidence, FactorScore, LeadScore, Recommendation};
use crate::factor::Factor;
use crate::intent::IntentAssessment;
use crate::rules::Seniority;
use serde::de::DeserializeOwned;
use serde::ser::{SerializeSeq, SerializeTuple};
use serde::{Deserialize, Serialize, Serializer};
use smallvec::SmallVec;
use std::borrow::Cow;
use std::sync::Arc;

/// A breakdown as shown to users: every factor with its evidence and
/// explanation sentence, and the recommendations. Serializes as
/// `{"factors": [...], "recommendations": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Breakdown {
    /// One entry per factor, in [`Factor::ALL`] order.
    pub factors: [FactorScore; 7],
    /// Up to three, weakest factor first.
    pub recommendations: SmallVec<[Recommendation; 3]>,
}

impl From<&LeadScore> for Breakdown {
    fn from(score: &LeadScore) -> Self {
        Self {
            factors: score.factors.clone(),
            recommendations: score.recommendations.clone(),
        }
    }
}

/// The stored form of `score`'s breakdown, as JSON text.
pub fn encode(score: &LeadScore) -> String {
    // Serializing numbers, booleans, strings and sequences cannot fail;
    // non-finite numbers (which the engine never produces) become null.
    serde_json::to_string(&Compact(&score.factors)).unwrap_or_else(|_| "null".into())
}

/// Reads a stored breakdown (either form) and renders it.
///
/// # Errors
/// [`ScoringError::InvalidConfig`] naming `score_factors` when the value is
/// neither form.
pub fn decode(stored: &serde_json::Value) -> Result<Breakdown, ScoringError> {
    let bad = |reason: String| ScoringError::config("score_factors", reason);
    if stored.is_object() {
        return Breakdown::deserialize(stored).map_err(|e| bad(e.to_string()));
    }
    let entries: Vec<(f64, f64, bool, serde_json::Value)> =
        Deserialize::deserialize(stored).map_err(|e| bad(e.to_string()))?;
    if entries.len() != Factor::ALL.len() {
        return Err(bad(format!(
            "{} factors stored, expected {}",
            entries.len(),
            Factor::ALL.len()
        )));
    }
    let mut factors = Vec::with_capacity(7);
    for (factor, (points, max, backed, evidence)) in Factor::ALL.into_iter().zip(entries) {
        let evidence = decode_evidence(factor, evidence)
            .map_err(|e| bad(format!("evidence of {factor}: {e}")))?;
        factors.push(FactorScore {
            factor,
            points,
            max,
            backed,
            evidence,
        });
    }
    let factors: [FactorScore; 7] = factors.try_into().map_err(|_| bad("factor count".into()))?;
    let recommendations = recommend(&factors);
    Ok(Breakdown {
        factors,
        recommendations,
    })
}

fn fields<T: DeserializeOwned>(v: serde_json::Value) -> Result<T, serde_json::Error> {
    serde_json::from_value(v)
}

fn phrase(p: Option<String>) -> Option<Cow<'static, str>> {
    p.map(Cow::Owned)
}

fn decode_evidence(factor: Factor, v: serde_json::Value) -> Result<Evidence, serde_json::Error> {
    Ok(match factor {
        Factor::Industry => {
            let (matched, recorded): (Option<String>, bool) = fields(v)?;
            Evidence::Industry {
                matched: matched.map(Arc::from),
                recorded,
            }
        }
        Factor::CompanySize => {
            let (employees,): (Option<u32>,) = fields(v)?;
            Evidence::CompanySize { employees }
        }
        Factor::Engagement => {
            let (opens, clicks, website_seconds, activities) = fields(v)?;
            Evidence::Engagement {
                opens,
                clicks,
                website_seconds,
                activities,
            }
        }
        Factor::DecisionMaker => {
            let (seniority, p): (Option<Seniority>, Option<String>) = fields(v)?;
            Evidence::DecisionMaker {
                seniority,
                phrase: phrase(p),
            }
        }
        Factor::Urgency => {
            let (days_to_decision, p, cancelled, days_since_activity): (
                Option<i64>,
                Option<String>,
                Option<String>,
                Option<i64>,
            ) = fields(v)?;
            Evidence::Urgency {
                days_to_decision,
                phrase: phrase(p),
                cancelled_by: phrase(cancelled),
                days_since_activity,
            }
        }
        Factor::BudgetSignals => {
            let (budget_cents, p, cancelled): (Option<i64>, Option<String>, Option<String>) =
                fields(v)?;
            Evidence::BudgetSignals {
                budget_cents,
                phrase: phrase(p),
                cancelled_by: phrase(cancelled),
            }
        }
        Factor::AiInsights => {
            let (assessment,): (Option<IntentAssessment>,) = fields(v)?;
            Evidence::AiInsights { assessment }
        }
    })
}

/// The factors in their stored form.
struct Compact<'a>(&'a [FactorScore; 7]);

impl Serialize for Compact<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for f in self.0 {
            let (points, max) = (Points(f.points), Points(f.max));
            seq.serialize_element(&(points, max, f.backed, CompactEvidence(&f.evidence)))?;
        }
        seq.end()
    }
}

/// Points as JSON: an integer when they have no fraction, which they mostly
/// have not (`20` where `serde_json` writes `20.0`); formatting the float was
/// a tenth of the batch scorer's time spent on breakdowns. Both read back as
/// the same `f64`.
struct Points(f64);

impl Serialize for Points {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Exact: below 2^53 every integer is an f64 and back.
        const EXACT: f64 = 9_007_199_254_740_992.0;
        let v = self.0;
        // -0.0 stays a float: as the integer 0 it would read back as 0.0.
        if v.fract() == 0.0 && v.abs() < EXACT && !(v == 0.0 && v.is_sign_negative()) {
            s.serialize_i64(v as i64)
        } else {
            s.serialize_f64(v)
        }
    }
}

/// One evidence's fields as a tuple, in declaration order.
struct CompactEvidence<'a>(&'a Evidence);

impl Serialize for CompactEvidence<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        fn tuple<S: Serializer, T: Serialize>(s: S, t: T) -> Result<S::Ok, S::Error> {
            t.serialize(s)
        }
        match self.0 {
            Evidence::Industry { matched, recorded } => tuple(s, (matched.as_deref(), recorded)),
            Evidence::CompanySize { employees } => {
                // A one-element tuple, so every evidence is an array.
                let mut t = s.serialize_tuple(1)?;
                t.serialize_element(employees)?;
                t.end()
            }
            Evidence::Engagement {
                opens,
                clicks,
                website_seconds,
                activities,
            } => tuple(s, (opens, clicks, website_seconds, activities)),
            Evidence::DecisionMaker { seniority, phrase } => tuple(s, (seniority, phrase)),
            Evidence::Urgency {
                days_to_decision,
                phrase,
                cancelled_by,
                days_since_activity,
            } => tuple(
                s,
                (days_to_decision, phrase, cancelled_by, days_since_activity),
            ),
            Evidence::BudgetSignals {
                budget_cents,
                phrase,
                cancelled_by,
            } => tuple(s, (budget_cents, phrase, cancelled_by)),
            Evidence::AiInsights { assessment } => {
                let mut t = s.serialize_tuple(1)?;
                t.serialize_element(assessment)?;
                t.end()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intent::{IntentFailure, IntentSource};
    use crate::{LeadFacts, Scorer, ScoringConfig};
    use chrono::{NaiveDate, TimeZone, Utc};

    fn leads() -> Vec<LeadFacts> {
        let now_date = NaiveDate::from_ymd_opt(2026, 12, 5);
        vec![
            LeadFacts::default(),
            LeadFacts {
                industry: Some("Computer Software".into()),
                company_size: Some(1200),
                job_title: Some("VP Engineering".into()),
                budget_cents: Some(5_000_000),
                title: Some("Urgent: CRM rollout, budget approved".into()),
                description: Some("We need this asap; no rush on training".into()),
                expected_decision: now_date,
                activity_count: 14,
                email_opens: 9,
                email_clicks: 3,
                website_seconds: 640,
                last_activity_at: Some(Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).unwrap()),
                intent: Some(IntentAssessment {
                    cached: true,
                    ..IntentAssessment::answered(4.0, IntentSource::Llm)
                }),
            },
            LeadFacts {
                industry: Some("Underwater basket weaving".into()),
                job_title: Some("Chief Executive Officer and Founder".into()),
                description: Some("Budget not approved yet".into()),
                intent: Some(IntentAssessment {
                    failure: Some(IntentFailure::HttpStatus { status: 500 }),
                    ..IntentAssessment::answered(2.0, IntentSource::Offline)
                }),
                ..LeadFacts::default()
            },
            LeadFacts {
                intent: Some(IntentAssessment::failed(IntentFailure::OutOfRange {
                    value: 7.5,
                })),
                ..LeadFacts::default()
            },
        ]
    }

    #[test]
    fn decode_renders_what_the_engine_produced() {
        let scorer = Scorer::new(&ScoringConfig::default()).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
        for facts in leads() {
            let score = scorer.score(&facts, now);
            let text = encode(&score);
            let value: serde_json::Value = serde_json::from_str(&text).unwrap();
            let decoded = decode(&value).unwrap();
            assert_eq!(decoded, Breakdown::from(&score), "{text}");
            // What users see is byte for byte the rendered form.
            assert_eq!(
                serde_json::to_string(&decoded).unwrap(),
                serde_json::to_string(&Breakdown::from(&score)).unwrap()
            );
            let rendered = serde_json::to_string(&Breakdown::from(&score)).unwrap();
            assert!(
                text.len() * 3 < rendered.len(),
                "stored {} bytes, rendered {}",
                text.len(),
                rendered.len()
            );
        }
    }

    #[test]
    fn points_with_and_without_a_fraction_read_back_exactly() {
        let mut config = ScoringConfig::default();
        // Weights that scale the rule points to fractions (industry 20 of 20
        // becomes 17.0 of 17; engagement 15 of 25 becomes 16.8 of 28).
        config.weights.industry = 0.17;
        config.weights.engagement = 0.28;
        let scorer = Scorer::new(&config).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
        let mut fractions = 0;
        for facts in leads() {
            let score = scorer.score(&facts, now);
            let text = encode(&score);
            let value: serde_json::Value = serde_json::from_str(&text).unwrap();
            let decoded = decode(&value).unwrap();
            for (i, (d, f)) in decoded.factors.iter().zip(&score.factors).enumerate() {
                assert_eq!(d.points.to_bits(), f.points.to_bits(), "{text}");
                assert_eq!(d.max.to_bits(), f.max.to_bits(), "{text}");
                let whole = f.points.fract() == 0.0;
                fractions += usize::from(!whole);
                // Whole points are written as integers.
                assert_eq!(value[i][0].is_i64(), whole, "{text}");
                assert_eq!(value[i][1].is_i64(), f.max.fract() == 0.0, "{text}");
            }
        }
        assert!(fractions > 0, "some points have a fraction");
    }

    #[test]
    fn decode_reads_the_rendered_form_too() {
        let scorer = Scorer::new(&ScoringConfig::default()).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
        let score = scorer.score(&leads()[1], now);
        let old = serde_json::to_value(Breakdown::from(&score)).unwrap();
        assert_eq!(decode(&old).unwrap(), Breakdown::from(&score));
    }

    #[test]
    fn decode_rejects_what_is_neither_form() {
        for bad in [
            serde_json::json!(null),
            serde_json::json!(42),
            serde_json::json!([]),
            serde_json::json!([[1.0, 20.0, true, ["x", true]]]),
            serde_json::json!({"factors": 3}),
        ] {
            let err = decode(&bad).unwrap_err();
            assert!(err.to_string().contains("score_factors"), "{err}");
        }
        // Seven entries, but engagement's evidence is the wrong shape.
        let scorer = Scorer::default();
        let now = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
        let mut v: serde_json::Value =
            serde_json::from_str(&encode(&scorer.score(&leads()[1], now))).unwrap();
        v[2][3] = serde_json::json!(["many"]);
        let err = decode(&v).unwrap_err().to_string();
        assert!(err.contains("engagement"), "{err}");
    }
}
