//! `/segments`: the organization's segments with their sizes, a segment's
//! page (its stats and its members with their metrics, paged), and the
//! suggested segments of k-means with a "save as segment" form each. Every
//! figure comes from the same actions as `/api/segments`.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use chrono::{DateTime, Utc};
use neuracrm_actions::records::{self, List};
use neuracrm_actions::segments::suggest::{self, SaveSuggestion, Suggestion};
use neuracrm_actions::segments::{self, Member, SegmentStats};
use neuracrm_actions::{ActionError, Caller};
use neuracrm_domain::{Segment, SegmentId};
use neuracrm_store::Page;
use serde::Deserialize;
use std::borrow::Borrow;

use super::super::forms::Posted;
use super::super::listing::Pager;
use super::super::{PageResult, format};
use crate::AppState;
use crate::web::layout::Shell;
use crate::web::session::{WebUser, after};

/// Segments and members a page lists.
const PER_PAGE: i64 = 50;

/// `?page=N` (1 by default).
#[derive(Debug, Default, Deserialize)]
pub struct PageNo {
    page: Option<u32>,
}

impl PageNo {
    fn number(&self) -> u32 {
        self.page.unwrap_or(1).clamp(1, 1_000_000)
    }

    fn page(&self) -> Result<Page, ActionError> {
        Page::parse(Some(PER_PAGE), Some((self.number() as i64 - 1) * PER_PAGE))
            .map_err(ActionError::query)
    }
}

fn pager(path: &str, n: u32, has_more: bool) -> Pager {
    let at = |n: u32| format!("{path}?page={n}");
    Pager {
        page: n,
        here: at(n),
        prev: (n > 1).then(|| at(n - 1)),
        next: has_more.then(|| at(n + 1)),
    }
}

/// How the templates word figures.
trait Figures {
    fn money(&self, cents: impl Borrow<i64>) -> String {
        format::cents(*cents.borrow())
    }

    fn rate(&self, r: impl Borrow<Option<f64>>) -> String {
        r.borrow()
            .filter(|r| r.is_finite())
            .map(|r| format!("{:.0} %", r * 100.0))
            .unwrap_or_else(|| "—".into())
    }

    fn number(&self, x: impl Borrow<Option<f64>>) -> String {
        x.borrow()
            .filter(|x| x.is_finite())
            .map(|x| format!("{x:.1}"))
            .unwrap_or_else(|| "—".into())
    }

    fn when(&self, t: &Option<DateTime<Utc>>) -> String {
        t.map(|t| t.format("%Y-%m-%d").to_string())
            .unwrap_or_else(|| "—".into())
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "segments.html")]
pub struct SegmentList {
    shell: Shell,
    rows: Vec<Segment>,
    pager: Pager,
}

impl Figures for SegmentList {}

/// `GET /segments`.
pub async fn list(
    State(state): State<AppState>,
    user: WebUser,
    Query(p): Query<PageNo>,
) -> PageResult<SegmentList> {
    let list = List {
        filter: (),
        sort: (),
        page: p.page()?,
    };
    let found = records::list::<Segment>(&state.crm, &user.caller, list).await?;
    let n = p.number();
    Ok(SegmentList {
        shell: Shell::new(&user, "Segments", "/segments"),
        rows: found.items,
        pager: pager("/segments", n, found.has_more),
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "segment.html")]
pub struct SegmentPage {
    shell: Shell,
    segment: Segment,
    stats: SegmentStats,
    members: Vec<Member>,
    pager: Pager,
}

impl Figures for SegmentPage {}

/// `GET /segments/{id}`: the stats and a page of members.
pub async fn show(
    State(state): State<AppState>,
    user: WebUser,
    Path(id): Path<i64>,
    Query(p): Query<PageNo>,
) -> PageResult<SegmentPage> {
    let (crm, c) = (&state.crm, &user.caller);
    let id = SegmentId(id);
    let segment = records::get::<Segment>(crm, c, id).await?;
    let stats = segments::stats(crm, c, id).await?;
    let members = segments::members(crm, c, id, p.page()?).await?;
    let n = p.number();
    let here = format!("/segments/{}", id.0);
    Ok(SegmentPage {
        shell: Shell::new(&user, segment.name.clone(), "/segments"),
        segment,
        stats,
        pager: pager(&here, n, members.has_more),
        members: members.items,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "segment_suggestions.html")]
pub struct SuggestionsPage {
    shell: Shell,
    seed: u64,
    k: usize,
    contacts: u64,
    sampled: u64,
    clusters: Vec<Suggestion>,
}

impl Figures for SuggestionsPage {}

impl SuggestionsPage {
    fn share(&self, s: &Suggestion) -> String {
        format!("{:.0} %", s.share * 100.0)
    }
}

/// `?seed=N`.
#[derive(Debug, Default, Deserialize)]
pub struct SeedQuery {
    seed: Option<u64>,
}

/// `GET /segments/suggestions`.
pub async fn suggestions(
    State(state): State<AppState>,
    user: WebUser,
    Query(q): Query<SeedQuery>,
) -> PageResult<SuggestionsPage> {
    let s = suggest::suggest(&state.crm, &user.caller, q.seed).await?;
    Ok(SuggestionsPage {
        shell: Shell::new(&user, "Suggested segments", "/segments"),
        seed: s.seed,
        k: s.k,
        contacts: s.contacts,
        sampled: s.sampled,
        clusters: s.clusters,
    })
}

/// The "save as segment" form of a suggestion.
#[derive(Debug, Deserialize)]
pub struct SaveForm {
    name: String,
    seed: u64,
    k: usize,
    cluster: usize,
}

/// `POST /segments/suggestions/save`: saves the suggestion as a static
/// segment and opens it.
pub async fn save(
    State(state): State<AppState>,
    Posted { user, form }: Posted<SaveForm>,
) -> Response {
    let saved = save_as(&state, &user.caller, form).await;
    match saved {
        Ok(id) => after(Ok(()), &format!("/segments/{}", id.0)),
        Err(e) => after::<()>(Err(e), "/segments"),
    }
}

async fn save_as(state: &AppState, c: &Caller, f: SaveForm) -> Result<SegmentId, ActionError> {
    let input = SaveSuggestion {
        name: f.name,
        seed: f.seed,
        k: f.k,
        cluster: f.cluster,
    };
    Ok(suggest::save(&state.crm, c, input).await?.id)
}
