//! `/forecast`: the forecast of a metric (revenue, won deals, new customers)
//! by the chosen model with its 95 % band and insight sentences, the models'
//! backtest table (errors, weights, the best model), the accuracy of stored
//! forecasts by horizon, the open pipeline by expected-close month, and the
//! forecasting models the daily cycle fits (admins and managers change them;
//! reps read them).
//!
//! The forecast comes through `forecasting::forecast`, the action behind
//! `GET /api/forecast`, so a cached fit is served without refitting. The
//! figures redraw live: on `forecast_updated` (the cycle stored a run) and on
//! deal events (a won deal changes the history, any deal the pipeline).

use std::borrow::Borrow;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query};
use axum::response::Response;
use neuracrm_actions::forecasting::{self, ForecastRequest};
use neuracrm_actions::records::{self, List, Record};
use neuracrm_actions::{ActionError, Caller};
use neuracrm_domain::{
    ForecastAlgorithm, ForecastMetric, ForecastModelId, ForecastingModel, ForecastingModelPatch,
    NewForecastingModel,
};
use neuracrm_store::Page;
use neuracrm_store::forecasting_models::{AccuracyRow, ModelFilter};
use neuracrm_store::forecasts::PipelineMonth;
use serde::Deserialize;

use super::super::charts::StackedBars;
use super::super::forms::{Done, Posted};
use super::super::listing::Choice;
use super::super::{PageResult, forecast_chart, format};
use crate::api::forecast::{ForecastOut, ModelPerformanceOut};
use crate::web::layout::Shell;
use crate::web::session::{WebUser, after};

/// Months ahead the page forecasts.
const MONTHS: i64 = 12;

/// `?metric=&model=`; unknown values fall back to revenue and the ensemble.
#[derive(Debug, Default, Deserialize)]
pub struct ForecastQuery {
    metric: Option<String>,
    model: Option<String>,
}

/// A metric's tab.
pub struct Tab {
    pub href: String,
    pub label: &'static str,
    pub current: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "forecast.html")]
pub struct ForecastPage {
    shell: Shell,
    tabs: Vec<Tab>,
    metric: ForecastMetric,
    model: ForecastAlgorithm,
    chart_svg: String,
    note: Option<String>,
    generated: String,
    /// The forecast as the API gives it: its points, backtests, insights.
    out: ForecastOut,
    /// Stored forecasts' errors by model and horizon.
    accuracy: Vec<AccuracyRow>,
    pipeline_svg: String,
    pipeline: Vec<PipelineMonth>,
    pipeline_total: String,
    pipeline_weighted: String,
    /// The forecasting models the cycle fits.
    fitted: Vec<ForecastingModel>,
    can_edit: bool,
    flash: Option<String>,
}

/// What the template needs to word the figures.
impl ForecastPage {
    fn figure(&self, v: impl Borrow<f64>) -> String {
        figure(self.metric, *v.borrow())
    }

    fn maybe(&self, v: impl Borrow<Option<f64>>) -> String {
        v.borrow()
            .filter(|v| v.is_finite())
            .map(|v| figure(self.metric, v))
            .unwrap_or_else(|| "—".into())
    }

    fn pct(&self, v: impl Borrow<Option<f64>>) -> String {
        opt(*v.borrow(), " %")
    }

    /// A share 0–1 as a percentage.
    fn share(&self, v: impl Borrow<Option<f64>>) -> String {
        opt(v.borrow().map(|c| c * 100.0), " %")
    }

    fn money(&self, v: impl Borrow<f64>) -> String {
        format::money(*v.borrow())
    }

    fn words(&self, s: &str) -> String {
        format::words(s)
    }

