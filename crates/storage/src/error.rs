//! The storage error: small and semantic, so the layers above can decide what it means.

/// Re-exported so callers can inspect driver errors without depending on sqlx.
pub use sqlx::Error as SqlxError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A unique key was violated. Carries the index or constraint name when the engine gives it.
    #[error("conflict on {0}")]
    Conflict(String),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Sql(#[source] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                StoreError::Conflict(d.constraint().map(str::to_owned).unwrap_or_else(|| d.message().to_owned()))
            }
            _ => StoreError::Sql(e),
        }
    }
}

impl StoreError {
    #[must_use]
    pub fn is_conflict(&self) -> bool {
        matches!(self, StoreError::Conflict(_))
    }

    /// A transient error worth retrying the whole transaction for: a busy SQLite database, a
    /// PostgreSQL serialization failure or deadlock, a dropped connection.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Sql(sqlx::Error::Database(d)) => {
                let code = d.code().unwrap_or_default();
                matches!(code.as_ref(), "5" | "6" | "517" | "40001" | "40P01")
            }
            StoreError::Sql(sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed) => true,
            _ => false,
        }
    }
}
