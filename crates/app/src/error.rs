//! The application error. Each variant has one meaning the web layer maps to one HTTP status
//! (in `switchboard-web`'s `error` module, the only place that does).

use switchboard_core::Invalid;
use switchboard_storage::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 400: the request could not be understood.
    #[error("{0}")]
    Malformed(String),
    /// 401: no valid credentials.
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// 403: authenticated, not allowed. `code` says why (`forbidden`, `ip_not_allowed`,
    /// `mfa_required`).
    #[error("{message}")]
    Forbidden { code: &'static str, message: &'static str },
    /// 404, also for objects of another tenant.
    #[error("not found")]
    NotFound,
    /// 409.
    #[error("{message}")]
    Conflict { field: Option<String>, message: String },
    /// 409: the object is not in a state that allows this (an unverified data-subject request,
    /// a locked verification). `code` names the state.
    #[error("{message}")]
    WrongState { code: &'static str, message: &'static str },
    /// 410: the object existed but is used up for good (an invitation link used, revoked or
    /// expired). `code` says which.
    #[error("{message}")]
    Gone { code: &'static str, message: &'static str },
    /// 422: a value is not acceptable.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// 429.
    #[error("too many requests")]
    RateLimited { retry_after_secs: u64 },
    /// 502: an upstream provider (Meta's Graph API) failed.
    #[error("{message}")]
    Upstream { code: &'static str, message: String },
    /// 503: a dependency (the database) is unavailable.
    #[error("service unavailable")]
    Unavailable,
    /// 500. The detail is logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    #[must_use]
    pub fn forbidden() -> Self {
        AppError::Forbidden { code: "forbidden", message: "you do not have permission to do this" }
    }

    pub fn internal(e: impl std::fmt::Display) -> Self {
        AppError::Internal(e.to_string())
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => AppError::NotFound,
            StoreError::Conflict(c) => AppError::Conflict { field: None, message: format!("already exists ({c})") },
            StoreError::Sql(sqlx_err) if is_unavailable(&sqlx_err) => {
                // The client only learns "503"; the log says which dependency and how.
                tracing::warn!(error = %sqlx_err, "database unavailable");
                AppError::Unavailable
            }
            other => AppError::Internal(other.to_string()),
        }
    }
}

fn is_unavailable(e: &switchboard_storage::error::SqlxError) -> bool {
    matches!(
        e,
        switchboard_storage::error::SqlxError::PoolTimedOut
            | switchboard_storage::error::SqlxError::PoolClosed
            | switchboard_storage::error::SqlxError::Io(_)
    )
}

impl From<switchboard_privacy::CryptoError> for AppError {
    fn from(e: switchboard_privacy::CryptoError) -> Self {
        AppError::Internal(format!("sealed data could not be opened: {e}"))
    }
}