    fn label(&self, m: impl Borrow<ForecastMetric>) -> &'static str {
        label(*m.borrow())
    }

    fn algorithm(&self, a: impl Borrow<ForecastAlgorithm>) -> String {
        algorithm_words(*a.borrow())
    }

    /// MAPE, sMAPE, MASE and folds × months of a model's backtest.
    fn backtest(&self, p: &ModelPerformanceOut) -> [String; 4] {
        match &p.backtest {
            Some(b) => [
                opt(b.mape, " %"),
                opt(b.smape, " %"),
                b.mase
                    .map(|m| format!("{m:.2}"))
                    .unwrap_or_else(|| "—".into()),
                format!("{} × {}", b.folds, b.horizon),
            ],
            None => ["—".into(), "—".into(), "—".into(), String::new()],
        }
    }

    fn last_run(&self, m: &ForecastingModel) -> String {
        m.last_run_at
            .map(format::full)
            .unwrap_or_else(|| "never".into())
    }

    fn algorithms(&self, current: impl Borrow<ForecastAlgorithm>) -> Vec<Choice> {
        algorithm_choices(*current.borrow())
    }

    fn metrics(&self, current: impl Borrow<ForecastMetric>) -> Vec<Choice> {
        metric_choices(*current.borrow())
    }
}

fn label(m: ForecastMetric) -> &'static str {
    match m {
        ForecastMetric::Revenue => "Revenue",
        ForecastMetric::DealsWon => "Won deals",
        ForecastMetric::NewCustomers => "New customers",
    }
}

/// A figure of the metric: money for revenue, a count otherwise.
fn figure(m: ForecastMetric, v: f64) -> String {
    match m {
        ForecastMetric::Revenue => format::money(v.round()),
        _ => format!("{v:.1}"),
    }
}

fn opt(v: Option<f64>, unit: &str) -> String {
    v.filter(|v| v.is_finite())
        .map(|v| format!("{v:.1}{unit}"))
        .unwrap_or_else(|| "—".into())
}

fn algorithm_words(a: ForecastAlgorithm) -> String {
    match a {
        ForecastAlgorithm::AutoArima => "Auto-ARIMA".into(),
        ForecastAlgorithm::Ets => "ETS".into(),
        other => format::words(other.as_str()),
    }
}

/// The options of a select over a vocabulary, `current` selected.
fn vocab_choices<T: Copy + PartialEq>(
    all: &[T],
    current: T,
    value: fn(T) -> &'static str,
    label: fn(T) -> String,
) -> Vec<Choice> {
    all.iter()
        .map(|v| Choice {
            value: value(*v).into(),
            label: label(*v),
            selected: *v == current,
        })
        .collect()
}

fn algorithm_choices(current: ForecastAlgorithm) -> Vec<Choice> {
    vocab_choices(
        ForecastAlgorithm::ALL,
        current,
        ForecastAlgorithm::as_str,
        algorithm_words,
    )
}

fn metric_choices(current: ForecastMetric) -> Vec<Choice> {
    vocab_choices(ForecastMetric::ALL, current, ForecastMetric::as_str, |m| {
        label(m).into()
    })
}

/// Whether the caller may change forecasting models (the same rule the
/// action applies).
fn may_edit(caller: &Caller) -> bool {
    <ForecastingModel as Record>::WRITE.admits(caller.role)
}

