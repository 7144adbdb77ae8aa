//! Forwarding `/v1/chat/completions`, `/v1/completions` and `/v1/embeddings` to the model's
//! upstreams. The body goes out as the client sent it, with only `model` rewritten to the
//! upstream's name for it, so fields Portcullis does not know pass through untouched; the
//! answer comes back the same way, streamed chunk by chunk as the upstream sends it.
//!
//! Fail-over: a connection error, a timeout, a 5xx or a 429 before anything was sent to the
//! client moves on to the next target and puts the failed one on a short cool-down. Once the
//! upstream's answer starts flowing to the client it is never retried.

use std::time::Duration;

use app::server::keys::Principal;
use axum::{
    Extension,
    body::{Body, Bytes},
    extract::{State, rejection::BytesRejection},
    http::{HeaderValue, StatusCode, header},
    response::Response,
};
use secrecy::ExposeSecret;
use serde_json::Value;

use super::ApiError;
use crate::AppState;

/// How long a failing target stays out of rotation.
pub const COOLDOWN: Duration = Duration::from_secs(10);

pub async fn chat_completions(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    forward(&state, &who, "chat/completions", body).await
}

pub async fn completions(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    forward(&state, &who, "completions", body).await
}

pub async fn embeddings(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    forward(&state, &who, "embeddings", body).await
}

async fn forward(
    state: &AppState,
    who: &Principal,
    endpoint: &str,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
        _ => ApiError::BadRequest {
            message: e.body_text(),
            param: None,
        },
    })?;
    let mut json: Value = serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest {
        message: format!("the request body is not valid JSON: {e}"),
        param: None,
    })?;
    let model = json
        .get("model")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
        .ok_or_else(|| ApiError::BadRequest {
            message: "you must provide a model".into(),
            param: Some("model"),
        })?
        .to_owned();
    if !who.may_use(&model) {
        return Err(ApiError::ModelNotAllowed(model));
    }
    let targets = state
        .services
        .registry
        .targets(&model)
        .ok_or_else(|| ApiError::ModelNotFound(model.clone()))?;

    let mut last_failure = ApiError::UpstreamUnreachable;
    for target in targets {
        json["model"] = Value::String(target.upstream_model.clone());
        let payload = serde_json::to_vec(&json).map_err(ApiError::internal)?;
        let upstream = &target.upstream;
        let mut req = upstream
            .client
            .post(format!("{}/{endpoint}", upstream.base_url))
            .header(header::CONTENT_TYPE, "application/json")
            .body(payload);
        if let Some(credential) = &upstream.credential {
            req = req.bearer_auth(credential.expose_secret());
        }
        for (name, value) in &upstream.headers {
            req = req.header(name, value);
        }
        let in_flight = target.begin();
        let response = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(upstream = %upstream.name, model = %model, error = %e, "upstream unreachable; trying the next target");
                target.cool_down(COOLDOWN);
                last_failure = if e.is_timeout() {
                    ApiError::UpstreamTimeout
                } else {
                    ApiError::UpstreamUnreachable
                };
                continue;
            }
        };
        let status = response.status();
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            tracing::warn!(upstream = %upstream.name, model = %model, %status, "upstream failed; trying the next target");
            target.cool_down(COOLDOWN);
            let body = response.bytes().await.unwrap_or_default();
            last_failure = ApiError::Upstream {
                status,
                body: serde_json::from_slice(&body).ok(),
            };
            continue;
        }
        let content_type = response.headers().get(header::CONTENT_TYPE).cloned();
        let stream = futures_util::StreamExt::map(response.bytes_stream(), move |chunk| {
            // The guard lives as long as the body is being relayed.
            let _ = &in_flight;
            chunk
        });
        let mut res = Response::new(Body::from_stream(stream));
        *res.status_mut() =
            StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            content_type.unwrap_or_else(|| HeaderValue::from_static("application/json")),
        );
        return Ok(res);
    }
    Err(last_failure)
}
