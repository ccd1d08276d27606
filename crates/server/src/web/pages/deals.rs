//! `/deals`: the kanban board by stage (each column's count and value; drag
//! and drop with JavaScript, a stage select and a button without), and the
//! pipeline fragment the dashboard refreshes live.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use neuracrm_actions::records::{self, List};
use neuracrm_actions::{ActionError, deals};
use neuracrm_domain::{Deal, DealId, DealPatch, DealStage, DealStatus};
use neuracrm_store::deals::{DealFilter, DealSort};
use neuracrm_store::{Page, Sort, SortDir};
use serde::Deserialize;

use super::super::forms::Posted;
use super::super::{PageError, PageResult, format};
use crate::AppState;
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
pub async fn board(State(state): State<AppState>, user: WebUser) -> PageResult<Board> {
    let crm = &state.crm;
    let totals = deals::stages(crm, &user.caller, CLOSED_DAYS).await?;
    let since = neuracrm_domain::BoundedTime::new(
        chrono::Utc::now() - chrono::Duration::days(CLOSED_DAYS),
        "closed_from",
    )
    .map_err(ActionError::from)?;
    let mut columns = Vec::new();
    for (stage, total) in DealStage::ALL.iter().zip(&totals) {
        let closed = stage.status() != DealStatus::Open;
        let page = records::list::<Deal>(
            crm,
            &user.caller,
            List {
                filter: DealFilter {
                    stage: Some(*stage),
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
                page: Page::parse(Some(PER_COLUMN), None).map_err(ActionError::query)?,
            },
        )
        .await?;
        columns.push(Column {
            stage: stage.as_str(),
            name: format::words(stage.as_str()),
            deals: total.deals,
            value: format::money(total.value.round()),
            more: page.has_more,
            cards: page
                .items
                .into_iter()
                .map(|d| Card {
                    id: d.id.0,
                    title: d.title,
                    value: format::money((d.value_cents.get() as f64 / 100.0).round()),
                    expected_close: d.expected_close.map(|d| d.to_string()).unwrap_or_default(),
                    stage: d.stage.as_str(),
                })
                .collect(),
        });
    }
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
    State(state): State<AppState>,
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
    match records::update::<Deal>(&state.crm, &user.caller, DealId(id), patch).await {
        Ok(_) if headers.contains_key("hx-request") => StatusCode::NO_CONTENT.into_response(),
        Ok(_) => Redirect::to("/deals").into_response(),
        Err(e) => PageError(e).into_response(),
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
pub async fn pipeline_fragment(
    State(state): State<AppState>,
    user: WebUser,
) -> PageResult<PipelineFragment> {
    Ok(pipeline(&state.crm, &user.caller).await?)
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
