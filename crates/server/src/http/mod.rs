//! The parts every API area shares; they import no area.
//!
//! - [`error`]: the one error type, its table of statuses and codes, and the
//!   conversion of every action error;
//! - [`extract`]: JSON, query and path extractors that answer in that shape;
//! - [`auth`]: JWT tokens, the caller extractors, the login rate limiter;
//! - [`wire`]: the vocabularies' schemas, paging and the page shape;
//! - [`live`]: the live event stream the SSE, WebSocket and web UI streams
//!   share (tenancy, lag, when it ends);
//! - [`openapi`]: the error response and the responses every endpoint shares;
//! - [`resource`]: the one generic implementation of the create, read,
//!   change, delete and list endpoints of a record.

pub mod auth;
pub mod error;
pub mod extract;
pub mod live;
pub mod openapi;
pub mod resource;
pub mod wire;
