//! Responses the gateway keeps, when it is set to (`--store-responses`): each answer is kept
//! with its own turn's input, linked to the one before it by `previous_response_id`, readable
//! only by the user whose key made it, and deleted when its retention ends. A request naming a
//! previous response gets the conversation so far put in front of its input before it is
//! routed, so every upstream (translated or not) sees the whole history.

use std::time::Duration;

use app::server::{
    Services,
    db::{self, Db, responses::NewStoredResponse},
    keys::Principal,
};
use axum::{
    Extension, Json,
    extract::{Path, Query, State},
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    AppState,
    v1::{ApiError, body::Body},
};

/// Responses one conversation may chain before a request naming its last is refused.
const MAX_CHAIN: usize = 1_000;

/// What a Responses request keeps of itself, for the keeper.
#[derive(Debug, Clone)]
pub struct Turn {
    /// This request's own input items (without the history put in front of them).
    pub input: Value,
    pub previous_response_id: Option<String>,
    /// Whether its answer is to be kept: storage is on and the request did not say `store: false`.
    pub keep: bool,
}

fn storage_off(what: &str, param: Option<&'static str>) -> ApiError {
    ApiError::BadRequest {
        message: format!(
            "this gateway does not keep responses, so {what} is not available: send the whole conversation in `input` with `store: false` (an administrator can turn storage on with --store-responses)"
        ),
        param: param.map(Into::into),
    }
}

/// The body to route, with the conversation a `previous_response_id` names put in front of its
/// input, and the turn to keep; the body as it came when storage is off.
pub async fn prepare(
    services: &Services,
    who: &Principal,
    body: Body,
) -> Result<(Body, Option<Turn>), ApiError> {
    let bytes = body.0?;
    // The fields state rests on, read first: a duplicate of either is refused here, where a
    // full reading would keep the last one and the upstream might keep another.
    #[derive(Deserialize)]
    struct Head<'a> {
        #[serde(default)]
        previous_response_id: Option<Value>,
        #[serde(default)]
        store: Option<Value>,
        #[serde(default)]
        conversation: Option<Value>,
        #[serde(default, borrow)]
        input: Option<&'a serde_json::value::RawValue>,
    }
    #[derive(Deserialize)]
    struct Item<'a> {
        #[serde(rename = "type", default, borrow)]
        kind: Option<std::borrow::Cow<'a, str>>,
    }
    let not_json = |e: serde_json::Error| ApiError::BadRequest {
        message: format!("the request body is not valid JSON: {e}"),
        param: None,
    };
    let head = serde_json::from_slice::<Head<'_>>(&bytes).map_err(not_json)?;
    // An item reference names an item in the upstream's own store, which every user here
    // shares: refused on every path, passed-through ones included.
    if let Some(input) = head.input.filter(|i| i.get().starts_with('['))
        && serde_json::from_str::<Vec<Item<'_>>>(input.get())
            .map_err(not_json)?
            .iter()
            .any(|i| i.kind.as_deref() == Some("item_reference"))
    {
        return Err(ApiError::BadRequest {
            message: "item references are not available here: send the items themselves in `input`"
                .into(),
            param: Some("input".into()),
        });
    }
    if head.conversation.is_some_and(|c| !c.is_null()) {
        // Conversations live in the upstream's account, which every user here shares.
        return Err(ApiError::BadRequest {
            message:
                "`conversation` is not available here: send the conversation's items in `input`"
                    .into(),
            param: Some("conversation".into()),
        });
    }
    let previous = match head.previous_response_id {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) => Some(id),
        Some(_) => {
            return Err(ApiError::BadRequest {
                message: "`previous_response_id` must be a string".into(),
                param: Some("previous_response_id".into()),
            });
        }
    };
    let keep = head.store != Some(Value::Bool(false));
    let Some(_) = services.response_retention else {
        // Without storage, an id could only name a response in the upstream's own store,
        // which every user of this gateway shares.
        if previous.is_some() {
            return Err(storage_off(
                "`previous_response_id`",
                Some("previous_response_id"),
            ));
        }
        return Ok((Body(Ok(bytes)), None));
    };
    if !keep && previous.is_none() {
        return Ok((Body(Ok(bytes)), None));
    }
    let Ok(Value::Object(mut request)) = serde_json::from_slice::<Value>(&bytes) else {
        return Ok((Body(Ok(bytes)), None));
    };
    let input = match request.get("input") {
        Some(Value::String(text)) => json!([{
            "type": "message", "role": "user",
            "content": [{ "type": "input_text", "text": text }],
        }]),
        Some(items @ Value::Array(_)) => items.clone(),
        _ => json!([]),
    };
    request.remove("previous_response_id");
    let Some(previous_id) = previous.clone() else {
        let turn = Turn {
            input,
            previous_response_id: None,
            keep,
        };
        return Ok((Body(Ok(bytes)), Some(turn)));
    };
    let mut history = conversation(&services.db, who.user_id(), &previous_id).await?;
    if let Value::Array(items) = &input {
        history.extend(items.iter().cloned());
    }
    request.insert("input".into(), Value::Array(history));
    let expanded = Bytes::from(Value::Object(request).to_string());
    let turn = Turn {
        input,
        previous_response_id: previous,
        keep,
    };
    Ok((Body(Ok(expanded)), Some(turn)))
}

