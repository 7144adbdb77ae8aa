//! The OpenAI-compatible API. Authentication is layered over the whole router, never opted
//! into per handler, so a new endpoint cannot forget it.

pub mod auth;
pub mod error;
pub mod models;
pub mod proxy;
pub mod usage_tap;

use axum::{
    Router,
    extract::DefaultBodyLimit,
    middleware,
    routing::{get, post},
};

pub use error::ApiError;

use crate::AppState;

/// Largest request body `/v1` accepts (images in chat requests make them large).
pub const BODY_LIMIT: usize = 32 * 1024 * 1024;

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/chat/completions", post(proxy::chat_completions))
        .route("/completions", post(proxy::completions))
        .route("/embeddings", post(proxy::embeddings))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .route("/models", get(models::list))
        .route("/models/{*id}", get(models::get))
        .fallback(not_found)
        .route_layer(middleware::from_fn_with_state(state, auth::require))
}

async fn not_found() -> ApiError {
    ApiError::NotFound("this endpoint does not exist".into())
}
