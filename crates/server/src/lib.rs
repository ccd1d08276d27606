//! NeuraCRM's HTTP server.
//!
//! - [`configuration`]: the one [`Settings`] struct and how it is layered
//!   (defaults < `neuracrm.toml` < `NEURACRM_*` environment < flags);
//! - [`startup`]: builds the application ([`startup::App`]) and serves it with
//!   graceful shutdown;
//! - [`routes`]: the HTTP handlers, one module per area.
//!
//! State travels in axum's `State`, never in globals, so tests can run many
//! apps side by side.

pub mod configuration;
pub mod routes;
pub mod startup;

pub use configuration::{Secret, Settings};
pub use startup::{App, AppState};
