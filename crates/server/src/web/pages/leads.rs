//! `/leads`: the list (search, filters, sort, paging) and the lead page (its
//! fields, editable; its score with the seven factors, recommendations and
//! history; "score now"; the contact, deals and timeline; logging a note,
//! call or e-mail).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Form, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use neuracrm_actions::records::{self, List};
use neuracrm_actions::{ActionError, scoring};
use neuracrm_domain::{
    Activity, ActivityType, Contact, Deal, Lead, LeadId, LeadPatch, LeadSource, LeadStatus,
    NewActivity,
};
use neuracrm_store::activities::ActivityFilter;
use neuracrm_store::deals::DealFilter;
use neuracrm_store::leads::{LeadFilter, LeadSort};
use neuracrm_store::{Page, Sort, SortDir};
use serde::Deserialize;

use super::super::charts::{FactorBars, ForecastChart};
use super::super::{ActivityRow, LeadRow, PageResult, format};
use crate::AppState;
use crate::api::scoring::ScoreBreakdown;
use crate::web::layout::Shell;
use crate::web::session::{WebUser, after, csrf_header};

/// Rows per page of the list.
const PER_PAGE: i64 = 50;

/// The list's query string; every field optional, unknown values ignored
/// (a bookmarked URL with a stale filter still opens).
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    status: Option<String>,
    source: Option<String>,
    category: Option<String>,
    min_score: Option<String>,
    max_score: Option<String>,
    sort: Option<String>,
    order: Option<String>,
    page: Option<u32>,
}

/// A select's option.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

fn choices(values: &[&str], current: Option<&str>) -> Vec<Choice> {
    values
        .iter()
        .map(|v| Choice {
            value: (*v).into(),
            label: format::words(v),
            selected: current == Some(*v),
        })
        .collect()
}

/// A sortable column's header link.
pub struct SortLink {
    pub label: &'static str,
    pub href: String,
    pub class: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "leads.html")]
pub struct LeadList {
    shell: Shell,
    q: String,
    statuses: Vec<Choice>,
    sources: Vec<Choice>,
    categories: Vec<Choice>,
    min_score: String,
    max_score: String,
    sorts: Vec<SortLink>,
    rows: Vec<LeadRow>,
    page: u32,
    /// The CSV export of this view (same filters and order).
    export: String,
    prev: Option<String>,
    next: Option<String>,
}

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The list's URL with `page` and, when given, another sort.
fn list_url(q: &ListQuery, page: u32, sort: Option<(&str, &str)>) -> String {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in [
        ("q", &q.q),
        ("status", &q.status),
        ("source", &q.source),
        ("category", &q.category),
        ("min_score", &q.min_score),
        ("max_score", &q.max_score),
    ] {
        if let Some(v) = non_empty(v) {
            ser.append_pair(k, v);
        }
    }
    let (s, o) = sort.unwrap_or((
        non_empty(&q.sort).unwrap_or("score"),
        non_empty(&q.order).unwrap_or("desc"),
    ));
    ser.append_pair("sort", s);
    ser.append_pair("order", o);
    if page > 1 {
        ser.append_pair("page", &page.to_string());
    }
    format!("/leads?{}", ser.finish())
}

impl ListQuery {
    /// The list's filter and order (the page's, and its CSV export's).
    pub fn filter_and_sort(&self) -> (LeadFilter, Sort<LeadSort>) {
        let q = self;
        let by = match non_empty(&q.sort) {
            Some("created") => LeadSort::CreatedAt,
            Some("updated") => LeadSort::UpdatedAt,
            Some("title") => LeadSort::Title,
            _ => LeadSort::Score,
        };
        let dir = match non_empty(&q.order) {
            Some("asc") => SortDir::Asc,
            _ => SortDir::Desc,
        };
        let score = |v: &Option<String>| non_empty(v).and_then(|s| s.parse::<f64>().ok());
        let filter = LeadFilter {
            q: non_empty(&q.q).map(str::to_string),
            status: non_empty(&q.status).and_then(|s| s.parse::<LeadStatus>().ok()),
            source: non_empty(&q.source).and_then(|s| s.parse::<LeadSource>().ok()),
            category: non_empty(&q.category)
                .filter(|c| ["hot", "warm", "lukewarm", "cold"].contains(c))
                .map(str::to_string),
            min_score: score(&q.min_score),
            max_score: score(&q.max_score),
            ..Default::default()
        };
        (filter, Sort { by, dir })
    }
}

