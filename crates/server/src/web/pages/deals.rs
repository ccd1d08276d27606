//! `/deals`: the kanban board by stage (each column's count and value; drag
//! and drop with JavaScript, a stage select and a button without), the deal
//! page (its fields, won and lost, its contact and lead, its timeline), and
//! the pipeline fragment the dashboard refreshes live.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use neuracrm_actions::records::{self, List};
use neuracrm_actions::{ActionError, deals};
use neuracrm_domain::{Cents, Contact, Deal, DealId, DealPatch, DealStage, DealStatus, Lead};
use neuracrm_store::activities::ActivityFilter;
use neuracrm_store::deals::{DealFilter, DealSort};
use neuracrm_store::{Page, Sort, SortDir};
use serde::Deserialize;

use super::super::forms::{Done, Editable, Posted, date, logged_kinds, timeline, word};
use super::super::listing::{Choice, choices, rows};
use super::super::{ActivityRow, PageError, PageResult, format};
use crate::web::layout::Shell;
use crate::web::pages::dashboard::StageRow;
use crate::web::session::WebUser;

/// Days of won and lost deals a board shows.
const CLOSED_DAYS: i64 = 30;
/// Cards per column at most.
const PER_COLUMN: i64 = 100;

/// A deal card.
pub struct Card {
    pub id: i64,
    pub title: String,
    pub value: String,
    pub expected_close: String,
    pub stage: &'static str,
}

impl From<Deal> for Card {
    fn from(d: Deal) -> Card {
        Card {
            id: d.id.0,
            title: d.title,
            value: format::money((d.value_cents.get() as f64 / 100.0).round()),
            expected_close: d.expected_close.map(|d| d.to_string()).unwrap_or_default(),
            stage: d.stage.as_str(),
        }
    }
}

/// A column of the board.
pub struct Column {
    pub stage: &'static str,
    pub name: String,
    pub deals: i64,
    pub value: String,
    pub cards: Vec<Card>,
    pub more: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "deals.html")]
