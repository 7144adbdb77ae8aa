//! Errors of the domain layer, and how they reach a server-function caller.

use crate::AppError;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("not signed in")]
    Unauthenticated,
    #[error("access token expired")]
    TokenExpired,
    #[error("wrong username or password")]
    InvalidCredentials,
    #[error("password change required")]
    PasswordChangeRequired,
    #[error("forbidden")]
    Forbidden,
    #[error("{0}")]
    Refused(String),
    #[error("too many attempts; retry in {retry_after} s")]
    TooManyAttempts { retry_after: u64 },
    /// Too much of a bounded resource is in use (password hashing): try again shortly.
    #[error("busy")]
    Busy,
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0} already exists")]
    Conflict(String),
    #[error("configuration: {0}")]
    Config(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Internal(String),
}

impl CoreError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            message: message.into(),
        }
    }

    /// True for a unique-constraint violation, on either backend.
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, Self::Database(sqlx::Error::Database(e)) if e.is_unique_violation())
    }
}

/// A fresh reference that ties what a client is told to the server-side log entry.
pub fn reference() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

impl From<CoreError> for AppError {
    /// Server-side detail stays in the log, tagged with a reference the user can quote.
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::Unauthenticated => AppError::Unauthenticated,
            CoreError::TokenExpired => AppError::TokenExpired,
            CoreError::InvalidCredentials => AppError::InvalidCredentials,
            CoreError::PasswordChangeRequired => AppError::PasswordChangeRequired,
            CoreError::Forbidden => AppError::Forbidden,
            CoreError::Refused(why) => AppError::Refused(why),
            CoreError::TooManyAttempts { retry_after } => AppError::TooManyAttempts { retry_after },
            CoreError::Invalid { field, message } => AppError::invalid(field, message),
            CoreError::NotFound(what) => AppError::NotFound(what.to_owned()),
            CoreError::Conflict(what) => AppError::Conflict(what),
            CoreError::Busy => AppError::Unavailable,
            CoreError::Database(sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed) => {
                tracing::warn!(error = %e, "database unavailable");
                AppError::Unavailable
            }
            other => {
                let reference = reference();
                tracing::error!(%reference, error = %other, "request failed");
                AppError::Internal(reference)
            }
        }
    }
}
