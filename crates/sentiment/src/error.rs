//! The crate's single error type, so callers (CLI, server) match on one enum
//! and every failure, from a bad CSV to a tampered model file, is a value and
//! never a panic.

/// Everything that can go wrong in `neuracrm-sentiment`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading an input or writing an output failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// The CSV input is malformed (unbalanced quotes, invalid UTF-8, ...).
    #[error("CSV error: {0}")]
    Csv(#[from] csv::Error),
    /// The CSV input has no column of the requested name.
    #[error("CSV has no column {column:?} (found: {found})")]
    MissingColumn {
        /// The column that was asked for.
        column: String,
        /// The header as read, comma-separated, to help the user.
        found: String,
    },
    /// A label is not one of positive/neutral/negative (or pos/neu/neg, 1/0/-1).
    #[error(
        "data row {row}: unknown label {label:?} (expected positive, neutral, negative, pos/neu/neg or 1/0/-1)"
    )]
    UnknownLabel {
        /// 1-based data row (header not counted).
        row: usize,
        /// The label as found.
        label: String,
    },
    /// There is too little data, or too few classes, for the operation.
    #[error("not enough data: {0}")]
    NotEnoughData(String),
    /// A training or evaluation option is out of range.
    #[error("invalid option: {0}")]
    InvalidOption(String),
    /// The file does not start with the model magic header: not a model file.
    #[error("not a NeuraCRM sentiment model file (magic header missing)")]
    NotAModel,
    /// The file ends before the length its header announces.
    #[error("model file is truncated: expected {expected} payload bytes, found {found}")]
    Truncated {
        /// Payload length written in the header.
        expected: u64,
        /// Payload bytes actually present.
        found: u64,
    },
    /// The payload checksum does not match: the file was altered or damaged.
    #[error("model file is corrupt: checksum mismatch")]
    ChecksumMismatch,
    /// The model was written by a format this build does not read.
    #[error("unsupported model format version {found} (this build reads version {supported})")]
    UnsupportedVersion {
        /// Version found in the file.
        found: u32,
        /// Version this build reads.
        supported: u32,
    },
    /// The payload decoded but is inconsistent (e.g. a tree node pointing
    /// outside the tree, a vocabulary index beyond the IDF vector).
    #[error("model file is invalid: {0}")]
    InvalidModel(String),
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
