//! `/contacts`: the list (search, the contact API's filters: owner,
//! industry, creation dates; sort, paging) and the contact page (its
//! details, editable; its leads and deals; its timeline, with each
//! activity's sentiment; logging a note, call or e-mail).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query};
use std::collections::HashMap;

use chrono::{Duration, NaiveTime, Utc};
use neuracrm_actions::records;
use neuracrm_actions::{ActionError, contacts};
use neuracrm_domain::{BoundedTime, Contact, ContactId, ContactPatch, Email};
use neuracrm_store::Page;
use neuracrm_store::contacts::{ContactFilter, ContactSort};

use super::super::forms::{Done, Editable, logged_kinds, nullable};
use super::super::listing::{Choice, Field, Listing, Pager, RawQuery, SortLink};
use super::super::{ActivityRow, DealItem, LeadRow, PageResult, format};
use crate::web::layout::Shell;
use crate::web::session::WebUser;

/// Rows per page of the list.
const PER_PAGE: i64 = 50;

/// The list's filters, as its URL names them.
const FILTERS: &[&str] = &[
    "q",
    "owner",
    "industry",
    "created_from",
    "created_to",
    "segment",
];

/// Its sort keys and the store's orders, the default first.
const ORDERS: &[(&str, ContactSort)] = &[
    ("created", ContactSort::CreatedAt),
    ("updated", ContactSort::UpdatedAt),
    ("name", ContactSort::Name),
    ("company", ContactSort::Company),
];

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
pub struct ContactRow(pub Contact);

impl ContactRow {
    pub fn name(&self) -> String {
        full_name(&self.0)
    }

    pub fn industry(&self) -> String {
        format::words(self.0.industry.as_deref().unwrap_or_default())
    }

    pub fn email(&self) -> &str {
        self.0
            .email
            .as_ref()
            .map(|e| e.as_str())
            .unwrap_or_default()
    }

    pub fn created(&self) -> String {
        self.0.created_at.format("%Y-%m-%d").to_string()
    }

    /// "CTO, Analytical Engines".
    pub fn headline(&self) -> String {
        [self.0.job_title.as_deref(), self.0.company.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", ")
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
    filters: Vec<Field>,
    sorts: Vec<SortLink>,
    rows: Vec<ContactRow>,
    pager: Pager,
    /// The events that refetch the list.
    live: &'static str,
}

/// A `YYYY-MM-DD` filter as the start of that day (UTC), `days` later,
/// when valid.
fn day(l: &Listing, key: &'static str, days: i64) -> Option<BoundedTime> {
    let d = neuracrm_domain::parse_date(l.get(key)?, key).ok()?;
    let t = d.get().and_time(NaiveTime::MIN).and_utc() + Duration::days(days);
    BoundedTime::new(t, key).ok()
}

/// `GET /contacts`.
pub async fn list(user: WebUser, Query(query): RawQuery) -> PageResult<ContactList> {
    let l = Listing::parse("/contacts", &query, FILTERS, ORDERS);
    let filter = ContactFilter {
        q: l.get("q").map(str::to_string),
        owner_id: (l.get("owner") == Some("mine")).then_some(user.caller.user),
        industry: l.get("industry").map(str::to_string),
        created_from: day(&l, "created_from", 0),
        // "to" a day includes that day.
        created_to: day(&l, "created_to", 1),
        segment_id: l.segment_id(),
    };
    let found = l
        .fetch::<Contact, _>(&user.crm, &user.caller, filter, ORDERS, PER_PAGE)
        .await?;
    Ok(ContactList {
        shell: Shell::new(&user, "Contacts", "/contacts"),
        filters: vec![
            l.search("Search", "q", "name, e-mail or company"),
            l.select("Owner", "owner", &["mine"]),
            l.select("Industry", "industry", INDUSTRIES),
            l.date("Created from", "created_from"),
            l.date("to", "created_to"),
            l.segment(&user.crm, &user.caller).await?,
        ],
        sorts: l.sort_links(&[
            ("Name", "name"),
            ("Company", "company"),
            ("Created", "created"),
        ]),
        pager: l.pager(found.has_more),
        live: "sse:contact_created throttle:3s, sse:contact_updated throttle:3s, sse:contact_deleted throttle:3s",
        rows: found
            .items
            .into_iter()
            .map(|v| ContactRow(v.contact))
            .collect(),
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "contact.html")]
pub struct ContactPage {
    shell: Shell,
    contact: ContactRow,
    /// The segments holding the contact.
    segments: Vec<neuracrm_store::segments::SegmentRef>,
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
pub async fn show(user: WebUser, Path(id): Path<i64>, done: Done) -> PageResult<ContactPage> {
    let crm = &user.crm;
    let c = &user.caller;
    let id = ContactId(id);
    let contact = records::get::<Contact>(crm, c, id).await?;
    let page = || Page::parse(Some(RELATED), None).map_err(ActionError::query);
    let leads = contacts::leads(crm, c, id, page()?).await?;
    let deals = contacts::deals(crm, c, id, page()?).await?;
    let now = Utc::now();
    Ok(ContactPage {
        shell: Shell::new(&user, full_name(&contact), "/contacts"),
        segments: contact.segments.clone().unwrap_or_default(),
        contact: ContactRow(contact.contact),
        more_leads: leads.has_more,
        leads: leads.items.into_iter().map(LeadRow::from).collect(),
        more_deals: deals.has_more,
        deals: deals.items.into_iter().map(DealItem).collect(),
        timeline: contacts::timeline(crm, c, id, page()?)
            .await?
            .items
            .into_iter()
            .map(|v| ActivityRow::new(v, now))
            .collect(),
        kinds: logged_kinds(),
        flash: done.flash(),
    })
}

/// The contact's change a details form asks for: absent fields stay, blank
/// ones are cleared; a bad e-mail or size names its field.
fn patch(mut form: HashMap<String, String>) -> Result<ContactPatch, ActionError> {
    let mut take = |k: &str| nullable(form.remove(k));
    Ok(ContactPatch {
        first_name: take("first_name").map(Option::unwrap_or_default),
        last_name: take("last_name"),
        email: take("email")
            .map(|e| e.map(|e| Email::parse(&e)).transpose())
            .transpose()?,
        phone: take("phone"),
        company: take("company"),
        job_title: take("job_title"),
        industry: take("industry"),
        company_size: take("company_size")
            .map(|s| {
                s.map(|s| {
                    s.parse::<i64>().map_err(|_| {
                        ActionError::invalid("company_size", "a whole number of employees")
                    })
                })
                .transpose()
            })
            .transpose()?,
        owner_id: None,
    })
}

/// The contact page's form: its details (a blank field clears it).
impl Editable for Contact {
    type Form = HashMap<String, String>;

    fn patch(form: HashMap<String, String>) -> Result<ContactPatch, ActionError> {
        patch(form)
    }
}
