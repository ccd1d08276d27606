//! The leads list's CSV: the export of the current view
//! (`/leads/export.csv` with the list's query string: the same filters and
//! order, every matching lead, streamed a page at a time) and the import by
//! upload (`POST /leads/import`, a multipart form: the same action as
//! `POST /api/import/leads`, in the request with its per-row report, or in
//! the background with a page that follows it, `/leads/imports/{id}`).

use askama::Template;
use askama_web::WebTemplate;
use axum::body::Body;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use bytes::Bytes;
use futures_util::stream;
use neuracrm_actions::ActionError;
use neuracrm_actions::import::{self, BodyFailure, ImportId, ImportKind, ImportState};
use neuracrm_actions::leads::Export;
use neuracrm_domain::Lead;
use tokio::sync::mpsc;

use crate::AppState;
use crate::api::import::{Imported, upload};
use crate::web::layout::Shell;
use crate::web::listing::RawQuery;
use crate::web::session::{WebUser, csrf_header};
use crate::web::{PageError, PageResult};

/// The export's columns, in order.
const COLUMNS: [&str; 13] = [
    "id",
    "title",
    "status",
    "source",
    "score",
    "category",
    "confidence",
    "budget",
    "expected_decision",
    "description",
    "contact_id",
    "created_at",
    "updated_at",
];

/// A text cell as a spreadsheet will not run: one starting with `=`, `+`,
/// `-`, `@` (or a tab or carriage return, which some read past) is a formula
/// there, so it gets a leading `'` (OWASP's CSV injection advice). Quoting
/// is the CSV writer's.
fn inert(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

/// A lead's cells, in [`COLUMNS`] order.
fn cells(l: &Lead) -> [String; 13] {
    let opt = |v: Option<String>| v.unwrap_or_default();
    [
        l.id.0.to_string(),
        inert(&l.title),
        l.status.as_str().into(),
        l.source.as_str().into(),
        opt(l.score.map(|s| format!("{s:.2}"))),
        opt(l.score_category.clone()),
        opt(l.score_confidence.map(|c| format!("{c:.4}"))),
        opt(l.budget_cents.map(|c| {
            let c = c.get();
            format!("{}.{:02}", c / 100, c % 100)
        })),
        opt(l.expected_decision.map(|d| d.to_string())),
        inert(l.description.as_deref().unwrap_or_default()),
        opt(l.contact_id.map(|c| c.0.to_string())),
        l.created_at.to_rfc3339(),
        l.updated_at.to_rfc3339(),
    ]
}

/// CSV lines of `rows` (the header when `header`).
fn csv_lines<'a>(header: bool, rows: impl IntoIterator<Item = &'a Lead>) -> Bytes {
    let mut w = csv::Writer::from_writer(Vec::new());
    // Writing to memory cannot fail.
    if header {
        let _ = w.write_record(COLUMNS);
    }
    for l in rows {
        let _ = w.write_record(cells(l));
    }
    Bytes::from(w.into_inner().unwrap_or_default())
}

