//! What the record pages' forms share: the CSRF token of a button form, the
//! flash shown after a form's redirect, blank fields read as "clear it", and
//! the activity form (a lead's, a deal's and a contact's timeline log the same way,
//! through the same action as `POST /api/activities`).

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use neuracrm_actions::records::{self, Record};
use neuracrm_actions::{ActionError, Caller, Crm};
use neuracrm_domain::{
    Activity, ActivityType, Contact, ContactId, Deal, DealId, Lead, LeadId, NewActivity,
};
use neuracrm_store::SortDir;
use neuracrm_store::activities::ActivityFilter;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::listing::{Choice, choices, first, rows};
use super::session::{WebUser, after, csrf_header};
use super::{ActivityRow, PageError};
use crate::AppState;

/// The CSRF token of a form.
#[derive(Debug, Default, Deserialize)]
pub struct Csrf {
    pub csrf: Option<String>,
}

/// A state-changing request's form `T`, from a signed-in user whose CSRF
/// token it carries (a `csrf` field, or the `X-CSRF-Token` header htmx
/// sends): without it the request is refused with 403 before the form is
/// read or the handler runs. Unknown fields are ignored; a field that does
/// not read as its type is a 400.
pub struct Posted<T> {
    pub user: WebUser,
    pub form: T,
}

impl<T: DeserializeOwned> FromRequest<AppState> for Posted<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let user = WebUser::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let header = csrf_header(&parts.headers).map(str::to_string);
        let bytes = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        let token: Csrf = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
        user.check_csrf(token.csrf.as_deref().or(header.as_deref()))
            .map_err(IntoResponse::into_response)?;
        let form = serde_urlencoded::from_bytes(&bytes).map_err(|e| {
            PageError(ActionError::Unreadable(format!(
                "the form is malformed: {e}"
            )))
            .into_response()
        })?;
        Ok(Posted { user, form })
    }
}

