//! NeuraCRM's HTTP server: areas plus shared parts.
//!
//! - [`api`]: the JSON API, one module per area (its handlers and its wire
//!   types together), collected with their OpenAPI descriptions into one
//!   router and one document (served at `/api/openapi.json`, Swagger UI at
//!   `/api/docs`). Adding an area is a module and one line in [`api::api`].
//! - [`http`]: what the areas share and which imports no area: the error
//!   type and its table, extractors, authentication, shared wire types, and
//!   the generic mechanism of the record resources.
//! - [`configuration`]: the one [`Settings`] struct and how it is layered
//!   (defaults < `neuracrm.toml` < `NEURACRM_*` environment < flags);
//! - [`startup`]: builds the application ([`startup::App`]) and serves it with
//!   graceful shutdown;
//! - [`background`]: periodic jobs and event subscribers started with the app;
//! - [`web`]: the web UI (server-rendered pages, the same use cases).
//!
//! Handlers only translate between HTTP and the use cases of
//! `neuracrm_actions`, which check, write and publish; the dependencies run
//! from areas to `http` and to the actions, never back.
//!
//! State travels in axum's `State`, never in globals, so tests can run many
//! apps side by side.

pub mod api;
pub mod background;
pub mod configuration;
pub mod http;
pub mod startup;
pub mod web;

pub use configuration::{Secret, Settings};
pub use http::error::ApiError;
pub use startup::{App, AppState, StartupError};
