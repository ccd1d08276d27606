//! What the record pages' forms share: the CSRF token of a button form, the
//! flash shown after a form's redirect, blank fields read as "clear it", and
//! the activity form (a lead's and a contact's timeline log the same way,
//! through the same action as `POST /api/activities`).

use std::future::Future;

use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use neuracrm_actions::ActionError;
use neuracrm_actions::records;
use neuracrm_domain::{Activity, ActivityType, ContactId, LeadId, NewActivity};
use serde::Deserialize;

use super::PageError;
use super::listing::{Choice, choices};
use super::session::{WebUser, after, csrf_header};
use crate::AppState;

/// The CSRF token of a button form.
#[derive(Debug, Deserialize)]
pub struct Csrf {
    pub csrf: Option<String>,
}

/// `?done=` after a form of a record page.
#[derive(Debug, Default, Deserialize)]
pub struct Done {
    done: Option<String>,
}

impl Done {
    /// What the page says about the form just sent.
    pub fn flash(&self) -> Option<String> {
        self.done.as_deref().map(|d| {
            match d {
                "scored" => "Scored now.",
                "logged" => "Logged.",
                "saved" => "Saved.",
                "created" => "Created.",
                _ => "",
            }
            .to_string()
        })
    }
}

/// A text field of a form for a field that can be cleared: absent leaves it,
/// blank clears it, anything else (trimmed) sets it.
pub fn nullable(v: Option<String>) -> Option<Option<String>> {
    v.map(|s| Some(s.trim().to_string()).filter(|s| !s.is_empty()))
}

/// A field parsed by `parse`, with [`nullable`]'s meaning of blank.
pub fn nullable_parsed<T>(
    v: Option<String>,
    parse: impl FnOnce(&str) -> Result<T, ActionError>,
) -> Result<Option<Option<T>>, ActionError> {
    match nullable(v) {
        None => Ok(None),
        Some(None) => Ok(Some(None)),
        Some(Some(s)) => parse(&s).map(|t| Some(Some(t))),
    }
}

/// The activity types a person logs by hand, "note" first.
pub fn logged_kinds() -> Vec<Choice> {
    choices(
        &["note", "call", "meeting", "email_sent", "email_received"],
        Some("note"),
    )
}

/// The activity form of a timeline.
#[derive(Debug, Deserialize)]
pub struct ActivityForm {
    csrf: Option<String>,
    kind: String,
    subject: Option<String>,
    body: Option<String>,
}

/// Logs the activity of `f` as the signed-in user on what `on` names (the
/// lead and contact, read first so that another organization's record is
/// "not found"), then goes back to `back` with "Logged.".
pub async fn log_activity(
    state: &AppState,
    user: &WebUser,
    headers: &HeaderMap,
    f: ActivityForm,
    on: impl Future<Output = Result<(Option<LeadId>, Option<ContactId>), ActionError>>,
    back: &str,
) -> Response {
    if let Err(r) = user.check_csrf(f.csrf.as_deref().or(csrf_header(headers))) {
        return r.into_response();
    }
    let Ok(kind) = f.kind.parse::<ActivityType>() else {
        return PageError(ActionError::invalid("kind", "unknown activity type")).into_response();
    };
    let (lead_id, contact_id) = match on.await {
        Ok(ids) => ids,
        Err(e) => return PageError(e).into_response(),
    };
    let new = NewActivity {
        kind,
        lead_id,
        deal_id: None,
        contact_id,
        user_id: None,
        subject: f.subject.filter(|s| !s.trim().is_empty()),
        body: f.body.filter(|s| !s.trim().is_empty()),
        duration_seconds: None,
        occurred_at: None,
    };
    let done = records::create::<Activity>(&state.crm, &user.caller, new).await;
    after(done, &format!("{back}?done=logged"))
}
