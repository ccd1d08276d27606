//! Integration tests of the crate's public API: the buying-intent client
//! against a real local chat-completions server, and the path from an
//! assessment to a score. One binary (link time), modules per area.

mod llm;
mod pipeline;
