//! Integration tests of `neuracrm-sentiment`'s public API, in one binary
//! (link time); unit tests live next to the code.

mod common;
mod model_files;
mod pipeline;
mod vader_golden;
