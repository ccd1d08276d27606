//! The web UI: server-rendered pages from the same binary.
//!
//! Pages are askama templates (checked at compile time, `templates/`) filled
//! by handlers that call the same use cases as the JSON API
//! (`neuracrm_actions`); every page reads and every form submits without
//! JavaScript, and the vendored htmx (with its SSE extension) makes them
//! live: the page listens on `/live`, a cookie-authenticated stream of the
//! caller's organization's events, and the parts that show what changed
//! refetch themselves. Charts are SVG drawn by the server ([`charts`]).
//!
//! - [`session`]: sign-in, the session cookie, CSRF, sign-out;
//! - [`layout`]: the shell and the navigation (a page is one template, one
//!   handler and one line in [`layout::MENU`]);
//! - [`pages`]: one module per page area;
//! - [`live`]: the event stream of a page;
//! - [`assets`]: the embedded CSS, JavaScript and icons;
//! - [`listing`]: what the list pages share (filters, sort, paging);
//! - [`forms`]: what the record pages' forms share;
//! - [`charts`], [`mod@format`]: drawing and wording.

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use neuracrm_actions::ActionError;
use neuracrm_actions::activities::ActivityView;
use neuracrm_domain::{Deal, Lead};
use tower_http::compression::CompressionLayer;

use crate::AppState;
use crate::api::forecast::{ForecastOut, ForecastStatus};

pub mod assets;
pub mod charts;
pub mod format;
pub mod forms;
pub mod layout;
pub mod listing;
pub mod live;
pub mod pages;
pub mod session;

/// Every route of the web UI.
pub fn router() -> Router<AppState> {
    use pages::settings;
    Router::new()
        .route("/", get(pages::dashboard::page))
        .route("/login", get(session::login_form).post(session::login))
        .route("/logout", post(session::logout))
        .route("/live", get(live::stream))
        .route("/fragments/pipeline", get(pages::deals::pipeline_fragment))
        .route("/leads", get(pages::leads::list))
        .route("/leads/export.csv", get(pages::leads_csv::export))
        .route("/leads/import", post(pages::leads_csv::import))
        .route("/leads/imports/{id}", get(pages::leads_csv::import_status))
        .route(
            "/leads/{id}",
            get(pages::leads::show).post(forms::save::<neuracrm_domain::Lead>),
        )
        .route("/leads/{id}/score", post(pages::leads::score_now))
        .route("/leads/{id}/call", post(pages::calls::place))
        .route("/calls", get(pages::calls::list))
        .route("/calls/{id}", get(pages::calls::show))
        .route(
            "/call-batches",
            get(pages::call_batches::list).post(pages::call_batches::start),
        )
        .route("/call-batches/{id}", get(pages::call_batches::show))
        .route("/leads/{id}/activities", post(forms::log_activity::<Lead>))
        .route("/contacts", get(pages::contacts::list))
        .route(
            "/contacts/{id}",
            get(pages::contacts::show).post(forms::save::<neuracrm_domain::Contact>),
        )
        .route(
            "/contacts/{id}/activities",
            post(forms::log_activity::<neuracrm_domain::Contact>),
        )
        .route("/deals", get(pages::deals::board))
        .route(
            "/deals/{id}",
            get(pages::deals::show).post(forms::save::<neuracrm_domain::Deal>),
        )
        .route("/deals/{id}/stage", post(pages::deals::move_stage))
        .route(
            "/deals/{id}/activities",
            post(forms::log_activity::<neuracrm_domain::Deal>),
        )
        .route("/forecast", get(pages::forecast::page))
        .route("/forecast/models", post(pages::forecast::save_model))
        .route("/forecast/models/{id}", post(pages::forecast::save_model))
        .route("/sentiment", get(pages::sentiment::page))
        .route(
            "/campaigns",
            get(pages::campaigns::list).post(pages::campaigns::create),
        )
        .route(
            "/campaigns/{id}",
            get(pages::campaigns::show).post(pages::campaigns::save),
        )
        .route("/campaigns/{id}/schedule", post(pages::campaigns::schedule))
        .route("/campaigns/{id}/{action}", post(pages::campaigns::act))
        .route(
            "/email-templates",
            get(pages::email_templates::list).post(pages::email_templates::create),
        )
        .route(
            "/email-templates/preview",
            post(pages::email_templates::preview),
        )
        .route(
            "/email-templates/{id}",
            get(pages::email_templates::show).post(pages::email_templates::save),
        )
        .route(
            "/suppressions",
            get(pages::suppressions::list).post(pages::suppressions::add),
        )
        .route("/suppressions/remove", post(pages::suppressions::remove))
        .route("/segments", get(pages::segments::list))
        .route("/segments/suggestions", get(pages::segments::suggestions))
        .route("/segments/suggestions/save", post(pages::segments::save))
        .route(
            "/segments/new",
            get(pages::segments::new_segment).post(pages::segments::create_segment),
        )
        .route(
            "/segments/rfm",
            get(pages::segments::rfm).post(pages::segments::create_rfm),
        )
        .route("/segments/{id}", get(pages::segments::show))
        .route(
            "/segments/{id}/edit",
            get(pages::segments::edit_segment).post(pages::segments::save_segment),
        )
        .route("/settings", get(settings::account::show))
        .route(
            "/settings/password",
            post(settings::account::change_password),
        )
        .route(
            "/settings/sessions/others",
            post(settings::account::revoke_others),
        )
        .route(
            "/settings/sessions/{id}/revoke",
            post(settings::account::revoke),
        )
        .route(
            "/settings/users",
            get(settings::users::list).post(settings::users::add),
        )
        .route(
            "/settings/users/{id}/role",
            post(settings::users::change_role),
        )
        .route("/settings/users/{id}/delete", post(settings::users::remove))
        .route(
            "/settings/scoring",
            get(settings::scoring::show).post(settings::scoring::post),
        )
        .route("/assets/{file}", get(assets::serve))
        .layer(axum::middleware::from_fn(security_headers))
        .layer(CompressionLayer::new())
}

