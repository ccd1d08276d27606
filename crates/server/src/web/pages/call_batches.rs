//! Bulk calling in the web UI: `/call-batches` (the organization's batches
//! with their progress, and a form that starts one from a segment) and
//! `/call-batches/{id}` (one batch: its progress and what became of each of
//! its leads). Both refetch themselves while a batch runs: on `call_updated`
//! (a lead called) and every few seconds (a lead skipped or failed makes no
//! event). The same actions as `/api/call-batches`; everyone reads,
//! admins and managers start a batch.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query};
use axum::response::Response;
use chrono::{DateTime, Utc};
use neuracrm_actions::voice::{self, BatchTarget};
use neuracrm_actions::{Access, ActionError, ActionResult};
use neuracrm_domain::{Scenario, Segment, SegmentId};
use neuracrm_store::voice::{BatchItem, CallBatch};
use serde::Deserialize;

use super::calls::scenarios;
use super::settings::{FormError, after_form, form_page};
use crate::web::forms::chosen;
use crate::web::layout::Shell;
use crate::web::listing::{Choice, PageNo, Pager, every};
use crate::web::session::{CsrfForm, WebUser};
use crate::web::{PageResult, format};

/// Batches, and leads of a batch, a page shows.
const PER_PAGE: i64 = 50;

/// What refetches a batch's figures: a call placed; while a batch runs
/// the templates add the clock (a lead skipped or refused by Retell
/// publishes nothing).
const LIVE: &str = "sse:call_updated throttle:1s, sse:refresh";

/// A batch as the pages show it.
pub struct BatchRow {
    pub id: i64,
    /// What it called: its segment's name when started, or "Chosen leads".
    pub name: String,
    pub scenario: String,
    pub status: String,
    pub running: bool,
    pub total: i64,
    pub pending: i64,
    pub placed: i64,
    pub skipped: i64,
    pub failed: i64,
    /// Leads settled, percent.
    pub percent: i64,
    /// "1 lead", "40 leads": the batch's size in words.
    pub leads: String,
    pub when: String,
}

impl BatchRow {
    fn new(b: &CallBatch, now: DateTime<Utc>) -> BatchRow {
        let settled = b.total - b.pending;
        BatchRow {
            id: b.id,
            name: b
                .segment_name
                .clone()
                .unwrap_or_else(|| "Chosen leads".into()),
            scenario: format::words(&b.scenario),
            status: b.status.clone(),
            running: b.status == "running",
            total: b.total,
            pending: b.pending,
            placed: b.placed,
            skipped: b.skipped,
            failed: b.failed,
            percent: if b.total > 0 {
                settled * 100 / b.total
            } else {
                100
            },
            leads: format::count(b.total, "lead"),
            when: match b.finished_at {
                Some(f) => format!("finished {}", format::ago(f, now)),
                None => format!("started {}", format::ago(b.created_at, now)),
            },
        }
    }
}

/// The start form: a segment and a scenario.
#[derive(Debug, Default, Deserialize)]
pub struct BatchForm {
    #[serde(default)]
    segment_id: String,
    #[serde(default)]
    scenario: String,
}

impl BatchForm {
    fn parse(&self) -> ActionResult<(BatchTarget, Scenario)> {
        let segment = chosen(&self.segment_id, "segment_id", "choose a segment")?;
        let segment = SegmentId(segment);
        let scenario = self
            .scenario
            .parse()
            .map_err(|_| ActionError::invalid("scenario", "choose a scenario"))?;
        Ok((BatchTarget::Segment(segment), scenario))
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "call_batches.html")]
pub struct BatchesPage {
    shell: Shell,
    rows: Vec<BatchRow>,
    pager: Pager,
    running: bool,
    live: &'static str,
    /// The start form, for admins and managers.
    can_start: bool,
    segments: Vec<Choice>,
    scenarios: Vec<Choice>,
    error: Option<FormError>,
}

form_page!(BatchesPage);

