//! Sentiment for NeuraCRM: what customers write and say, scored.
//!
//! Two engines with one front door:
//! - [`vader`]: a port of vaderSentiment 3.3.2 with score parity, the
//!   zero-set-up default;
//! - a trainable TF-IDF classifier (random forest or logistic regression)
//!   stored in a checked, versioned model file, for organisations with
//!   labelled data.
//!
//! The crate is pure: no database, no network, only readers and writers that
//! the caller opens.

pub mod error;
mod hash;
pub mod vader;

pub use error::{Error, Result};
pub use vader::{Scores, SentimentIntensityAnalyzer};
pub mod csvio;
pub mod label;

pub use csvio::{LabelledData, read_column, read_labelled, score_csv};
pub use label::Label;
