//! `POST /v1/messages` for models served by OpenAI-compatible upstreams: the request is
//! translated to chat completions and goes through the same routing, fail-over, limits and
//! usage accounting as `/v1/chat/completions`; the answer is translated back, a stream event by
//! event as it arrives.

use app::server::{keys::Principal, usage::Endpoint};
use axum::{
    Extension,
    body::{Body, Bytes},
    extract::{State, rejection::BytesRejection},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use serde_json::Value;

use super::{errors::anthropic_error, from_chat, to_chat};
use crate::{AppState, v1::proxy};

/// A whole translated answer is read into memory; chat answers are far below this.
const ANSWER_LIMIT: usize = 16 * 1024 * 1024;

pub async fn create(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    // Anthropic refuses requests without a version; clients that speak the API always send one.
    if !headers.contains_key("anthropic-version") {
        return anthropic_error(
            StatusCode::BAD_REQUEST,
            "anthropic-version: header is required",
        );
    }
    let body = match body {
        Ok(b) => b,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return anthropic_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the request body is too large",
            );
        }
        Err(e) => return anthropic_error(StatusCode::BAD_REQUEST, &e.body_text()),
    };
    let request: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return anthropic_error(
                StatusCode::BAD_REQUEST,
                &format!("the body is not JSON: {e}"),
            );
        }
    };
    let Some(model) = request
        .get("model")
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        return anthropic_error(StatusCode::BAD_REQUEST, "model: field required");
    };
    let stream = request.get("stream") == Some(&Value::Bool(true));
    // The public model name stays: routing rewrites it per target, as for chat completions.
    let chat = match to_chat::request(&request, &model, false) {
        Ok(c) => c,
        Err(e) => return anthropic_error(StatusCode::BAD_REQUEST, &e.0),
    };
    let Ok(bytes) = serde_json::to_vec(&chat) else {
        return anthropic_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "cannot encode the request",
        );
    };
    let res = proxy::routed(&state, &who, Endpoint::ChatCompletions, Ok(bytes.into())).await;
    if !res.status().is_success() {
        // The error layer puts it in Anthropic's shape.
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let is_sse = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    parts.headers.remove(header::CONTENT_LENGTH);
    if stream && is_sse {
        parts.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream"),
        );
        parts
            .headers
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        return Response::from_parts(parts, translated_stream(body, model));
    }
    let Ok(answer) = axum::body::to_bytes(body, ANSWER_LIMIT).await else {
        return anthropic_error(StatusCode::BAD_GATEWAY, "the upstream's answer broke off");
    };
    let Ok(chat_answer) = serde_json::from_slice::<Value>(&answer) else {
        return anthropic_error(StatusCode::BAD_GATEWAY, "the upstream's answer is not JSON");
    };
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    (parts, axum::Json(from_chat::response(&chat_answer, &model))).into_response()
}

/// The upstream's chat-completion chunks (already counted by the usage tap on their way) as
/// Anthropic events, each written out as soon as its chunk arrives.
fn translated_stream(body: Body, model: String) -> Body {
    let events = body.into_data_stream().eventsource();
    let translator = from_chat::StreamTranslator::new(&model);
    let stream = futures_util::stream::unfold(
        (events, translator, false),
        |(mut events, mut t, done)| async move {
            if done {
                return None;
            }
            let (out, done) = match events.next().await {
                Some(Ok(ev)) if ev.data == "[DONE]" => (t.finish(), true),
                Some(Ok(ev)) => match serde_json::from_str::<Value>(&ev.data) {
                    // A gateway-side error mid-stream arrives in OpenAI's envelope.
                    Ok(v) if v.get("error").is_some() => (vec![error_event(&v)], true),
                    Ok(chunk) => (t.chunk(&chunk), false),
                    Err(_) => (Vec::new(), false),
                },
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "upstream stream broke off during translation");
                    (
                        vec![error_event(
                            &serde_json::json!({ "error": { "message": "the upstream's stream broke off" } }),
                        )],
                        true,
                    )
                }
                None => (t.finish(), true),
            };
            let text: String = out.iter().map(from_chat::sse).collect();
            Some((
                Ok::<_, std::io::Error>(Bytes::from(text)),
                (events, t, done),
            ))
        },
    );
    Body::from_stream(stream)
}

fn error_event(openai: &Value) -> from_chat::Event {
    let message = openai
        .pointer("/error/message")
        .and_then(Value::as_str)
        .unwrap_or("the answer failed");
    (
        "error",
        serde_json::json!({ "type": "error", "error": { "type": "api_error", "message": message } }),
    )
}