/// `GET /leads/export.csv?<the list's query>`: every lead of the view as
/// CSV, streamed. The first page is read before answering, so a failure
/// there is an error page; a later one cuts the download (the browser
/// reports it failed rather than keeping a short file).
pub async fn export(user: WebUser, Query(query): RawQuery) -> Response {
    let (_, filter, sort) = super::leads::view(&query);
    let mut export = Export::new(&user.crm, &user.caller, filter, sort);
    let first = match export.next_page().await {
        Ok(page) => page.unwrap_or_default(),
        Err(e) => return PageError(e).into_response(),
    };
    let head = stream::once(async move { Ok::<_, ActionError>(csv_lines(true, &first)) });
    let rest = stream::try_unfold(export, |mut export| async move {
        Ok(export
            .next_page()
            .await
            .inspect_err(|e| tracing::error!(error = %e, "a CSV export stopped"))?
            .map(|page| (csv_lines(false, &page), export)))
    });
    let body = Body::from_stream(futures_util::StreamExt::chain(head, rest));
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"leads.csv\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// The report of an import, in the request or in the background.
#[derive(Template, WebTemplate)]
#[template(path = "leads_import.html")]
pub struct ImportPage {
    shell: Shell,
    /// The background import, when it is one.
    id: Option<i64>,
    status: &'static str,
    /// Still queued or running: the page follows it.
    running: bool,
    rows_read: u64,
    created: u64,
    updated: u64,
    rejected: u64,
    rejections: Vec<(u64, String)>,
    error: Option<String>,
}

impl ImportPage {
    fn of_report(user: &WebUser, r: import::ImportReport) -> ImportPage {
        ImportPage {
            shell: Shell::new(user, "Lead import", "/leads"),
            id: None,
            status: "completed",
            running: false,
            rows_read: r.created + r.updated + r.rejected.len() as u64,
            created: r.created,
            updated: r.updated,
            rejected: r.rejected.len() as u64,
            rejections: r.rejected.into_iter().map(|r| (r.row, r.reason)).collect(),
            error: None,
        }
    }

    fn of_import(user: &WebUser, i: import::Import) -> ImportPage {
        let (status, running) = match i.status {
            ImportState::Uploading | ImportState::Queued => ("queued", true),
            ImportState::Running => ("running", true),
            ImportState::Completed => ("completed", false),
            ImportState::Failed => ("failed", false),
        };
        ImportPage {
            shell: Shell::new(user, "Lead import", "/leads"),
            id: Some(i.id.0),
            status,
            running,
            rows_read: i.progress.rows_read,
            created: i.progress.created,
            updated: i.progress.updated,
            rejected: i.progress.rejected,
            rejections: i
                .rejections
                .into_iter()
                .map(|r| (r.row, r.reason))
                .collect(),
            error: i.error,
        }
    }
}

/// Hands a multipart field's chunks to the import as they arrive; a field
/// cut off or over `max_import_bytes` ends the stream with why.
async fn pump(
    mut field: axum::extract::multipart::Field<'_>,
    tx: mpsc::Sender<Result<Bytes, BodyFailure>>,
) {
    loop {
        let msg = match field.chunk().await {
            Ok(Some(chunk)) => Ok(chunk),
            Ok(None) => return,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(BodyFailure::TooLarge),
            Err(_) => Err(BodyFailure::Unreadable),
        };
        let stop = msg.is_err();
        if tx.send(msg).await.is_err() || stop {
            return;
        }
    }
}

/// `POST /leads/import`: a multipart form whose `csrf` field comes before
/// its `file` (the form's order; or the `X-CSRF-Token` header). Checked
/// before a byte of the file is read; then the file is imported as
/// `POST /api/import/leads` imports a body: the report at once for a small
/// one, else the background import's page.
pub async fn import(
    State(state): State<AppState>,
    user: WebUser,
    headers: HeaderMap,
    mut form: Multipart,
) -> Response {
    let mut csrf = csrf_header(&headers).map(str::to_string);
    let bad_form = |m: &str| PageError(ActionError::Unreadable(m.to_string())).into_response();
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => return bad_form("the form has no file: choose a CSV file to import"),
            Err(e) => return bad_form(&format!("the form could not be read: {e}")),
        };
        match field.name() {
            Some("csrf") if csrf.is_none() => csrf = field.text().await.ok(),
            Some("file") => {
                if let Err(r) = user.check_csrf(csrf.as_deref()) {
                    return r.into_response();
                }
                let (tx, rx) = mpsc::channel(16);
                let (imported, ()) = tokio::join!(
                    upload(&state, &user.caller, ImportKind::Leads, rx, false),
                    pump(field, tx)
                );
                return match imported {
                    Ok(Imported::Report(r)) => ImportPage::of_report(&user, r).into_response(),
                    Ok(Imported::Queued(i)) => {
                        Redirect::to(&format!("/leads/imports/{}", i.id.0)).into_response()
                    }
                    Err(e) => PageError(e).into_response(),
                };
            }
            _ => {}
        }
    }
}

/// `GET /leads/imports/{id}`: a background import of the organization: its
/// status, progress and refused rows (the page refetches itself while it
/// runs; without JavaScript, reload it).
pub async fn import_status(user: WebUser, Path(id): Path<i64>) -> PageResult<ImportPage> {
    let i = import::status(&user.crm, &user.caller, ImportId(id)).await?;
    Ok(ImportPage::of_import(&user, i))
}
