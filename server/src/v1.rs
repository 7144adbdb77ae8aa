//! The OpenAI-compatible API. Authentication is layered over the whole router, never opted
//! into per handler, so a new endpoint cannot forget it.

pub mod accounting;
pub mod anthropic;
pub mod audio_length;
pub mod auth;
pub mod bearer_cache;
pub mod body;
pub mod error;
pub mod exchange;
pub mod extra;
pub mod limits;
pub mod measure;
pub mod media;
pub mod metrics;
pub mod models;
pub mod payload;
pub mod proxy;
pub mod request;
pub mod rerank;
pub mod responses;
pub mod upload;
pub mod usage_tap;

#[cfg(test)]
mod properties;

use axum::{
    Router,
    extract::{DefaultBodyLimit, OriginalUri, Request, State},
    middleware,
    response::{IntoResponse, Response},
    routing::{any, get, post},
};

pub use error::ApiError;

use crate::AppState;

pub fn router(state: AppState) -> Router<AppState> {
    let body_limit = state.services.v1_body_limit;
    // Anthropic's API: its own error shape, outside the key check so that refusals get it too.
    let anthropic = Router::new()
        .route("/messages", post(anthropic::messages::create))
        .route(
            "/messages/count_tokens",
            post(anthropic::count_tokens::count),
        )
        // Batches, files and the rest of Anthropic's API are not served; say so in its shape.
        .route("/messages/{*rest}", any(not_found))
        .layer(DefaultBodyLimit::max(body_limit))
        .route_layer(middleware::from_fn_with_state(state.clone(), auth::require))
        .layer(middleware::from_fn(anthropic::errors::rewrite));
    Router::new()
        .route("/chat/completions", post(proxy::chat_completions))
        .route("/completions", post(proxy::completions))
        .route("/embeddings", post(proxy::embeddings))
        .route("/responses", post(responses::create))
        .route("/rerank", post(media::rerank))
        .route("/audio/speech", post(media::speech))
        .route("/images/generations", post(media::image_generations))
        .route("/moderations", post(media::moderations))
        .layer(DefaultBodyLimit::max(body_limit))
        // Uploads are spooled as they arrive, under a limit of their own.
        .route("/audio/transcriptions", post(media::transcriptions))
        .route("/audio/translations", post(media::translations))
        .route("/images/edits", post(media::image_edits))
        .route("/images/variations", post(media::image_variations))
        .route(
            "/responses/{id}",
            get(responses::stored::get).delete(responses::stored::delete),
        )
        .route(
            "/responses/{id}/input_items",
            get(responses::stored::input_items),
        )
        .route("/models", get(models::list))
        .route("/models/{*id}", get(models::get))
        .fallback(fallback)
        .route_layer(middleware::from_fn_with_state(state.clone(), auth::require))
        .merge(anthropic)
        .layer(middleware::from_fn_with_state(state, metrics::track))
}

/// Rerank where clients other than OpenAI's look for it: at the root (Jina's and Xinference's
/// clients) and under `/v2` (Cohere's v2 client), on the same checks as `/v1`.
pub fn rerank_aliases(state: AppState) -> Router<AppState> {
    let body_limit = state.services.v1_body_limit;
    Router::new()
        .route("/rerank", post(media::rerank))
        .route("/v2/rerank", post(media::rerank))
        .layer(DefaultBodyLimit::max(body_limit))
        .route_layer(middleware::from_fn_with_state(state.clone(), auth::require))
        .layer(middleware::from_fn_with_state(state, metrics::track))
}

async fn not_found() -> ApiError {
    ApiError::NotFound("this endpoint does not exist".into())
}

/// A path no route took: an upstream's declared path ([`extra`]), or not found.
async fn fallback(
    State(state): State<AppState>,
    OriginalUri(original): OriginalUri,
    mut req: Request,
) -> Response {
    // Nested under `/v1`, the request's own URI lost the prefix the client called.
    *req.uri_mut() = original;
    if extra::claims(&state, &req) {
        return extra::serve(state, req).await;
    }
    not_found().await.into_response()
}
