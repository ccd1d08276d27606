//! Test support (feature `testing`): [`FakeLlm`], a real local HTTP server
//! (axum on 127.0.0.1:0) speaking the chat-completions protocol, in every
//! failure mode. One server for every crate's tests (this crate's client
//! tests, the jobs' batch, the API's score-now), so that they all exercise
//! the same protocol.
//!
//! ```no_run
//! # async fn f() {
//! use neuracrm_scoring::testing::{Behaviour, FakeLlm};
//! let llm = FakeLlm::start(Behaviour::Reply("4")).await;
//! let config = llm.config(2_000); // an `LlmConfig` pointing at it
//! # let _ = config;
//! assert_eq!(llm.requests(), 0);
//! # }
//! ```

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::{ApiKey, LlmConfig, LlmIntent};

/// The API key [`FakeLlm::config`] sends (tests check it never leaks).
pub const KEY: &str = "sk-test-5ecret-never-print-me";
/// The model [`FakeLlm::config`] names.
pub const MODEL: &str = "test-model";

/// How the fake server answers request number `n` (0-based).
#[derive(Debug, Clone, Copy)]
pub enum Behaviour {
    /// 200 with this message content.
    Reply(&'static str),
    /// 500 on the first request, then 200 with this content.
    FailOnceThen(&'static str),
    /// 500 on every request.
    AlwaysFail,
    /// This status on every request.
    Status(u16),
    /// Never answers.
    Hang,
    /// 200 with a body that is not a chat completion.
    Garbage,
}

struct ServerState {
    behaviour: Behaviour,
    requests: AtomicUsize,
    authorizations: Mutex<Vec<String>>,
    bodies: Mutex<Vec<Value>>,
}

/// A running fake chat-completions server; it stops with the test's runtime.
pub struct FakeLlm {
    /// `http://127.0.0.1:PORT/v1`.
    pub base_url: String,
    state: Arc<ServerState>,
}

impl FakeLlm {
    /// Starts a server answering as `behaviour` says.
    pub async fn start(behaviour: Behaviour) -> Self {
        let state = Arc::new(ServerState {
            behaviour,
            requests: AtomicUsize::new(0),
            authorizations: Mutex::new(Vec::new()),
            bodies: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .route("/v1/chat/completions", post(chat))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            base_url: format!("http://{addr}/v1"),
            state,
        }
    }

    /// Requests received so far (retries included).
    pub fn requests(&self) -> usize {
        self.state.requests.load(Ordering::SeqCst)
    }

    /// The `Authorization` header of each request ("" when absent).
    pub fn authorizations(&self) -> Vec<String> {
        lock(&self.state.authorizations).clone()
    }

    /// The JSON body of each request.
    pub fn bodies(&self) -> Vec<Value> {
        lock(&self.state.bodies).clone()
    }

    /// The text (the user message) of each request, in arrival order.
    pub fn texts(&self) -> Vec<String> {
        lock(&self.state.bodies)
            .iter()
            .map(|b| {
                b["messages"][1]["content"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned()
            })
            .collect()
    }

    /// A configuration pointing at this server, with [`MODEL`], [`KEY`] and
    /// this per-attempt timeout.
    pub fn config(&self, timeout_ms: u64) -> LlmConfig {
        let mut c = LlmConfig::new(&self.base_url, MODEL, Some(ApiKey::new(KEY)));
        c.timeout_ms = timeout_ms;
        c
    }

    /// A client of this server with a 2 s timeout.
    pub fn client(&self) -> LlmIntent {
        LlmIntent::new(self.config(2_000)).expect("a valid configuration")
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

async fn chat(
    State(state): State<Arc<ServerState>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let n = state.requests.fetch_add(1, Ordering::SeqCst);
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    lock(&state.authorizations).push(auth);
    lock(&state.bodies).push(body);
    let completion = |content: &str| {
        Json(json!({
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": MODEL,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}]
        }))
        .into_response()
    };
    let error = |status: StatusCode| {
        (
            status,
            Json(json!({"error": {"message": "upstream exploded", "type": "server_error"}})),
        )
            .into_response()
    };
    match state.behaviour {
        Behaviour::Reply(content) => completion(content),
        Behaviour::FailOnceThen(content) if n > 0 => completion(content),
        Behaviour::FailOnceThen(_) | Behaviour::AlwaysFail => {
            error(StatusCode::INTERNAL_SERVER_ERROR)
        }
        Behaviour::Status(s) => {
            error(StatusCode::from_u16(s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        }
        Behaviour::Hang => std::future::pending().await,
        Behaviour::Garbage => (StatusCode::OK, "<html>not json</html>").into_response(),
    }
}