/// The items of the conversation that ends with the user's response `last`, oldest first:
/// each turn's input, then its output.
async fn conversation(db: &Db, user_id: &str, last: &str) -> Result<Vec<Value>, ApiError> {
    let now = chrono::Utc::now();
    let mut turns = Vec::new();
    let mut next = Some(last.to_owned());
    while let Some(id) = next {
        if turns.len() >= MAX_CHAIN {
            return Err(ApiError::BadRequest {
                message: format!(
                    "the conversation is longer than {MAX_CHAIN} responses: send its items in `input` instead"
                ),
                param: Some("previous_response_id".into()),
            });
        }
        let Some(row) = db::responses::find(db, user_id, &id, now)
            .await
            .map_err(ApiError::internal)?
        else {
            let message = if turns.is_empty() {
                format!("no response with id `{id}` is kept here (it may have expired)")
            } else {
                format!("an earlier response of this conversation (`{id}`) is no longer kept")
            };
            return Err(ApiError::BadRequest {
                message,
                param: Some("previous_response_id".into()),
            });
        };
        next = row.previous_response_id.clone();
        turns.push(row);
    }
    let mut items = Vec::new();
    for row in turns.iter().rev() {
        if let Ok(Value::Array(input)) = serde_json::from_str(&row.input) {
            items.extend(input);
        }
        if let Ok(response) = serde_json::from_str::<Value>(&row.response)
            && let Some(Value::Array(output)) = response.get("output")
        {
            items.extend(output.iter().cloned());
        }
    }
    Ok(items)
}

/// Keeps one response, once its answer is complete.
pub struct Keeper {
    db: Db,
    user_id: String,
    api_key_id: Option<String>,
    model: String,
    turn: Turn,
    retention: Duration,
}

impl Keeper {
    /// A keeper for the turn, if it is to be kept.
    pub fn new(
        services: &Services,
        who: &Principal,
        model: &str,
        turn: Option<&Turn>,
    ) -> Option<Self> {
        let turn = turn.filter(|t| t.keep)?;
        Some(Self {
            db: services.db.clone(),
            user_id: who.user_id().to_owned(),
            api_key_id: who.api_key_id().map(str::to_owned),
            model: model.to_owned(),
            turn: turn.clone(),
            retention: services.response_retention?,
        })
    }

