//! The one error of every action, and the one conversion from each lower
//! layer's error into it.

use neuracrm_domain::DomainError;
use neuracrm_jobs::JobError;
use neuracrm_store::StoreError;

/// Why an action did not happen. Front ends map it through one table each
/// (the JSON API to status codes, the web UI to messages on the page).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ActionError {
    /// An input field is invalid (wrong value, too long, inconsistent).
    #[error("{message}")]
    Invalid {
        /// The offending field, named as the caller named it.
        field: String,
        /// What is wrong, in words.
        message: String,
    },
    /// A field names a record that does not exist in the caller's
    /// organization.
    #[error("{message}")]
    BadReference {
        /// The referencing field.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A filter or paging parameter of a read is invalid.
    #[error("{message}")]
    BadQuery {
        /// The parameter, when one is to blame.
        field: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// An uploaded document cannot be read at all (not CSV, cut off).
    #[error("{0}")]
    Unreadable(String),
    /// An uploaded document is larger than the configured limit.
    #[error("the document is too large")]
    TooLarge,
    /// No such record in the caller's organization (records of other
    /// organizations do not exist for a caller).
    #[error("{0} not found")]
    NotFound(String),
    /// The write contradicts what is stored (a taken unique value, a rule
    /// about the caller's own account).
    #[error("{message}")]
    Conflict {
        /// The field concerned.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The caller's role does not allow this action.
    #[error("your role does not allow this")]
    Forbidden,
    /// The caller's account no longer exists (or the credentials it acted
    /// with no longer hold).
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// A webhook call's signature is missing, wrong or expired (it carries
    /// no user credentials to ask for).
    #[error("{0}")]
    BadSignature(&'static str),
    /// Too many requests of this kind for now.
    #[error("{message}")]
    RateLimited {
        /// What limit was reached.
        message: String,
        /// When to try again.
        retry_after_secs: u64,
    },
    /// An outside service (Retell) refused or failed; the message says
    /// which and why, and carries no secret.
    #[error("{0}")]
    Upstream(String),
    /// Anything else; the text is for the log, never for the caller.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Result of an action.
pub type ActionResult<T> = Result<T, ActionError>;

impl ActionError {
    /// An invalid input `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ActionError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    /// An invalid read parameter `field`.
    pub fn bad_query(field: impl Into<String>, message: impl Into<String>) -> Self {
        ActionError::BadQuery {
            field: Some(field.into()),
            message: message.into(),
        }
    }

    /// A domain check of a read parameter (paging, dates) that failed.
    pub fn query(e: DomainError) -> Self {
        ActionError::BadQuery {
            field: Some(e.field().to_string()),
            message: e.to_string(),
        }
    }
}

impl From<StoreError> for ActionError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { entity } => ActionError::NotFound(entity.into()),
            StoreError::Conflict { entity, field } => ActionError::Conflict {
                field: field.into(),
                message: format!("a {entity} with this {field} already exists"),
            },
            StoreError::BadReference { field, entity } => ActionError::BadReference {
                field: field.into(),
                message: format!("{field} does not name an existing {entity}"),
            },
            StoreError::Invalid(d) => d.into(),
            other => ActionError::Internal(error_chain(&other)),
        }
    }
}

impl From<DomainError> for ActionError {
    fn from(d: DomainError) -> Self {
        ActionError::Invalid {
            field: d.field().into(),
            message: d.to_string(),
        }
    }
}

impl From<JobError> for ActionError {
    fn from(e: JobError) -> Self {
        match e {
            JobError::Store(s) => s.into(),
            other => ActionError::Internal(error_chain(&other)),
        }
    }
}

/// An error and its sources, for the log.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
