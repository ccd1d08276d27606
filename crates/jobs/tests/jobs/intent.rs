//! Buying intent in the batch and in score-now, against a real local
//! chat-completions server (`neuracrm_scoring::testing::FakeLlm`) and the
//! database under test: what each `llm.batch` mode sends, stores and records,
//! and that stored answers never cross organizations.

use chrono::{DateTime, Duration, Utc};
use neuracrm_domain::{LeadId, LeadPatch, LeadSource, LeadStatus, NewLead, OrgId};
use neuracrm_jobs::intent::{BatchIntent, IntentService};
use neuracrm_jobs::scoring::{ScoreOptions, ScoreSummary, score_leads, score_one};
use neuracrm_scoring::testing::{Behaviour, FakeLlm};
use neuracrm_scoring::{
    BatchIntentMode, Evidence, Factor, IntentAssessment, IntentAssessor, IntentFailure,
    IntentSource, LlmConfig,
};
use neuracrm_store::intent_cache::IntentWrite;
use neuracrm_store::testing::fresh_store;
use neuracrm_store::{Sql, Store};

fn config(llm: &FakeLlm, mode: BatchIntentMode) -> LlmConfig {
    let mut c = llm.config(2_000);
    c.batch = mode;
    c.batch_concurrency = 2;
    c
}

/// An organization with one lead per `(title, description)`, in order.
async fn org_with(s: &Store, name: &str, texts: &[(&str, &str)]) -> (OrgId, Vec<LeadId>) {
    let org = s.organizations().create(name).await.unwrap().id;
    let mut ids = Vec::new();
    for (title, description) in texts {
        let new = NewLead {
            contact_id: None,
            owner_id: None,
            title: (*title).into(),
            description: Some((*description).into()),
            status: LeadStatus::New,
            source: LeadSource::Website,
            budget_cents: None,
            expected_decision: None,
        };
        ids.push(s.leads().create(org, None, &new).await.unwrap().id);
    }
    (org, ids)
}

/// A batch over `org` (every lead, `later` seconds from now so that a lead
/// changed since its last score counts as changed) reading intent as `intent`.
async fn batch(s: &Store, org: OrgId, intent: BatchIntent, later: i64) -> ScoreSummary {
    score_leads(
        s,
        &ScoreOptions {
            org: Some(org),
            all: true,
            chunk: 2,
            now: Utc::now() + Duration::seconds(later),
            intent,
            ..ScoreOptions::default()
        },
        |_| {},
    )
    .await
    .unwrap()
}

/// The buying-intent assessment recorded in the lead's stored breakdown.
async fn stored_intent(s: &Store, org: OrgId, lead: LeadId) -> IntentAssessment {
    let l = s.leads().get(org, lead).await.unwrap();
    let stored = l.score_factors.expect("the lead was scored");
    let breakdown = neuracrm_scoring::stored::decode(&stored).unwrap();
    match &breakdown.factors[Factor::AiInsights.index()].evidence {
        Evidence::AiInsights {
            assessment: Some(a),
        } => *a,
        other => panic!("no assessment stored: {other:?}"),
    }
}

fn from_llm(intent: f64, cached: bool) -> IntentAssessment {
    IntentAssessment {
        cached,
        ..IntentAssessment::answered(intent, IntentSource::Llm)
    }
}

#[tokio::test]
async fn ask_sends_each_new_text_once_and_a_second_batch_sends_nothing() {
    let t = fresh_store().await;
    let s = &t.store;
    let llm = FakeLlm::start(Behaviour::Reply("4")).await;
    let texts = [
        ("Rollout", "Need pricing for 40 seats"),
        ("Renewal", "Contract ends in March"),
        ("Rollout", "Need pricing for 40 seats"),
        ("Pilot", "Just browsing"),
        ("Renewal", "Contract ends in March"),
        ("Rollout", "Need pricing for 40 seats"),
        ("Expansion", "Second team wants access"),
    ];
    let (org, leads) = org_with(s, "Acme", &texts).await;
    let intent = IntentService::new(Some(config(&llm, BatchIntentMode::Ask)), 0).unwrap();

    // Chunks of 2: duplicates within a chunk and across chunks.
    let first = batch(s, org, intent.batch(), 0).await;
    assert_eq!((first.successful, first.failed), (7, 0));
    let mut sent = llm.texts();
    sent.sort();
    let mut distinct: Vec<String> = texts.iter().map(|(t, d)| format!("{t}\n{d}")).collect();
    distinct.sort();
    distinct.dedup();
    assert_eq!(sent, distinct, "each distinct text sent exactly once");
    assert_eq!(s.intent_cache().count(org).await.unwrap(), 4);
    // A text met again in a later chunk is answered from the stored answer.
    let mut fresh = 0;
    for &lead in &leads {
        let a = stored_intent(s, org, lead).await;
        assert_eq!(a, from_llm(4.0, a.cached));
        fresh += usize::from(!a.cached);
    }
    assert_eq!(fresh, 4, "one fresh answer per distinct text");

    let second = batch(s, org, intent.batch(), 1).await;
    assert_eq!((second.successful, second.failed), (7, 0));
    assert_eq!(llm.requests(), 4, "the second batch sends nothing");
    for &lead in &leads {
        assert_eq!(stored_intent(s, org, lead).await, from_llm(4.0, true));
    }
}

