//! `/api/forecasting-models`: what the forecast cycle fits (metric, horizon,
//! algorithm, active flag), how its last run went, and its stored results.
//! Anyone in the organization reads them; admins and managers change them.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use neuracrm_domain::{
    ForecastAlgorithm, ForecastMetric, ForecastModelId, ForecastingModel, ForecastingModelPatch,
    NewForecastingModel, Role,
};
use neuracrm_store::Page;
use neuracrm_store::forecasting_models::{ModelFilter, StoredResult};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::forecast::vocab;
use crate::AppState;
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Id, Json, Query};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_models, create_model))
        .routes(routes!(get_model, update_model, delete_model))
        .routes(routes!(model_results))
}

/// A forecasting model.
#[derive(Debug, Serialize, ToSchema)]
pub struct ForecastingModelOut {
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

impl From<ForecastingModel> for ForecastingModelOut {
    fn from(m: ForecastingModel) -> Self {
        ForecastingModelOut {
            id: m.id.0,
            organization_id: m.organization_id.0,
            name: m.name,
            metric: m.metric,
            algorithm: m.algorithm,
            horizon_months: m.horizon_months,
            active: m.active,
            last_trained: m.last_trained,
            last_run_at: m.last_run_at,
            last_status: m.last_status,
            last_error: m.last_error,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// A page of forecasting models.
#[derive(Debug, Serialize, ToSchema)]
pub struct ForecastingModelPage {
    /// The rows of this page.
    items: Vec<ForecastingModelOut>,
    /// The page size asked for.
    limit: u32,
    /// Rows skipped.
    offset: u64,
    /// Whether more rows follow.
    has_more: bool,
}

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

/// Filters and paging of the model list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ModelQuery {
    /// Rows per page, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// Rows to skip.
    #[param(minimum = 0)]
    pub offset: Option<i64>,
    /// Only this series.
    #[param(value_type = Option<vocab::ForecastMetric>)]
    pub metric: Option<ForecastMetric>,
    /// Only active (true) or inactive (false) models.
    pub active: Option<bool>,
}

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

fn may_change(user: &AuthUser) -> ApiResult<()> {
    if user.role == Role::Rep {
        Err(ApiError::Forbidden)
    } else {
        Ok(())
    }
}

/// Lists the organization's forecasting models.
#[utoipa::path(get, path = "/api/forecasting-models", tag = "forecasting", params(ModelQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ForecastingModelPage),
        (status = 400, description = "Bad query", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
    ))]
pub async fn list_models(
    State(state): State<AppState>,
    user: AuthUser,
    Query(q): Query<ModelQuery>,
) -> ApiResult<Json<ForecastingModelPage>> {
    let page = Page::parse(q.limit, q.offset).map_err(ApiError::query)?;
    let filter = ModelFilter {
        metric: q.metric,
        active: q.active,
    };
    let p = state
        .store
        .forecasting_models()
        .list(user.org, &filter, page)
        .await?;
    Ok(Json(ForecastingModelPage {
        items: p.items.into_iter().map(Into::into).collect(),
        limit: p.limit,
        offset: p.offset,
        has_more: p.has_more,
    }))
}

/// Creates a forecasting model (admins and managers).
#[utoipa::path(post, path = "/api/forecasting-models", tag = "forecasting",
    request_body = CreateForecastingModel,
    security(("bearer" = [])),
    responses(
        (status = 201, body = ForecastingModelOut),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "A rep", body = ErrorBody),
        (status = 422, description = "Invalid field", body = ErrorBody),
    ))]
pub async fn create_model(
    State(state): State<AppState>,
    user: AuthUser,
    Json(body): Json<CreateForecastingModel>,
) -> ApiResult<(StatusCode, Json<ForecastingModelOut>)> {
    may_change(&user)?;
    let new = NewForecastingModel {
        name: body.name,
        metric: body.metric,
        algorithm: body.algorithm.unwrap_or(ForecastAlgorithm::Ensemble),
        horizon_months: body.horizon_months.unwrap_or(12),
        active: body.active.unwrap_or(true),
    };
    let m = state
        .store
        .forecasting_models()
        .create(user.org, Some(user.user_id), &new)
        .await?;
    Ok((StatusCode::CREATED, Json(m.into())))
}

/// One forecasting model.
#[utoipa::path(get, path = "/api/forecasting-models/{id}", tag = "forecasting",
    params(("id" = i64, Path, description = "Forecasting model id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ForecastingModelOut),
        (status = 400, description = "Bad id", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such model", body = ErrorBody),
    ))]
pub async fn get_model(
    State(state): State<AppState>,
    user: AuthUser,
    Id(id): Id<ForecastModelId>,
) -> ApiResult<Json<ForecastingModelOut>> {
    Ok(Json(
        state
            .store
            .forecasting_models()
            .get(user.org, id)
            .await?
            .into(),
    ))
}

/// Changes a forecasting model (admins and managers).
#[utoipa::path(patch, path = "/api/forecasting-models/{id}", tag = "forecasting",
    params(("id" = i64, Path, description = "Forecasting model id")),
    request_body = ForecastingModelPatchBody,
    security(("bearer" = [])),
    responses(
        (status = 200, body = ForecastingModelOut),
        (status = 400, description = "Malformed body or id", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "A rep", body = ErrorBody),
        (status = 404, description = "No such model", body = ErrorBody),
        (status = 422, description = "Invalid field", body = ErrorBody),
    ))]
pub async fn update_model(
    State(state): State<AppState>,
    user: AuthUser,
    Id(id): Id<ForecastModelId>,
    Json(patch): Json<ForecastingModelPatch>,
) -> ApiResult<Json<ForecastingModelOut>> {
    may_change(&user)?;
    let m = state
        .store
        .forecasting_models()
        .update(user.org, Some(user.user_id), id, &patch)
        .await?;
    Ok(Json(m.into()))
}

/// Deletes a forecasting model and its stored results (admins and managers).
#[utoipa::path(delete, path = "/api/forecasting-models/{id}", tag = "forecasting",
    params(("id" = i64, Path, description = "Forecasting model id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Bad id", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "A rep", body = ErrorBody),
        (status = 404, description = "No such model", body = ErrorBody),
    ))]
pub async fn delete_model(
    State(state): State<AppState>,
    user: AuthUser,
    Id(id): Id<ForecastModelId>,
) -> ApiResult<StatusCode> {
    may_change(&user)?;
    state
        .store
        .forecasting_models()
        .delete(user.org, Some(user.user_id), id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The forecasts the cycle stored for a model, with actuals and errors for
/// months that have closed.
#[utoipa::path(get, path = "/api/forecasting-models/{id}/results", tag = "forecasting",
    params(("id" = i64, Path, description = "Forecasting model id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = StoredResults),
        (status = 400, description = "Bad id", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such model", body = ErrorBody),
    ))]
pub async fn model_results(
    State(state): State<AppState>,
    user: AuthUser,
    Id(id): Id<ForecastModelId>,
) -> ApiResult<Json<StoredResults>> {
    let items = state
        .store
        .forecasting_models()
        .results(user.org, id)
        .await?;
    Ok(Json(StoredResults {
        items: items.into_iter().map(Into::into).collect(),
    }))
}
