//! Sentiment for NeuraCRM: what customers write and say, scored.
//!
//! Two engines behind one front door ([`Analyzer::analyze`]):
//! - [`vader`]: a port of vaderSentiment 3.3.2 with score parity, the
//!   zero-set-up default;
//! - a trainable TF-IDF classifier ([`forest`] or [`logreg`]) stored in a
//!   checked, versioned [`model`] file, for organisations with labelled data.
//!
//! The crate is pure: no database, no network; files are read and written
//! only where a function says so, and readers/writers are passed in
//! otherwise.
//!
//! ```
//! use neuracrm_sentiment::{Analyzer, Label};
//! let analyzer = Analyzer::new(); // VADER until a model is loaded
//! let a = analyzer.analyze("Thanks, the renewal went smoothly!");
//! assert_eq!(a.label, Label::Positive);
//! ```

pub mod analyze;
pub mod csvio;
pub mod error;
pub mod eval;
pub mod forest;
mod hash;
pub mod label;
pub mod logreg;
pub mod metrics;
pub mod model;
mod rng;
pub mod split;
pub mod tfidf;
pub mod train;
pub mod vader;

pub use analyze::{Analysis, Analyzer};
pub use csvio::{LabelledData, read_column, read_labelled, score_csv};
pub use error::{Error, Result};
pub use eval::{EvalReport, EvalResult, Method, evaluate, evaluate_csv};
pub use label::Label;
pub use model::{Prediction, SentimentModel};
pub use train::{Algorithm, TrainOptions, TrainReport, train, train_csv};
pub use vader::{Scores, SentimentIntensityAnalyzer};
