//! Buying intent from an OpenAI-compatible chat-completions server.
//!
//! One `POST {base_url}/chat/completions` per text, `temperature` 0 and a few
//! tokens, so OpenAI, Ollama (`http://localhost:11434/v1`), vLLM and the
//! llama.cpp server all work. Each attempt has a timeout; a timeout, a
//! connection failure, a 429 or a 5xx is retried once; a 4xx or an unreadable
//! reply is not (asking again at temperature 0 gives the same answer).
//!
//! The API key lives in [`ApiKey`], whose `Debug` prints `ApiKey(***)` and
//! which has no `Display` and no `Serialize`. It is sent only as a sensitive
//! `Authorization` header; error texts are built from the status or from
//! reqwest's error without its URL, and scrubbed of the key regardless.

use super::{BoxFuture, IntentEstimator, IntentFailure, IntentSource, parse_intent_reply};
use crate::error::ScoringError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// The system prompt: the reply parser accepts prose too, but asking for a
/// bare number keeps replies short and cheap.
const SYSTEM_PROMPT: &str = "You rate the buying intent of a sales lead from its own words. \
Answer with a single number from 0 (no intent) to 5 (ready to buy) and nothing else.";

/// Bump when [`SYSTEM_PROMPT`] changes: cached answers are keyed by it.
const PROMPT_VERSION: &str = "intent-prompt-v1";

/// A secret API key. Never shown by `Debug`, never serialized.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    /// The key itself, for the `Authorization` header only.
    fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

fn default_timeout_ms() -> u64 {
    10_000
}

fn default_max_chars() -> usize {
    4_000
}

fn default_max_tokens() -> u32 {
    16
}

fn default_batch_concurrency() -> usize {
    4
}

fn default_cache_retention_days() -> u32 {
    30
}

/// The shortest `llm.cache_retention_days` accepted. The scoring batch reads
/// the stored answer of every lead at least every 7 days (its rescoring age),
/// and a read records the use at most once a day, so an answer still in use
/// can go unmarked for up to 8 days and a few minutes (the scheduler's
/// interval); 9 days keeps a margin above that.
pub const MIN_CACHE_RETENTION_DAYS: u32 = 9;

/// How the scoring batch reads buying intent when an LLM is configured
/// (`llm.batch`). The API's score-now always asks the LLM (through the cache).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BatchIntentMode {
    /// The offline estimator, as if no LLM were configured.
    Offline,
    /// An LLM answer already cached for the unchanged text, else the offline
    /// estimator: never a request, so never a bill, from a batch. The default.
    #[default]
    Cached,
    /// Cached answers, and every new text sent to the LLM
    /// (`llm.batch_concurrency` at a time).
    Ask,
}

/// Where and how to ask the LLM (from `neuracrm.toml` / `NEURACRM_LLM__*`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LlmConfig {
    /// Base URL up to and including the API version, e.g.
    /// `https://api.openai.com/v1` or `http://localhost:11434/v1`.
    pub base_url: String,
    /// Bearer token; `None` for local servers that need none.
    #[serde(default)]
    pub api_key: Option<ApiKey>,
    /// Model name, e.g. `gpt-4o-mini` or `llama3.2`.
    pub model: String,
    /// Timeout of each attempt, in milliseconds (default 10,000).
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Longer texts are cut to this many characters (default 4,000).
    #[serde(default = "default_max_chars")]
    pub max_chars: usize,
    /// Reply token limit (default 16: a number); raise it for reasoning models
    /// that think before answering.
    #[serde(default = "default_max_tokens")]
    pub max_tokens: u32,
    /// How the scoring batch reads intent (default [`BatchIntentMode::Cached`]).
    #[serde(default)]
    pub batch: BatchIntentMode,
    /// Requests in flight at once in [`BatchIntentMode::Ask`] (default 4).
    #[serde(default = "default_batch_concurrency")]
    pub batch_concurrency: usize,
    /// Days a stored answer that nothing has used is kept (default 30,
    /// at least [`MIN_CACHE_RETENTION_DAYS`]). The scheduler deletes the
    /// older ones after each batch while the batch reads stored answers
    /// ([`BatchIntentMode::Cached`] or [`BatchIntentMode::Ask`]).
    #[serde(default = "default_cache_retention_days")]
    pub cache_retention_days: u32,
}

impl LlmConfig {
    /// A configuration with the default timeout and text limit.
    pub fn new(
        base_url: impl Into<String>,
        model: impl Into<String>,
        api_key: Option<ApiKey>,
    ) -> Self {
        Self {
            base_url: base_url.into(),
            api_key,
            model: model.into(),
            timeout_ms: default_timeout_ms(),
            max_chars: default_max_chars(),
            max_tokens: default_max_tokens(),
            batch: BatchIntentMode::default(),
            batch_concurrency: default_batch_concurrency(),
            cache_retention_days: default_cache_retention_days(),
        }
    }
}

