//! `GET /v1/models` and `GET /v1/models/{id}`: the models that can be served now and that the
//! caller may use, in OpenAI's format. Read from the routing table in memory, like routing
//! itself, so what is listed is exactly what can be called.

use app::server::{keys::Principal, upstreams::registry::Model};
use axum::{
    Extension, Json,
    extract::{Path, State},
};
use serde_json::{Value, json};

use super::ApiError;
use crate::AppState;

fn object(m: &Model) -> Value {
    json!({ "id": m.name, "object": "model", "created": m.created_at.timestamp(), "owned_by": "portcullis" })
}

pub async fn list(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
) -> Json<Value> {
    let data: Vec<Value> = state
        .services
        .registry
        .models()
        .iter()
        .filter(|m| who.may_use(&m.name))
        .map(|m| object(m))
        .collect();
    Json(json!({ "object": "list", "data": data }))
}

pub async fn get(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let model = state
        .services
        .registry
        .model(&id)
        .ok_or_else(|| ApiError::ModelNotFound(id.clone()))?;
    if !who.may_use(&model.name) {
        return Err(ApiError::ModelNotAllowed(id));
    }
    Ok(Json(object(&model)))
}
