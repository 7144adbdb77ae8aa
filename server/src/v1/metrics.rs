//! Counts every `/v1` answer, refused ones included, by endpoint, model and status.

use std::time::Instant;

use app::server::metrics::{EndpointLabels, ErrorLabels, RequestLabels};
use axum::{
    extract::{Request, State},
    middleware::Next,
    response::Response,
};

use super::{error::ErrorCode, proxy::ModelLabel};
use crate::AppState;

pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let endpoint = match req.uri().path().trim_start_matches("/v1") {
        "/chat/completions" => "chat/completions",
        "/completions" => "completions",
        "/embeddings" => "embeddings",
        "/messages" => "messages",
        "/messages/count_tokens" => "messages/count_tokens",
        p if p == "/models" || p.starts_with("/models/") => "models",
        _ => "other",
    };
    let res = next.run(req).await;
    let metrics = &state.services.metrics;
    let model = res
        .extensions()
        .get::<ModelLabel>()
        .map_or_else(String::new, |m| m.0.clone());
    metrics
        .duration
        .get_or_create(&EndpointLabels { endpoint })
        .observe(started.elapsed().as_secs_f64());
    let code = match res.extensions().get::<ErrorCode>() {
        Some(ErrorCode(code)) => Some(*code),
        // An upstream's own error, passed through.
        None => (!res.status().is_success()).then_some("upstream_error"),
    };
    if let Some(code) = code {
        metrics
            .errors
            .get_or_create(&ErrorLabels {
                endpoint,
                model: model.clone(),
                code,
            })
            .inc();
    }
    metrics
        .requests
        .get_or_create(&RequestLabels {
            endpoint,
            model,
            status: res.status().as_u16(),
        })
        .inc();
    res
}
