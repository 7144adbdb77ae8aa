//! `GET /v1/models` and `GET /v1/models/{id}`: the models that can be served now and that the
//! caller may use. Read from the routing table in memory, like routing itself, so what is
//! listed is exactly what can be called. One shape serves both SDKs: OpenAI's fields (`object`,
//! `created`, `owned_by`) and Anthropic's (`type`, `display_name`, `created_at`, and the page's
//! `has_more`, `first_id`, `last_id`); each ignores the other's.

use app::server::{keys::Principal, upstreams::registry::Model};
use axum::{
    Extension, Json,
    extract::{Path, State},
};
use serde_json::{Value, json};

use super::ApiError;
use crate::AppState;

fn object(m: &Model) -> Value {
    json!({
        "id": m.name, "object": "model", "created": m.created_at.timestamp(), "owned_by": "portcullis",
        "type": "model", "display_name": m.name,
        "created_at": m.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    })
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
    let id_at = |i: Option<&Value>| i.map_or(Value::Null, |m| m["id"].clone());
    Json(json!({
        "object": "list", "first_id": id_at(data.first()), "last_id": id_at(data.last()),
        "has_more": false, "data": data,
    }))
}

pub async fn get(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    // Permission first, as for inference: a restricted key learns nothing of which names exist.
    if !who.may_use(&id) {
        return Err(ApiError::ModelNotAllowed(id));
    }
    let model = state
        .services
        .registry
        .model(&id)
        .ok_or_else(|| ApiError::ModelNotFound(id.clone()))?;
    Ok(Json(object(&model)))
}
