//! Rule boundaries, scaling, confidence, categories and recommendations.

use super::*;
use crate::config::{CategoryThresholds, Weights};
use crate::factor::Category;
use crate::intent::{IntentAssessment, IntentFailure, IntentSource};
use chrono::{Duration, NaiveDate, TimeZone};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
}

fn today() -> NaiveDate {
    now().date_naive()
}

/// Shared: dependencies are unoptimised in test builds, so compiling the
/// industry automaton per assertion would dominate the suite's time.
fn scorer() -> &'static Scorer {
    static SCORER: std::sync::LazyLock<Scorer> =
        std::sync::LazyLock::new(|| Scorer::new(&ScoringConfig::default()).unwrap());
    &SCORER
}

fn points(facts: &LeadFacts, factor: Factor) -> f64 {
    scorer().score(facts, now()).factor(factor).points
}

fn engagement_points(opens: u32, clicks: u32, website_seconds: u64) -> f64 {
    let facts = LeadFacts {
        email_opens: opens,
        email_clicks: clicks,
        website_seconds,
        ..LeadFacts::default()
    };
    points(&facts, Factor::Engagement)
}

/// A lead that earns every point under the default configuration.
fn perfect() -> LeadFacts {
    LeadFacts {
        industry: Some("Technology".into()),
        company_size: Some(5000),
        job_title: Some("CEO".into()),
        budget_cents: Some(500_000 * 100),
        title: Some("Urgent: platform replacement".into()),
        description: Some("Budget approved, need it ASAP".into()),
        expected_decision: Some(today() + Duration::days(7)),
        activity_count: 40,
        email_opens: 20,
        email_clicks: 8,
        website_seconds: 4000,
        last_activity_at: Some(now() - Duration::hours(3)),
        intent: Some(IntentAssessment::answered(5.0, IntentSource::Llm)),
    }
}

#[test]
fn email_interaction_boundaries() {
    assert_eq!(engagement_points(0, 0, 0), 0.0);
    assert_eq!(engagement_points(1, 0, 0), 5.0);
    assert_eq!(engagement_points(0, 1, 0), 5.0);
    assert_eq!(engagement_points(5, 0, 0), 5.0);
    assert_eq!(engagement_points(3, 3, 0), 10.0);
    assert_eq!(engagement_points(10, 0, 0), 10.0);
    assert_eq!(engagement_points(6, 5, 0), 15.0);
    assert_eq!(engagement_points(u32::MAX, u32::MAX, 0), 15.0);
}

#[test]
fn website_time_boundaries() {
    assert_eq!(engagement_points(0, 0, 600), 0.0);
    assert_eq!(engagement_points(0, 0, 601), 5.0);
    assert_eq!(engagement_points(0, 0, 1800), 5.0);
    assert_eq!(engagement_points(0, 0, 1801), 10.0);
}

#[test]
fn engagement_adds_and_caps_at_25() {
    assert_eq!(engagement_points(2, 0, 700), 10.0);
    assert_eq!(engagement_points(11, 0, 1801), 25.0);
    assert_eq!(engagement_points(u32::MAX, u32::MAX, u64::MAX), 25.0);
    let s = scorer().score(&perfect(), now());
    assert_eq!(s.factor(Factor::Engagement).max, 25.0);
}

#[test]
fn engagement_is_backed_only_by_tracked_activity() {
    let s = scorer().score(&LeadFacts::default(), now());
    let f = s.factor(Factor::Engagement);
    assert!(!f.backed);
    assert_eq!(f.evidence.to_string(), "no tracked activity");
    let facts = LeadFacts {
        activity_count: 2,
        ..LeadFacts::default()
    };
    let s = scorer().score(&facts, now());
    assert!(s.factor(Factor::Engagement).backed);
    assert_eq!(s.factor(Factor::Engagement).points, 0.0);
}