#[tokio::test]
async fn cached_uses_a_stored_answer_for_an_unchanged_text_and_never_calls_the_llm() {
    let t = fresh_store().await;
    let s = &t.store;
    let llm = FakeLlm::start(Behaviour::Reply("4")).await;
    let (org, leads) = org_with(
        s,
        "Acme",
        &[
            ("Rollout", "Need pricing for 40 seats"),
            ("Pilot", "Just browsing"),
        ],
    )
    .await;
    let cfg = config(&llm, BatchIntentMode::Cached);
    let intent = IntentService::new(Some(cfg.clone()), 0).unwrap();
    // An LLM answer for the first lead's text, from score-now.
    score_one(s, org, leads[0], Utc::now(), &intent.for_org(s, org))
        .await
        .unwrap();
    assert_eq!(llm.requests(), 1);

    let r = batch(s, org, intent.batch(), 1).await;
    assert_eq!((r.successful, r.failed), (2, 0));
    assert_eq!(llm.requests(), 1, "cached mode sends nothing");
    assert_eq!(stored_intent(s, org, leads[0]).await, from_llm(4.0, true));
    let other = stored_intent(s, org, leads[1]).await;
    assert_eq!(other.answered_by, Some(IntentSource::Offline), "{other:?}");

    // The text changes: its stored answer no longer applies.
    let patch = LeadPatch {
        description: Some(Some("Need pricing for 400 seats".into())),
        ..Default::default()
    };
    s.leads().update(org, None, leads[0], &patch).await.unwrap();
    batch(s, org, intent.batch(), 2).await;
    assert_eq!(llm.requests(), 1);
    let changed = stored_intent(s, org, leads[0]).await;
    assert_eq!(
        changed.answered_by,
        Some(IntentSource::Offline),
        "{changed:?}"
    );
    assert!(!changed.cached);
}

#[tokio::test]
async fn offline_mode_neither_reads_nor_writes_the_cache() {
    let t = fresh_store().await;
    let s = &t.store;
    let llm = FakeLlm::start(Behaviour::Reply("4")).await;
    let (org, leads) = org_with(s, "Acme", &[("Rollout", "Need pricing for 40 seats")]).await;
    let intent = IntentService::new(Some(config(&llm, BatchIntentMode::Offline)), 0).unwrap();
    assert!(matches!(intent.batch(), BatchIntent::Offline));
    score_one(s, org, leads[0], Utc::now(), &intent.for_org(s, org))
        .await
        .unwrap();
    assert_eq!(s.intent_cache().count(org).await.unwrap(), 1);

    batch(s, org, intent.batch(), 1).await;
    assert_eq!(llm.requests(), 1);
    let a = stored_intent(s, org, leads[0]).await;
    assert_eq!(
        a.answered_by,
        Some(IntentSource::Offline),
        "the stored answer is not read: {a:?}"
    );
    assert_eq!(s.intent_cache().count(org).await.unwrap(), 1);
    // Without an LLM, the batch is offline whatever else is set.
    assert!(matches!(
        IntentService::new(None, 10).unwrap().batch(),
        BatchIntent::Offline
    ));
}