/// `GET /leads`.
pub async fn list(
    State(state): State<AppState>,
    user: WebUser,
    Query(q): Query<ListQuery>,
) -> PageResult<LeadList> {
    let (filter, sort) = q.filter_and_sort();
    let dir = sort.dir;
    let page_no = q.page.unwrap_or(1).max(1);
    let page = Page::parse(Some(PER_PAGE), Some((page_no as i64 - 1) * PER_PAGE))
        .map_err(ActionError::query)?;
    let found =
        records::list::<Lead>(&state.crm, &user.caller, List { filter, sort, page }).await?;
    let current = (non_empty(&q.sort).unwrap_or("score"), dir);
    let sorts = [
        ("Score", "score"),
        ("Title", "title"),
        ("Created", "created"),
        ("Updated", "updated"),
    ]
    .into_iter()
    .map(|(label, key)| {
        let active = current.0 == key;
        let flip = if active && dir == SortDir::Desc {
            "asc"
        } else {
            "desc"
        };
        SortLink {
            label,
            href: list_url(&q, 1, Some((key, flip))),
            class: match (active, dir) {
                (false, _) => "",
                (true, SortDir::Asc) => "sorted asc",
                (true, SortDir::Desc) => "sorted",
            },
        }
    })
    .collect();
    Ok(LeadList {
        shell: Shell::new(&user, "Leads", "/leads"),
        q: q.q.clone().unwrap_or_default(),
        statuses: choices(
            &["new", "contacted", "qualified", "unqualified", "converted"],
            non_empty(&q.status),
        ),
        sources: choices(
            &[
                "website",
                "referral",
                "email_campaign",
                "social_media",
                "event",
                "cold_call",
                "partner",
                "advertising",
                "other",
            ],
            non_empty(&q.source),
        ),
        categories: choices(&["hot", "warm", "lukewarm", "cold"], non_empty(&q.category)),
        min_score: q.min_score.clone().unwrap_or_default(),
        max_score: q.max_score.clone().unwrap_or_default(),
        sorts,
        export: list_url(&q, 1, None).replacen("/leads?", "/leads/export.csv?", 1),
        prev: (page_no > 1).then(|| list_url(&q, page_no - 1, None)),
        next: found.has_more.then(|| list_url(&q, page_no + 1, None)),
        page: page_no,
        rows: found.items.into_iter().map(LeadRow::from).collect(),
    })
}

/// One factor of the lead page.
pub struct FactorRow {
    pub name: String,
    pub points: String,
    pub max: String,
    pub explanation: String,
    pub backed: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "lead.html")]
pub struct LeadPage {
    shell: Shell,
    lead: LeadRow,
    description: String,
    expected_decision: String,
    statuses: Vec<Choice>,
    contact: Option<(i64, String, String)>,
    score: Option<ScoreBreakdown>,
    factors_svg: String,
    factors: Vec<FactorRow>,
    intent_source: String,
    history_svg: String,
    deals: Vec<(i64, String, String, String)>,
    timeline: Vec<ActivityRow>,
    kinds: Vec<Choice>,
    flash: Option<String>,
}

/// `?done=` after a form on the lead page.
#[derive(Debug, Default, Deserialize)]
pub struct Done {
    done: Option<String>,
}

