//! `/api/forecasting-models`: what the forecast cycle fits (metric, horizon,
//! algorithm, active flag), how its last run went, and its stored results.
//! Anyone in the organization reads them; admins and managers change them.
//! The model resource goes through the generic mechanism; its stored
//! results are a nested read.

use chrono::{DateTime, Utc};
use neuracrm_actions::forecasting;
use neuracrm_domain::{
    ForecastAlgorithm, ForecastMetric, ForecastModelId, ForecastingModel, ForecastingModelPatch,
    NewForecastingModel,
};
use neuracrm_store::forecasting_models::{ModelFilter, StoredResult};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::http::auth::AuthUser;
use crate::http::extract::{Id, Json};
use crate::http::openapi::endpoint;
use crate::http::resource::{Docs, Resource, Summaries, crud, wire_types};
use crate::http::wire::{list_query, page_type, record_out, vocab};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    crud::<ForecastingModel>().routes(routes!(model_results))
}

impl Resource for ForecastingModel {
    wire_types!(
        ForecastingModelOut,
        ForecastingModelPage,
        CreateForecastingModel,
        ForecastingModelPatch,
        ForecastingModelPatchBody,
        ModelQuery
    );

    const DOCS: Docs = Docs::new("model", "models")
        .at(
            "/api/forecasting-models",
            "forecasting",
            "Forecasting model id",
        )
        .summaries(Summaries {
            list: Some("Lists the organization's forecasting models."),
            create: Some("Creates a forecasting model (admins and managers)."),
            get: Some("One forecasting model."),
            update: Some("Changes a forecasting model (admins and managers)."),
            delete: Some(
                "Deletes a forecasting model and its stored results (admins and managers).",
            ),
        })
        .invalid("Invalid field", "Invalid field");
}

record_out!(
    /// A forecasting model.
    ForecastingModelOut from ForecastingModel as m {
        id: i64,
        organization_id: i64,
        name: String,
        #[schema(value_type = vocab::ForecastMetric)]
        metric: ForecastMetric,
        #[schema(value_type = vocab::ForecastAlgorithm)]
        algorithm: ForecastAlgorithm,
        /// Months ahead.
        horizon_months: i64,
        /// Whether the forecast cycle fits it.
        active: bool,
        /// Last successful fit.
        last_trained: Option<DateTime<Utc>>,
        /// When the cycle last ran it.
        last_run_at: Option<DateTime<Utc>>,
        /// `stored`, `insufficient_history` or `failed`.
        last_status: Option<String>,
        /// Why the last run failed or stored nothing.
        last_error: Option<String>,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    }
);

page_type!(
    /// A page of forecasting models.
    ForecastingModelPage, ForecastingModelOut, ForecastingModel
);

/// A new forecasting model.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateForecastingModel {
    /// Display name (default: made of the metric, horizon and algorithm).
    #[schema(min_length = 1, max_length = 200)]
    name: Option<String>,
    /// The series to forecast.
    #[schema(value_type = vocab::ForecastMetric)]
    metric: ForecastMetric,
    /// Default `ensemble`.
    #[schema(value_type = Option<vocab::ForecastAlgorithm>)]
    algorithm: Option<ForecastAlgorithm>,
    /// Months ahead, 1–60 (default 12).
    #[schema(minimum = 1, maximum = 60)]
    horizon_months: Option<i64>,
    /// Default `true`.
    active: Option<bool>,
}

impl From<CreateForecastingModel> for NewForecastingModel {
    fn from(body: CreateForecastingModel) -> Self {
        NewForecastingModel {
            name: body.name,
            metric: body.metric,
            algorithm: body.algorithm.unwrap_or(ForecastAlgorithm::Ensemble),
            horizon_months: body.horizon_months.unwrap_or(12),
            active: body.active.unwrap_or(true),
        }
    }
}

/// Changes to a forecasting model (absent fields stay).
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // documents `ForecastingModelPatch`
pub struct ForecastingModelPatchBody {
    #[schema(min_length = 1, max_length = 200)]
    name: Option<String>,
    #[schema(value_type = Option<vocab::ForecastMetric>)]
    metric: Option<String>,
    #[schema(value_type = Option<vocab::ForecastAlgorithm>)]
    algorithm: Option<String>,
    #[schema(minimum = 1, maximum = 60)]
    horizon_months: Option<i64>,
    active: Option<bool>,
}

list_query!(
    /// Filters and paging of the model list.
    ModelQuery => ModelFilter,
    {
        /// Only this series.
        #[param(value_type = Option<vocab::ForecastMetric>)]
        pub metric: Option<ForecastMetric>,
        /// Only active (true) or inactive (false) models.
        pub active: Option<bool>,
    }
);

/// A stored forecast month.
#[derive(Debug, Serialize, ToSchema)]
pub struct StoredResultOut {
    /// The series.
    metric: Option<String>,
    /// Last month of the history it was made from (`YYYY-MM`).
    origin: Option<String>,
    /// Month forecast (`YYYY-MM`).
    period: String,
    /// Months ahead of the origin.
    horizon: Option<i64>,
    /// Point forecast.
    predicted_value: f64,
    /// Lower bound.
    lower_bound: f64,
    /// Upper bound.
    upper_bound: f64,
    /// Interval level.
    level: Option<f64>,
    /// The month's actual value, once it closed.
    actual: Option<f64>,
    /// Forecast minus actual.
    error: Option<f64>,
    /// When it was stored.
    generated_at: DateTime<Utc>,
}

impl From<StoredResult> for StoredResultOut {
    fn from(r: StoredResult) -> Self {
        StoredResultOut {
            metric: r.metric,
            origin: r.origin,
            period: r.period,
            horizon: r.horizon,
            predicted_value: r.value,
            lower_bound: r.lower,
            upper_bound: r.upper,
            level: r.level,
            actual: r.actual,
            error: r.error,
            generated_at: r.generated_at,
        }
    }
}

/// A model's stored forecasts.
#[derive(Debug, Serialize, ToSchema)]
pub struct StoredResults {
    /// By origin, then period.
    items: Vec<StoredResultOut>,
}

endpoint! {
    /// The forecasts the cycle stored for a model, with actuals and errors for
    /// months that have closed.
    get "/api/forecasting-models/{id}/results" in "forecasting"
        [params(("id" = i64, Path, description = "Forecasting model id"))]
        => StoredResults, 400 "Bad id", 404 "No such model";
    async fn model_results(state, user: AuthUser, Id(id): Id<ForecastModelId>) {
        let items = forecasting::model_results(&state.crm, &user.caller(), id).await?;
        Ok(Json(StoredResults {
            items: items.into_iter().map(Into::into).collect(),
        }))
    }
}
