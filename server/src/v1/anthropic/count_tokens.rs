//! `POST /v1/messages/count_tokens`: how many input tokens a Messages request would take, as
//! the model's own tokenizer counts them: asked of the upstream, never estimated. An Anthropic
//! upstream answers at its own `count_tokens`; an OpenAI-compatible one at vLLM's `/tokenize`
//! (its chat form, at the server's root beside `/v1`). Servers without a tokenizer endpoint
//! (llama.cpp's takes no chat, Ollama has none) get a clear refusal, not a guess.
//!
//! Counting runs no inference: it is recorded in the metrics but not as usage, and it counts
//! as a request against the caller's per-minute request limits, never against tokens or cost.

use app::{
    server::{
        Services,
        keys::Principal,
        limits::Demand,
        upstreams::{discovery, read},
    },
    types::UpstreamApi,
};
use axum::{
    Extension, Json,
    body::Body,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use super::{messages::require_version, to_chat};
use crate::{
    AppState,
    v1::{
        ApiError, limits,
        proxy::{self, Passed},
        request::ProxyRequest,
    },
};

pub async fn count(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    headers: HeaderMap,
    body: crate::v1::body::Body,
) -> Response {
    if let Some(refused) = require_version(&headers) {
        return refused;
    }
    let mut label = None;
    let res = counted(&state.services, &who, &headers, body, &mut label).await;
    proxy::labelled(res, label)
}

async fn counted(
    services: &Services,
    who: &Principal,
    headers: &HeaderMap,
    body: crate::v1::body::Body,
    label: &mut Option<String>,
) -> Result<Response, ApiError> {
    let request = ProxyRequest::parse(body.0?)?;
    let routed = proxy::route(services, who, &request.model, label)?;
    let nothing = Demand {
        tokens: 0,
        cost_micros: 0,
    };
    let _counted_as_a_request = limits::admit(services, who, nothing).await?;
    let passed = Passed::anthropic(headers);
    let mut tokenize = None;
    let mut last_failure = None;
    for target in routed.ordered() {
        let upstream = &target.upstream;
        let req = match upstream.api {
            UpstreamApi::Anthropic => upstream
                .request(reqwest::Method::POST, "messages/count_tokens")
                .headers(passed.headers().clone())
                .body(request.for_upstream(&target.upstream_model, false)),
            UpstreamApi::Openai | UpstreamApi::OpenaiResponses => {
                if tokenize.is_none() {
                    tokenize = Some(tokenize_body(&request)?);
                }
                let mut body = tokenize.clone().unwrap_or_default();
                body["model"] = json!(target.upstream_model);
                upstream
                    .root_request(reqwest::Method::POST, "tokenize")
                    .body(body.to_string())
            }
        };
        let req = req.header(header::CONTENT_TYPE, "application/json");
        let response = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(upstream = %upstream.name, error = %discovery::describe(&e), "upstream unreachable for token counting");
                last_failure = Some(ApiError::transport(&e));
                continue;
            }
        };
        let status = response.status();
        let answer = read::whole(response, read::MAX_ANSWER)
            .await
            .unwrap_or_default();
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            last_failure = Some(ApiError::Upstream {
                status,
                body: serde_json::from_slice(&answer).ok(),
            });
            continue;
        }
        // A server without `/tokenize`; another target may have one.
        if upstream.api.is_openai() && matches!(status.as_u16(), 404 | 405) {
            continue;
        }
        // Anthropic's answer as it came; a tokenizer's refusal with its own words, which the
        // error layer puts in Anthropic's shape.
        if upstream.api == UpstreamApi::Anthropic || !status.is_success() {
            let mut res = Response::new(Body::from(answer));
            *res.status_mut() = status;
            res.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            return Ok(res);
        }
        let count = serde_json::from_slice::<Value>(&answer)
            .ok()
            .and_then(|v| v.get("count").and_then(Value::as_i64))
            .ok_or_else(|| {
                ApiError::BadGateway("the upstream's /tokenize answer has no count".into())
            })?;
        return Ok(Json(json!({ "input_tokens": count })).into_response());
    }
    Err(last_failure.unwrap_or_else(|| ApiError::BadRequest {
        message: format!(
            "token counting is not available for `{}`: its upstreams offer neither Anthropic's \
             count_tokens nor a /tokenize endpoint like vLLM's",
            request.model
        ),
        param: Some("model".into()),
    }))
}

/// vLLM's chat tokenize request for the same conversation, tools included: the chat template
/// applied with the assistant's turn opened, exactly as a completion would see it.
fn tokenize_body(request: &ProxyRequest) -> Result<Value, ApiError> {
    let mut messages = request.value()?;
    // Counting takes no `max_tokens`; the translation wants one and it changes no token.
    if let Some(m) = messages.as_object_mut() {
        m.entry("max_tokens").or_insert(json!(1));
    }
    let chat = to_chat::request(&messages, &request.model, false)?;
    let mut body = json!({ "messages": chat["messages"], "add_generation_prompt": true });
    if let Some(tools) = chat.get("tools") {
        body["tools"] = tools.clone();
    }
    Ok(body)
}