/// `GET /leads/{id}`.
pub async fn show(
    State(state): State<AppState>,
    user: WebUser,
    Path(id): Path<i64>,
    Query(done): Query<Done>,
) -> PageResult<LeadPage> {
    let crm = &state.crm;
    let c = &user.caller;
    let id = LeadId(id);
    let lead = records::get::<Lead>(crm, c, id).await?;
    let score = ScoreBreakdown::stored(&lead)?;
    let contact = match lead.contact_id {
        Some(cid) => match records::get::<Contact>(crm, c, cid).await {
            Ok(ct) => Some((
                ct.id.0,
                format!(
                    "{} {}",
                    ct.first_name,
                    ct.last_name.clone().unwrap_or_default()
                )
                .trim()
                .to_string(),
                [ct.job_title.clone(), ct.company.clone()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(", "),
            )),
            Err(ActionError::NotFound(_)) => None,
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    let factors: Vec<FactorRow> = score
        .as_ref()
        .map(|s| {
            s.factors
                .iter()
                .map(|f| FactorRow {
                    name: factor_label(f.factor.name()),
                    points: format::score(f.points),
                    max: format::score(f.max),
                    explanation: f.explanation.clone(),
                    backed: f.backed,
                })
                .collect()
        })
        .unwrap_or_default();
    let factors_svg = score
        .as_ref()
        .map(|s| {
            FactorBars {
                title: "The seven factors of the score: points of maximum".into(),
                bars: s
                    .factors
                    .iter()
                    .map(|f| (factor_label(f.factor.name()), f.points, f.max, f.backed))
                    .collect(),
            }
            .svg()
        })
        .unwrap_or_default();
    let intent_source = score
        .as_ref()
        .and_then(|s| s.factors.iter().find(|f| f.factor.name() == "ai_insights"))
        .map(|f| f.explanation.clone())
        .unwrap_or_default();
    let mut history = scoring::history(crm, c, id, 50).await?;
    history.reverse();
    let history_svg = if history.len() > 1 {
        ForecastChart {
            title: "Score history".into(),
            labels: history
                .iter()
                .map(|p| p.scored_at.format("%m-%d").to_string())
                .collect(),
            history: history.iter().map(|p| p.score).collect(),
            ..Default::default()
        }
        .svg()
    } else {
        String::new()
    };
    let deals = records::list::<Deal>(
        crm,
        c,
        List {
            filter: DealFilter {
                lead_id: Some(id),
                ..Default::default()
            },
            sort: Sort::default(),
            page: Page::parse(Some(20), None).map_err(ActionError::query)?,
        },
    )
    .await?
    .items
    .into_iter()
    .map(|d| {
        (
            d.id.0,
            d.title,
            format::words(d.stage.as_str()),
            format::cents(d.value_cents.get()),
        )
    })
    .collect();
    let now = Utc::now();
    let timeline = records::list::<Activity>(
        crm,
        c,
        List {
            filter: ActivityFilter {
                lead_id: Some(id),
                ..Default::default()
            },
            sort: SortDir::Desc,
            page: Page::parse(Some(30), None).map_err(ActionError::query)?,
        },
    )
    .await?
    .items
    .into_iter()
    .map(|v| ActivityRow::new(v, now))
    .collect();
    let statuses = choices(
        &["new", "contacted", "qualified", "unqualified", "converted"],
        Some(lead.status.as_str()),
    );
    Ok(LeadPage {
        shell: Shell::new(&user, lead.title.clone(), "/leads"),
        description: lead.description.clone().unwrap_or_default(),
        expected_decision: lead
            .expected_decision
            .map(|d| d.to_string())
            .unwrap_or_default(),
        statuses,
        lead: LeadRow::from(lead),
        contact,
        score,
        factors_svg,
        factors,
        intent_source,
        history_svg,
        deals,
        timeline,
        kinds: choices(
            &["note", "call", "meeting", "email_sent", "email_received"],
            Some("note"),
        ),
        flash: done.done.map(|d| match d.as_str() {
            "scored" => "Scored now.".to_string(),
            "logged" => "Logged.".to_string(),
            "saved" => "Saved.".to_string(),
            _ => String::new(),
        }),
    })
}

/// A form of the lead page: its CSRF token and fields.
#[derive(Debug, Deserialize)]
pub struct LeadForm {
    csrf: Option<String>,
    title: Option<String>,
    status: Option<String>,
    description: Option<String>,
    expected_decision: Option<String>,
}

/// `POST /leads/{id}`: changes the lead's title, status, description or
/// decision date (the same action as `PATCH /api/leads/{id}`).
pub async fn update(
    State(state): State<AppState>,
    user: WebUser,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Form(f): Form<LeadForm>,
) -> Response {
    if let Err(r) = user.check_csrf(f.csrf.as_deref().or(csrf_header(&headers))) {
        return r.into_response();
    }
    let status = match f.status.as_deref().map(str::parse::<LeadStatus>) {
        Some(Ok(s)) => Some(s),
        Some(Err(_)) => {
            return super::super::PageError(ActionError::invalid("status", "unknown status"))
                .into_response();
        }
        None => None,
    };
    let expected_decision = match f.expected_decision.as_deref().map(str::trim) {
        None => None,
        Some("") => Some(None),
        Some(d) => match neuracrm_domain::parse_date(d, "expected_decision") {
            Ok(d) => Some(Some(d)),
            Err(e) => return super::super::PageError(e.into()).into_response(),
        },
    };
    let patch = LeadPatch {
        title: f.title,
        status,
        description: f
            .description
            .map(|d| Some(d).filter(|d| !d.trim().is_empty())),
        expected_decision,
        ..Default::default()
    };
    let done = records::update::<Lead>(&state.crm, &user.caller, LeadId(id), patch).await;
    after(done, &format!("/leads/{id}?done=saved"))
}

/// The CSRF token of a button form.
#[derive(Debug, Deserialize)]
pub struct Csrf {
    csrf: Option<String>,
}

/// `POST /leads/{id}/score`: scores the lead now.
pub async fn score_now(
    State(state): State<AppState>,
    user: WebUser,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Form(f): Form<Csrf>,
) -> Response {
    if let Err(r) = user.check_csrf(f.csrf.as_deref().or(csrf_header(&headers))) {
        return r.into_response();
    }
    let done = scoring::score_now(&state.crm, &user.caller, LeadId(id), Utc::now()).await;
    after(done, &format!("/leads/{id}?done=scored"))
}

/// The activity form.
#[derive(Debug, Deserialize)]
pub struct ActivityForm {
    csrf: Option<String>,
    kind: String,
    subject: Option<String>,
    body: Option<String>,
}

/// `POST /leads/{id}/activities`: logs a note, call, meeting or e-mail on
/// the lead (the same action as `POST /api/activities`).
pub async fn log_activity(
    State(state): State<AppState>,
    user: WebUser,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Form(f): Form<ActivityForm>,
) -> Response {
    if let Err(r) = user.check_csrf(f.csrf.as_deref().or(csrf_header(&headers))) {
        return r.into_response();
    }
    let Ok(kind) = f.kind.parse::<ActivityType>() else {
        return super::super::PageError(ActionError::invalid("kind", "unknown activity type"))
            .into_response();
    };
    let lead = match records::get::<Lead>(&state.crm, &user.caller, LeadId(id)).await {
        Ok(l) => l,
        Err(e) => return super::super::PageError(e).into_response(),
    };
    let new = NewActivity {
        kind,
        lead_id: Some(lead.id),
        deal_id: None,
        contact_id: lead.contact_id,
        user_id: None,
        subject: f.subject.filter(|s| !s.trim().is_empty()),
        body: f.body.filter(|s| !s.trim().is_empty()),
        duration_seconds: None,
        occurred_at: None,
    };
    let done = records::create::<Activity>(&state.crm, &user.caller, new).await;
    after(done, &format!("/leads/{id}?done=logged"))
}

/// A factor's name as people read it.
fn factor_label(name: &str) -> String {
    match name {
        "ai_insights" => "AI insights".into(),
        other => format::words(other),
    }
}
