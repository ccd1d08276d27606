//! AI voice calls in the web UI: `/calls` (the organization's calls, newest
//! first, by status), `/calls/{id}` (one call: its transcript as turns, the
//! summary, sentiment and outcome, updated live as Retell's webhooks
//! arrive), and `POST /leads/{id}/call` (the lead page's "Call" button, with
//! the scenario). The same actions as `/api/calls`.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query};
use axum::response::Response;
use chrono::Utc;
use neuracrm_actions::voice::{self, PlaceCall};
use neuracrm_actions::{ActionError, leads, records};
use neuracrm_domain::{Call, CallId, CallStatus, Lead, LeadId, Scenario};
use neuracrm_store::Page;
use neuracrm_store::voice::CallFilter;
use serde::Deserialize;

use super::super::forms::Posted;
use super::super::{PageResult, format};
use crate::web::layout::Shell;
use crate::web::session::{WebUser, after};

/// The events that redraw a call's row or page.
pub const LIVE: &str = "sse:call_updated throttle:1s, sse:call_completed throttle:1s";

/// A call as a row of a list.
pub struct CallRow {
    pub id: i64,
    pub lead_id: Option<i64>,
    /// The lead's title: none when the call has no lead or it was deleted
    /// since (the row then shows its number).
    pub lead: Option<String>,
    pub scenario: String,
    pub status: &'static str,
    pub to: String,
    pub when: String,
    pub duration: String,
    pub sentiment: String,
    pub outcome: String,
}

impl CallRow {
    fn new(c: &Call, lead: Option<String>, now: chrono::DateTime<Utc>) -> CallRow {
        CallRow {
            id: c.id.0,
            lead_id: c.lead_id.map(|l| l.0),
            lead,
            scenario: format::words(c.scenario.as_str()),
            status: c.status.as_str(),
            to: c.to_number.clone(),
            when: format::ago(c.created_at, now),
            duration: c
                .duration_ms
                .map(|ms| format!("{}:{:02}", ms / 60_000, (ms / 1000) % 60))
                .unwrap_or_default(),
            sentiment: c.user_sentiment.clone().unwrap_or_default(),
            outcome: outcome(c),
        }
    }
}

/// The call's outcome in words.
fn outcome(c: &Call) -> String {
    match (c.status, c.call_successful, c.in_voicemail) {
        (_, _, Some(true)) => "Voicemail".into(),
        (_, Some(true), _) => "Goal reached".into(),
        (_, Some(false), _) => "Goal not reached".into(),
        (CallStatus::Ended, None, _) => "Ended, analysis pending".into(),
        (CallStatus::NotConnected, ..) => "Not connected".into(),
        (CallStatus::Error, ..) => format!(
            "Failed: {}",
            c.disconnection_reason.clone().unwrap_or_default()
        ),
        _ => String::new(),
    }
}

/// The lead page's recent calls (its "Calls" card).
pub async fn of_lead(user: &WebUser, lead: LeadId) -> Result<Vec<CallRow>, ActionError> {
    let page = Page::parse(Some(10), None).map_err(ActionError::query)?;
    let found = voice::lead_calls(&user.crm, &user.caller, lead, page).await?;
    let now = Utc::now();
    Ok(found
        .items
        .iter()
        .map(|c| CallRow::new(c, None, now))
        .collect())
}

/// The scenarios a call may be placed with, for the form.
pub fn scenarios() -> Vec<(&'static str, String)> {
    Scenario::ALL
        .iter()
        .map(|s| (s.as_str(), format::words(s.as_str())))
        .collect()
}

#[derive(Template, WebTemplate)]
#[template(path = "calls.html")]
pub struct CallList {
    shell: Shell,
    status: String,
    /// Each status word and whether it is the one shown.
    statuses: Vec<(&'static str, bool)>,
    rows: Vec<CallRow>,
    live: &'static str,
}

/// `?status=` of the list.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    status: Option<String>,
}

