//! NeuraCRM's HTTP server.
//!
//! - [`configuration`]: the one [`Settings`] struct and how it is layered
//!   (defaults < `neuracrm.toml` < `NEURACRM_*` environment < flags);
//! - [`startup`]: builds the application ([`startup::App`]) and serves it with
//!   graceful shutdown;
//! - [`routes`]: the HTTP handlers, one module per area, with their OpenAPI
//!   description (served at `/api/openapi.json`, Swagger UI at `/api/docs`);
//! - [`error`]: the one error type and its table of statuses and codes;
//! - [`extract`]: JSON, query and path extractors that answer in that shape;
//! - [`auth`]: JWT tokens, the caller extractors, the login rate limiter;
//! - [`dto`]: the wire types;
//! - [`background`]: periodic jobs and event subscribers started with the app;
//! - [`sentiment`]: the subscriber that stores the sentiment of logged activities.
//! - [`scoring`]: lead-scoring runs that publish `lead_scored` events.
//!
//! State travels in axum's `State`, never in globals, so tests can run many
//! apps side by side.

pub mod auth;
pub mod background;
pub mod configuration;
pub mod dto;
pub mod error;
pub mod extract;
pub mod routes;
pub mod scoring;
pub mod sentiment;
pub mod startup;

pub use configuration::{Secret, Settings};
pub use error::ApiError;
pub use startup::{App, AppState, StartupError};
