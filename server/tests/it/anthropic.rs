//! Anthropic's Messages API through the real router, translated for an OpenAI-compatible
//! upstream (the mock): the request it receives, the answer the client gets, whole and
//! streamed, the errors in Anthropic's shape, and the usage recorded.

use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::{
    common::TestApp,
    mock_upstream::{Behaviour, MockUpstream},
    proxy::gateway,
};

pub async fn messages(
    app: &TestApp,
    key: &str,
    version: bool,
    body: Value,
) -> (StatusCode, String) {
    let mut req = Request::post("/v1/messages")
        .header("x-api-key", key)
        .header("content-type", "application/json");
    if version {
        req = req.header("anthropic-version", "2023-06-01");
    }
    let mut req = req.body(Body::from(body.to_string())).unwrap();
    req.extensions_mut().insert(axum::extract::ConnectInfo(
        "127.0.0.1:40000".parse::<std::net::SocketAddr>().unwrap(),
    ));
    let res = app.router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// Every token the usage writer recorded, once it has written everything.
async fn recorded_tokens(app: &TestApp) -> i64 {
    app.services.shutdown().await;
    app.db
        .scalar(
            "select cast(sum(prompt_tokens + completion_tokens) as bigint) from usage_event",
            &[],
        )
        .await
}

#[tokio::test]
async fn a_message_goes_out_as_chat_completions_and_comes_back_as_a_message() {
    let up = MockUpstream::start("alpha").await;
    let (app, key) = gateway(&[&up]).await;
    let (status, text) = messages(
        &app,
        &key,
        true,
        json!({ "model": "llama", "max_tokens": 6, "system": "Be brief.",
                "messages": [{ "role": "user", "content": "Hi" }] }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["type"], "message");
    assert_eq!(v["role"], "assistant");
    assert_eq!(v["model"], "llama");
    assert_eq!(
        v["content"],
        json!([{ "type": "text", "text": "hello from alpha" }])
    );
    assert_eq!(v["stop_reason"], "end_turn");
    assert_eq!(v["usage"], json!({ "input_tokens": 3, "output_tokens": 6 }));
    let sent = &up.received()[0];
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(
        sent.body["messages"],
        json!([{ "role": "system", "content": "Be brief." }, { "role": "user", "content": "Hi" }])
    );
    assert_eq!(sent.body["model"], "upstream-llama");
    assert_eq!(sent.body["max_tokens"], 6);

    // Attributed like any chat request.
    let tokens = recorded_tokens(&app).await;
    assert_eq!(tokens, 9);
}

#[tokio::test]
async fn a_streamed_message_is_anthropics_event_sequence() {
    let up = MockUpstream::start("alpha").await;
    let (app, key) = gateway(&[&up]).await;
    let (status, text) = messages(
        &app,
        &key,
        true,
        json!({ "model": "llama", "max_tokens": 6, "stream": true,
                "messages": [{ "role": "user", "content": "Hi" }] }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let events: Vec<(String, Value)> = text
        .split("\n\n")
        .filter(|e| !e.is_empty())
        .map(|e| {
            let mut lines = e.lines();
            let name = lines
                .next()
                .unwrap()
                .trim_start_matches("event: ")
                .to_owned();
            let data = lines.next().unwrap().trim_start_matches("data: ");
            (name, serde_json::from_str(data).unwrap())
        })
        .collect();
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ],
        "{text}"
    );
    assert_eq!(events[2].1["delta"]["text"], "Hel");
    assert_eq!(events[3].1["delta"]["text"], "lo");
    assert_eq!(
        events[5].1["usage"],
        json!({ "input_tokens": 5, "output_tokens": 2 })
    );
    // The upstream was asked for usage, so the stream was counted.
    assert_eq!(
        up.received()[0].body["stream_options"]["include_usage"],
        true
    );
    let tokens = recorded_tokens(&app).await;
    assert_eq!(tokens, 7);
}

#[tokio::test]
async fn errors_come_in_anthropics_shape() {
    let up = MockUpstream::start("alpha").await;
    let (app, key) = gateway(&[&up]).await;
    let hi = json!({ "model": "llama", "max_tokens": 6, "messages": [{ "role": "user", "content": "Hi" }] });
    let cases = [
        (
            messages(&app, &key, false, hi.clone()).await,
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "anthropic-version",
        ),
        (
            messages(&app, "sk-pc-nope", true, hi.clone()).await,
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "API key",
        ),
        (
            messages(
                &app,
                &key,
                true,
                json!({ "model": "nope", "max_tokens": 6, "messages": [] }),
            )
            .await,
            StatusCode::FORBIDDEN,
            "permission_error",
            "nope",
        ),
        (
            messages(
                &app,
                &key,
                true,
                json!({ "model": "llama", "messages": [] }),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "max_tokens",
        ),
    ];
    for ((status, text), want_status, want_type, needle) in cases {
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(status, want_status, "{text}");
        assert_eq!(v["type"], "error", "{text}");
        assert_eq!(v["error"]["type"], want_type, "{text}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains(needle),
            "{text}"
        );
    }
    up.set(Behaviour::Fail(500));
    let (status, text) = messages(&app, &key, true, hi).await;
    let v: Value = serde_json::from_str(&text).unwrap();
    // The upstream's own status and message, in Anthropic's shape.
    assert_eq!(
        (
            status,
            v["error"]["type"].as_str(),
            v["error"]["message"].as_str()
        ),
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            Some("api_error"),
            Some("alpha is failing")
        ),
        "{text}"
    );
}

/// Claude Code 2.1's first request, as it sends it (../shared/CLIENTS.md): `?beta=true`, its
/// beta headers, a system message inside `messages`, adaptive thinking, an effort, context
/// management and cache control. It used to get 400 for `messages[1].role`.
#[tokio::test]
async fn claude_codes_first_request_is_answered() {
    let up = MockUpstream::start("alpha").await;
    let (app, key) = gateway(&[&up]).await;
    let body = json!({
        "model": "llama", "max_tokens": 32000, "stream": true,
        "system": [{ "type": "text", "text": "You are Claude Code.", "cache_control": { "type": "ephemeral" } }],
        "messages": [
            { "role": "user", "content": [{ "type": "text", "text": "say hi" }] },
            { "role": "system", "content": "Available agent types: general-purpose" }
        ],
        "tools": [{ "name": "Bash", "description": "Run a command", "input_schema": { "type": "object" }, "cache_control": { "type": "ephemeral" } }],
        "metadata": { "user_id": "{\"device_id\":\"d\",\"session_id\":\"s\"}" },
        "thinking": { "type": "adaptive" },
        "output_config": { "effort": "medium" },
        "context_management": { "edits": [{ "type": "clear_thinking_20251015", "keep": "all" }] }
    });
    let mut req = Request::post("/v1/messages?beta=true")
        .header("x-api-key", &key)
        .header("content-type", "application/json")
        .header("anthropic-version", "2023-06-01")
        .header(
            "anthropic-beta",
            "claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27,mid-conversation-system-2026-04-07,effort-2025-11-24",
        )
        .header("x-app", "cli")
        .body(Body::from(body.to_string()))
        .unwrap();
    req.extensions_mut().insert(axum::extract::ConnectInfo(
        "127.0.0.1:40000".parse::<std::net::SocketAddr>().unwrap(),
    ));
    let res = app.router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let text =
        String::from_utf8_lossy(&res.into_body().collect().await.unwrap().to_bytes()).into_owned();
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(text.contains("event: message_start"), "{text}");
    assert!(text.contains("\"type\":\"text_delta\""), "{text}");
    assert!(
        text.trim_end()
            .ends_with("data: {\"type\":\"message_stop\"}"),
        "{text}"
    );

    let sent = &up.received()[0];
    assert_eq!(
        sent.body["messages"],
        json!([
            { "role": "system", "content": "You are Claude Code." },
            { "role": "user", "content": "say hi" },
            { "role": "system", "content": "Available agent types: general-purpose" }
        ])
    );
    assert_eq!(sent.body["reasoning_effort"], "medium");
    for dropped in [
        "thinking",
        "output_config",
        "context_management",
        "metadata",
    ] {
        assert!(
            sent.body.get(dropped).is_none(),
            "{dropped} reached the upstream"
        );
    }
}