async fn failing_llm_is_recorded_and_every_lead_stored(
    behaviour: Behaviour,
    expected: IntentFailure,
) {
    let t = fresh_store().await;
    let s = &t.store;
    let llm = FakeLlm::start(behaviour).await;
    let (org, leads) = org_with(
        s,
        "Acme",
        &[
            ("Rollout", "Need pricing"),
            ("Pilot", "Just browsing"),
            ("Renewal", "Ends in March"),
        ],
    )
    .await;
    let mut cfg = config(&llm, BatchIntentMode::Ask);
    cfg.timeout_ms = 150;
    let intent = IntentService::new(Some(cfg), 0).unwrap();
    let r = batch(s, org, intent.batch(), 0).await;
    assert_eq!((r.total_processed, r.successful, r.failed), (3, 3, 0));
    // Each text tried twice (one retry), none stored.
    assert_eq!(llm.requests(), 6);
    assert_eq!(s.intent_cache().count(org).await.unwrap(), 0);
    for &lead in &leads {
        let a = stored_intent(s, org, lead).await;
        assert_eq!(a, IntentAssessment::failed(expected), "lead {lead:?}");
        assert!(s.leads().get(org, lead).await.unwrap().score.is_some());
    }
}

#[tokio::test]
async fn ask_with_the_llm_answering_500_records_the_failure_and_stores_every_lead() {
    failing_llm_is_recorded_and_every_lead_stored(
        Behaviour::AlwaysFail,
        IntentFailure::HttpStatus { status: 500 },
    )
    .await;
}

#[tokio::test]
async fn ask_with_the_llm_hanging_records_the_timeout_and_stores_every_lead() {
    failing_llm_is_recorded_and_every_lead_stored(Behaviour::Hang, IntentFailure::Timeout).await;
}

#[tokio::test]
async fn one_organizations_stored_answer_never_answers_for_another() {
    let t = fresh_store().await;
    let s = &t.store;
    let llm = FakeLlm::start(Behaviour::Reply("4")).await;
    let same = [("Rollout", "Need pricing for 40 seats")];
    let (a, a_leads) = org_with(s, "A", &same).await;
    let (b, b_leads) = org_with(s, "B", &same).await;
    let ask = IntentService::new(Some(config(&llm, BatchIntentMode::Ask)), 100).unwrap();
    let cached = IntentService::new(Some(config(&llm, BatchIntentMode::Cached)), 100).unwrap();

    batch(s, a, ask.batch(), 0).await;
    assert_eq!(llm.requests(), 1);
    batch(s, b, cached.batch(), 0).await;
    assert_eq!(llm.requests(), 1);
    let theirs = stored_intent(s, b, b_leads[0]).await;
    assert_eq!(
        theirs.answered_by,
        Some(IntentSource::Offline),
        "{theirs:?}"
    );
    batch(s, b, ask.batch(), 1).await;
    assert_eq!(llm.requests(), 2, "B's text is B's to send");
    assert_eq!(s.intent_cache().count(b).await.unwrap(), 1);

    // Score-now, whose in-memory front is shared by organizations: A's
    // answer (now in memory) does not answer for a new organization C.
    score_one(s, a, a_leads[0], Utc::now(), &ask.for_org(s, a))
        .await
        .unwrap();
    assert_eq!(llm.requests(), 2);
    let (c, c_leads) = org_with(s, "C", &same).await;
    score_one(s, c, c_leads[0], Utc::now(), &ask.for_org(s, c))
        .await
        .unwrap();
    assert_eq!(llm.requests(), 3);
    assert_eq!(stored_intent(s, c, c_leads[0]).await, from_llm(4.0, false));
}

/// The bug this fixes: a batch rescore replaced the LLM's reading from
/// score-now with the offline estimator's.
#[tokio::test]
async fn score_now_then_batch_keeps_the_llm_answer() {
    let t = fresh_store().await;
    let s = &t.store;
    let llm = FakeLlm::start(Behaviour::Reply("4")).await;
    let (org, leads) = org_with(s, "Acme", &[("Pilot", "Just browsing")]).await;
    let cfg = llm.config(2_000);
    assert_eq!(cfg.batch, BatchIntentMode::Cached, "the default");
    let intent = IntentService::new(Some(cfg), 10_000).unwrap();
    let now = score_one(s, org, leads[0], Utc::now(), &intent.for_org(s, org))
        .await
        .unwrap();
    batch(s, org, intent.batch(), 1).await;
    assert_eq!(stored_intent(s, org, leads[0]).await, from_llm(4.0, true));
    let stored = s.leads().get(org, leads[0]).await.unwrap();
    assert_eq!(
        stored.score,
        Some(now.score.total),
        "same score as score-now"
    );
    assert_eq!(llm.requests(), 1);
}