/// `GET /calls`: the organization's latest 100 calls, of one status if asked.
pub async fn list(user: WebUser, Query(q): Query<ListQuery>) -> PageResult<CallList> {
    let status = q
        .status
        .as_deref()
        .and_then(|s| s.parse::<CallStatus>().ok());
    let filter = CallFilter {
        status,
        ..Default::default()
    };
    let page = Page::parse(Some(100), None).map_err(ActionError::query)?;
    let found = voice::calls(&user.crm, &user.caller, &filter, page).await?;
    let titles = leads::titles(
        &user.crm,
        &user.caller,
        found.items.iter().filter_map(|c| c.lead_id),
    )
    .await?;
    let now = Utc::now();
    Ok(CallList {
        shell: Shell::new(&user, "Calls", "/calls"),
        status: status.map(|s| s.as_str().to_string()).unwrap_or_default(),
        statuses: CallStatus::WORDS
            .iter()
            .map(|w| (*w, status.is_some_and(|s| s.as_str() == *w)))
            .collect(),
        rows: found
            .items
            .iter()
            .map(|c| {
                let title = c.lead_id.and_then(|l| titles.get(&l).cloned());
                CallRow::new(c, title, now)
            })
            .collect(),
        live: LIVE,
    })
}

/// One turn of the transcript.
pub struct TurnRow {
    pub agent: bool,
    pub content: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "call.html")]
pub struct CallPage {
    shell: Shell,
    call: CallRow,
    from: String,
    summary: String,
    recording: String,
    reason: String,
    turns: Vec<TurnRow>,
    answers: Vec<(String, String)>,
    activity: Option<i64>,
    live: &'static str,
}

/// `GET /calls/{id}`.
pub async fn show(user: WebUser, Path(id): Path<i64>) -> PageResult<CallPage> {
    let c = voice::call(&user.crm, &user.caller, CallId(id)).await?;
    let lead = records::linked::<Lead>(&user.crm, &user.caller, c.lead_id)
        .await?
        .map(|l| l.title);
    let turns = c
        .transcript_turns
        .as_ref()
        .and_then(|t| t.as_array())
        .map(|turns| {
            turns
                .iter()
                .map(|t| TurnRow {
                    agent: t["role"] == "agent",
                    content: t["content"].as_str().unwrap_or_default().to_string(),
                })
                .collect()
        })
        .unwrap_or_default();
    let answers = c
        .custom_analysis
        .as_ref()
        .and_then(|a| a.as_object())
        .map(|o| {
            o.iter()
                .map(|(k, v)| {
                    let text = match v {
                        serde_json::Value::String(s) => s.clone(),
                        serde_json::Value::Bool(true) => "yes".into(),
                        serde_json::Value::Bool(false) => "no".into(),
                        other => other.to_string(),
                    };
                    (format::words(k), text)
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(CallPage {
        shell: Shell::new(&user, format!("Call {}", c.id), "/calls"),
        from: c.from_number.clone(),
        summary: c.summary.clone().unwrap_or_default(),
        recording: c
            .recording_url
            .clone()
            .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
            .unwrap_or_default(),
        reason: c
            .disconnection_reason
            .as_deref()
            .map(format::words)
            .unwrap_or_default(),
        turns,
        answers,
        activity: c.activity_id.map(|a| a.0),
        call: CallRow::new(&c, lead, Utc::now()),
        live: LIVE,
    })
}

/// The "Call" form of the lead page.
#[derive(Debug, Deserialize)]
pub struct CallForm {
    scenario: String,
}

/// `POST /leads/{id}/call`: places the call (the guardrails' refusals show
/// as the error page's message) and opens its page.
pub async fn place(Path(id): Path<i64>, Posted { user, form }: Posted<CallForm>) -> Response {
    let scenario = match form.scenario.parse::<Scenario>() {
        Ok(s) => s,
        Err(_) => {
            return after::<()>(
                Err(ActionError::invalid("scenario", "choose a scenario")),
                "/",
            );
        }
    };
    let req = PlaceCall {
        lead_id: Some(LeadId(id)),
        contact_id: None,
        scenario,
    };
    match voice::place_call(&user.crm, &user.caller, &req, Utc::now()).await {
        Ok(call) => after::<()>(Ok(()), &format!("/calls/{}", call.id)),
        Err(e) => after::<()>(Err(e), "/"),
    }
}
