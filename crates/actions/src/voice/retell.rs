//! A client of Retell's REST API (<https://docs.retellai.com/api-references>):
//! LLMs and agents, outbound phone calls, reading and listing calls.
//!
//! Every failure is a [`RetellError`] that says what happened: Retell's
//! refusals (400, 401, 402 billing, 404, 422) with its message, throttling
//! (429) and server errors (5xx) after the retries, timeouts, and answers
//! that do not read. 429 is retried for every request (Retell did not act
//! on it); 5xx and timeouts are retried for every request but
//! `create-phone-call`, where a retry after a lost answer could ring the
//! person twice.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What a Retell request can fail with.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RetellError {
    /// 400: the request is malformed (Retell's message says how).
    #[error("Retell refused the request (400): {0}")]
    BadRequest(String),
    /// 401: the API key is missing or wrong.
    #[error("Retell refused the API key (401)")]
    Unauthorized,
    /// 402: the account cannot pay for this (billing).
    #[error("Retell refused for billing reasons (402): {0}")]
    PaymentRequired(String),
    /// 404: no such LLM, agent or call at Retell.
    #[error("Retell has no such resource (404): {0}")]
    NotFound(String),
    /// 422: well-formed but not acceptable (a number not bought, ...).
    #[error("Retell could not process the request (422): {0}")]
    Unprocessable(String),
    /// 429 on every attempt.
    #[error("Retell is throttling requests (429), still after {0} attempts")]
    Throttled(u32),
    /// 5xx on every attempt (or once, for a call, which is not retried).
    #[error("Retell failed ({status}) after {attempts} attempt(s)")]
    Server {
        /// The last status.
        status: u16,
        /// Attempts made.
        attempts: u32,
    },
    /// No answer in time.
    #[error("Retell did not answer within {0:?}")]
    Timeout(Duration),
    /// The connection failed.
    #[error("cannot reach Retell: {0}")]
    Transport(String),
    /// An answer we cannot read (or another status).
    #[error("unexpected answer from Retell: {0}")]
    Unexpected(String),
}

/// Where and how patiently to talk to Retell.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientOptions {
    /// `https://api.retellai.com`, or a proxy or a test server.
    pub base_url: String,
    /// One request's limit.
    pub timeout: Duration,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// The first retry's wait; each further one doubles it (a `Retry-After`
    /// of Retell's is followed up to 5 s).
    pub backoff: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            base_url: "https://api.retellai.com".into(),
            timeout: Duration::from_secs(15),
            max_retries: 3,
            backoff: Duration::from_millis(300),
        }
    }
}

/// The client; cheap to clone (one connection pool).
#[derive(Debug, Clone)]
pub struct RetellClient {
    http: reqwest::Client,
    opts: ClientOptions,
}

/// `POST /create-retell-llm` and `PATCH /update-retell-llm/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LlmBody {
    /// The system prompt.
    pub general_prompt: String,
    /// The agent's first words.
    pub begin_message: String,
    /// e.g. `gpt-4.1`.
    pub model: String,
    /// 0 to 1.
    pub model_temperature: f64,
    /// `agent`: the agent speaks first (outbound).
    pub start_speaker: String,
    /// Defaults of the `{{...}}` variables (each call sets its own).
    pub default_dynamic_variables: Value,
    /// What the post-call analysis extracts.
    pub post_call_analysis_data: Vec<Value>,
}

/// `POST /create-agent` and `PATCH /update-agent/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentBody {
    /// `{"type": "retell-llm", "llm_id": ...}`.
    pub response_engine: Value,
    /// Name.
    pub agent_name: String,
    /// Voice.
    pub voice_id: String,
    /// Language.
    pub language: String,
    /// Where Retell posts call events.
    pub webhook_url: String,
    /// Longest call.
    pub max_call_duration_ms: i64,
    /// Hang up after this much silence.
    pub end_call_after_silence_ms: i64,
}

/// `POST /v2/create-phone-call`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhoneCallBody {
    /// E.164.
    pub from_number: String,
    /// E.164.
    pub to_number: String,
    /// The scenario's agent.
    pub override_agent_id: String,
    /// Comes back in every webhook of the call.
    pub metadata: Value,
    /// The `{{...}}` values of this call.
    pub retell_llm_dynamic_variables: Value,
}

/// One turn of a transcript.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Turn {
    /// `agent` or `user`.
    pub role: String,
    /// What was said.
    pub content: String,
}

