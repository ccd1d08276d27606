//! A local HTTP server speaking Retell's API, for the voice tests: it
//! answers the endpoints the client uses as Retell does (ids, 201 for a
//! phone call, `{"status": "error", "message"}` errors), checks the bearer
//! key, records every request, and can be told to answer the next requests
//! with 401, 402, 422, 429 or 500, or to hang.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// One request as received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// The bearer key sent.
    pub key: Option<String>,
    pub body: Value,
}

/// What to answer instead of the normal response.
#[derive(Debug, Clone, Copy)]
pub enum Scripted {
    Status(u16),
    Hang,
}

#[derive(Default)]
struct FakeState {
    keys: Vec<String>,
    requests: Vec<Recorded>,
    script: VecDeque<Scripted>,
    calls: HashMap<String, Value>,
    llms: Vec<String>,
    agents: Vec<String>,
    next: u64,
}

pub struct FakeRetell {
    pub url: String,
    state: Arc<Mutex<FakeState>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeRetell {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeRetell {
    /// A server on port 0 accepting these API keys.
    pub async fn start(keys: &[&str]) -> FakeRetell {
        let state = Arc::new(Mutex::new(FakeState {
            keys: keys.iter().map(|k| k.to_string()).collect(),
            ..Default::default()
        }));
        let app = Router::new().fallback(handle).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakeRetell { url, state, task }
    }

    /// The next requests get these answers, in order.
    pub fn script(&self, answers: &[Scripted]) {
        self.state.lock().unwrap().script.extend(answers);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    pub fn requests_to(&self, prefix: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.starts_with(prefix))
            .collect()
    }

    pub fn clear(&self) {
        self.state.lock().unwrap().requests.clear();
    }

    /// What `get-call` answers for `call_id` from now on.
    pub fn set_call(&self, call_id: &str, call: Value) {
        self.state
            .lock()
            .unwrap()
            .calls
            .insert(call_id.to_string(), call);
    }
}

fn error(status: u16, message: &str) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        axum::Json(json!({"status": "error", "message": message})),
    )
        .into_response()
}

async fn handle(
    State(state): State<Arc<Mutex<FakeState>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let key = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let scripted = {
        let mut s = state.lock().unwrap();
        s.requests.push(Recorded {
            method: method.to_string(),
            path: path.clone(),
            key: key.clone(),
            body: body.clone(),
        });
        s.script.pop_front()
    };
    match scripted {
        Some(Scripted::Hang) => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            return error(500, "unreachable");
        }
        Some(Scripted::Status(429)) => {
            return error(429, "Too many requests, slow down");
        }
        Some(Scripted::Status(s)) => {
            let message = match s {
                401 => "Invalid API key",
                402 => "Insufficient balance: please add funds",
                422 => "from_number is not a number you own",
                400 => "Invalid request body",
                _ => "Internal server error",
            };
            return error(s, message);
        }
        None => {}
    }
    let mut s = state.lock().unwrap();
    if !key.as_ref().is_some_and(|k| s.keys.contains(k)) {
        return error(401, "Invalid API key");
    }
    s.next += 1;
    let n = s.next;
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method.as_str(), segments.as_slice()) {
        ("POST", ["create-retell-llm"]) => {
            let id = format!("llm_{n}");
            s.llms.push(id.clone());
            (
                StatusCode::CREATED,
                axum::Json(json!({"llm_id": id, "version": 0})),
            )
                .into_response()
        }
        ("PATCH", ["update-retell-llm", id]) if s.llms.iter().any(|l| l == id) => {
            axum::Json(json!({"llm_id": id, "version": 1})).into_response()
        }
        ("POST", ["create-agent"]) => {
            let id = format!("agent_{n}");
            s.agents.push(id.clone());
            (
                StatusCode::CREATED,
                axum::Json(json!({"agent_id": id, "version": 0})),
            )
                .into_response()
        }
        ("PATCH", ["update-agent", id]) if s.agents.iter().any(|a| a == id) => {
            axum::Json(json!({"agent_id": id, "version": 1})).into_response()
        }
        ("POST", ["v2", "create-phone-call"]) => {
            let id = format!("call_fake_{n}");
            let call = json!({
                "call_type": "phone_call",
                "call_id": id,
                "agent_id": body["override_agent_id"],
                "call_status": "registered",
                "from_number": body["from_number"],
                "to_number": body["to_number"],
                "direction": "outbound",
                "metadata": body["metadata"],
                "retell_llm_dynamic_variables": body["retell_llm_dynamic_variables"],
            });
            s.calls.insert(id, call.clone());
            (StatusCode::CREATED, axum::Json(call)).into_response()
        }
        ("GET", ["v2", "get-call", id]) => match s.calls.get(*id) {
            Some(c) => axum::Json(c.clone()).into_response(),
            None => error(404, "Call not found"),
        },
        ("POST", ["v3", "list-calls"]) => {
            let items: Vec<Value> = s.calls.values().cloned().collect();
            axum::Json(json!({"items": items, "pagination_key": null, "has_more": false}))
                .into_response()
        }
        _ => error(404, "Not found"),
    }
}
