//! Store errors. The server maps each to a stable API error code.

use aigov_core::{FieldError, Invalid};

/// Result alias.
pub type StoreResult<T> = Result<T, StoreError>;

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such object.
    #[error("{kind} {id} not found")]
    NotFound {
        /// The kind of object.
        kind: &'static str,
        /// The id or ref asked for.
        id: String,
    },
    /// The object changed since the caller read it.
    #[error(
        "{kind} {id} was changed by someone else (now at version {current}, you sent {expected}); reload and retry"
    )]
    VersionConflict {
        /// The kind.
        kind: &'static str,
        /// The id.
        id: String,
        /// The version the caller expected.
        expected: i64,
        /// The current version.
        current: i64,
    },
    /// Input failed validation.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// Row-level errors of an import; nothing was written.
    #[error("{} row(s) are invalid; nothing was imported", .0.len())]
    ImportRows(Vec<FieldError>),
    /// A unique value is taken.
    #[error("{0}")]
    Duplicate(String),
    /// The operation conflicts with the current state (e.g. delete of a linked object).
    #[error("{0}")]
    Conflict(String),
    /// A stage gate blocks the move.
    #[error("the move is blocked by the stage gate: {}", .0.iter().map(|b| b.message.clone()).collect::<Vec<_>>().join("; "))]
    GateBlocked(Vec<aigov_core::records::Blocker>),
    /// Too many failed logins.
    #[error("too many failed logins; try again after {until}")]
    Locked {
        /// When the lock ends.
        until: String,
    },
    /// Wrong username or password, or a disabled user.
    #[error("invalid username or password")]
    BadCredentials,
    /// The database was written by a newer aigov.
    #[error(
        "the database has schema version {found}, newer than this aigov supports ({supported}); upgrade aigov"
    )]
    SchemaTooNew {
        /// Found.
        found: i64,
        /// Supported.
        supported: i64,
    },
    /// The data directory has no database yet.
    #[error("no database at {0}; run `aigov serve` once or pass --data-dir")]
    NoDatabase(String),
    /// Bad configuration.
    #[error("{0}")]
    Config(String),
    /// Cannot connect.
    #[error("cannot connect to the database: {0}")]
    Connect(String),
    /// A migration failed.
    #[error("{0}")]
    Migration(String),
    /// File-system problem.
    #[error("{0}")]
    Io(String),
    /// Not supported on this backend.
    #[error("{0}")]
    Unsupported(String),
    /// A bug.
    #[error("internal error: {0}")]
    Internal(String),
    /// The database reported an error.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

impl StoreError {
    /// A not-found error.
    pub fn not_found(kind: &'static str, id: impl Into<String>) -> StoreError {
        StoreError::NotFound {
            kind,
            id: id.into(),
        }
    }

    /// An invalid-field error.
    pub fn invalid(field: &str, message: impl Into<String>) -> StoreError {
        StoreError::Invalid(Invalid(vec![FieldError::new(field, message)]))
    }

    /// Whether the database said a unique constraint failed.
    pub fn is_unique_violation(e: &sqlx::Error) -> bool {
        match e {
            sqlx::Error::Database(d) => {
                let m = d.message().to_lowercase();
                m.contains("unique") || m.contains("duplicate key")
            }
            _ => false,
        }
    }
}