#[tokio::test]
async fn score_now_answers_survive_a_restart() {
    let t = fresh_store().await;
    let s = &t.store;
    let llm = FakeLlm::start(Behaviour::Reply("3")).await;
    let (org, leads) = org_with(s, "Acme", &[("Rollout", "Need pricing")]).await;
    let first = IntentService::new(Some(llm.config(2_000)), 10_000).unwrap();
    score_one(s, org, leads[0], Utc::now(), &first.for_org(s, org))
        .await
        .unwrap();
    // Another process (or instance): empty memory, same database.
    let second = IntentService::new(Some(llm.config(2_000)), 10_000).unwrap();
    score_one(s, org, leads[0], Utc::now(), &second.for_org(s, org))
        .await
        .unwrap();
    assert_eq!(llm.requests(), 1);
    assert_eq!(stored_intent(s, org, leads[0]).await, from_llm(3.0, true));
}

/// The stored `used_at` of `org`'s answer for `text`, read without marking.
async fn used_at(s: &Store, org: OrgId, cfg: &LlmConfig, text: &str) -> Option<DateTime<Utc>> {
    let key = IntentAssessor::from_config(Some(cfg.clone()), 0)
        .unwrap()
        .cache_key(text)
        .to_hex();
    s.db()
        .fetch_optional::<(DateTime<Utc>,)>(
            Sql::new(
                "SELECT used_at FROM intent_cache WHERE organization_id = $1 AND cache_key = $2",
            )
            .arg(org)
            .arg(key),
        )
        .await
        .unwrap()
        .map(|(t,)| t)
}

/// Makes every stored answer of `org` look unused since `at`.
async fn unused_since(s: &Store, org: OrgId, at: DateTime<Utc>) {
    s.db()
        .execute(
            Sql::new("UPDATE intent_cache SET used_at = $1 WHERE organization_id = $2")
                .arg(at)
                .arg(org),
        )
        .await
        .unwrap();
}

/// An answer of `cfg`'s model for `text`, as the LLM would have given it.
fn answer_for(cfg: &LlmConfig, text: &str) -> IntentWrite {
    IntentWrite {
        key: IntentAssessor::from_config(Some(cfg.clone()), 0)
            .unwrap()
            .cache_key(text)
            .to_hex(),
        intent: 4.0,
        source: "llm",
    }
}

#[tokio::test]
async fn a_cached_batch_marks_the_answers_it_reads_so_the_prune_keeps_only_those() {
    let t = fresh_store().await;
    let s = &t.store;
    let llm = FakeLlm::start(Behaviour::Reply("4")).await;
    let (org, leads) = org_with(s, "Acme", &[("Rollout", "Need pricing for 40 seats")]).await;
    let (other, _) = org_with(s, "Other", &[]).await;
    let cfg = config(&llm, BatchIntentMode::Cached);
    let intent = IntentService::new(Some(cfg.clone()), 0).unwrap();
    // Both answered, and last used, 40 days ago: the lead's text and a text
    // no lead has any more. Another organization has an unused one too.
    let long_ago = Utc::now() - Duration::days(40);
    let live = "Rollout\nNeed pricing for 40 seats";
    let rows = [
        answer_for(&cfg, live),
        answer_for(&cfg, "Rollout\nNeed pricing"),
    ];
    s.intent_cache()
        .put_many(org, &rows, long_ago)
        .await
        .unwrap();
    s.intent_cache()
        .put_many(other, &[answer_for(&cfg, live)], long_ago)
        .await
        .unwrap();

    batch(s, org, intent.batch(), 0).await;
    assert_eq!(stored_intent(s, org, leads[0]).await, from_llm(4.0, true));
    let marked = used_at(s, org, &cfg, live).await.unwrap();
    assert!(marked > Utc::now() - Duration::minutes(1), "{marked}");

    let now = Utc::now();
    assert_eq!(
        intent.prune_unused(s, Some(org), now).await.unwrap(),
        Some(1)
    );
    assert_eq!(s.intent_cache().count(org).await.unwrap(), 1);
    assert!(
        used_at(s, org, &cfg, live).await.is_some(),
        "the lead's answer is kept"
    );
    assert_eq!(
        s.intent_cache().count(other).await.unwrap(),
        1,
        "not theirs"
    );
    assert_eq!(intent.prune_unused(s, None, now).await.unwrap(), Some(1));
    assert_eq!(s.intent_cache().count(other).await.unwrap(), 0);
    assert_eq!(llm.requests(), 0, "cached mode sends nothing");
}

