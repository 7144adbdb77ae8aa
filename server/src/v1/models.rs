//! `GET /v1/models` and `GET /v1/models/{id}`: only what the caller may use, in OpenAI's format.

use app::server::keys::Principal;
use axum::{
    Extension, Json,
    extract::{Path, State},
};
use serde_json::{Value, json};

use super::ApiError;
use crate::AppState;

async fn enabled_models(
    state: &AppState,
) -> Result<Vec<(String, chrono::DateTime<chrono::Utc>)>, ApiError> {
    app::server::db::models::enabled(&state.services.db)
        .await
        .map_err(ApiError::internal)
}

fn object(name: &str, created: chrono::DateTime<chrono::Utc>) -> Value {
    json!({ "id": name, "object": "model", "created": created.timestamp(), "owned_by": "portcullis" })
}

pub async fn list(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
) -> Result<Json<Value>, ApiError> {
    let data: Vec<Value> = enabled_models(&state)
        .await?
        .into_iter()
        .filter(|(name, _)| who.may_use(name))
        .map(|(name, created)| object(&name, created))
        .collect();
    Ok(Json(json!({ "object": "list", "data": data })))
}

pub async fn get(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let Some((name, created)) = enabled_models(&state)
        .await?
        .into_iter()
        .find(|(n, _)| *n == id)
    else {
        return Err(ApiError::ModelNotFound(id));
    };
    if !who.may_use(&name) {
        return Err(ApiError::ModelNotAllowed(name));
    }
    Ok(Json(object(&name, created)))
}
