//! Errors of `/v1`, in OpenAI's envelope `{"error": {message, type, param, code}}`, so every
//! OpenAI client reports them the way it reports OpenAI's own.

use app::server::limits::RateHeaders;
use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::json;

/// The error code an answer carried, left in its extensions for the metrics layer.
#[derive(Debug, Clone, Copy)]
pub struct ErrorCode(pub &'static str);

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(
        "invalid or missing API key; send it as `Authorization: Bearer <key>` or `X-API-Key: <key>`"
    )]
    InvalidApiKey,
    #[error("this API key has expired")]
    ExpiredApiKey,
    #[error("this API key, or its owner, is disabled")]
    DisabledApiKey,
    #[error("this API key may not be used from your address")]
    AddressNotAllowed,
    #[error("the model `{0}` is not enabled for this key")]
    ModelNotAllowed(String),
    #[error("the model `{0}` does not exist")]
    ModelNotFound(String),
    #[error(
        "the model `{0}` has no price, and a spending limit applies to this key or its owner; \
         ask an administrator to price it"
    )]
    Unpriced(String),
    #[error(
        "the model `{model}` has no price per unit ({unit}), and a spending limit applies to this \
         key or its owner; ask an administrator to set its unit price"
    )]
    UnitUnpriced { model: String, unit: &'static str },
    #[error("{0}")]
    NotFound(String),
    #[error("{message}")]
    BadRequest {
        message: String,
        param: Option<std::borrow::Cow<'static, str>>,
    },
    #[error("the request body is too large")]
    PayloadTooLarge,
    #[error("the request body did not arrive in time")]
    BodyTimeout,
    #[error("every upstream serving this model is unreachable")]
    UpstreamUnreachable,
    #[error("the upstream did not answer in time")]
    UpstreamTimeout,
    /// The upstream answered with something that cannot be passed on.
    #[error("{0}")]
    BadGateway(String),
    #[error("the upstream failed with status {status}")]
    Upstream {
        status: reqwest::StatusCode,
        body: Option<serde_json::Value>,
    },
    /// A usage limit has no room for this request (429).
    #[error("{message}")]
    RateLimited {
        message: String,
        /// `requests` or `tokens` for per-minute limits, `insufficient_quota` for quotas.
        kind: &'static str,
        code: &'static str,
        retry_after: Option<std::time::Duration>,
        /// Boxed: it would double the size of every `Result` carrying an `ApiError`.
        headers: Box<RateHeaders>,
    },
    #[error("usage limits cannot be checked right now; try again shortly")]
    LimitsUnavailable,
    #[error("the gateway is busy with other large requests; try again shortly")]
    Busy,
    #[error("internal error (reference {0})")]
    Internal(String),
}

impl ApiError {
    fn wire(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            Self::InvalidApiKey => (
                StatusCode::UNAUTHORIZED,
                "invalid_request_error",
                "invalid_api_key",
            ),
            Self::ExpiredApiKey => (
                StatusCode::UNAUTHORIZED,
                "invalid_request_error",
                "api_key_expired",
            ),
            Self::DisabledApiKey => (
                StatusCode::UNAUTHORIZED,
                "invalid_request_error",
                "api_key_disabled",
            ),
            Self::AddressNotAllowed => (
                StatusCode::FORBIDDEN,
                "permission_error",
                "address_not_allowed",
            ),
            Self::ModelNotAllowed(_) => (
                StatusCode::FORBIDDEN,
                "permission_error",
                "model_not_allowed",
            ),
            Self::ModelNotFound(_) => (
                StatusCode::NOT_FOUND,
                "invalid_request_error",
                "model_not_found",
            ),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "invalid_request_error", "not_found"),
            Self::Unpriced(_) | Self::UnitUnpriced { .. } => {
                (StatusCode::FORBIDDEN, "permission_error", "model_unpriced")
            }
            Self::BadRequest { .. } => (
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "invalid_request",
            ),
            Self::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request_error",
                "payload_too_large",
            ),
            Self::BodyTimeout => (
                StatusCode::REQUEST_TIMEOUT,
                "invalid_request_error",
                "request_timeout",
            ),
            Self::UpstreamUnreachable => (
                StatusCode::BAD_GATEWAY,
                "upstream_error",
                "upstream_unreachable",
            ),
            Self::UpstreamTimeout => (
                StatusCode::GATEWAY_TIMEOUT,
                "upstream_error",
                "upstream_timeout",
            ),
            Self::BadGateway(_) => (
                StatusCode::BAD_GATEWAY,
                "upstream_error",
                "bad_upstream_answer",
            ),
            Self::Upstream { status, .. } => (
                StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY),
                "upstream_error",
                "upstream_error",
            ),
            Self::RateLimited { kind, code, .. } => (StatusCode::TOO_MANY_REQUESTS, kind, code),
            Self::LimitsUnavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "server_error",
                "limits_unavailable",
            ),
            Self::Busy => (StatusCode::SERVICE_UNAVAILABLE, "server_error", "busy"),
            Self::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "internal_error",
            ),
        }
    }

    pub fn status(&self) -> StatusCode {
        self.wire().0
    }

    /// The low-cardinality code, for metrics.
    pub fn code(&self) -> &'static str {
        self.wire().2
    }

    /// An upstream that could not be reached or stopped answering.
    pub fn transport(e: &reqwest::Error) -> Self {
        if e.is_timeout() {
            Self::UpstreamTimeout
        } else {
            Self::UpstreamUnreachable
        }
    }

    /// Logs the detail server-side; the client sees only a reference.
    pub fn internal(e: impl std::fmt::Display) -> Self {
        let reference = app::server::error::reference();
        tracing::error!(%reference, error = %e, "request failed");
        Self::Internal(reference)
    }
}

impl From<super::request::Rejection> for ApiError {
    fn from(r: super::request::Rejection) -> Self {
        Self::BadRequest {
            message: r.message,
            param: r.param,
        }
    }
}

impl From<super::anthropic::to_chat::Untranslatable> for ApiError {
    fn from(e: super::anthropic::to_chat::Untranslatable) -> Self {
        Self::BadRequest {
            message: e.0,
            param: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, kind, code) = self.wire();
        let param = match &self {
            Self::BadRequest { param, .. } => param.clone(),
            _ => None,
        };
        let busy = matches!(self, Self::Busy);
        let limited = match &self {
            Self::RateLimited {
                retry_after,
                headers,
                ..
            } => Some((*retry_after, **headers)),
            _ => None,
        };
        let body = match self {
            // An upstream's own OpenAI-shaped error passes through as it was.
            Self::Upstream { body: Some(b), .. } if b.get("error").is_some() => b,
            _ => {
                json!({ "error": { "message": self.to_string(), "type": kind, "param": param, "code": code } })
            }
        };
        let mut res = (status, Json(body)).into_response();
        if let Some((retry_after, headers)) = limited {
            super::limits::write_headers(&headers, res.headers_mut());
            if let Some(after) = retry_after {
                let secs = after.as_secs() + u64::from(after.subsec_nanos() > 0);
                res.headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, secs.max(1).into());
            }
        }
        if busy {
            res.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, 1.into());
        }
        res.extensions_mut().insert(ErrorCode(code));
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        res
    }
}
