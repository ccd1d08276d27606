//! `/contacts`: the list (search, the contact API's filters: owner,
//! industry, creation dates; sort, paging) and the contact page (its
//! details, editable; its leads and deals; its timeline, with each
//! activity's sentiment; logging a note, call or e-mail).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Form, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{NaiveTime, Utc};
use neuracrm_actions::records::{self, List};
use neuracrm_actions::{ActionError, contacts};
use neuracrm_domain::{BoundedTime, Contact, ContactId, ContactPatch, Email};
use neuracrm_store::Sort;
use neuracrm_store::contacts::{ContactFilter, ContactSort};
use serde::Deserialize;

use super::super::forms::{self, ActivityForm, Done, logged_kinds, nullable, nullable_parsed};
use super::super::listing::{Choice, Listing, Pager, RawQuery, SortLink, choices};
use super::super::{ActivityRow, DealItem, LeadRow, PageResult};
use crate::AppState;
use crate::web::layout::Shell;
use crate::web::session::{WebUser, after, csrf_header};

/// Rows per page of the list.
const PER_PAGE: i64 = 50;

/// The list's filters, as its URL names them.
const FILTERS: &[&str] = &["q", "owner", "industry", "created_from", "created_to"];

/// Its sort keys, the default first.
const SORTS: &[&str] = &["created", "updated", "name", "company"];

/// The industries the scoring model knows (a contact's industry is free
/// text; the filter matches it exactly).
const INDUSTRIES: &[&str] = &[
    "technology",
    "healthcare",
    "finance",
    "manufacturing",
    "retail",
    "education",
    "government",
    "nonprofit",
    "other",
];

/// A contact as a row of the list.
pub struct ContactRow {
    pub id: i64,
    pub name: String,
    pub company: String,
    pub job_title: String,
    pub industry: String,
    pub email: String,
    pub phone: String,
    pub size: String,
    pub created: String,
}

impl From<Contact> for ContactRow {
    fn from(c: Contact) -> Self {
        ContactRow {
            id: c.id.0,
            name: full_name(&c),
            company: c.company.unwrap_or_default(),
            job_title: c.job_title.unwrap_or_default(),
            industry: c
                .industry
                .map(|i| crate::web::format::words(&i))
                .unwrap_or_default(),
            email: c.email.map(String::from).unwrap_or_default(),
            phone: c.phone.unwrap_or_default(),
            size: c.company_size.map(|s| s.to_string()).unwrap_or_default(),
            created: c.created_at.format("%Y-%m-%d").to_string(),
        }
    }
}

/// "Ada Lovelace".
pub fn full_name(c: &Contact) -> String {
    format!(
        "{} {}",
        c.first_name,
        c.last_name.as_deref().unwrap_or_default()
    )
    .trim()
    .to_string()
}

#[derive(Template, WebTemplate)]
#[template(path = "contacts.html")]
pub struct ContactList {
    shell: Shell,
    q: String,
    owners: Vec<Choice>,
    industries: Vec<Choice>,
    created_from: String,
    created_to: String,
    sorts: Vec<SortLink>,
    rows: Vec<ContactRow>,
    pager: Pager,
}

/// A `YYYY-MM-DD` filter as the start of that day (UTC), when valid.
fn day(l: &Listing, key: &'static str) -> Option<BoundedTime> {
    let d = neuracrm_domain::parse_date(l.get(key)?, key).ok()?;
    BoundedTime::new(d.get().and_time(NaiveTime::MIN).and_utc(), key).ok()
}

