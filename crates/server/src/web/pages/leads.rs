//! `/leads`: the list (search, filters, sort, paging) and the lead page (its
//! fields, editable; its score with the seven factors, recommendations and
//! history; "score now"; the contact, deals and timeline; logging a note,
//! call or e-mail).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query};
use axum::response::Response;
use chrono::Utc;
use neuracrm_actions::records;
use neuracrm_actions::{ActionError, scoring};
use neuracrm_domain::{Contact, Deal, Lead, LeadId, LeadPatch, LeadSource, LeadStatus};
use neuracrm_store::Sort;
use neuracrm_store::activities::ActivityFilter;
use neuracrm_store::deals::DealFilter;
use neuracrm_store::leads::{LeadFilter, LeadSort};
use serde::Deserialize;

use super::super::charts::{FactorBars, ForecastChart};
use super::super::forms::{
    Csrf, Done, Editable, Posted, date, logged_kinds, nullable, timeline, word,
};
use super::super::listing::{Choice, Field, Listing, Pager, RawQuery, SortLink, choices, first};
use super::super::{ActivityRow, DealItem, LeadRow, PageResult, format};
use crate::api::scoring::ScoreBreakdown;
use crate::web::layout::Shell;
use crate::web::session::{WebUser, after};

/// Rows per page of the list.
const PER_PAGE: i64 = 50;

/// The lead list's filters, as its URL names them.
const FILTERS: &[&str] = &[
    "q",
    "status",
    "source",
    "category",
    "min_score",
    "max_score",
    "segment",
];

/// Its sort keys and the store's orders, the default first.
const ORDERS: &[(&str, LeadSort)] = &[
    ("score", LeadSort::Score),
    ("title", LeadSort::Title),
    ("created", LeadSort::CreatedAt),
    ("updated", LeadSort::UpdatedAt),
];

const STATUSES: &[&str] = &["new", "contacted", "qualified", "unqualified", "converted"];
const CATEGORIES: &[&str] = &["hot", "warm", "lukewarm", "cold"];

#[derive(Template, WebTemplate)]
#[template(path = "leads.html")]
pub struct LeadList {
    shell: Shell,
    filters: Vec<Field>,
    sorts: Vec<SortLink>,
    rows: Vec<LeadRow>,
    pager: Pager,
    /// The CSV export of this view (same filters and order).
    export: String,
    /// The events that refetch the list.
    live: &'static str,
}

/// The list's view of `query`: its listing, filter and order (the page's,
/// and its CSV export's).
pub fn view(query: &[(String, String)]) -> (Listing, LeadFilter, Sort<LeadSort>) {
    let l = Listing::parse("/leads", query, FILTERS, ORDERS);
    let filter = LeadFilter {
        q: l.get("q").map(str::to_string),
        status: l.parsed::<LeadStatus>("status"),
        source: l.parsed::<LeadSource>("source"),
        category: l
            .get("category")
            .filter(|c| CATEGORIES.contains(c))
            .map(str::to_string),
        min_score: l.parsed::<f64>("min_score"),
        max_score: l.parsed::<f64>("max_score"),
        segment_id: l.segment_id(),
        ..Default::default()
    };
    let sort = l.order(ORDERS);
    (l, filter, sort)
}

/// `GET /leads`.
pub async fn list(user: WebUser, Query(query): RawQuery) -> PageResult<LeadList> {
    let (l, filter, _) = view(&query);
    let found = l
        .fetch::<Lead, _>(&user.crm, &user.caller, filter, ORDERS, PER_PAGE)
        .await?;
    let sources: Vec<&str> = LeadSource::ALL.iter().map(|s| s.as_str()).collect();
    Ok(LeadList {
        shell: Shell::new(&user, "Leads", "/leads"),
        filters: vec![
            l.search("Search", "q", "title, contact or company"),
            l.select("Status", "status", STATUSES),
            l.select("Source", "source", &sources),
            l.select("Category", "category", CATEGORIES),
            l.number("Score from", "min_score"),
            l.number("to", "max_score"),
            l.segment(&user.crm, &user.caller).await?,
        ],
        sorts: l.sort_links(&[
            ("Lead", "title"),
            ("Score", "score"),
            ("Created", "created"),
        ]),
        pager: l.pager(found.has_more),
        export: l.url(1, None).replacen("/leads?", "/leads/export.csv?", 1),
        live: "sse:lead_scored throttle:3s, sse:lead_created throttle:3s, sse:lead_updated throttle:3s, sse:lead_deleted throttle:3s",
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
    deals: Vec<DealItem>,
    timeline: Vec<ActivityRow>,
    kinds: Vec<Choice>,
    flash: Option<String>,
    calls: Vec<super::calls::CallRow>,
    scenarios: Vec<(&'static str, String)>,
    calls_live: &'static str,
}

/// `GET /leads/{id}`.
pub async fn show(user: WebUser, Path(id): Path<i64>, done: Done) -> PageResult<LeadPage> {
    let crm = &user.crm;
    let c = &user.caller;
    let id = LeadId(id);
    let lead = records::get::<Lead>(crm, c, id).await?;
    let score = ScoreBreakdown::stored(&lead)?;
    let contact = records::linked::<Contact>(crm, c, lead.contact_id)
        .await?
        .map(|ct| {
            let row = super::contacts::ContactRow(ct.contact);
            (row.0.id.0, row.name(), row.headline())
        });
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
    let of_lead = DealFilter {
        lead_id: Some(id),
        ..Default::default()
    };
    let deals = first::<Deal>(crm, c, of_lead, Sort::default(), 20).await?;
    let deals = deals.items.into_iter().map(DealItem).collect();
    let of_lead = ActivityFilter {
        lead_id: Some(id),
        ..Default::default()
    };
    let timeline = timeline(crm, c, of_lead).await?;
    let statuses = choices(STATUSES, Some(lead.status.as_str()));
    let calls = super::calls::of_lead(&user, id).await?;
    Ok(LeadPage {
        calls,
        scenarios: super::calls::scenarios(),
        calls_live: super::calls::LIVE,
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
        kinds: logged_kinds(),
        flash: done.flash(),
    })
}

/// A form of the lead page: its CSRF token and fields.
#[derive(Debug, Deserialize)]
pub struct LeadForm {
    title: Option<String>,
    status: Option<String>,
    description: Option<String>,
    expected_decision: Option<String>,
}

/// The lead page's form: its title, status, description or decision date.
impl Editable for Lead {
    type Form = LeadForm;

    fn patch(f: LeadForm) -> Result<LeadPatch, ActionError> {
        let status = word::<LeadStatus>(f.status.as_deref(), "status")?;
        let expected_decision = date(f.expected_decision.as_deref(), "expected_decision")?;
        Ok(LeadPatch {
            title: f.title,
            status,
            description: nullable(f.description),
            expected_decision,
            ..Default::default()
        })
    }
}

/// `POST /leads/{id}/score`: scores the lead now.
pub async fn score_now(Path(id): Path<i64>, Posted { user, .. }: Posted<Csrf>) -> Response {
    let done = scoring::score_now(&user.crm, &user.caller, LeadId(id), Utc::now()).await;
    after(done, &format!("/leads/{id}?done=scored"))
}

/// A factor's name as people read it.
fn factor_label(name: &str) -> String {
    match name {
        "ai_insights" => "AI insights".into(),
        other => format::words(other),
    }
}
