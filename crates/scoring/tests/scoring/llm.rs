//! `LlmIntent` and `IntentAssessor` against a real HTTP server (axum on
//! 127.0.0.1:0) speaking the chat-completions protocol, in every failure mode.

use neuracrm_scoring::testing::{Behaviour, FakeLlm, KEY, MODEL};
use neuracrm_scoring::{
    ApiKey, IntentAssessor, IntentEstimator, IntentFailure, IntentSource, LlmConfig, LlmIntent,
    MemoryIntentCache, ScoringError,
};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn failure_of(err: &ScoringError) -> IntentFailure {
    match err {
        ScoringError::Intent { failure, .. } => *failure,
        other => panic!("expected an intent error, got {other:?}"),
    }
}

fn assert_no_key(err: &ScoringError) {
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(KEY), "key leaked: {shown}");
    assert!(!shown.contains("5ecret"), "key leaked: {shown}");
}

#[tokio::test]
async fn answers_a_bare_number_and_sends_the_protocol() {
    let server = FakeLlm::start(Behaviour::Reply("4")).await;
    let intent = server
        .client()
        .estimate("We need pricing for 50 seats")
        .await
        .unwrap();
    assert_eq!(intent, 4.0);
    assert_eq!(server.requests(), 1);
    assert_eq!(server.authorizations()[0], format!("Bearer {KEY}"));
    let body = server.bodies()[0].clone();
    assert_eq!(body["model"], MODEL);
    assert_eq!(body["messages"][0]["role"], "system");
    assert_eq!(body["messages"][1]["role"], "user");
    assert_eq!(
        body["messages"][1]["content"],
        "We need pricing for 50 seats"
    );
    assert_eq!(body["temperature"], 0.0);
    assert_eq!(body["max_tokens"], 16);
}

#[tokio::test]
async fn no_key_configured_sends_no_authorization() {
    let server = FakeLlm::start(Behaviour::Reply("2")).await;
    let mut config = server.config(2_000);
    config.api_key = None;
    assert_eq!(
        LlmIntent::new(config)
            .unwrap()
            .estimate("hello")
            .await
            .unwrap(),
        2.0
    );
    assert_eq!(server.authorizations()[0], "");
}

#[tokio::test]
async fn long_text_is_cut_to_max_chars() {
    let server = FakeLlm::start(Behaviour::Reply("1")).await;
    let mut config = server.config(2_000);
    config.max_chars = 10;
    LlmIntent::new(config)
        .unwrap()
        .estimate(&"é".repeat(50))
        .await
        .unwrap();
    let body = server.bodies()[0].clone();
    assert_eq!(body["messages"][1]["content"], "é".repeat(10));
}