/// `GET /contacts`.
pub async fn list(
    State(state): State<AppState>,
    user: WebUser,
    Query(query): RawQuery,
) -> PageResult<ContactList> {
    let l = Listing::parse("/contacts", &query, FILTERS, SORTS);
    let filter = ContactFilter {
        q: l.get("q").map(str::to_string),
        owner_id: (l.get("owner") == Some("me")).then_some(user.caller.user),
        industry: l.get("industry").map(str::to_string),
        created_from: day(&l, "created_from"),
        // "to" a day includes that day.
        created_to: day(&l, "created_to")
            .and_then(|t| BoundedTime::new(t.get() + chrono::Duration::days(1), "created_to").ok()),
    };
    let by = match l.sort() {
        "updated" => ContactSort::UpdatedAt,
        "name" => ContactSort::Name,
        "company" => ContactSort::Company,
        _ => ContactSort::CreatedAt,
    };
    let found = records::list::<Contact>(
        &state.crm,
        &user.caller,
        List {
            filter,
            sort: Sort { by, dir: l.dir() },
            page: l.store_page(PER_PAGE)?,
        },
    )
    .await?;
    let text = |k: &str| l.get(k).unwrap_or_default().to_string();
    Ok(ContactList {
        shell: Shell::new(&user, "Contacts", "/contacts"),
        q: text("q"),
        owners: vec![Choice {
            value: "me".into(),
            label: "Mine".into(),
            selected: l.get("owner") == Some("me"),
        }],
        industries: choices(INDUSTRIES, l.get("industry")),
        created_from: text("created_from"),
        created_to: text("created_to"),
        sorts: l.sort_links(&[
            ("Name", "name"),
            ("Company", "company"),
            ("Created", "created"),
            ("Updated", "updated"),
        ]),
        pager: l.pager(found.has_more),
        rows: found.items.into_iter().map(ContactRow::from).collect(),
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "contact.html")]
pub struct ContactPage {
    shell: Shell,
    id: i64,
    name: String,
    /// The editable fields, as the form shows them.
    first_name: String,
    last_name: String,
    email: String,
    phone: String,
    company: String,
    job_title: String,
    industry: String,
    company_size: String,
    created: String,
    leads: Vec<LeadRow>,
    more_leads: bool,
    deals: Vec<DealItem>,
    more_deals: bool,
    timeline: Vec<ActivityRow>,
    kinds: Vec<Choice>,
    flash: Option<String>,
}

/// Leads, deals and activities a contact page shows at most.
const RELATED: i64 = 25;

/// `GET /contacts/{id}`.
pub async fn show(
    State(state): State<AppState>,
    user: WebUser,
    Path(id): Path<i64>,
    Query(done): Query<Done>,
) -> PageResult<ContactPage> {
    let crm = &state.crm;
    let c = &user.caller;
    let id = ContactId(id);
    let contact = records::get::<Contact>(crm, c, id).await?;
    let page = || neuracrm_store::Page::parse(Some(RELATED), None).map_err(ActionError::query);
    let leads = contacts::leads(crm, c, id, page()?).await?;
    let deals = contacts::deals(crm, c, id, page()?).await?;
    let now = Utc::now();
    let timeline = contacts::timeline(crm, c, id, page()?).await?;
    let name = full_name(&contact);
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    Ok(ContactPage {
        shell: Shell::new(&user, name.clone(), "/contacts"),
        id: id.0,
        first_name: contact.first_name.clone(),
        last_name: text(&contact.last_name),
        email: contact.email.clone().map(String::from).unwrap_or_default(),
        phone: text(&contact.phone),
        company: text(&contact.company),
        job_title: text(&contact.job_title),
        industry: text(&contact.industry),
        company_size: contact
            .company_size
            .map(|s| s.to_string())
            .unwrap_or_default(),
        created: crate::web::format::full(contact.created_at),
        name,
        more_leads: leads.has_more,
        leads: leads.items.into_iter().map(LeadRow::from).collect(),
        more_deals: deals.has_more,
        deals: deals.items.into_iter().map(DealItem::from).collect(),
        timeline: timeline
            .items
            .into_iter()
            .map(|v| ActivityRow::new(v, now))
            .collect(),
        kinds: logged_kinds(),
        flash: done.flash(),
    })
}

/// The details form of the contact page.
#[derive(Debug, Deserialize)]
pub struct ContactForm {
    csrf: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    company: Option<String>,
    job_title: Option<String>,
    industry: Option<String>,
    company_size: Option<String>,
}

impl ContactForm {
    /// The change the form asks for; a bad e-mail or size names its field.
    fn patch(self) -> Result<ContactPatch, ActionError> {
        Ok(ContactPatch {
            first_name: self.first_name.map(|s| s.trim().to_string()),
            last_name: nullable(self.last_name),
            email: nullable_parsed(self.email, |s| Ok(Email::parse(s)?))?,
            phone: nullable(self.phone),
            company: nullable(self.company),
            job_title: nullable(self.job_title),
            industry: nullable(self.industry),
            company_size: nullable_parsed(self.company_size, |s| {
                s.parse::<i64>().map_err(|_| {
                    ActionError::invalid("company_size", "a whole number of employees")
                })
            })?,
            owner_id: None,
        })
    }
}

/// `POST /contacts/{id}`: changes the contact's details (the same action as
/// `PATCH /api/contacts/{id}`).
pub async fn update(
    State(state): State<AppState>,
    user: WebUser,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Form(f): Form<ContactForm>,
) -> Response {
    if let Err(r) = user.check_csrf(f.csrf.as_deref().or(csrf_header(&headers))) {
        return axum::response::IntoResponse::into_response(r);
    }
    let done = match f.patch() {
        Ok(patch) => records::update::<Contact>(&state.crm, &user.caller, ContactId(id), patch)
            .await
            .map(|_| ()),
        Err(e) => Err(e),
    };
    after(done, &format!("/contacts/{id}?done=saved"))
}

/// `POST /contacts/{id}/activities`: logs a note, call, meeting or e-mail
/// on the contact.
pub async fn log_activity(
    State(state): State<AppState>,
    user: WebUser,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Form(f): Form<ActivityForm>,
) -> Response {
    let on = async {
        let c = records::get::<Contact>(&state.crm, &user.caller, ContactId(id)).await?;
        Ok((None, Some(c.id)))
    };
    forms::log_activity(&state, &user, &headers, f, on, &format!("/contacts/{id}")).await
}
