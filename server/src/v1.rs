//! The OpenAI-compatible API. Authentication is layered over the whole router, never opted
//! into per handler, so a new endpoint cannot forget it.

pub mod auth;
pub mod error;
pub mod models;

use axum::{Router, middleware, routing::get};

pub use error::ApiError;

use crate::AppState;

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/models", get(models::list))
        .route("/models/{*id}", get(models::get))
        .fallback(not_found)
        .route_layer(middleware::from_fn_with_state(state, auth::require))
}

async fn not_found() -> ApiError {
    ApiError::NotFound("this endpoint does not exist".into())
}
