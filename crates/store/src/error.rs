//! The storage crate's one error type.

use neuracrm_domain::DomainError;

/// What a repository call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No row with this id exists in the caller's organization (it may exist in
    /// another one: callers cannot tell the difference, by design).
    #[error("{entity} not found")]
    NotFound {
        /// The kind of record, e.g. `lead`.
        entity: &'static str,
    },
    /// A unique constraint was violated.
    #[error("a {entity} with this {field} already exists")]
    Conflict {
        /// The kind of record.
        entity: &'static str,
        /// The field that must be unique.
        field: &'static str,
    },
    /// A referenced record does not exist in the caller's organization.
    #[error("{field} does not name an existing {entity}")]
    BadReference {
        /// The referencing field, e.g. `contact_id`.
        field: &'static str,
        /// The kind of record referenced.
        entity: &'static str,
    },
    /// Input failed domain validation.
    #[error(transparent)]
    Invalid(#[from] DomainError),
    /// The URL does not name a supported database.
    #[error("unsupported database URL (expected sqlite://PATH or postgres://...): {0}")]
    BadUrl(String),
    /// Opening the database failed (unreachable server, unwritable file, ...).
    #[error("cannot open the database at {target}: {source}")]
    Connect {
        /// The database, with any password removed.
        target: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// Applying migrations failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value could not be read back (corrupt or foreign data).
    #[error("stored {entity} is unreadable: {message}")]
    Corrupt {
        /// The kind of record.
        entity: &'static str,
        /// What was wrong.
        message: String,
    },
    /// A backup would overwrite an existing file.
    #[error("{} already exists: a backup never overwrites a file, choose a new name", path.display())]
    BackupTargetExists {
        /// The file asked for.
        path: std::path::PathBuf,
    },
    /// A backup could not be taken; the message says why, in words.
    #[error("{0}")]
    Backup(String),
    /// Any other database error.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// Result alias for the crate.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl StoreError {
    /// Maps a unique violation of `entity` to [`StoreError::Conflict`], naming
    /// the first of `fields` that the constraint mentions; other errors pass.
    pub(crate) fn unique(err: sqlx::Error, entity: &'static str, fields: &[&'static str]) -> Self {
        if let Some(db) = err.as_database_error()
            && db.is_unique_violation()
        {
            let text = format!("{} {}", db.message(), db.constraint().unwrap_or_default());
            let field = fields
                .iter()
                .find(|f| text.contains(*f))
                .copied()
                .unwrap_or("id");
            return StoreError::Conflict { entity, field };
        }
        StoreError::Database(err)
    }
}