async fn list_page(
    user: &WebUser,
    p: &PageNo,
    form: BatchForm,
    error: Option<FormError>,
) -> PageResult<BatchesPage> {
    let (crm, caller) = (&user.crm, &user.caller);
    let found = voice::batches(crm, caller, p.page(PER_PAGE)?).await?;
    let can_start = Access::Managers.admits(caller.role);
    let segments = if can_start {
        every::<Segment>(crm, caller)
            .await?
            .into_iter()
            .map(|s| Choice {
                selected: s.id.0.to_string() == form.segment_id,
                value: s.id.0.to_string(),
                label: format!("{} ({})", s.name, format::count(s.size, "contact")),
            })
            .collect()
    } else {
        Vec::new()
    };
    let now = Utc::now();
    let rows: Vec<BatchRow> = found.items.iter().map(|b| BatchRow::new(b, now)).collect();
    Ok(BatchesPage {
        shell: Shell::new(user, "Call batches", "/calls"),
        running: rows.iter().any(|r| r.running),
        rows,
        pager: p.pager("/call-batches", found.has_more),
        live: LIVE,
        can_start,
        segments,
        scenarios: scenarios()
            .into_iter()
            .map(|(value, label)| Choice {
                selected: value == form.scenario,
                value: value.into(),
                label,
            })
            .collect(),
        error,
    })
}

/// `GET /call-batches`.
pub async fn list(user: WebUser, Query(p): Query<PageNo>) -> PageResult<BatchesPage> {
    list_page(&user, &p, BatchForm::default(), None).await
}

/// `POST /call-batches`: starts calling the open leads of a segment (the
/// action of `POST /api/call-batches`), then the batch's page; a refusal
/// (no open lead, too many, the scenario not provisioned) on the form.
pub async fn start(CsrfForm(user, form): CsrfForm<BatchForm>) -> Response {
    let result = match form.parse() {
        Ok((target, scenario)) => {
            voice::start_batch(&user.crm, &user.caller, &target, scenario).await
        }
        Err(e) => Err(e),
    };
    let to = match &result {
        Ok(b) => {
            voice::process_batches_now(&user.crm);
            format!("/call-batches/{}", b.id)
        }
        Err(_) => String::new(),
    };
    after_form(result, &to, async |e| {
        list_page(&user, &PageNo::default(), form, Some(e)).await
    })
    .await
}

/// A lead of the batch as shown.
pub struct ItemRow {
    pub lead_id: i64,
    pub title: String,
    pub status: String,
    /// Why it was skipped or failed ("—" when neither).
    pub reason: String,
    pub call_id: Option<i64>,
    pub call_status: String,
}

impl From<BatchItem> for ItemRow {
    fn from(i: BatchItem) -> ItemRow {
        ItemRow {
            lead_id: i.lead_id,
            title: i
                .lead_title
                .unwrap_or_else(|| format!("lead {} (deleted)", i.lead_id)),
            status: i.status,
            reason: i.reason.unwrap_or_else(|| "—".into()),
            call_id: i.call_id,
            call_status: i.call_status.unwrap_or_default(),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "call_batch.html")]
pub struct BatchPage {
    shell: Shell,
    b: BatchRow,
    items: Vec<ItemRow>,
    pager: Pager,
    live: &'static str,
}

/// `GET /call-batches/{id}`: its progress and a page of its leads.
pub async fn show(
    user: WebUser,
    Path(id): Path<i64>,
    Query(p): Query<PageNo>,
) -> PageResult<BatchPage> {
    let (crm, caller) = (&user.crm, &user.caller);
    let b = voice::batch(crm, caller, id).await?;
    let items = voice::batch_items(crm, caller, id, p.page(PER_PAGE)?).await?;
    Ok(BatchPage {
        shell: Shell::new(&user, format!("Call batch {id}"), "/calls"),
        b: BatchRow::new(&b, Utc::now()),
        pager: p.pager(&format!("/call-batches/{id}"), items.has_more),
        items: items.items.into_iter().map(ItemRow::from).collect(),
        live: LIVE,
    })
}