/// `?done=` after a form's redirect: what the page confirms. An extractor
/// of its own (the query string's other keys are the page's).
#[derive(Debug, Default, Deserialize)]
pub struct Done {
    pub done: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for Done {
    type Rejection = QueryRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, QueryRejection> {
        let Query(done) = Query::<Done>::from_request_parts(parts, state).await?;
        Ok(done)
    }
}

impl Done {
    /// The confirmation of `done`, from the page's words for each.
    pub fn say(&self, words: &[(&str, &'static str)]) -> Option<&'static str> {
        let done = self.done.as_deref()?;
        words.iter().find(|(k, _)| *k == done).map(|(_, w)| *w)
    }

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

/// A vocabulary field of a form: absent leaves it, a word it does not know
/// is an error naming `field`.
pub fn word<T: std::str::FromStr>(v: Option<&str>, field: &str) -> Result<Option<T>, ActionError> {
    v.map(|w| {
        w.parse()
            .map_err(|_| ActionError::invalid(field, format!("unknown {field}")))
    })
    .transpose()
}

/// A date field of a form (YYYY-MM-DD) that can be cleared: absent leaves
/// it, blank clears it.
pub fn date(
    v: Option<&str>,
    field: &'static str,
) -> Result<Option<Option<neuracrm_domain::BoundedDate>>, ActionError> {
    Ok(match v.map(str::trim) {
        None => None,
        Some("") => Some(None),
        Some(d) => Some(Some(neuracrm_domain::parse_date(d, field)?)),
    })
}

/// The id a select of a form (`field`) names; anything else is refused as
/// `choose` says.
pub fn chosen(value: &str, field: &str, choose: &str) -> Result<i64, ActionError> {
    value
        .trim()
        .parse()
        .map_err(|_| ActionError::invalid(field, choose))
}

/// The activity types a person logs by hand, "note" first.
pub fn logged_kinds() -> Vec<Choice> {
    choices(
        &["note", "call", "meeting", "email_sent", "email_received"],
        Some("note"),
    )
}

/// The newest activities of a record's timeline, those `filter` keeps.
pub async fn timeline(
    crm: &Crm,
    caller: &Caller,
    filter: ActivityFilter,
) -> Result<Vec<ActivityRow>, ActionError> {
    let found = first::<Activity>(crm, caller, filter, SortDir::Desc, TIMELINE).await?;
    let now = Utc::now();
    Ok(rows(found, |v| ActivityRow::new(v, now)).0)
}

/// Activities a record's timeline shows at most.
const TIMELINE: i64 = 30;

/// The activity form of a timeline.
#[derive(Debug, Deserialize)]
pub struct ActivityForm {
    kind: String,
    subject: Option<String>,
    body: Option<String>,
}

/// A record whose page has a timeline to log activities on.
pub trait Timeline: Record {
    /// Its pages' path, `/leads`.
    const PAGE: &'static str;
    /// Its id, from the path.
    fn id(raw: i64) -> Self::Id;
    /// The lead, the deal and the contact an activity logged on it belongs
    /// to.
    fn on(view: &Self::View) -> (Option<LeadId>, Option<DealId>, Option<ContactId>);
}

/// A record whose page changes its fields with one form.
pub trait Editable: Timeline {
    /// The form's fields, as posted.
    type Form: DeserializeOwned + Send;
    /// The change the form asks for; a field that does not parse is its
    /// error, naming the field.
    fn patch(form: Self::Form) -> Result<Self::Patch, ActionError>;
}

/// `POST /leads/{id}`, `POST /deals/{id}`, `POST /contacts/{id}`: the record
/// page's form, through the same action as `PATCH /api/{records}/{id}` (so
/// the same checks and the same event), then back to the page with
/// "Saved.".
pub async fn save<R: Editable>(
    Path(id): Path<i64>,
    Posted { user, form }: Posted<R::Form>,
) -> Response {
    let done = match R::patch(form) {
        Ok(p) => records::update::<R>(&user.crm, &user.caller, R::id(id), p)
            .await
            .map(drop),
        Err(e) => Err(e),
    };
    after(done, &format!("{}/{id}?done=saved", R::PAGE))
}

impl Timeline for Lead {
    const PAGE: &'static str = "/leads";

    fn id(raw: i64) -> LeadId {
        LeadId(raw)
    }

    fn on(lead: &Lead) -> (Option<LeadId>, Option<DealId>, Option<ContactId>) {
        (Some(lead.id), None, lead.contact_id)
    }
}

impl Timeline for Contact {
    const PAGE: &'static str = "/contacts";

    fn id(raw: i64) -> ContactId {
        ContactId(raw)
    }

    fn on(
        contact: &neuracrm_actions::contacts::ContactView,
    ) -> (Option<LeadId>, Option<DealId>, Option<ContactId>) {
        (None, None, Some(contact.id))
    }
}

impl Timeline for Deal {
    const PAGE: &'static str = "/deals";

    fn id(raw: i64) -> DealId {
        DealId(raw)
    }

    fn on(deal: &Deal) -> (Option<LeadId>, Option<DealId>, Option<ContactId>) {
        (deal.lead_id, Some(deal.id), deal.contact_id)
    }
}

/// `POST /leads/{id}/activities`, `POST /contacts/{id}/activities`: logs a
/// note, call, meeting or e-mail as the signed-in user on the record (read
/// first, so another organization's is "not found") and its lead or
/// contact, then goes back to its page with "Logged.".
pub async fn log_activity<R: Timeline>(
    Path(id): Path<i64>,
    Posted { user, form: f }: Posted<ActivityForm>,
) -> Response {
    let Ok(kind) = f.kind.parse::<ActivityType>() else {
        return PageError(ActionError::invalid("kind", "unknown activity type")).into_response();
    };
    let (lead_id, deal_id, contact_id) =
        match records::get::<R>(&user.crm, &user.caller, R::id(id)).await {
            Ok(v) => R::on(&v),
            Err(e) => return PageError(e).into_response(),
        };
    let new = NewActivity {
        kind,
        lead_id,
        deal_id,
        contact_id,
        user_id: None,
        subject: f.subject.filter(|s| !s.trim().is_empty()),
        body: f.body.filter(|s| !s.trim().is_empty()),
        duration_seconds: None,
        occurred_at: None,
    };
    let done = records::create::<Activity>(&user.crm, &user.caller, new).await;
    after(done, &format!("{}/{id}?done=logged", R::PAGE))
}