#[test]
fn every_industry_and_its_synonyms() {
    let cases = [
        ("technology", 20.0, "technology"),
        ("Technology", 20.0, "technology"),
        ("SOFTWARE", 20.0, "technology"),
        ("Computer Software", 20.0, "technology"),
        ("IT", 20.0, "technology"),
        ("IT Services", 20.0, "technology"),
        ("SaaS", 20.0, "technology"),
        ("Information Technology & Services", 20.0, "technology"),
        ("healthcare", 18.0, "healthcare"),
        ("Hospital & Health Care", 18.0, "healthcare"),
        ("Pharmaceuticals", 18.0, "healthcare"),
        ("finance", 16.0, "finance"),
        ("Financial Services", 16.0, "finance"),
        ("Banking", 16.0, "finance"),
        ("Insurance", 16.0, "finance"),
        ("manufacturing", 14.0, "manufacturing"),
        ("Automotive", 14.0, "manufacturing"),
        ("retail", 12.0, "retail"),
        ("E-commerce", 12.0, "retail"),
        ("education", 10.0, "education"),
        ("Higher Education", 10.0, "education"),
        ("government", 8.0, "government"),
        ("Public Sector", 8.0, "government"),
        ("nonprofit", 6.0, "nonprofit"),
        ("Non-Profit", 6.0, "nonprofit"),
        ("NGO", 6.0, "nonprofit"),
    ];
    for (text, expected, name) in cases {
        let facts = LeadFacts {
            industry: Some(text.into()),
            ..LeadFacts::default()
        };
        let s = scorer().score(&facts, now());
        let f = s.factor(Factor::Industry);
        assert_eq!(f.points, expected, "{text}");
        assert!(f.backed, "{text}");
        assert_eq!(
            f.evidence.to_string(),
            format!("industry: {name}"),
            "{text}"
        );
    }
}

#[test]
fn unknown_and_missing_industry_score_other() {
    let facts = LeadFacts {
        industry: Some("Hospitality".into()),
        ..LeadFacts::default()
    };
    let s = scorer().score(&facts, now());
    let f = s.factor(Factor::Industry);
    assert_eq!((f.points, f.backed), (5.0, true));
    // "digital" contains "it" but is not the word "it".
    let facts = LeadFacts {
        industry: Some("Digital media".into()),
        ..LeadFacts::default()
    };
    assert_eq!(points(&facts, Factor::Industry), 5.0);
    for missing in [None, Some(String::new()), Some("   ".into())] {
        let facts = LeadFacts {
            industry: missing,
            ..LeadFacts::default()
        };
        let s = scorer().score(&facts, now());
        let f = s.factor(Factor::Industry);
        assert_eq!((f.points, f.backed), (5.0, false));
    }
}

#[test]
fn organization_industry_table_is_used() {
    let mut config = ScoringConfig::default();
    config.industries.rules[4].points = 19.0; // retail
    config.industries.rules[4].synonyms.push("grocery".into());
    config.industries.other_points = 0.0;
    let s = Scorer::new(&config).unwrap();
    let f = |t: &str| {
        let facts = LeadFacts {
            industry: Some(t.into()),
            ..LeadFacts::default()
        };
        s.score(&facts, now()).factor(Factor::Industry).points
    };
    assert_eq!(f("Grocery"), 19.0);
    assert_eq!(f("Retail"), 19.0);
    assert_eq!(f("Mining"), 0.0);
}

#[test]
fn company_size_bands() {
    let cases = [
        (None, 2.0, false),
        (Some(0), 3.0, true),
        (Some(9), 3.0, true),
        (Some(10), 6.0, true),
        (Some(49), 6.0, true),
        (Some(50), 9.0, true),
        (Some(249), 9.0, true),
        (Some(250), 12.0, true),
        (Some(999), 12.0, true),
        (Some(1000), 15.0, true),
        (Some(u32::MAX), 15.0, true),
    ];
    for (size, expected, backed) in cases {
        let facts = LeadFacts {
            company_size: size,
            ..LeadFacts::default()
        };
        let s = scorer().score(&facts, now());
        let f = s.factor(Factor::CompanySize);
        assert_eq!((f.points, f.backed), (expected, backed), "{size:?}");
    }
}