    /// Writes the response in the background: the client has its answer already.
    pub fn keep(self, mut response: Value) {
        let Some(id) = response
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_owned)
        else {
            tracing::warn!("a response without an id cannot be kept");
            return;
        };
        // What the client asked for, not the history the gateway put in front of it.
        response["previous_response_id"] = json!(self.turn.previous_response_id);
        response["store"] = json!(true);
        tokio::spawn(async move {
            let now = chrono::Utc::now();
            let expires_at =
                now + chrono::Duration::from_std(self.retention).unwrap_or(chrono::Duration::MAX);
            let row = NewStoredResponse {
                response_id: &id,
                user_id: &self.user_id,
                api_key_id: self.api_key_id.as_deref(),
                model: &self.model,
                previous_response_id: self.turn.previous_response_id.as_deref(),
                input: &self.turn.input.to_string(),
                response: &response.to_string(),
                now,
                expires_at,
            };
            if let Err(e) = db::responses::insert(&self.db, &row).await {
                tracing::warn!(error = %e, response = %id, "cannot keep a response");
            }
        });
    }
}

async fn find(
    state: &AppState,
    who: &Principal,
    id: &str,
) -> Result<db::responses::StoredResponse, ApiError> {
    if state.services.response_retention.is_none() {
        return Err(storage_off("reading a response back", None));
    }
    db::responses::find(&state.services.db, who.user_id(), id, chrono::Utc::now())
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::NotFound(format!("no response with id `{id}` is kept here")))
}

/// `GET /v1/responses/{id}`.
pub async fn get(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let row = find(&state, &who, &id).await?;
    Ok(json_text(row.response))
}

/// `DELETE /v1/responses/{id}`.
pub async fn delete(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    if state.services.response_retention.is_none() {
        return Err(storage_off("deleting a response", None));
    }
    let deleted = db::responses::delete(&state.services.db, who.user_id(), &id)
        .await
        .map_err(ApiError::internal)?;
    if !deleted {
        return Err(ApiError::NotFound(format!(
            "no response with id `{id}` is kept here"
        )));
    }
    Ok(Json(json!({ "id": id, "object": "response", "deleted": true })).into_response())
}

#[derive(Deserialize)]
pub struct Page {
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    order: Option<String>,
    #[serde(default)]
    after: Option<String>,
}

/// `GET /v1/responses/{id}/input_items`: the response's own input items, newest first unless
/// `order=asc`, 20 (up to 100) a page, after the item `after`. Items sent without an id are
/// listed under one made of their place.
pub async fn input_items(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    Query(page): Query<Page>,
) -> Result<Response, ApiError> {
    let row = find(&state, &who, &id).await?;
    let mut items: Vec<Value> = match serde_json::from_str(&row.input) {
        Ok(Value::Array(items)) => items,
        _ => Vec::new(),
    };
    for (n, item) in items.iter_mut().enumerate() {
        if item.get("id").and_then(Value::as_str).is_none() {
            item["id"] = json!(format!("{id}_input_{n}"));
        }
    }
    match page.order.as_deref() {
        None | Some("desc") => items.reverse(),
        Some("asc") => {}
        Some(_) => {
            return Err(ApiError::BadRequest {
                message: "`order` must be asc or desc".into(),
                param: Some("order".into()),
            });
        }
    }
    if let Some(after) = &page.after {
        let at = items
            .iter()
            .position(|i| i["id"].as_str() == Some(after.as_str()))
            .ok_or_else(|| ApiError::BadRequest {
                message: format!("no input item `{after}` in this response"),
                param: Some("after".into()),
            })?;
        items.drain(..=at);
    }
    let limit = page.limit.unwrap_or(20).clamp(1, 100);
    let has_more = items.len() > limit;
    items.truncate(limit);
    let first = items.first().map(|i| i["id"].clone());
    let last = items.last().map(|i| i["id"].clone());
    Ok(Json(json!({ "object": "list", "data": items, "first_id": first, "last_id": last, "has_more": has_more })).into_response())
}

fn json_text(text: String) -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        text,
    )
        .into_response()
}