/// `GET /forecast`.
pub async fn page(
    user: WebUser,
    Query(q): Query<ForecastQuery>,
    done: Done,
) -> PageResult<ForecastPage> {
    let crm = &user.crm;
    let c = &user.caller;
    let metric = q
        .metric
        .as_deref()
        .and_then(|m| m.parse().ok())
        .unwrap_or(ForecastMetric::Revenue);
    let model = q
        .model
        .as_deref()
        .and_then(|m| m.parse().ok())
        .unwrap_or(ForecastAlgorithm::Ensemble);
    let req = ForecastRequest {
        metric,
        months: MONTHS,
        model,
    };
    // Four independent reads, at once: the page waits for the slowest, not
    // for their sum (each takes its own pooled connection).
    let models = records::list::<ForecastingModel>(
        crm,
        c,
        List {
            filter: ModelFilter::default(),
            sort: (),
            page: Page::parse(Some(100), None).map_err(ActionError::query)?,
        },
    );
    let ((fc, cached), (_, accuracy), months, fitted) = tokio::try_join!(
        forecasting::forecast(crm, c, req),
        forecasting::accuracy(crm, c, Some(metric)),
        forecasting::pipeline(crm, c),
        models,
    )?;
    let fitted = fitted.items;
    let out = ForecastOut::from_forecast(&fc)?;
    let (chart_svg, note) = forecast_chart(&out, &format!("{} by month", label(metric)));
    let pipeline_svg = StackedBars {
        title: "Open pipeline by expected close month: weighted value, and the rest".into(),
        labels: months
            .iter()
            .map(|m| m.period.clone().unwrap_or_else(|| "undated".into()))
            .collect(),
        stacks: vec![
            (
                "weighted",
                months.iter().map(|m| m.weighted_value).collect(),
            ),
            (
                "rest",
                months
                    .iter()
                    .map(|m| (m.value - m.weighted_value).max(0.0))
                    .collect(),
            ),
        ],
    }
    .svg();
    // Folds from +0.0: a float `Sum` starts at -0.0.
    let pipeline_total = format::money(months.iter().fold(0.0, |a, m| a + m.value));
    let pipeline_weighted = format::money(months.iter().fold(0.0, |a, m| a + m.weighted_value));
    let tabs = ForecastMetric::ALL
        .iter()
        .map(|m| Tab {
            href: format!("/forecast?metric={}&model={}", m.as_str(), model.as_str()),
            label: label(*m),
            current: *m == metric,
        })
        .collect();
    Ok(ForecastPage {
        shell: Shell::new(&user, "Forecast", "/forecast"),
        tabs,
        metric,
        model,
        chart_svg,
        note,
        generated: format!(
            "{}{}",
            format::full(out.generated_at),
            if cached { " (cached)" } else { "" }
        ),
        out,
        accuracy,
        pipeline_svg,
        pipeline: months,
        pipeline_total,
        pipeline_weighted,
        fitted,
        can_edit: may_edit(c),
        flash: done.flash(),
    })
}

/// The model form: a new model, or a change of one.
#[derive(Debug, Deserialize)]
pub struct ModelForm {
    name: Option<String>,
    metric: Option<String>,
    algorithm: Option<String>,
    horizon_months: Option<String>,
    /// A checkbox: present when ticked.
    active: Option<String>,
}

impl ModelForm {
    fn parse<T: std::str::FromStr>(
        v: Option<&str>,
        field: &'static str,
    ) -> Result<Option<T>, ActionError> {
        match v.map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => s
                .parse()
                .map(Some)
                .map_err(|_| ActionError::invalid(field, format!("'{s}' is not a valid {field}"))),
        }
    }

    fn patch(&self) -> Result<ForecastingModelPatch, ActionError> {
        Ok(ForecastingModelPatch {
            name: self
                .name
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            metric: Self::parse(self.metric.as_deref(), "metric")?,
            algorithm: Self::parse(self.algorithm.as_deref(), "algorithm")?,
            horizon_months: Self::parse(self.horizon_months.as_deref(), "horizon_months")?,
            active: Some(self.active.is_some()),
        })
    }
}

/// `POST /forecast/models` (a new forecasting model) and
/// `POST /forecast/models/{id}` (a change of one): the same actions as the
/// forecasting-model API, so admins and managers only (a rep gets 403).
pub async fn save_model(
    id: Option<Path<i64>>,
    Posted { user, form: f }: Posted<ModelForm>,
) -> Response {
    let (crm, c) = (&user.crm, &user.caller);
    let done = match (f.patch(), id) {
        (Err(e), _) => Err(e),
        (Ok(p), Some(Path(id))) => {
            records::update::<ForecastingModel>(crm, c, ForecastModelId(id), p)
                .await
                .map(drop)
        }
        (Ok(p), None) => {
            let new = NewForecastingModel {
                name: p.name,
                metric: p.metric.unwrap_or(ForecastMetric::Revenue),
                algorithm: p.algorithm.unwrap_or(ForecastAlgorithm::Ensemble),
                horizon_months: p.horizon_months.unwrap_or(MONTHS),
                active: p.active.unwrap_or(true),
            };
            records::create::<ForecastingModel>(crm, c, new)
                .await
                .map(drop)
        }
    };
    after(done, "/forecast?done=saved#models")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_in_the_metric_s_unit() {
        assert_eq!(figure(ForecastMetric::Revenue, 12_499.6), "$12,500");
        assert_eq!(figure(ForecastMetric::DealsWon, 3.04), "3.0");
        assert_eq!(opt(None, " %"), "—");
        assert_eq!(opt(Some(f64::NAN), " %"), "—");
        assert_eq!(opt(Some(12.345), " %"), "12.3 %");
    }
}