#[tokio::test]
async fn nothing_is_pruned_when_the_batch_does_not_read_stored_answers() {
    let t = fresh_store().await;
    let s = &t.store;
    let llm = FakeLlm::start(Behaviour::Reply("4")).await;
    let (org, _) = org_with(s, "Acme", &[]).await;
    let cfg = config(&llm, BatchIntentMode::Offline);
    let long_ago = Utc::now() - Duration::days(400);
    s.intent_cache()
        .put_many(org, &[answer_for(&cfg, "Pilot\nJust browsing")], long_ago)
        .await
        .unwrap();
    // An offline batch marks nothing, so the age of use says nothing.
    let offline = IntentService::new(Some(cfg), 0).unwrap();
    assert_eq!(
        offline.prune_unused(s, None, Utc::now()).await.unwrap(),
        None
    );
    let none = IntentService::new(None, 0).unwrap();
    assert_eq!(none.prune_unused(s, None, Utc::now()).await.unwrap(), None);
    assert_eq!(s.intent_cache().count(org).await.unwrap(), 1);
    // The retention is configured days, counted back from `now`.
    let mut cfg = config(&llm, BatchIntentMode::Ask);
    cfg.cache_retention_days = 500;
    let ask = IntentService::new(Some(cfg), 0).unwrap();
    assert_eq!(
        ask.prune_unused(s, None, Utc::now()).await.unwrap(),
        Some(0)
    );
    let later = Utc::now() + Duration::days(101);
    assert_eq!(ask.prune_unused(s, None, later).await.unwrap(), Some(1));
}

#[tokio::test]
async fn a_retention_shorter_than_the_rescoring_age_is_refused() {
    let llm = FakeLlm::start(Behaviour::Reply("4")).await;
    let mut cfg = config(&llm, BatchIntentMode::Cached);
    cfg.cache_retention_days = 8;
    let err = IntentService::new(Some(cfg), 0).unwrap_err();
    assert!(
        err.to_string().contains("llm.cache_retention_days"),
        "{err}"
    );
}

/// A lead rescored by score-now is not due for the batch, which then never
/// reads its answer: score-now marks it, from its memory front too.
#[tokio::test]
async fn score_now_marks_the_stored_answer_used_even_when_memory_answers() {
    let t = fresh_store().await;
    let s = &t.store;
    let llm = FakeLlm::start(Behaviour::Reply("4")).await;
    let (org, leads) = org_with(s, "Acme", &[("Pilot", "Just browsing")]).await;
    let cfg = llm.config(2_000);
    let text = "Pilot\nJust browsing";
    let intent = IntentService::new(Some(cfg.clone()), 100).unwrap();
    score_one(s, org, leads[0], Utc::now(), &intent.for_org(s, org))
        .await
        .unwrap();
    assert_eq!(llm.requests(), 1);

    let long_ago = Utc::now() - Duration::days(40);
    unused_since(s, org, long_ago).await;
    score_one(s, org, leads[0], Utc::now(), &intent.for_org(s, org))
        .await
        .unwrap();
    assert_eq!(llm.requests(), 1, "answered from memory");
    let marked = used_at(s, org, &cfg, text).await.unwrap();
    assert!(marked > Utc::now() - Duration::minutes(1), "{marked}");

    // Another process (empty memory) reads it from the database.
    unused_since(s, org, long_ago).await;
    let restarted = IntentService::new(Some(cfg.clone()), 100).unwrap();
    score_one(s, org, leads[0], Utc::now(), &restarted.for_org(s, org))
        .await
        .unwrap();
    assert_eq!(llm.requests(), 1, "answered from the database");
    let marked = used_at(s, org, &cfg, text).await.unwrap();
    assert!(marked > Utc::now() - Duration::minutes(1), "{marked}");
    assert_eq!(
        intent.prune_unused(s, None, Utc::now()).await.unwrap(),
        Some(0)
    );
}