/// The chat-completions intent estimator.
pub struct LlmIntent {
    client: reqwest::Client,
    endpoint: reqwest::Url,
    /// Cache scope: the model and the prompt's version, so that changing
    /// either asks again instead of reusing old answers.
    scope: String,
    config: LlmConfig,
}

impl fmt::Debug for LlmIntent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LlmIntent")
            .field("endpoint", &self.endpoint.as_str())
            .field("model", &self.config.model)
            .field("api_key", &self.config.api_key)
            .finish()
    }
}

#[derive(Serialize)]
struct ChatRequest<'a> {
    model: &'a str,
    messages: [ChatMessage<'a>; 2],
    temperature: f64,
    max_tokens: u32,
}

#[derive(Serialize)]
struct ChatMessage<'a> {
    role: &'static str,
    content: &'a str,
}

#[derive(Deserialize)]
struct ChatResponse {
    choices: Vec<ChatChoice>,
}

#[derive(Deserialize)]
struct ChatChoice {
    message: ChatReply,
}

#[derive(Deserialize)]
struct ChatReply {
    content: Option<String>,
}

impl LlmIntent {
    /// Builds the client.
    ///
    /// # Errors
    /// [`ScoringError::InvalidConfig`] for an empty model, a zero timeout or
    /// batch concurrency, a cache retention under
    /// [`MIN_CACHE_RETENTION_DAYS`], or a base URL that is not http(s);
    /// [`ScoringError::LlmClient`] if the HTTP client cannot be built.
    pub fn new(config: LlmConfig) -> Result<Self, ScoringError> {
        if config.model.trim().is_empty() {
            return Err(ScoringError::config("llm.model", "must not be empty"));
        }
        if config.timeout_ms == 0 {
            return Err(ScoringError::config(
                "llm.timeout_ms",
                "must be greater than 0",
            ));
        }
        if config.batch_concurrency == 0 {
            return Err(ScoringError::config(
                "llm.batch_concurrency",
                "must be greater than 0",
            ));
        }
        if config.cache_retention_days < MIN_CACHE_RETENTION_DAYS {
            return Err(ScoringError::config(
                "llm.cache_retention_days",
                format!(
                    "must be at least {MIN_CACHE_RETENTION_DAYS} days: the scoring batch \
                     reads a lead's stored answer only every 7 days, so a shorter \
                     retention would delete answers of unchanged leads"
                ),
            ));
        }
        let base = config.base_url.trim().trim_end_matches('/');
        let endpoint = reqwest::Url::parse(&format!("{base}/chat/completions"))
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| {
                ScoringError::config("llm.base_url", "must be an http:// or https:// URL")
            })?;
        // reqwest is built without a default crypto provider (see Cargo.toml);
        // install ring unless the process already chose one.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let timeout = Duration::from_millis(config.timeout_ms);
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|e| ScoringError::LlmClient {
                reason: error_text(e, None),
            })?;
        Ok(Self {
            client,
            endpoint,
            scope: format!("{}|{PROMPT_VERSION}", config.model.trim()),
            config,
        })
    }

    /// The model asked.
    pub fn model(&self) -> &str {
        &self.config.model
    }

    async fn ask(&self, text: &str) -> Result<f64, ScoringError> {
        let text = truncate_chars(text, self.config.max_chars);
        let body = ChatRequest {
            model: &self.config.model,
            messages: [
                ChatMessage {
                    role: "system",
                    content: SYSTEM_PROMPT,
                },
                ChatMessage {
                    role: "user",
                    content: text,
                },
            ],
            temperature: 0.0,
            max_tokens: self.config.max_tokens,
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.attempt(&body).await {
                Err(err) if attempt < 2 && is_retryable(&err) => {
                    tracing::debug!(error = %err, "LLM attempt failed, retrying once");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                result => return result,
            }
        }
    }

    async fn attempt(&self, body: &ChatRequest<'_>) -> Result<f64, ScoringError> {
        let key = self.config.api_key.as_ref();
        let mut request = self.client.post(self.endpoint.clone()).json(body);
        if let Some(key) = key {
            request = request.bearer_auth(key.expose());
        }
        let response = request.send().await.map_err(|e| transport_error(e, key))?;
        let status = response.status();
        if !status.is_success() {
            return Err(ScoringError::intent(
                IntentFailure::HttpStatus {
                    status: status.as_u16(),
                },
                format!("the LLM server answered {status}"),
            ));
        }
        let reply: ChatResponse = response.json().await.map_err(|e| {
            if e.is_timeout() {
                transport_error(e, key)
            } else {
                ScoringError::intent(IntentFailure::MalformedResponse, error_text(e, key))
            }
        })?;
        let content = reply
            .choices
            .into_iter()
            .next()
            .and_then(|c| c.message.content)
            .ok_or_else(|| {
                ScoringError::intent(
                    IntentFailure::MalformedResponse,
                    "no choices[0].message.content",
                )
            })?;
        parse_intent_reply(&content).map_err(|failure| {
            ScoringError::intent(
                failure,
                redact(&format!("reply {:?}", truncate_chars(&content, 200)), key),
            )
        })
    }
}