#[test]
fn seniority_levels() {
    use Seniority::*;
    let cases = [
        ("CEO", Executive),
        ("Chief Technology Officer", Executive),
        ("Co-Founder & CTO", Executive),
        ("Founder", Executive),
        ("Owner", Executive),
        ("President", Executive),
        ("Managing Director", Executive),
        ("Vice President of Sales", VicePresident),
        ("VP Engineering", VicePresident),
        ("SVP, Operations", VicePresident),
        ("Director of Marketing", Director),
        ("Head of Procurement", Director),
        ("General Manager", Director),
        ("Assistant Vice President", Director),
        ("Product Manager", Manager),
        ("IT Manager", Manager),
        ("Team Lead", Manager),
        ("Software Engineer", IndividualContributor),
        ("Product Owner", IndividualContributor),
        ("Executive Assistant to the CEO", IndividualContributor),
        ("Marketing Intern", IndividualContributor),
        ("Analyst", IndividualContributor),
    ];
    for (title, expected) in cases {
        let facts = LeadFacts {
            job_title: Some(title.into()),
            ..LeadFacts::default()
        };
        let s = scorer().score(&facts, now());
        let f = s.factor(Factor::DecisionMaker);
        assert_eq!(f.points, expected.points(), "{title}");
        assert!(f.backed);
        match &f.evidence {
            Evidence::DecisionMaker { seniority, .. } => {
                assert_eq!(*seniority, Some(expected), "{title}")
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        [
            Executive,
            VicePresident,
            Director,
            Manager,
            IndividualContributor
        ]
        .map(Seniority::points),
        [15.0, 12.0, 10.0, 7.0, 3.0]
    );
    let s = scorer().score(&LeadFacts::default(), now());
    let f = s.factor(Factor::DecisionMaker);
    assert_eq!((f.points, f.backed), (2.0, false));
}

fn urgency_points(facts: LeadFacts) -> f64 {
    points(&facts, Factor::Urgency)
}

#[test]
fn decision_date_bands() {
    let at = |days: i64| {
        urgency_points(LeadFacts {
            expected_decision: Some(today() + Duration::days(days)),
            ..LeadFacts::default()
        })
    };
    assert_eq!(at(-30), 1.0);
    assert_eq!(at(-1), 1.0);
    assert_eq!(at(0), 5.0);
    assert_eq!(at(14), 5.0);
    assert_eq!(at(15), 4.0);
    assert_eq!(at(30), 4.0);
    assert_eq!(at(31), 2.0);
    assert_eq!(at(90), 2.0);
    assert_eq!(at(91), 0.0);
}

#[test]
fn urgent_wording_and_its_negation() {
    let text = |t: &str| {
        urgency_points(LeadFacts {
            description: Some(t.into()),
            ..LeadFacts::default()
        })
    };
    assert_eq!(text("We need this ASAP"), 3.0);
    assert_eq!(text("Go-live this quarter"), 2.0);
    assert_eq!(text("urgent, end of quarter deadline"), 3.0);
    assert_eq!(text("This is not urgent"), 0.0);
    assert_eq!(text("No rush, maybe soon"), 0.0);
    assert_eq!(text("Nothing about timing"), 0.0);
    // The title counts too.
    let facts = LeadFacts {
        title: Some("URGENT renewal".into()),
        ..LeadFacts::default()
    };
    assert_eq!(urgency_points(facts), 3.0);
}

#[test]
fn recent_activity_bands() {
    let ago = |d: Duration| {
        urgency_points(LeadFacts {
            last_activity_at: Some(now() - d),
            ..LeadFacts::default()
        })
    };
    assert_eq!(ago(Duration::hours(1)), 2.0);
    assert_eq!(ago(Duration::days(2)), 2.0);
    assert_eq!(ago(Duration::days(3)), 1.0);
    assert_eq!(ago(Duration::days(7)), 1.0);
    assert_eq!(ago(Duration::days(8)), 0.0);
    // Future timestamps (clock skew) count as today.
    assert_eq!(ago(Duration::days(-3)), 2.0);
}

#[test]
fn urgency_sums_and_caps_and_records_evidence() {
    let facts = LeadFacts {
        description: Some("Need it ASAP".into()),
        expected_decision: Some(today() + Duration::days(3)),
        last_activity_at: Some(now() - Duration::days(1)),
        ..LeadFacts::default()
    };
    let s = scorer().score(&facts, now());
    let f = s.factor(Factor::Urgency);
    assert_eq!((f.points, f.backed), (10.0, true));
    assert_eq!(
        f.evidence.to_string(),
        "decision in 3 days, urgent wording (\"asap\"), last activity 1 day ago"
    );
    let s = scorer().score(&LeadFacts::default(), now());
    assert!(!s.factor(Factor::Urgency).backed);
}

#[test]
fn budget_amounts_wording_and_negation() {
    let b = |cents: Option<i64>, text: Option<&str>| {
        let facts = LeadFacts {
            budget_cents: cents,
            description: text.map(Into::into),
            ..LeadFacts::default()
        };
        let s = scorer().score(&facts, now());
        let f = s.factor(Factor::BudgetSignals);
        (f.points, f.backed)
    };
    assert_eq!(b(None, None), (0.0, false));
    assert_eq!(b(Some(0), None), (0.0, true));
    assert_eq!(b(Some(-5), None), (0.0, true));
    assert_eq!(b(Some(1), None), (5.0, true));
    assert_eq!(b(Some(999_999), None), (5.0, true));
    assert_eq!(b(Some(1_000_000), None), (6.0, true));
    assert_eq!(b(Some(9_999_999), None), (6.0, true));
    assert_eq!(b(Some(10_000_000), None), (7.0, true));
    assert_eq!(b(None, Some("Budget approved by finance")), (4.0, true));
    assert_eq!(b(None, Some("Funds allocated for Q1")), (3.0, true));
    assert_eq!(b(None, Some("We have some budget")), (1.0, true));
    assert_eq!(b(None, Some("Not yet approved")), (0.0, true));
    assert_eq!(b(None, Some("approved, but budget freeze")), (0.0, true));
    assert_eq!(b(Some(50_000 * 100), Some("budget approved")), (10.0, true));
    assert_eq!(b(Some(i64::MAX), Some("approved")), (10.0, true));
    assert_eq!(b(Some(i64::MIN), None), (0.0, true));
}

#[test]
fn ai_insights_from_the_assessment() {
    let ai = |intent: Option<IntentAssessment>| {
        let facts = LeadFacts {
            intent,
            ..LeadFacts::default()
        };
        let s = scorer().score(&facts, now());
        let f = s.factor(Factor::AiInsights).clone();
        (f.points, f.backed, f.evidence.to_string())
    };
    assert_eq!(ai(None), (0.0, false, "buying intent not assessed".into()));
    assert_eq!(
        ai(Some(IntentAssessment::answered(4.0, IntentSource::Llm))),
        (4.0, true, "buying intent 4/5 from LLM".into())
    );
    assert_eq!(
        ai(Some(IntentAssessment::answered(2.5, IntentSource::Offline))),
        (
            2.5,
            true,
            "buying intent 2.5/5 from offline estimator".into()
        )
    );
    assert_eq!(
        ai(Some(IntentAssessment::failed(IntentFailure::Timeout))),
        (0.0, false, "LLM failed: timed out (scored 0)".into())
    );
    let nan = IntentAssessment {
        intent: f64::NAN,
        ..IntentAssessment::answered(1.0, IntentSource::Llm)
    };
    assert_eq!(ai(Some(nan)).0, 0.0);
    let huge = IntentAssessment {
        intent: 99.0,
        ..IntentAssessment::answered(1.0, IntentSource::Llm)
    };
    assert_eq!(ai(Some(huge)).0, 5.0);
}

#[test]
fn a_perfect_lead_scores_100_not_17() {
    // Regression: the seed multiplied points by the weights twice (max 17).
    let s = scorer().score(&perfect(), now());
    assert_eq!(s.total, 100.0);
    assert_eq!(s.category, Category::Hot);
    assert_eq!(s.confidence, 1.0);
    assert!(s.recommendations.is_empty());
    for f in &s.factors {
        assert_eq!(f.points, f.max, "{}", f.factor);
    }
}

#[test]
fn category_boundaries_through_the_engine() {
    // 20 + 15 + 25 + 15 + urgency + 0 + 0: urgency 5 gives 80, 4 gives 79.
    let lead = |days: i64| LeadFacts {
        industry: Some("software".into()),
        company_size: Some(1000),
        job_title: Some("CEO".into()),
        email_opens: 11,
        website_seconds: 1801,
        expected_decision: Some(today() + Duration::days(days)),
        ..LeadFacts::default()
    };
    let s = scorer().score(&lead(14), now());
    assert_eq!((s.total, s.category), (80.0, Category::Hot));
    let s = scorer().score(&lead(15), now());
    assert_eq!((s.total, s.category), (79.0, Category::Warm));
    // Configurable thresholds.
    let config = ScoringConfig {
        thresholds: CategoryThresholds {
            hot: 90.0,
            warm: 79.0,
            lukewarm: 50.0,
        },
        ..ScoringConfig::default()
    };
    let s = Scorer::new(&config).unwrap();
    assert_eq!(s.score(&lead(15), now()).category, Category::Warm);
    assert_eq!(s.score(&lead(14), now()).category, Category::Warm);
    assert_eq!(s.score(&lead(200), now()).category, Category::Lukewarm);
}

#[test]
fn total_is_rounded_to_two_decimals() {
    let w = Weights {
        industry: 1.0 / 3.0,
        company_size: 1.0 / 3.0,
        engagement: 1.0 / 3.0,
        decision_maker: 0.0,
        urgency: 0.0,
        budget_signals: 0.0,
        ai_insights: 0.0,
    };
    let config = ScoringConfig {
        weights: w,
        ..ScoringConfig::default()
    };
    let facts = LeadFacts {
        industry: Some("retail".into()),
        ..LeadFacts::default()
    };
    let s = Scorer::new(&config).unwrap().score(&facts, now());
    // retail 12/20 × 33.33… = 20; unknown company 2/15 × 33.33… = 4.444…
    assert_eq!(s.total, 24.44);
}

#[test]
fn points_scale_with_changed_weights() {
    let weights = Weights::default()
        .with(Factor::Industry, 0.30)
        .with(Factor::Engagement, 0.15);
    let config = ScoringConfig {
        weights,
        ..ScoringConfig::default()
    };
    let s = Scorer::new(&config).unwrap();
    assert_eq!(s.max_points(Factor::Industry), 30.0);
    assert!((s.max_points(Factor::Engagement) - 15.0).abs() < 1e-12);
    let facts = LeadFacts {
        industry: Some("retail".into()),
        email_opens: 11,
        ..LeadFacts::default()
    };
    let score = s.score(&facts, now());
    // retail: 12 / 20 × 30 = 18; engagement: 15 / 25 × 15 = 9.
    assert!((score.factor(Factor::Industry).points - 18.0).abs() < 1e-9);
    assert_eq!(score.factor(Factor::Industry).max, 30.0);
    assert!((score.factor(Factor::Engagement).points - 9.0).abs() < 1e-9);
    // A perfect lead still totals 100 under any valid weights.
    assert_eq!(s.score(&perfect(), now()).total, 100.0);
}

#[test]
fn zero_weight_factor_earns_nothing_and_is_never_recommended() {
    let weights = Weights::default()
        .with(Factor::AiInsights, 0.0)
        .with(Factor::Engagement, 0.30);
    let config = ScoringConfig {
        weights,
        ..ScoringConfig::default()
    };
    let s = Scorer::new(&config)
        .unwrap()
        .score(&LeadFacts::default(), now());
    let f = s.factor(Factor::AiInsights);
    assert_eq!((f.points, f.max), (0.0, 0.0));
    assert!(
        s.recommendations
            .iter()
            .all(|r| r.factor != Factor::AiInsights)
    );
    assert_eq!(s.recommendations.len(), 3);
}

#[test]
fn confidence_is_the_weight_share_backed_by_data() {
    let s = scorer().score(&LeadFacts::default(), now());
    assert_eq!(s.confidence, 0.0);
    // Missing data still scores its defaults: 5 + 2 + 2.
    assert_eq!(s.total, 9.0);
    let facts = LeadFacts {
        industry: Some("finance".into()),
        company_size: Some(20),
        ..LeadFacts::default()
    };
    assert_eq!(scorer().score(&facts, now()).confidence, 0.35);
    let mut facts = perfect();
    facts.intent = Some(IntentAssessment::failed(IntentFailure::HttpStatus {
        status: 500,
    }));
    assert_eq!(scorer().score(&facts, now()).confidence, 0.95);
    facts.job_title = None;
    assert_eq!(scorer().score(&facts, now()).confidence, 0.8);
}

#[test]
fn recommendations_name_the_weakest_factors() {
    let mut facts = perfect();
    facts.email_opens = 1; // engagement 5 + 10 = 15 / 25 = 0.6
    facts.email_clicks = 0;
    facts.job_title = None; // 2 / 15 = 0.13, missing data
    facts.budget_cents = None; // wording "budget approved" 4 / 10 = 0.4
    facts.company_size = Some(60); // 9 / 15 = 0.6, but less to gain than engagement
    let s = scorer().score(&facts, now());
    let named: Vec<Factor> = s.recommendations.iter().map(|r| r.factor).collect();
    assert_eq!(
        named,
        vec![
            Factor::DecisionMaker,
            Factor::BudgetSignals,
            Factor::Engagement
        ]
    );
    assert_eq!(
        s.recommendations[0].action,
        "Record the contact's job title."
    );
    assert!(s.recommendations[1].action.contains("budget"));
    assert_eq!(s.recommendations[2].points, 15.0);
    assert_eq!(s.recommendations[2].max, 25.0);
    // Fewer than three weak factors: fewer recommendations.
    let mut facts = perfect();
    facts.company_size = Some(5);
    let s = scorer().score(&facts, now());
    assert_eq!(s.recommendations.len(), 1);
    assert_eq!(s.recommendations[0].factor, Factor::CompanySize);
}

#[test]
fn score_serializes_with_explanations_and_reads_back() {
    let s = scorer().score(&perfect(), now());
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["category"], "hot");
    assert_eq!(json["factors"][0]["factor"], "industry");
    assert_eq!(json["factors"][0]["explanation"], "industry: technology");
    assert_eq!(json["factors"][2]["evidence"]["kind"], "engagement");
    let back: LeadScore = serde_json::from_value(json).unwrap();
    assert_eq!(back, s);
}

#[test]
fn scoring_is_deterministic_and_total_over_odd_input() {
    let odd = LeadFacts {
        industry: Some("\u{0}ßß it \u{FFFF}".into()),
        company_size: Some(0),
        job_title: Some("————".into()),
        budget_cents: Some(i64::MIN),
        title: Some("日本語 ASAP".into()),
        description: Some("x".repeat(10_000)),
        expected_decision: Some(NaiveDate::MIN),
        activity_count: u32::MAX,
        email_opens: u32::MAX,
        email_clicks: u32::MAX,
        website_seconds: u64::MAX,
        last_activity_at: Some(DateTime::<Utc>::MIN_UTC),
        intent: Some(IntentAssessment {
            intent: f64::INFINITY,
            answered_by: None,
            failure: None,
            cached: false,
        }),
    };
    let a = scorer().score(&odd, now());
    let b = scorer().score(&odd, now());
    assert_eq!(a, b);
    assert!((0.0..=100.0).contains(&a.total));
    let far = LeadFacts {
        expected_decision: Some(NaiveDate::MAX),
        last_activity_at: Some(DateTime::<Utc>::MAX_UTC),
        ..LeadFacts::default()
    };
    let s = scorer().score(&far, now());
    assert!((0.0..=100.0).contains(&s.total));
}

#[test]
fn default_scorer_equals_default_config() {
    let facts = perfect();
    assert_eq!(
        Scorer::default().score(&facts, now()),
        scorer().score(&facts, now())
    );
}

#[test]
fn score_offline_is_score_with_the_offline_assessment() {
    use crate::intent::{OfflineIntent, intent_text};
    let texts = [
        None,
        Some(""),
        Some("  \n "),
        Some("Ready to buy ASAP"),
        Some("Budget approved, need pricing and a demo this week"),
        Some("not interested, no budget, maybe next year"),
        Some("Purchase order signed off; ready to sign the contract"),
        Some("demolition — no rush"),
    ];
    let offline = OfflineIntent::new();
    let mut answered = 0;
    for title in texts {
        for description in texts {
            let facts = LeadFacts {
                title: title.map(String::from),
                description: description.map(String::from),
                // Ignored by score_offline.
                intent: Some(IntentAssessment::answered(4.0, IntentSource::Llm)),
                ..perfect()
            };
            let assessed = offline.assess_text(&intent_text(
                facts.title.as_deref(),
                facts.description.as_deref(),
            ));
            answered += usize::from(assessed.answered_by.is_some());
            let expected = scorer().score(
                &LeadFacts {
                    intent: Some(assessed),
                    ..facts.clone()
                },
                now(),
            );
            assert_eq!(
                scorer().score_offline(&facts, now()),
                expected,
                "{title:?} / {description:?}"
            );
        }
    }
    // Blank texts fail with NoText; the rest are answered.
    assert_eq!(answered, 5 * 8 + 3 * 5);
}
