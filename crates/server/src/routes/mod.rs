//! HTTP routes, one module per area.

use axum::Router;

use crate::AppState;

pub mod health;

/// Every route of the application.
pub fn router() -> Router<AppState> {
    Router::new().merge(health::router())
}
