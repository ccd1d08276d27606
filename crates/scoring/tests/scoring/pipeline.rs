//! From the LLM's answer to the stored score: the assessment is a fact, the
//! engine turns it into the `ai_insights` factor with its evidence.

use chrono::{TimeZone, Utc};
use neuracrm_scoring::testing::{Behaviour, FakeLlm, KEY};
use neuracrm_scoring::{Factor, IntentAssessor, LeadFacts, Scorer, ScoringConfig};

fn facts(description: &str) -> LeadFacts {
    LeadFacts {
        industry: Some("Software".into()),
        job_title: Some("Director of IT".into()),
        description: Some(description.into()),
        ..LeadFacts::default()
    }
}

#[tokio::test]
async fn llm_answer_becomes_the_ai_insights_factor() {
    let server = FakeLlm::start(Behaviour::Reply("4")).await;
    let assessor = IntentAssessor::from_config(Some(server.config(2_000)), 10).unwrap();
    let mut lead = facts("Evaluating vendors, want a demo");
    lead.intent = Some(
        assessor
            .assess(lead.description.as_deref().unwrap_or(""))
            .await,
    );
    let now = Utc.with_ymd_and_hms(2026, 11, 25, 0, 0, 0).unwrap();
    let score = Scorer::new(&ScoringConfig::default())
        .unwrap()
        .score(&lead, now);
    let ai = score.factor(Factor::AiInsights);
    assert_eq!((ai.points, ai.max, ai.backed), (4.0, 5.0, true));
    assert_eq!(ai.evidence.to_string(), "buying intent 4/5 from LLM");
}

#[tokio::test]
async fn llm_failure_never_fails_the_score() {
    let server = FakeLlm::start(Behaviour::AlwaysFail).await;
    let assessor = IntentAssessor::from_config(Some(server.config(2_000)), 10).unwrap();
    let mut lead = facts("Need pricing");
    lead.intent = Some(assessor.assess("Need pricing").await);
    let now = Utc.with_ymd_and_hms(2026, 11, 25, 0, 0, 0).unwrap();
    let score = Scorer::new(&ScoringConfig::default())
        .unwrap()
        .score(&lead, now);
    let ai = score.factor(Factor::AiInsights);
    assert_eq!((ai.points, ai.backed), (0.0, false));
    assert_eq!(
        ai.evidence.to_string(),
        "LLM failed: HTTP status 500 (scored 0)"
    );
    // Industry 20 + size unknown 2 + director 10; the other factors are 0.
    assert_eq!(score.total, 32.0);
    let json = serde_json::to_string(&score).unwrap();
    assert!(json.contains("\"http_status\""), "{json}");
    assert!(!json.contains(KEY));
}