impl IntentEstimator for LlmIntent {
    fn source(&self) -> IntentSource {
        IntentSource::Llm
    }

    fn cache_scope(&self) -> &str {
        &self.scope
    }

    fn estimate<'a>(&'a self, text: &'a str) -> BoxFuture<'a, Result<f64, ScoringError>> {
        Box::pin(self.ask(text))
    }
}

fn is_retryable(err: &ScoringError) -> bool {
    match err {
        ScoringError::Intent { failure, .. } => match failure {
            IntentFailure::Timeout | IntentFailure::Transport => true,
            IntentFailure::HttpStatus { status } => *status == 429 || *status >= 500,
            _ => false,
        },
        _ => false,
    }
}

fn transport_error(e: reqwest::Error, key: Option<&ApiKey>) -> ScoringError {
    let failure = if e.is_timeout() {
        IntentFailure::Timeout
    } else {
        IntentFailure::Transport
    };
    ScoringError::intent(failure, error_text(e, key))
}

/// reqwest's message and causes, without the URL, with the key scrubbed.
fn error_text(e: reqwest::Error, key: Option<&ApiKey>) -> String {
    let e = e.without_url();
    let mut text = String::new();
    let mut next: Option<&dyn std::error::Error> = Some(&e);
    while let Some(err) = next {
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&err.to_string());
        next = err.source();
    }
    redact(&text, key)
}

/// Replaces every occurrence of the key with `***`.
fn redact(text: &str, key: Option<&ApiKey>) -> String {
    match key {
        Some(k) if !k.expose().is_empty() => text.replace(k.expose(), "***"),
        _ => text.to_owned(),
    }
}

/// At most `max` characters, cut at a character boundary.
fn truncate_chars(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_key_debug_is_redacted() {
        let k = ApiKey::new("sk-secret-123");
        assert_eq!(format!("{k:?}"), "ApiKey(***)");
        let c = LlmConfig::new("http://localhost:1/v1", "m", Some(k));
        assert!(!format!("{c:?}").contains("sk-secret-123"));
        let llm = LlmIntent::new(c).unwrap();
        assert!(!format!("{llm:?}").contains("sk-secret-123"));
    }

    #[test]
    fn config_from_json_with_defaults() {
        let c: LlmConfig = serde_json::from_str(
            r#"{"base_url":"http://localhost:11434/v1","model":"llama3.2","api_key":"k"}"#,
        )
        .unwrap();
        assert_eq!(c.timeout_ms, 10_000);
        assert_eq!(c.max_chars, 4_000);
        assert_eq!(c.max_tokens, 16);
        assert_eq!(c.api_key, Some(ApiKey::new("k")));
        assert_eq!(c.cache_retention_days, 30);
    }

    #[test]
    fn invalid_config_is_named() {
        let field = |c: LlmConfig| match LlmIntent::new(c) {
            Err(ScoringError::InvalidConfig { field, .. }) => field,
            other => panic!("expected InvalidConfig, got {other:?}"),
        };
        assert_eq!(field(LlmConfig::new("ftp://x", "m", None)), "llm.base_url");
        assert_eq!(
            field(LlmConfig::new("not a url", "m", None)),
            "llm.base_url"
        );
        assert_eq!(field(LlmConfig::new("http://x/v1", " ", None)), "llm.model");
        let mut c = LlmConfig::new("http://x/v1", "m", None);
        c.timeout_ms = 0;
        assert_eq!(field(c), "llm.timeout_ms");
        let mut c = LlmConfig::new("http://x/v1", "m", None);
        c.cache_retention_days = MIN_CACHE_RETENTION_DAYS - 1;
        assert_eq!(field(c.clone()), "llm.cache_retention_days");
        c.cache_retention_days = MIN_CACHE_RETENTION_DAYS;
        assert!(LlmIntent::new(c).is_ok());
    }

    #[test]
    fn endpoint_joins_base_url() {
        let llm = LlmIntent::new(LlmConfig::new("http://localhost:8080/v1/", "m", None)).unwrap();
        assert_eq!(
            llm.endpoint.as_str(),
            "http://localhost:8080/v1/chat/completions"
        );
    }

    #[test]
    fn truncation_respects_characters_and_redaction_scrubs() {
        assert_eq!(truncate_chars("héllo", 2), "hé");
        assert_eq!(truncate_chars("hi", 5), "hi");
        let k = ApiKey::new("sk-1");
        assert_eq!(redact("a sk-1 b", Some(&k)), "a *** b");
        assert_eq!(redact("a", Some(&ApiKey::new(""))), "a");
    }
}