/// Retell's post-call analysis.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CallAnalysis {
    /// Summary.
    pub call_summary: Option<String>,
    /// `Positive`, `Neutral`, `Negative`, `Unknown`.
    pub user_sentiment: Option<String>,
    /// Whether the agent reached its goal.
    pub call_successful: Option<bool>,
    /// Voicemail.
    pub in_voicemail: Option<bool>,
    /// The fields asked for in `post_call_analysis_data`.
    pub custom_analysis_data: Option<Value>,
}

/// Retell's call object (the fields we use; others are ignored).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CallObject {
    /// Retell's id.
    pub call_id: String,
    /// `registered`, `not_connected`, `ongoing`, `ended`, `error`.
    pub call_status: Option<String>,
    /// Unix ms.
    pub start_timestamp: Option<i64>,
    /// Unix ms.
    pub end_timestamp: Option<i64>,
    /// Length.
    pub duration_ms: Option<i64>,
    /// Text.
    pub transcript: Option<String>,
    /// Turns.
    pub transcript_object: Option<Vec<Turn>>,
    /// Recording.
    pub recording_url: Option<String>,
    /// Why it ended.
    pub disconnection_reason: Option<String>,
    /// Analysis (after `call_analyzed`).
    pub call_analysis: Option<CallAnalysis>,
    /// What we set when placing it.
    pub metadata: Option<Value>,
}

/// A page of `POST /v3/list-calls`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CallList {
    /// The calls.
    pub items: Vec<CallObject>,
    /// Pass back for the next page.
    pub pagination_key: Option<String>,
    /// Whether there is one.
    #[serde(default)]
    pub has_more: bool,
}

#[derive(Debug, Deserialize)]
struct LlmCreated {
    llm_id: String,
}

#[derive(Debug, Deserialize)]
struct AgentCreated {
    agent_id: String,
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    message: Option<String>,
}

impl RetellClient {
    /// A client with `opts`.
    pub fn new(opts: ClientOptions) -> Result<RetellClient, RetellError> {
        // reqwest is built without a TLS provider of its own (see Cargo.toml):
        // the ring provider, as the scoring crate's LLM client installs it.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(opts.timeout)
            .build()
            .map_err(|e| RetellError::Transport(e.to_string()))?;
        Ok(RetellClient { http, opts })
    }

    /// Creates a Retell LLM; its id.
    pub async fn create_llm(&self, key: &str, body: &LlmBody) -> Result<String, RetellError> {
        let v = self
            .send(key, "POST", "/create-retell-llm", Some(body), true)
            .await?;
        Ok(read::<LlmCreated>(v)?.llm_id)
    }

    /// Replaces a Retell LLM's prompt and settings.
    pub async fn update_llm(
        &self,
        key: &str,
        llm_id: &str,
        body: &LlmBody,
    ) -> Result<(), RetellError> {
        let path = format!("/update-retell-llm/{}", segment(llm_id));
        self.send(key, "PATCH", &path, Some(body), true)
            .await
            .map(drop)
    }

    /// Creates an agent; its id.
    pub async fn create_agent(&self, key: &str, body: &AgentBody) -> Result<String, RetellError> {
        let v = self
            .send(key, "POST", "/create-agent", Some(body), true)
            .await?;
        Ok(read::<AgentCreated>(v)?.agent_id)
    }

    /// Changes an agent.
    pub async fn update_agent(
        &self,
        key: &str,
        agent_id: &str,
        body: &AgentBody,
    ) -> Result<(), RetellError> {
        let path = format!("/update-agent/{}", segment(agent_id));
        self.send(key, "PATCH", &path, Some(body), true)
            .await
            .map(drop)
    }

    /// Places an outbound call (Retell answers 201 with the call).
    pub async fn create_phone_call(
        &self,
        key: &str,
        body: &PhoneCallBody,
    ) -> Result<CallObject, RetellError> {
        read(
            self.send(key, "POST", "/v2/create-phone-call", Some(body), false)
                .await?,
        )
    }

    /// Reads a call.
    pub async fn get_call(&self, key: &str, call_id: &str) -> Result<CallObject, RetellError> {
        let path = format!("/v2/get-call/{}", segment(call_id));
        read(self.send::<()>(key, "GET", &path, None, true).await?)
    }

