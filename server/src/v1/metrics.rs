//! Counts every `/v1` answer, refused ones included, by endpoint, model and status.

use std::time::Instant;

use app::server::{
    metrics::{EndpointLabels, ErrorLabels, RequestLabels},
    usage::Endpoint,
};
use axum::{
    extract::{Request, State},
    middleware::Next,
    response::Response,
};

use super::{error::ErrorCode, proxy::ModelLabel};
use crate::AppState;

/// The endpoint label of a path: one of a fixed set, so clients cannot mint label values.
fn endpoint_of(path: &str) -> &'static str {
    match path.trim_start_matches("/v1").trim_start_matches('/') {
        "messages/count_tokens" => "messages/count_tokens",
        p if p == "models" || p.starts_with("models/") => "models",
        p if p.starts_with("responses/") => "responses",
        "v2/rerank" => "rerank",
        p => Endpoint::from_name(p).map_or("other", Endpoint::name),
    }
}

pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let endpoint = endpoint_of(req.uri().path());
    observe(state, endpoint, req, next).await
}

/// [`track`], for the paths upstreams declare ([`super::extra`]): all under one label.
pub async fn track_passthrough(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    observe(state, Endpoint::Passthrough.name(), req, next).await
}

async fn observe(state: AppState, endpoint: &'static str, req: Request, next: Next) -> Response {
    let started = Instant::now();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_has_a_label_from_a_fixed_set() {
        for (path, label) in [
            ("/v1/chat/completions", "chat/completions"),
            ("/v1/responses", "responses"),
            ("/v1/responses/resp_1/input_items", "responses"),
            ("/v1/audio/transcriptions", "audio/transcriptions"),
            ("/rerank", "rerank"),
            ("/v2/rerank", "rerank"),
            ("/v1/models/a/b", "models"),
            ("/v1/messages/count_tokens", "messages/count_tokens"),
            ("/v1/made-up-by-a-client", "other"),
        ] {
            assert_eq!(endpoint_of(path), label, "{path}");
        }
    }
}