pub struct Board {
    shell: Shell,
    columns: Vec<Column>,
    stages: Vec<(&'static str, String)>,
}

/// `GET /deals`.
pub async fn board(user: WebUser) -> PageResult<Board> {
    let crm = &user.crm;
    let since = neuracrm_domain::BoundedTime::new(
        chrono::Utc::now() - chrono::Duration::days(CLOSED_DAYS),
        "closed_from",
    )
    .map_err(ActionError::from)?;
    let page = Page::parse(Some(PER_COLUMN), None).map_err(ActionError::query)?;
    // Each column's cards and the columns' totals, read at once (each on a
    // pooled connection): the board waits for the slowest, not the sum.
    let column = |stage: DealStage| {
        let closed = stage.status() != DealStatus::Open;
        records::list::<Deal>(
            crm,
            &user.caller,
            List {
                filter: DealFilter {
                    stage: Some(stage),
                    closed_from: closed.then_some(since),
                    ..Default::default()
                },
                sort: Sort {
                    by: if closed {
                        DealSort::ClosedAt
                    } else {
                        DealSort::Value
                    },
                    dir: SortDir::Desc,
                },
                page,
            },
        )
    };
    let (totals, pages) = tokio::try_join!(
        deals::stages(crm, &user.caller, CLOSED_DAYS),
        futures_util::future::try_join_all(DealStage::ALL.iter().map(|s| column(*s))),
    )?;
    let columns = DealStage::ALL
        .iter()
        .zip(&totals)
        .zip(pages)
        .map(|((stage, total), page)| {
            let (cards, more) = rows(page, Card::from);
            Column {
                stage: stage.as_str(),
                name: format::words(stage.as_str()),
                deals: total.deals,
                value: format::money(total.value.round()),
                more,
                cards,
            }
        })
        .collect();
    Ok(Board {
        shell: Shell::new(&user, "Deals", "/deals"),
        columns,
        stages: DealStage::ALL
            .iter()
            .map(|s| (s.as_str(), format::words(s.as_str())))
            .collect(),
    })
}

/// The stage form of a card.
#[derive(Debug, Deserialize)]
pub struct StageForm {
    stage: String,
}

/// `POST /deals/{id}/stage`: moves the deal (the same action as
/// `PATCH /api/deals/{id}`, so the same checks and the same `deal_updated`
/// event every watcher sees). htmx requests get 204; a plain form goes back
/// to the board.
pub async fn move_stage(
    Path(id): Path<i64>,
    headers: HeaderMap,
    Posted { user, form: f }: Posted<StageForm>,
) -> Response {
    let Ok(stage) = f.stage.parse::<DealStage>() else {
        return PageError(ActionError::invalid("stage", "unknown stage")).into_response();
    };
    let patch = DealPatch {
        stage: Some(stage),
        ..Default::default()
    };
    match records::update::<Deal>(&user.crm, &user.caller, DealId(id), patch).await {
        Ok(_) if headers.contains_key("hx-request") => StatusCode::NO_CONTENT.into_response(),
        Ok(_) => Redirect::to("/deals").into_response(),
        Err(e) => PageError(e).into_response(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "deal.html")]
pub struct DealPage {
    shell: Shell,
    deal: Deal,
    value: String,
    /// The value as the form shows it (currency units, two decimals).
    value_field: String,
    stages: Vec<Choice>,
    contact: Option<(i64, String)>,
    lead: Option<(i64, String)>,
    timeline: Vec<ActivityRow>,
    kinds: Vec<Choice>,
    flash: Option<String>,
}

impl DealPage {
    fn stage(&self) -> String {
        format::words(self.deal.stage.as_str())
    }

    fn open(&self) -> bool {
        self.deal.status == DealStatus::Open
    }
}

/// `GET /deals/{id}`: the deal's fields (editable), won and lost, its
/// contact and lead, and its timeline with the activity form.
pub async fn show(user: WebUser, Path(id): Path<i64>, done: Done) -> PageResult<DealPage> {
    let crm = &user.crm;
    let c = &user.caller;
    let deal = records::get::<Deal>(crm, c, DealId(id)).await?;
    // A contact or lead deleted meanwhile is shown as none.
    let contact = records::linked::<Contact>(crm, c, deal.contact_id)
        .await?
        .map(|ct| (ct.id.0, super::contacts::full_name(&ct)));
    let lead = records::linked::<Lead>(crm, c, deal.lead_id)
        .await?
        .map(|l| (l.id.0, l.title));
    let of_deal = ActivityFilter {
        deal_id: Some(deal.id),
        ..Default::default()
    };
    let timeline = timeline(crm, c, of_deal).await?;
    let cents = deal.value_cents.get();
    Ok(DealPage {
        shell: Shell::new(&user, deal.title.clone(), "/deals"),
        value: format::cents(cents),
        value_field: format!("{}.{:02}", cents / 100, cents % 100),
        stages: choices(
            &DealStage::ALL
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>(),
            Some(deal.stage.as_str()),
        ),
        contact,
        lead,
        timeline,
        kinds: logged_kinds(),
        flash: done.flash(),
        deal,
    })
}

/// A form of the deal page: any of its fields (the won and lost buttons
/// send the stage alone).
#[derive(Debug, Deserialize)]
pub struct DealForm {
    title: Option<String>,
    value: Option<String>,
    stage: Option<String>,
    expected_close: Option<String>,
}

/// The deal page's form: its title, value, stage or expected close (the
/// won and lost buttons send the stage alone); absent fields stay, a blank
/// expected close clears it.
impl Editable for Deal {
    type Form = DealForm;

    fn patch(f: DealForm) -> Result<DealPatch, ActionError> {
        let value_cents = match f.value.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(v) => Some(Cents::parse_amount(v, "value")?),
        };
        let stage = word::<DealStage>(f.stage.as_deref(), "stage")?;
        let expected_close = date(f.expected_close.as_deref(), "expected_close")?;
        Ok(DealPatch {
            title: f.title,
            value_cents,
            stage,
            expected_close,
            ..Default::default()
        })
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "fragments/pipeline.html")]
pub struct PipelineFragment {
    pub(crate) stages: Vec<StageRow>,
    pub(crate) open_value: String,
    pub(crate) open_weighted: String,
}

/// `GET /fragments/pipeline`: the dashboard's pipeline, refetched when a
/// deal changes.
pub async fn pipeline_fragment(user: WebUser) -> PageResult<PipelineFragment> {
    Ok(pipeline(&user.crm, &user.caller).await?)
}

/// The open pipeline by stage, as the dashboard and its fragment show it.
pub async fn pipeline(
    crm: &neuracrm_actions::Crm,
    caller: &neuracrm_actions::Caller,
) -> Result<PipelineFragment, ActionError> {
    let totals = deals::stages(crm, caller, CLOSED_DAYS).await?;
    let open: Vec<_> = totals
        .iter()
        .filter(|s| !s.stage.starts_with("closed"))
        .collect();
    // Whole dollars, as on the board: a summary with cents on some figures
    // and not on others reads ragged.
    let sum = |f: fn(&&neuracrm_store::forecasts::StageTotal) -> f64| {
        format::money(open.iter().map(f).fold(0.0, |a, b| a + b).round())
    };
    Ok(PipelineFragment {
        open_value: sum(|s| s.value),
        open_weighted: sum(|s| s.weighted_value),
        stages: open
            .iter()
            .map(|s| StageRow {
                name: format::words(&s.stage),
                deals: s.deals,
                value: format::money(s.value.round()),
                weighted: format::money(s.weighted_value.round()),
            })
            .collect(),
    })
}
