//! `/`: the dashboard. The pipeline by stage, the revenue forecast with its
//! band and insight sentences, the hottest leads, the leads whose score moved
//! most this week, the sentiment of the last 90 days, and the live feed of
//! the organization's activity.

use askama::Template;
use askama_web::WebTemplate;
use chrono::Utc;
use neuracrm_actions::forecasting::{self, ForecastRequest};
use neuracrm_actions::records::{self, List};
use neuracrm_actions::{scoring, sentiment};
use neuracrm_domain::{Activity, ForecastAlgorithm, ForecastMetric, Lead, LeadStatus};
use neuracrm_store::leads::{LeadFilter, LeadSort};
use neuracrm_store::{Page, Sort, SortDir};

use crate::web::format;
use crate::web::layout::Shell;
use crate::web::session::WebUser;
use crate::web::{ActivityRow, LeadRow, PageResult, forecast_chart, sentiment_chart};

/// One stage of the pipeline.
pub struct StageRow {
    pub name: String,
    pub deals: i64,
    pub value: String,
    pub weighted: String,
}

/// A lead whose score moved.
pub struct MoverRow {
    pub id: i64,
    pub title: String,
    pub from: String,
    pub to: String,
    pub up: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "dashboard.html")]
pub struct Dashboard {
    shell: Shell,
    stages: Vec<StageRow>,
    open_value: String,
    open_weighted: String,
    forecast_svg: String,
    insights: Vec<String>,
    forecast_note: Option<String>,
    hot: Vec<LeadRow>,
    /// `None`: being computed.
    movers: Option<Vec<MoverRow>>,
    /// `None`: being computed.
    sentiment_svg: Option<String>,
    feed: Vec<ActivityRow>,
}

/// `GET /`.
pub async fn page(user: WebUser) -> PageResult<Dashboard> {
    let crm = &user.crm;
    let c = &user.caller;
    let super::deals::PipelineFragment {
        stages,
        open_value,
        open_weighted,
    } = super::deals::pipeline(crm, c).await?;
    let req = ForecastRequest {
        metric: ForecastMetric::Revenue,
        months: 12,
        model: ForecastAlgorithm::Ensemble,
    };
    let (fc, _) = forecasting::forecast(crm, c, req).await?;
    let out = crate::api::forecast::ForecastOut::from_forecast(&fc)?;
    let (forecast_svg, forecast_note) = forecast_chart(&out, "Revenue by month");
    let insights = out.insights.map(|i| i.summary).unwrap_or_default();
    let hot = records::list::<Lead>(
        crm,
        c,
        List {
            filter: LeadFilter::default(),
            sort: Sort {
                by: LeadSort::Score,
                dir: SortDir::Desc,
            },
            // The best-scored leads, of which the dashboard keeps those still
            // to work: an unqualified or converted lead needs no call.
            page: Page::parse(Some(40), None).map_err(neuracrm_actions::ActionError::query)?,
        },
    )
    .await?
    .items
    .into_iter()
    .filter(|l| {
        matches!(
            l.status,
            LeadStatus::New | LeadStatus::Contacted | LeadStatus::Qualified
        )
    })
    .take(8)
    .map(LeadRow::from)
    .collect();
    // Summaries over history: on a large organization computed in the
    // background (`None` until the first is ready; the part says so and
    // fetches itself again).
    let movers = scoring::movers(crm, c).await?.map(|m| {
        m.value
            .iter()
            .take(6)
            .map(|m| MoverRow {
                id: m.lead_id,
                title: m.title.clone(),
                from: format::score(m.old_score),
                to: format::score(m.new_score),
                up: m.new_score >= m.old_score,
            })
            .collect()
    });
    let sentiment_svg = sentiment::period_summary(crm, c, 90)
        .await?
        .map(|s| sentiment_chart(&s.value.trend, "Sentiment of customer text, by week"));
    let to = Utc::now();
    let feed = records::list::<Activity>(
        crm,
        c,
        List {
            filter: Default::default(),
            sort: SortDir::Desc,
            page: Page::parse(Some(12), None).map_err(neuracrm_actions::ActionError::query)?,
        },
    )
    .await?
    .items
    .into_iter()
    .map(|v| ActivityRow::new(v, to))
    .collect();
    Ok(Dashboard {
        shell: Shell::new(&user, "Dashboard", "/"),
        stages,
        open_value,
        open_weighted,
        forecast_svg,
        insights,
        forecast_note,
        hot,
        movers,
        sentiment_svg,
        feed,
    })
}
