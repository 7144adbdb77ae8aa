//! Errors on the Anthropic endpoints in Anthropic's shape,
//! `{"type": "error", "error": {"type": …, "message": …}}`, whoever raised them: the key check,
//! limits, routing, or the upstream.

use axum::{
    Json,
    extract::Request,
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

/// Error bodies are small; a larger one is not an error envelope worth reading.
const ERROR_LIMIT: usize = 64 * 1024;

/// Anthropic's error type for a status.
pub fn kind(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 | 422 => "invalid_request_error",
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        503 | 529 => "overloaded_error",
        504 => "timeout_error",
        _ => "api_error",
    }
}

pub fn anthropic_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(json!({ "type": "error", "error": { "type": kind(status), "message": message } })),
    )
        .into_response()
}

/// Rewrites any error answer into Anthropic's shape, keeping its status and headers
/// (`Retry-After`, rate-limit headers).
pub async fn rewrite(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    let status = res.status();
    if status.is_success() {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let bytes = axum::body::to_bytes(body, ERROR_LIMIT)
        .await
        .unwrap_or_default();
    let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if v.get("type").and_then(Value::as_str) == Some("error") {
        // Already Anthropic's.
        return Response::from_parts(parts, axum::body::Body::from(bytes));
    }
    let message = v
        .pointer("/error/message")
        .or_else(|| v.get("message"))
        .and_then(Value::as_str)
        .map_or_else(
            || status.canonical_reason().unwrap_or("error").to_owned(),
            str::to_owned,
        );
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let body = json!({ "type": "error", "error": { "type": kind(status), "message": message } });
    (parts, Json(body)).into_response()
}