/// Headers on every page: a Content-Security-Policy without inline script
/// (the pages have none; htmx is told not to evaluate or inject), no
/// framing, no referrer beyond the origin, no content sniffing.
async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; \
             object-src 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    res
}

/// Routes nobody serves: a page for a browser (it asks for HTML), the API's
/// JSON 404 for everyone else and everything under `/api/`.
pub async fn not_found(uri: axum::http::Uri, headers: axum::http::HeaderMap) -> Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if uri.path().starts_with("/api/") || uri.path() == "/api" || !wants_html {
        crate::ApiError::NotFound("route".into()).into_response()
    } else {
        PageError(ActionError::NotFound("page".into())).into_response()
    }
}

/// What a page handler returns: the page, or an error page.
pub type PageResult<T> = Result<T, PageError>;

/// An action that failed, shown as a page in words (another organization's
/// record is "not found", exactly as a missing one).
#[derive(Debug)]
pub struct PageError(pub ActionError);

impl From<ActionError> for PageError {
    fn from(e: ActionError) -> Self {
        PageError(e)
    }
}

impl From<crate::ApiError> for PageError {
    fn from(e: crate::ApiError) -> Self {
        PageError(ActionError::Internal(e.to_string()))
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, heading, message) = match &self.0 {
            ActionError::NotFound(what) => (
                StatusCode::NOT_FOUND,
                "Not found",
                format!("There is no such {what} in your organization."),
            ),
            ActionError::Forbidden => (
                StatusCode::FORBIDDEN,
                "Not allowed",
                "Your role does not allow this.".to_string(),
            ),
            ActionError::Internal(cause) => {
                tracing::error!(cause = %cause, "a page failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "The page could not be shown. Try again in a moment.".to_string(),
                )
            }
            other => (StatusCode::BAD_REQUEST, "Cannot do that", other.to_string()),
        };
        let body = format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{heading} · NeuraCRM</title>\
             <link rel=\"stylesheet\" href=\"{}\"></head><body><main class=\"login card\"><h1>{heading}</h1>\
             <p>{}</p><p><a href=\"/\">Back to the dashboard</a></p></main></body></html>",
            assets::url("app.css"),
            charts::escape(&message)
        );
        (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            body,
        )
            .into_response()
    }
}

