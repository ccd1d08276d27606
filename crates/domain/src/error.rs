//! The one error type of the domain: a value that failed validation.

/// A value was rejected while parsing untrusted input.
///
/// Every variant names the field, so that an API can point at it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DomainError {
    /// A required text was empty or only white space.
    #[error("{field} must not be empty")]
    Empty {
        /// The offending field.
        field: &'static str,
    },
    /// A text was longer than allowed.
    #[error("{field} must be at most {max} characters")]
    TooLong {
        /// The offending field.
        field: &'static str,
        /// The limit, in characters.
        max: usize,
    },
    /// The text is not a plausible e-mail address.
    #[error("{field} is not a valid e-mail address")]
    InvalidEmail {
        /// The offending field.
        field: &'static str,
    },
    /// A number was below its minimum (money, durations, sizes).
    #[error("{field} must not be negative")]
    Negative {
        /// The offending field.
        field: &'static str,
    },
    /// A number was outside its range.
    #[error("{field} must be between {min} and {max}")]
    OutOfRange {
        /// The offending field.
        field: &'static str,
        /// Smallest allowed value.
        min: f64,
        /// Largest allowed value.
        max: f64,
    },
    /// A number above its maximum (money).
    #[error("{field} must be at most {max}")]
    AboveMaximum {
        /// The offending field.
        field: &'static str,
        /// The maximum, in words (e.g. `10000000000000 (10^13 currency units)`).
        max: &'static str,
    },
    /// A date or time outside [`MIN_DATE`](crate::MIN_DATE)..=[`MAX_DATE`](crate::MAX_DATE).
    #[error(
        "{field} must fall between {} and {}",
        crate::MIN_DATE,
        crate::MAX_DATE
    )]
    OutsideDates {
        /// The offending field.
        field: &'static str,
    },
    /// A word that is not part of a closed vocabulary.
    #[error("{field}: unknown value '{value}', expected one of: {expected}")]
    UnknownVariant {
        /// The offending field.
        field: &'static str,
        /// What was given (truncated).
        value: String,
        /// The accepted words, comma-separated.
        expected: &'static str,
    },
    /// A date or timestamp that does not follow the expected format.
    #[error("{field} must be a date in the form {format}")]
    BadDate {
        /// The offending field.
        field: &'static str,
        /// The accepted format, e.g. `YYYY-MM-DD`.
        format: &'static str,
    },
    /// A number written in a form that is not accepted.
    #[error("{field} must be {expected}")]
    BadNumber {
        /// The offending field.
        field: &'static str,
        /// What is accepted, e.g. `an amount like 1500 or 1,500.50`.
        expected: &'static str,
    },
    /// A password that is easy to guess.
    #[error("{field} {weakness}")]
    WeakPassword {
        /// The offending field.
        field: &'static str,
        /// Why it is easy to guess.
        weakness: PasswordWeakness,
    },
    /// Two fields that must agree do not.
    #[error("{field}: {message}")]
    Inconsistent {
        /// The offending field.
        field: &'static str,
        /// What is inconsistent.
        message: String,
    },
}

impl DomainError {
    /// The field the error is about.
    pub fn field(&self) -> &'static str {
        match self {
            DomainError::Empty { field }
            | DomainError::TooLong { field, .. }
            | DomainError::InvalidEmail { field }
            | DomainError::Negative { field }
            | DomainError::OutOfRange { field, .. }
            | DomainError::AboveMaximum { field, .. }
            | DomainError::OutsideDates { field }
            | DomainError::UnknownVariant { field, .. }
            | DomainError::BadDate { field, .. }
            | DomainError::BadNumber { field, .. }
            | DomainError::WeakPassword { field, .. }
            | DomainError::Inconsistent { field, .. } => field,
        }
    }
}

/// Why a password of an acceptable length was still refused
/// ([`DomainError::WeakPassword`]). Displays as the end of a sentence about
/// the field, in words meant for the person choosing the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordWeakness {
    /// It is on the list of the most common passwords.
    Common,
    /// It is, or contains, the user's e-mail address or name.
    Personal,
}

impl std::fmt::Display for PasswordWeakness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PasswordWeakness::Common => {
                "is one of the most commonly used passwords; choose one that is harder to guess (a few unrelated words work well)"
            }
            PasswordWeakness::Personal => "must not contain your e-mail address or name",
        })
    }
}
