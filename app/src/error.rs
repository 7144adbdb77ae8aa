//! The error every server function returns: serialisable, so the WASM client receives the same
//! variant the server produced, and worded for the person reading it.
//!
//! On the wire it is `{"code": "...", "message": "...", …}` with the matching HTTP status, so
//! scripts and curl users get a readable answer too.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(into = "WireError", try_from = "WireError")]
pub enum AppError {
    #[error("please sign in")]
    Unauthenticated,
    #[error("your session has expired")]
    TokenExpired,
    #[error("wrong username or password")]
    InvalidCredentials,
    #[error("you must change your password before doing anything else")]
    PasswordChangeRequired,
    #[error("you don't have permission to do that")]
    Forbidden,
    #[error("{0} not found")]
    NotFound(String),
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("{0} already exists")]
    Conflict(String),
    #[error("{0}")]
    Refused(String),
    #[error("too many attempts; try again in {retry_after} seconds")]
    TooManyAttempts { retry_after: u64 },
    #[error("the service is not available right now; try again shortly")]
    Unavailable,
    #[error("something went wrong on the server (reference {0})")]
    Internal(String),
    #[error("could not reach the server: {0}")]
    Transport(String),
}

impl AppError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            Self::Unauthenticated | Self::TokenExpired | Self::InvalidCredentials => 401,
            Self::PasswordChangeRequired | Self::Forbidden => 403,
            Self::NotFound(_) => 404,
            Self::Invalid { .. } => 400,
            Self::Conflict(_) | Self::Refused(_) => 409,
            Self::TooManyAttempts { .. } => 429,
            Self::Unavailable => 503,
            Self::Internal(_) => 500,
            Self::Transport(_) => 502,
        }
    }

    /// A stable, machine-readable name the UI and scripts can act on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated => "unauthenticated",
            Self::TokenExpired => "token_expired",
            Self::InvalidCredentials => "invalid_credentials",
            Self::PasswordChangeRequired => "password_change_required",
            Self::Forbidden => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::Invalid { .. } => "invalid",
            Self::Conflict(_) => "conflict",
            Self::Refused(_) => "refused",
            Self::TooManyAttempts { .. } => "too_many_attempts",
            Self::Unavailable => "unavailable",
            Self::Internal(_) => "internal",
            Self::Transport(_) => "transport",
        }
    }
}

/// The JSON shape of an [`AppError`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireError {
    pub code: String,
    pub message: String,
    /// The subject of `not_found` and `conflict`, or the offending field of `invalid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// For `invalid`: what is wrong with the field; for `refused`, `internal`, `transport`: the
    /// detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

impl From<AppError> for WireError {
    fn from(e: AppError) -> Self {
        let message = e.to_string();
        let code = e.code().to_owned();
        let (subject, detail, retry_after) = match e {
            AppError::NotFound(s) | AppError::Conflict(s) => (Some(s), None, None),
            AppError::Invalid { field, message } => (Some(field), Some(message), None),
            AppError::Refused(d) | AppError::Internal(d) | AppError::Transport(d) => {
                (None, Some(d), None)
            }
            AppError::TooManyAttempts { retry_after } => (None, None, Some(retry_after)),
            _ => (None, None, None),
        };
        Self {
            code,
            message,
            subject,
            detail,
            retry_after,
        }
    }
}

impl TryFrom<WireError> for AppError {
    type Error = String;

    fn try_from(w: WireError) -> Result<Self, Self::Error> {
        let subject = || w.subject.clone().unwrap_or_default();
        let detail = || w.detail.clone().unwrap_or_default();
        Ok(match w.code.as_str() {
            "unauthenticated" => Self::Unauthenticated,
            "token_expired" => Self::TokenExpired,
            "invalid_credentials" => Self::InvalidCredentials,
            "password_change_required" => Self::PasswordChangeRequired,
            "forbidden" => Self::Forbidden,
            "not_found" => Self::NotFound(subject()),
            "invalid" => Self::Invalid {
                field: subject(),
                message: detail(),
            },
            "conflict" => Self::Conflict(subject()),
            "refused" => Self::Refused(detail()),
            "too_many_attempts" => Self::TooManyAttempts {
                retry_after: w.retry_after.unwrap_or(1),
            },
            "unavailable" => Self::Unavailable,
            "internal" => Self::Internal(detail()),
            "transport" => Self::Transport(detail()),
            other => return Err(format!("unknown error code `{other}`: {}", w.message)),
        })
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(e: ServerFnErrorErr) -> Self {
        match e {
            // The request itself was malformed (bad JSON, missing field): the caller's mistake.
            ServerFnErrorErr::Args(m) | ServerFnErrorErr::Deserialization(m) => {
                Self::invalid("request", m)
            }
            other => Self::Transport(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_survives_the_wire() {
        for e in [
            AppError::Unauthenticated,
            AppError::TokenExpired,
            AppError::InvalidCredentials,
            AppError::PasswordChangeRequired,
            AppError::Forbidden,
            AppError::NotFound("user".into()),
            AppError::invalid("password", "too short"),
            AppError::Conflict("user `a`".into()),
            AppError::Refused("no".into()),
            AppError::TooManyAttempts { retry_after: 7 },
            AppError::Unavailable,
            AppError::Internal("ref".into()),
            AppError::Transport("down".into()),
        ] {
            let json = serde_json::to_string(&e).unwrap();
            assert_eq!(
                serde_json::from_str::<AppError>(&json).unwrap(),
                e,
                "{json}"
            );
        }
    }

    #[test]
    fn the_wire_form_reads_well() {
        let json = serde_json::to_value(AppError::TooManyAttempts { retry_after: 30 }).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "code": "too_many_attempts",
                "message": "too many attempts; try again in 30 seconds",
                "retry_after": 30
            })
        );
    }
}