/// A lead as a row of a table.
pub struct LeadRow {
    pub id: i64,
    pub title: String,
    pub status: String,
    pub source: String,
    pub score: Option<String>,
    pub category: String,
    pub confidence: String,
    pub budget: String,
    pub created: String,
}

impl From<Lead> for LeadRow {
    fn from(l: Lead) -> Self {
        LeadRow {
            id: l.id.0,
            title: l.title,
            status: format::words(l.status.as_str()),
            source: format::words(l.source.as_str()),
            score: l.score.map(format::score),
            category: l.score_category.unwrap_or_else(|| "unscored".into()),
            confidence: l
                .score_confidence
                .map(|c| format!("{:.0} %", c * 100.0))
                .unwrap_or_default(),
            budget: l
                .budget_cents
                .map(|c| format::cents(c.get()))
                .unwrap_or_default(),
            created: l.created_at.format("%Y-%m-%d").to_string(),
        }
    }
}

/// A deal as a line of a record page.
pub struct DealItem(pub Deal);

impl DealItem {
    pub fn stage(&self) -> String {
        format::words(self.0.stage.as_str())
    }

    pub fn value(&self) -> String {
        format::cents(self.0.value_cents.get())
    }
}

/// An activity of a feed or timeline.
pub struct ActivityRow {
    pub id: i64,
    pub kind: String,
    pub at: String,
    pub at_full: String,
    pub at_iso: String,
    pub subject: Option<String>,
    pub body: Option<String>,
    pub sentiment: Option<String>,
    pub lead: Option<i64>,
    pub fresh: bool,
}

impl ActivityRow {
    /// The row of `v` as seen at `now`.
    pub fn new(v: ActivityView, now: DateTime<Utc>) -> ActivityRow {
        let a = v.activity;
        ActivityRow {
            id: a.id.0,
            kind: format::words(a.kind.as_str()),
            at: format::ago(a.occurred_at, now),
            at_full: format::full(a.occurred_at),
            at_iso: a.occurred_at.to_rfc3339(),
            subject: a.subject,
            body: a.body,
            sentiment: v.sentiment.map(|s| s.label),
            lead: a.lead_id.map(|l| l.0),
            fresh: false,
        }
    }
}

/// The forecast chart of an API forecast, and a note when there is none.
pub fn forecast_chart(out: &ForecastOut, title: &str) -> (String, Option<String>) {
    let mut labels: Vec<String> = out.history.iter().map(|h| h.period.clone()).collect();
    labels.extend(out.forecast.iter().map(|f| f.period.clone()));
    let chart = charts::ForecastChart {
        title: title.into(),
        labels,
        history: out.history.iter().map(|h| h.value).collect(),
        forecast: out.forecast.iter().map(|f| f.predicted_value).collect(),
        lower: out.forecast.iter().map(|f| f.lower_bound).collect(),
        upper: out.forecast.iter().map(|f| f.upper_bound).collect(),
    };
    let note = match out.status {
        ForecastStatus::Ready => None,
        _ => out.reason.clone(),
    };
    (chart.svg(), note)
}

/// Stacked weekly (or monthly) sentiment counts.
pub fn sentiment_chart(rows: &[neuracrm_store::sentiment::BucketRow], title: &str) -> String {
    charts::StackedBars {
        title: title.into(),
        labels: rows.iter().map(|r| r.bucket.clone()).collect(),
        stacks: vec![
            ("neg", rows.iter().map(|r| r.negative as f64).collect()),
            ("neu", rows.iter().map(|r| r.neutral as f64).collect()),
            ("pos", rows.iter().map(|r| r.positive as f64).collect()),
        ],
    }
    .svg()
}