    /// A page of calls (`filter_criteria`, `limit`, `pagination_key` as
    /// Retell takes them).
    pub async fn list_calls(&self, key: &str, query: &Value) -> Result<CallList, RetellError> {
        read(
            self.send(key, "POST", "/v3/list-calls", Some(query), true)
                .await?,
        )
    }

    async fn send<B: Serialize + ?Sized>(
        &self,
        key: &str,
        method: &str,
        path: &str,
        body: Option<&B>,
        retry_failures: bool,
    ) -> Result<Value, RetellError> {
        let url = format!("{}{}", self.opts.base_url.trim_end_matches('/'), path);
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a known method");
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let mut req = self.http.request(method.clone(), &url).bearer_auth(key);
            if let Some(b) = body {
                req = req.json(b);
            }
            let last = attempt > self.opts.max_retries;
            let wait = self.opts.backoff * 2u32.saturating_pow(attempt - 1);
            let res = match req.send().await {
                Ok(r) => r,
                Err(e) if e.is_timeout() => {
                    if retry_failures && !last {
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    return Err(RetellError::Timeout(self.opts.timeout));
                }
                Err(e) => {
                    if retry_failures && !last && e.is_connect() {
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    return Err(RetellError::Transport(without_url(&e)));
                }
            };
            let status = res.status().as_u16();
            let retry_after = res
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(|s| Duration::from_secs(s.min(5)));
            let text = match res.text().await {
                Ok(t) => t,
                Err(e) if e.is_timeout() => return Err(RetellError::Timeout(self.opts.timeout)),
                Err(e) => return Err(RetellError::Transport(without_url(&e))),
            };
            let message = || {
                serde_json::from_str::<ErrorBody>(&text)
                    .ok()
                    .and_then(|b| b.message)
                    .unwrap_or_else(|| text.chars().take(200).collect())
            };
            match status {
                200..=299 => {
                    return serde_json::from_str(&text).or_else(|e| {
                        if text.trim().is_empty() {
                            Ok(Value::Null)
                        } else {
                            Err(RetellError::Unexpected(e.to_string()))
                        }
                    });
                }
                429 if !last => tokio::time::sleep(retry_after.unwrap_or(wait)).await,
                429 => return Err(RetellError::Throttled(attempt)),
                500..=599 if retry_failures && !last => {
                    tokio::time::sleep(retry_after.unwrap_or(wait)).await
                }
                500..=599 => {
                    return Err(RetellError::Server {
                        status,
                        attempts: attempt,
                    });
                }
                400 => return Err(RetellError::BadRequest(message())),
                401 => return Err(RetellError::Unauthorized),
                402 => return Err(RetellError::PaymentRequired(message())),
                404 => return Err(RetellError::NotFound(message())),
                422 => return Err(RetellError::Unprocessable(message())),
                other => {
                    return Err(RetellError::Unexpected(format!(
                        "status {other}: {}",
                        message()
                    )));
                }
            }
        }
    }
}

fn read<T: for<'de> Deserialize<'de>>(v: Value) -> Result<T, RetellError> {
    serde_json::from_value(v).map_err(|e| RetellError::Unexpected(e.to_string()))
}

/// An id as one path segment (Retell's ids are alphanumeric; anything else
/// is escaped rather than allowed to change the path).
fn segment(id: &str) -> String {
    id.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// reqwest's message without the URL (which is ours, not secret, but long).
fn without_url(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    if let Some(u) = e.url() {
        s = s.replace(u.as_str(), "Retell");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_stay_one_path_segment() {
        assert_eq!(segment("call_abc-12"), "call_abc-12");
        assert_eq!(segment("../x?y"), "%2E%2E%2Fx%3Fy");
    }

    #[test]
    fn a_call_object_reads_with_unknown_fields_and_missing_ones() {
        let c: CallObject = serde_json::from_value(serde_json::json!({
            "call_id": "c1", "call_status": "ended", "agent_id": "a", "call_type": "phone_call",
            "transcript_object": [{"role": "agent", "content": "Hi", "words": []}],
            "call_analysis": {"call_summary": "ok", "custom_analysis_data": {"budget": "5000"}}
        }))
        .unwrap();
        assert_eq!(c.transcript_object.unwrap()[0].content, "Hi");
        assert_eq!(c.call_analysis.unwrap().call_summary.as_deref(), Some("ok"));
        assert_eq!(c.duration_ms, None);
    }
}