#[tokio::test]
async fn prose_with_a_number_is_parsed() {
    let server = FakeLlm::start(Behaviour::Reply(
        "Based on the description, I'd rate the buying intent 3 out of 5.",
    ))
    .await;
    assert_eq!(server.client().estimate("text").await.unwrap(), 3.0);
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn prose_without_a_number_is_rejected_with_reason_and_not_retried() {
    let server = FakeLlm::start(Behaviour::Reply("The lead seems fairly keen.")).await;
    let err = server.client().estimate("text").await.unwrap_err();
    assert_eq!(failure_of(&err), IntentFailure::NoNumber);
    assert!(err.to_string().contains("fairly keen"), "{err}");
    assert_no_key(&err);
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn out_of_range_number_is_rejected() {
    let server = FakeLlm::start(Behaviour::Reply("7")).await;
    let err = server.client().estimate("text").await.unwrap_err();
    assert_eq!(failure_of(&err), IntentFailure::OutOfRange { value: 7.0 });
    assert_no_key(&err);
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn a_500_is_retried_once_and_then_succeeds() {
    let server = FakeLlm::start(Behaviour::FailOnceThen("5")).await;
    assert_eq!(server.client().estimate("text").await.unwrap(), 5.0);
    assert_eq!(server.requests(), 2);
}

#[tokio::test]
async fn two_500s_fail_with_the_status_after_one_retry() {
    let server = FakeLlm::start(Behaviour::AlwaysFail).await;
    let err = server.client().estimate("text").await.unwrap_err();
    assert_eq!(failure_of(&err), IntentFailure::HttpStatus { status: 500 });
    assert_no_key(&err);
    assert_eq!(server.requests(), 2);
}

#[tokio::test]
async fn a_4xx_is_not_retried() {
    let server = FakeLlm::start(Behaviour::Status(401)).await;
    let err = server.client().estimate("text").await.unwrap_err();
    assert_eq!(failure_of(&err), IntentFailure::HttpStatus { status: 401 });
    assert_no_key(&err);
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn a_429_is_retried() {
    let server = FakeLlm::start(Behaviour::Status(429)).await;
    let err = server.client().estimate("text").await.unwrap_err();
    assert_eq!(failure_of(&err), IntentFailure::HttpStatus { status: 429 });
    assert_eq!(server.requests(), 2);
}

#[tokio::test]
async fn a_hanging_server_times_out_after_one_retry() {
    let server = FakeLlm::start(Behaviour::Hang).await;
    let llm = LlmIntent::new(server.config(300)).unwrap();
    let started = Instant::now();
    let err = llm.estimate("text").await.unwrap_err();
    let elapsed = started.elapsed();
    assert_eq!(failure_of(&err), IntentFailure::Timeout);
    assert_no_key(&err);
    assert_eq!(server.requests(), 2);
    // Two attempts of 300 ms plus the 100 ms pause, with room for a slow CI.
    assert!(elapsed >= Duration::from_millis(600), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
}

#[tokio::test]
async fn a_body_that_is_not_a_completion_is_malformed() {
    let server = FakeLlm::start(Behaviour::Garbage).await;
    let err = server.client().estimate("text").await.unwrap_err();
    assert_eq!(failure_of(&err), IntentFailure::MalformedResponse);
    assert_no_key(&err);
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn a_refused_connection_is_a_transport_failure() {
    // Bind, note the port, close: nothing listens there any more.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let config = LlmConfig::new(format!("http://{addr}/v1"), MODEL, Some(ApiKey::new(KEY)));
    let err = LlmIntent::new(config)
        .unwrap()
        .estimate("text")
        .await
        .unwrap_err();
    assert_eq!(failure_of(&err), IntentFailure::Transport);
    assert_no_key(&err);
    assert!(
        !err.to_string().contains(&addr.to_string()),
        "URL in error: {err}"
    );
}

#[tokio::test]
async fn the_assessor_records_the_reason_and_scores_zero() {
    let server = FakeLlm::start(Behaviour::AlwaysFail).await;
    let assessor = IntentAssessor::from_config(Some(server.config(2_000)), 100).unwrap();
    let a = assessor.assess("We want a demo").await;
    assert_eq!(a.intent, 0.0);
    assert_eq!(a.answered_by, None);
    assert_eq!(a.failure, Some(IntentFailure::HttpStatus { status: 500 }));
    // Failures are not cached: the next scoring asks again (2 + 2 requests).
    assessor.assess("We want a demo").await;
    assert_eq!(server.requests(), 4);
    assert!(!format!("{assessor:?}").contains(KEY));
}

#[tokio::test]
async fn the_cache_prevents_a_second_request_for_unchanged_text() {
    let server = FakeLlm::start(Behaviour::Reply("4")).await;
    let assessor = IntentAssessor::new(Arc::new(server.client()))
        .with_cache(Arc::new(MemoryIntentCache::new(100)));
    let first = assessor.assess("We are ready to sign").await;
    let second = assessor.assess("We are ready to sign").await;
    assert_eq!((first.intent, first.cached), (4.0, false));
    assert_eq!((second.intent, second.cached), (4.0, true));
    assert_eq!(second.answered_by, Some(IntentSource::Llm));
    assert_eq!(server.requests(), 1);
    assessor.assess("A changed description").await;
    assert_eq!(server.requests(), 2);
}

#[tokio::test]
async fn without_an_llm_the_offline_estimator_answers() {
    let assessor = IntentAssessor::from_config(None, 0).unwrap();
    let a = assessor
        .assess("Ready to buy, please send the contract")
        .await;
    assert_eq!(a.answered_by, Some(IntentSource::Offline));
    assert_eq!(a.intent, 4.5);
    assert_eq!(a.failure, None);
}

#[tokio::test]
async fn llm_failure_can_fall_back_to_offline_and_says_so() {
    let server = FakeLlm::start(Behaviour::Hang).await;
    let assessor = IntentAssessor::new(Arc::new(LlmIntent::new(server.config(200)).unwrap()))
        .with_fallback(Arc::new(neuracrm_scoring::OfflineIntent::new()));
    let a = assessor.assess("Please send pricing").await;
    assert_eq!(a.answered_by, Some(IntentSource::Offline));
    assert_eq!(a.failure, Some(IntentFailure::Timeout));
    assert_eq!(a.intent, 1.0);
}
