//! `/segments`: the organization's segments with their sizes, a segment's
//! page (its stats and its members with their metrics, paged), and the
//! suggested segments of k-means with a "save as segment" form each, the
//! rule builder of a new or saved segment (its form: [`super::segment_rules`])
//! with its live count, and the RFM grid. Every figure comes from the same
//! actions as `/api/segments`.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use neuracrm_actions::ActionError;
use neuracrm_actions::records::{self, List};
use neuracrm_actions::segments::suggest::{self, SaveSuggestion, Suggestion};
use neuracrm_actions::segments::{self, Member, RfmGrid, SegmentStats};
use neuracrm_domain::segments::SegmentKind;
use neuracrm_domain::{NewSegment, Segment, SegmentId, SegmentPatch};
use serde::Deserialize;
use std::borrow::Borrow;

use super::super::forms::Posted;
use super::super::listing::{PageNo, Pager};
use super::super::{PageError, PageResult, format};
use super::segment_rules::{Edit, MAX_ROWS, Row, Rows};
use super::settings::{FormError, after_form};
use crate::AppState;
use crate::web::layout::Shell;
use crate::web::session::{CsrfForm, WebUser, after};

/// Segments and members a page lists.
const PER_PAGE: i64 = 50;

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
pub async fn list(user: WebUser, Query(p): Query<PageNo>) -> PageResult<SegmentList> {
    let list = List {
        filter: (),
        sort: (),
        page: p.page(PER_PAGE)?,
    };
    let found = records::list::<Segment>(&user.crm, &user.caller, list).await?;
    Ok(SegmentList {
        shell: Shell::new(&user, "Segments", "/segments"),
        rows: found.items,
        pager: p.pager("/segments", found.has_more),
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
    user: WebUser,
    Path(id): Path<i64>,
    Query(p): Query<PageNo>,
) -> PageResult<SegmentPage> {
    let (crm, c) = (&user.crm, &user.caller);
    let id = SegmentId(id);
    let segment = records::get::<Segment>(crm, c, id).await?;
    let stats = segments::stats(crm, c, id).await?;
    let members = segments::members(crm, c, id, p.page(PER_PAGE)?).await?;
    let here = format!("/segments/{}", id.0);
    Ok(SegmentPage {
        shell: Shell::new(&user, segment.name.clone(), "/segments"),
        segment,
        stats,
        pager: p.pager(&here, members.has_more),
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
pub async fn suggestions(user: WebUser, Query(q): Query<SeedQuery>) -> PageResult<SuggestionsPage> {
    let s = suggest::suggest(&user.crm, &user.caller, q.seed).await?;
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
pub async fn save(Posted { user, form }: Posted<SaveForm>) -> Response {
    let saved = save_as(&user, form).await;
    match saved {
        Ok(id) => after(Ok(()), &format!("/segments/{}", id.0)),
        Err(e) => after::<()>(Err(e), "/segments"),
    }
}

async fn save_as(user: &WebUser, f: SaveForm) -> Result<SegmentId, ActionError> {
    let input = SaveSuggestion {
        name: f.name,
        seed: f.seed,
        k: f.k,
        cluster: f.cluster,
    };
    Ok(suggest::save(&user.crm, &user.caller, input).await?.id)
}

/// A condition or group of the builder as shown: its row, its number, the
/// operands its field takes, and the error that names it.
pub struct RowView {
    /// Index in the form (`c[i][…]`).
    pub i: usize,
    /// What the row holds.
    pub row: Row,
    /// The operands of its field (and its operand, if the field does not
    /// take it: the error says so).
    pub operands: Vec<String>,
    /// The refusal of this row (or of something inside it).
    pub error: Option<String>,
}

/// The builder's fields besides the rows.
#[derive(Debug, Clone, Default)]
pub struct BuilderForm {
    name: String,
    description: String,
    kind: String,
    rows: Option<Rows>,
    /// `save`, an [`Edit`], or nothing (re-render with the preview).
    action: String,
}

impl BuilderForm {
    fn of_pairs(pairs: &[(String, String)]) -> Result<BuilderForm, ActionError> {
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        Ok(BuilderForm {
            name: get("name"),
            description: get("description"),
            kind: get("kind"),
            rows: Some(Rows::from_pairs(pairs).ok_or_else(|| {
                ActionError::invalid(
                    "rule",
                    format!("a rule may have at most {MAX_ROWS} groups and conditions"),
                )
            })?),
            action: get("do"),
        })
    }

    fn of_segment(s: &Segment) -> BuilderForm {
        BuilderForm {
            name: s.name.clone(),
            description: s.description.clone().unwrap_or_default(),
            kind: s.kind.as_str().into(),
            rows: Some(Rows::of_rule(&s.rule)),
            action: String::new(),
        }
    }

    fn rows(&self) -> Rows {
        self.rows
            .clone()
            .unwrap_or_else(|| Rows(vec![Row::group(0, "and"), Row::condition(1)]))
    }

    fn description(&self) -> Option<String> {
        Some(self.description.trim().to_string()).filter(|d| !d.is_empty())
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "segment_builder.html")]
pub struct BuilderPage {
    shell: Shell,
    /// The segment being edited (`None`: a new one).
    id: Option<i64>,
    form: BuilderForm,
    rows: Vec<RowView>,
    /// The rule's count and first members, as it stands.
    preview: Option<segments::Preview>,
    /// Why the rule cannot be previewed or saved.
    error: Option<FormError>,
    /// The condition number the error names, counted from 1.
    error_row: Option<usize>,
}

impl Figures for BuilderPage {}

impl BuilderPage {
    /// Where the form posts.
    fn action(&self) -> String {
        match self.id {
            Some(id) => format!("/segments/{id}/edit"),
            None => "/segments/new".into(),
        }
    }

    fn fields(&self) -> &'static [neuracrm_domain::segments::Field] {
        neuracrm_domain::segments::FIELDS
    }

    fn invalid(&self, name: &str) -> bool {
        self.error.as_ref().is_some_and(|e| e.field == name)
    }
}

/// What the builder page shows in its preview part.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Count {
    /// The rule's count and first members (through the same action as
    /// `POST /api/segments/preview`): a posted form.
    Now,
    /// A part that asks for them once the page is shown (htmx; without
    /// JavaScript, the "Count" button): an opened page, so that counting a
    /// rule over every contact (half a second at a million) never holds
    /// the page back.
    AfterThePage,
}

/// The builder page for `form`, its preview or a part that loads it
/// ([`Count`]), and `error` (from a save) beside the row or field it names.
async fn builder(
    user: &WebUser,
    id: Option<i64>,
    form: BuilderForm,
    error: Option<FormError>,
    count: Count,
) -> BuilderPage {
    let rows = form.rows();
    let (rule, paths) = rows.to_rule();
    let (preview, error) = match error {
        Some(e) => (None, Some(e)),
        None if count == Count::AfterThePage => (None, None),
        None => match segments::preview(&user.crm, &user.caller, &rule).await {
            Ok(p) => (Some(p), None),
            Err(e) => (
                None,
                Some(FormError::of(&e).map_or_else(
                    || FormError::new("rule", "the rule could not be evaluated"),
                    |(_, f)| f,
                )),
            ),
        },
    };
    let error_row = error.as_ref().and_then(|e| Rows::row_of(&paths, &e.field));
    let views = rows
        .0
        .into_iter()
        .enumerate()
        .map(|(i, row)| {
            let mut operands: Vec<String> = neuracrm_domain::segments::Field::named(&row.field)
                .map(|f| f.operands().iter().map(|o| o.as_str()).collect())
                .unwrap_or_default();
            if !row.is_group() && !operands.contains(&row.operand) {
                operands.insert(0, row.operand.clone());
            }
            RowView {
                i,
                error: error
                    .as_ref()
                    .filter(|_| error_row == Some(i))
                    .map(|e| e.message.clone()),
                row,
                operands,
            }
        })
        .collect();
    let title = match id {
        Some(_) => format!("Edit {}", form.name),
        None => "New segment".into(),
    };
    BuilderPage {
        shell: Shell::new(user, title, "/segments"),
        id,
        form,
        rows: views,
        preview,
        error,
        error_row: error_row.map(|i| i + 1),
    }
}

/// `GET /segments/new`: a new segment's rule builder.
pub async fn new_segment(user: WebUser) -> Response {
    let form = BuilderForm {
        kind: "dynamic".into(),
        ..BuilderForm::default()
    };
    builder(&user, None, form, None, Count::AfterThePage)
        .await
        .into_response()
}

/// `GET /segments/{id}/edit`: the builder of a saved segment (another
/// organization's: not found).
pub async fn edit_segment(user: WebUser, Path(id): Path<i64>) -> Response {
    match records::get::<Segment>(&user.crm, &user.caller, SegmentId(id)).await {
        Ok(s) => builder(
            &user,
            Some(id),
            BuilderForm::of_segment(&s),
            None,
            Count::AfterThePage,
        )
        .await
        .into_response(),
        Err(e) => PageError(e).into_response(),
    }
}

/// The posted builder: `c[i][…]` rows and the other fields, read as pairs
/// (the rows are indexed, which a flat form struct cannot hold).
pub struct BuilderPost(WebUser, Vec<(String, String)>);

impl axum::extract::FromRequest<AppState> for BuilderPost {
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, state: &AppState) -> Result<Self, Response> {
        let CsrfForm(user, pairs) =
            CsrfForm::<Vec<(String, String)>>::from_request(req, state).await?;
        Ok(BuilderPost(user, pairs))
    }
}

/// `POST /segments/new`: the builder's buttons. `do=save` creates the
/// segment through the same action as `POST /api/segments` and opens it
/// (a refusal: the page again, 422, the error beside its condition);
/// `do=add:i`, `group:i`, `not:i`, `remove:i` edit the rule and show the
/// page again, unsaved; nothing (htmx, as the rule is typed) shows it again
/// with its preview.
pub async fn create_segment(BuilderPost(user, pairs): BuilderPost) -> Response {
    posted(&user, None, &pairs).await
}

/// `POST /segments/{id}/edit`: as [`create_segment`], saving through the
/// action of `PATCH /api/segments/{id}` (another organization's segment:
/// not found, whatever the button).
pub async fn save_segment(Path(id): Path<i64>, BuilderPost(user, pairs): BuilderPost) -> Response {
    if let Err(e) = records::get::<Segment>(&user.crm, &user.caller, SegmentId(id)).await {
        return PageError(e).into_response();
    }
    posted(&user, Some(id), &pairs).await
}

async fn posted(user: &WebUser, id: Option<i64>, pairs: &[(String, String)]) -> Response {
    let mut form = match BuilderForm::of_pairs(pairs) {
        Ok(f) => f,
        Err(e) => return PageError(e).into_response(),
    };
    if let Some(edit) = Edit::parse(&form.action) {
        let mut rows = form.rows();
        rows.edit(edit);
        form.rows = Some(rows);
        return builder(user, id, form, None, Count::Now)
            .await
            .into_response();
    }
    if form.action != "save" {
        return builder(user, id, form, None, Count::Now)
            .await
            .into_response();
    }
    let (rule, _) = form.rows().to_rule();
    let result = match id {
        None => match form.kind.parse::<SegmentKind>() {
            Ok(kind) => {
                let new = NewSegment {
                    name: form.name.clone(),
                    description: form.description(),
                    kind,
                    rule,
                };
                records::create::<Segment>(&user.crm, &user.caller, new)
                    .await
                    .map(|s| s.id)
            }
            Err(()) => Err(ActionError::invalid("kind", "kind is dynamic or static")),
        },
        Some(id) => {
            let patch = SegmentPatch {
                name: Some(form.name.clone()),
                description: Some(form.description()),
                rule: Some(rule),
            };
            records::update::<Segment>(&user.crm, &user.caller, SegmentId(id), patch)
                .await
                .map(|s| s.id)
        }
    };
    let to = match &result {
        Ok(s) => format!("/segments/{}", s.0),
        Err(_) => String::new(),
    };
    after_form(result, &to, async |e| {
        Ok::<_, PageError>(builder(user, id, form, Some(e), Count::Now).await)
    })
    .await
}

#[derive(Template, WebTemplate)]
#[template(path = "segment_rfm.html")]
pub struct RfmPage {
    shell: Shell,
    grid: RfmGrid,
}

impl RfmPage {
    /// Customers of cell (r, f).
    fn cell(&self, r: &usize, f: &usize) -> i64 {
        self.grid.cells[*r - 1][*f - 1]
    }

    /// The named segment of cell (r, f).
    fn cell_name(&self, r: &usize, f: &usize) -> &'static str {
        neuracrm_domain::segments::rfm_segment(*r as i64, *f as i64)
    }

    /// A named segment as people write it (`cant_lose`: "can't lose").
    fn words(&self, name: &str) -> String {
        match name {
            "cant_lose" => "can't lose".into(),
            other => other.replace('_', " "),
        }
    }

    /// Whether any named segment has no ready-made segment yet.
    fn missing(&self) -> bool {
        self.grid.named.iter().any(|n| n.segment.is_none())
    }
}

/// `GET /segments/rfm`: the organization's customers on the R × F grid, the
/// named RFM segments' sizes, and links to their ready-made segments.
pub async fn rfm(user: WebUser) -> PageResult<RfmPage> {
    let grid = segments::rfm_grid(&user.crm, &user.caller).await?;
    Ok(RfmPage {
        shell: Shell::new(&user, "RFM grid", "/segments"),
        grid,
    })
}

/// `POST /segments/rfm`: saves the ten ready-made RFM segments (the action
/// of `POST /api/segments/rfm`) and shows the grid again.
pub async fn create_rfm(CsrfForm(user, _): CsrfForm<super::super::forms::Csrf>) -> Response {
    let made = segments::create_rfm_segments(&user.crm, &user.caller).await;
    after(made, "/segments/rfm")
}
