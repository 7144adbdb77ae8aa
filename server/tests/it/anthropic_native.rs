//! Anthropic-native upstreams through the real router: `/v1/messages` passed through untouched
//! (the upstream's key put in, Anthropic's headers passed on), `/v1/chat/completions` reaching
//! them through the reverse translation, fail-over between the two APIs, `count_tokens` on
//! both kinds of upstream, and usage attributed as for every other request.

use std::time::Duration;

use app::{server::Backend, types::UpstreamApi};
use axum::{
    body::Body,
    http::{HeaderMap, Request, StatusCode},
};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::{
    common::TestApp,
    mock_anthropic::{MockAnthropic, OUTPUT_TOKENS, PROMPT_TOKENS},
    mock_upstream::{Behaviour, MockUpstream},
    proxy::gateway_speaking,
};

/// `llama` served by the given upstreams, in order.
async fn gateway(upstreams: &[(&str, UpstreamApi)]) -> (TestApp, String) {
    gateway_speaking(
        TestApp::new(Backend::Sqlite).await,
        upstreams,
        Duration::from_secs(5),
    )
    .await
}

async fn send(
    app: &TestApp,
    path: &str,
    headers: &[(&str, &str)],
    body: String,
) -> (StatusCode, HeaderMap, String) {
    let mut req = Request::post(path).header("content-type", "application/json");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut req = req.body(Body::from(body)).unwrap();
    req.extensions_mut().insert(axum::extract::ConnectInfo(
        "127.0.0.1:40000".parse::<std::net::SocketAddr>().unwrap(),
    ));
    let res = app.router.clone().oneshot(req).await.unwrap();
    let (status, headers) = (res.status(), res.headers().clone());
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

/// A `/v1/messages` call as Anthropic's SDKs make it.
async fn messages(app: &TestApp, key: &str, body: String) -> (StatusCode, String) {
    let (status, _, text) = send(
        app,
        "/v1/messages",
        &[
            ("x-api-key", key),
            ("anthropic-version", "2023-06-01"),
            ("anthropic-beta", "prompt-caching-2024-07-31"),
        ],
        body,
    )
    .await;
    (status, text)
}

async fn chat(app: &TestApp, key: &str, body: Value) -> (StatusCode, String) {
    let bearer = format!("Bearer {key}");
    let (status, _, text) = send(
        app,
        "/v1/chat/completions",
        &[("authorization", &bearer)],
        body.to_string(),
    )
    .await;
    (status, text)
}

/// `(endpoint code, prompt tokens, completion tokens)` of every usage event, once written.
async fn recorded(app: &TestApp) -> Vec<(i64, i64, i64)> {
    app.services.shutdown().await;
    let n = app.db.scalar("select count(*) from usage_event", &[]).await;
    let mut rows = Vec::new();
    for i in 0..n {
        let at = |col: &'static str| {
            let db = &app.db;
            async move { db.scalar(col, &[app::server::testing::Arg::Int(i)]).await }
        };
        rows.push((
            at("select cast(endpoint as bigint) from usage_event order by usage_event_id limit 1 offset $1").await,
            at("select prompt_tokens from usage_event order by usage_event_id limit 1 offset $1").await,
            at("select completion_tokens from usage_event order by usage_event_id limit 1 offset $1").await,
        ));
    }
    rows
}

/// Server-sent events as `(name, data)`; `data:`-only events are named `message`.
fn events(text: &str) -> Vec<(String, String)> {
    text.split("\n\n")
        .filter(|e| !e.trim().is_empty())
        .map(|e| {
            let mut name = "message".to_owned();
            let mut data = String::new();
            for line in e.lines() {
                if let Some(n) = line.strip_prefix("event: ") {
                    name = n.to_owned();
                } else if let Some(d) = line.strip_prefix("data: ") {
                    data = d.to_owned();
                }
            }
            (name, data)
        })
        .collect()
}

#[tokio::test]
async fn a_message_passes_through_to_an_anthropic_upstream_untouched() {
    let claude = MockAnthropic::start("claude").await;
    let (app, key) = gateway(&[(&claude.base_url, UpstreamApi::Anthropic)]).await;
    // Odd spacing, fields Portcullis has no translation for, numbers with their own digits.
    let body = r#"{ "model" : "llama", "max_tokens": 64, "thinking": {"type":"enabled","budget_tokens":1024},
        "top_k": 5, "temperature": 0.70, "system": [{"type":"text","text":"Be brief.","cache_control":{"type":"ephemeral"}}],
        "messages": [{"role":"user","content":"Hi"}] }"#;
    let (status, text) = messages(&app, &key, body.to_owned()).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let answer: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(answer["id"], "msg_mock");
    assert_eq!(
        answer["content"],
        json!([{ "type": "text", "text": "hello from claude" }])
    );
    // The mock's usage as it sent it, cache counts and all.
    assert_eq!(answer["usage"]["cache_read_input_tokens"], 2);

    let got = &claude.received()[0];
    assert_eq!(got.path, "/v1/messages");
    assert_eq!(
        got.raw,
        body.replacen(r#""llama""#, r#""upstream-llama""#, 1),
        "byte for byte but the model"
    );
    assert_eq!(got.header("x-api-key"), Some("upstream-secret-0"));
    assert_eq!(got.header("authorization"), None);
    assert_eq!(got.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(
        got.header("anthropic-beta"),
        Some("prompt-caching-2024-07-31")
    );
    assert_eq!(got.header("x-extra"), Some("yes"));
    assert!(
        got.headers
            .iter()
            .all(|(_, v)| !v.to_str().unwrap_or("").contains(&key)),
        "the client's key never goes upstream"
    );
    assert_eq!(recorded(&app).await, [(4, PROMPT_TOKENS, OUTPUT_TOKENS)]);
}

#[tokio::test]
async fn a_streamed_message_passes_through_event_by_event_and_is_counted() {
    let claude = MockAnthropic::start("claude").await;
    let (app, key) = gateway(&[(&claude.base_url, UpstreamApi::Anthropic)]).await;
    let body = json!({ "model": "llama", "max_tokens": 64, "stream": true,
                       "messages": [{ "role": "user", "content": "Hi" }] });
    let (status, text) = messages(&app, &key, body.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let names: Vec<String> = events(&text).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "ping",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    assert!(
        claude.received()[0].body.get("stream_options").is_none(),
        "nothing OpenAI-specific is added"
    );
    assert_eq!(recorded(&app).await, [(4, PROMPT_TOKENS, OUTPUT_TOKENS)]);
}

#[tokio::test]
async fn chat_completions_reach_an_anthropic_upstream_through_translation() {
    let claude = MockAnthropic::start("claude").await;
    let (app, key) = gateway(&[(&claude.base_url, UpstreamApi::Anthropic)]).await;
    let tools = json!([{ "type": "function", "function": { "name": "weather", "parameters": { "type": "object" } } }]);
    let (status, text) = chat(
        &app,
        &key,
        json!({ "model": "llama", "messages": [
            { "role": "system", "content": "Be brief." },
            { "role": "user", "content": "Weather in Paris?" }
        ], "tools": tools }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["model"], "llama");
    let choice = &v["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    assert_eq!(choice["message"]["content"], "hello from claude");
    assert_eq!(
        choice["message"]["tool_calls"][0]["function"],
        json!({ "name": "weather", "arguments": "{\"city\":\"Paris\"}" })
    );
    assert_eq!(
        v["usage"],
        json!({ "prompt_tokens": PROMPT_TOKENS, "completion_tokens": OUTPUT_TOKENS, "total_tokens": PROMPT_TOKENS + OUTPUT_TOKENS })
    );

    let got = &claude.received()[0];
    assert_eq!(got.path, "/v1/messages");
    assert_eq!(got.body["model"], "upstream-llama");
    assert_eq!(got.body["system"], "Be brief.");
    assert_eq!(
        got.body["messages"],
        json!([{ "role": "user", "content": [{ "type": "text", "text": "Weather in Paris?" }] }])
    );
    assert_eq!(
        got.body["tools"],
        json!([{ "name": "weather", "input_schema": { "type": "object" } }])
    );
    // Anthropic needs a max_tokens: the gateway's default, the figure its limits reserved.
    assert!(got.body["max_tokens"].as_i64().is_some_and(|n| n > 0));
    assert_eq!(got.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(got.header("x-api-key"), Some("upstream-secret-0"));
    assert_eq!(recorded(&app).await, [(1, PROMPT_TOKENS, OUTPUT_TOKENS)]);
}

#[tokio::test]
async fn a_streamed_chat_from_an_anthropic_upstream_arrives_as_chunks() {
    let claude = MockAnthropic::start("claude").await;
    let (app, key) = gateway(&[(&claude.base_url, UpstreamApi::Anthropic)]).await;
    let (status, text) = chat(
        &app,
        &key,
        json!({ "model": "llama", "stream": true, "stream_options": { "include_usage": true },
                "messages": [{ "role": "user", "content": "Hi" }] }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let data: Vec<String> = events(&text).into_iter().map(|(_, d)| d).collect();
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"), "{text}");
    let chunks: Vec<Value> = data[..data.len() - 1]
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let content: String = chunks
        .iter()
        .filter_map(|c| {
            c.pointer("/choices/0/delta/content")
                .and_then(Value::as_str)
        })
        .collect();
    assert_eq!(content, "Hello");
    assert!(
        chunks
            .iter()
            .all(|c| c["object"] == "chat.completion.chunk")
    );
    let finish: Vec<&Value> = chunks
        .iter()
        .filter_map(|c| c.pointer("/choices/0/finish_reason"))
        .filter(|f| !f.is_null())
        .collect();
    assert_eq!(finish, [&json!("stop")]);
    assert_eq!(
        chunks.last().unwrap()["usage"],
        json!({ "prompt_tokens": PROMPT_TOKENS, "completion_tokens": OUTPUT_TOKENS, "total_tokens": PROMPT_TOKENS + OUTPUT_TOKENS })
    );
    assert_eq!(claude.received()[0].body["stream"], true);
    assert_eq!(recorded(&app).await, [(1, PROMPT_TOKENS, OUTPUT_TOKENS)]);
}

#[tokio::test]
async fn a_stream_that_fails_midway_ends_with_an_error_in_the_clients_api() {
    let claude = MockAnthropic::start("claude").await;
    claude.break_streams();
    let (app, key) = gateway(&[(&claude.base_url, UpstreamApi::Anthropic)]).await;
    let hi = json!({ "model": "llama", "max_tokens": 8, "stream": true,
                     "messages": [{ "role": "user", "content": "Hi" }] });
    let (status, text) = messages(&app, &key, hi.to_string()).await;
    assert_eq!(status, StatusCode::OK);
    let last = events(&text).pop().unwrap();
    assert_eq!(last.0, "error", "{text}");
    assert_eq!(
        serde_json::from_str::<Value>(&last.1).unwrap()["error"]["type"],
        "overloaded_error"
    );
    let (status, text) = chat(&app, &key, hi).await;
    assert_eq!(status, StatusCode::OK);
    let data: Vec<String> = events(&text).into_iter().map(|(_, d)| d).collect();
    let last: Value = serde_json::from_str(data.last().unwrap()).unwrap();
    assert_eq!(last["error"]["message"], "Overloaded", "{text}");
    assert!(
        !text.contains("[DONE]"),
        "a failed stream does not claim to be done"
    );
    let content: String = data
        .iter()
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|c| {
            c.pointer("/choices/0/delta/content")?
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(
        content, "Hel",
        "what came before the failure arrived: {text}"
    );
    app.services.shutdown().await;
    let failed = app
        .db
        .scalar("select count(*) from usage_event where outcome = 1", &[])
        .await;
    assert_eq!(failed, 2, "both recorded as failed upstream");
}

#[tokio::test]
async fn errors_keep_their_meaning_in_each_api_and_fail_over_crosses_apis() {
    let claude = MockAnthropic::start("claude").await;
    let alpha = MockUpstream::start("alpha").await;
    let (app, key) = gateway(&[
        (&claude.base_url, UpstreamApi::Anthropic),
        (&alpha.base_url, UpstreamApi::Openai),
    ])
    .await;
    // Whichever target is tried first, the client gets Anthropic's 400: the OpenAI-compatible
    // one fails with a 500 and the request moves on.
    alpha.set(Behaviour::Fail(500));
    claude.fail(Some(400));
    let hi = json!({ "model": "llama", "max_tokens": 8, "messages": [{ "role": "user", "content": "Hi" }] });
    let (status, text) = chat(&app, &key, hi.clone()).await;
    let v: Value = serde_json::from_str(&text).unwrap();
    // The upstream's 400, in OpenAI's envelope for a chat client…
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    assert_eq!(v["error"]["message"], "claude says no");
    assert_eq!(v["error"]["type"], "invalid_request_error");
    assert!(v.get("type").is_none(), "{text}");
    // …and as Anthropic sent it for a Messages client.
    let (status, text) = messages(&app, &key, hi.to_string()).await;
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    assert_eq!(
        v,
        json!({ "type": "error", "error": { "type": "invalid_request_error", "message": "claude says no" } })
    );

    // Overloaded Anthropic upstream: the Messages request moves on to the OpenAI-compatible
    // target, translated, whichever was tried first.
    claude.fail(Some(529));
    alpha.set(Behaviour::Answer);
    let (status, text) = messages(&app, &key, hi.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["type"], "message");
    assert_eq!(
        v["content"],
        json!([{ "type": "text", "text": "hello from alpha" }])
    );
    assert_eq!(
        alpha.received().last().unwrap().path,
        "/v1/chat/completions"
    );

    // Both down: a chat client gets the last upstream's error in OpenAI's envelope.
    alpha.set(Behaviour::Fail(503));
    let (status, text) = chat(&app, &key, hi).await;
    let v: Value = serde_json::from_str(&text).unwrap();
    assert!(status.is_server_error(), "{status} {text}");
    assert!(v["error"]["message"].is_string(), "{text}");
    assert!(v.get("type").is_none(), "{text}");
}

#[tokio::test]
async fn what_anthropics_api_lacks_is_refused_plainly() {
    let claude = MockAnthropic::start("claude").await;
    let (app, key) = gateway(&[(&claude.base_url, UpstreamApi::Anthropic)]).await;
    let bearer = format!("Bearer {key}");
    let (status, _, text) = send(
        &app,
        "/v1/embeddings",
        &[("authorization", &bearer)],
        json!({ "model": "llama", "input": "x" }).to_string(),
    )
    .await;
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Anthropic's API, which has no /v1/embeddings"),
        "{text}"
    );
    let (status, text) = chat(
        &app,
        &key,
        json!({ "model": "llama", "n": 3, "messages": [{ "role": "user", "content": "Hi" }] }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    assert!(text.contains("`n` greater than 1"), "{text}");
    let (status, _, text) = send(
        &app,
        "/v1/messages/batches",
        &[("x-api-key", &key), ("anthropic-version", "2023-06-01")],
        "{}".to_owned(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{text}");
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap()["error"]["type"],
        "not_found_error",
        "in Anthropic's shape: {text}"
    );
    assert!(claude.received().is_empty(), "nothing was sent");
    assert!(recorded(&app).await.is_empty(), "nor counted");
}

async fn count(app: &TestApp, key: &str, body: Value) -> (StatusCode, Value) {
    let (status, _, text) = send(
        app,
        "/v1/messages/count_tokens",
        &[("x-api-key", key), ("anthropic-version", "2023-06-01")],
        body.to_string(),
    )
    .await;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn tokens_are_counted_by_the_upstreams_own_tokenizer() {
    let claude = MockAnthropic::start("claude").await;
    let (app, key) = gateway(&[(&claude.base_url, UpstreamApi::Anthropic)]).await;
    let body = json!({ "model": "llama", "messages": [{ "role": "user", "content": "Hi" }] });
    assert_eq!(
        count(&app, &key, body.clone()).await,
        (StatusCode::OK, json!({ "input_tokens": 42 }))
    );
    let got = &claude.received()[0];
    assert_eq!(got.path, "/v1/messages/count_tokens");
    assert_eq!(got.body["model"], "upstream-llama");
    assert_eq!(got.header("x-api-key"), Some("upstream-secret-0"));
    assert!(recorded(&app).await.is_empty(), "counting is not usage");

    // vLLM: its chat `/tokenize` at the server's root, with the conversation translated.
    let alpha = MockUpstream::start("alpha").await;
    let (app, key) = gateway(&[(&alpha.base_url, UpstreamApi::Openai)]).await;
    let with_tools = json!({ "model": "llama", "system": "Be brief.",
        "messages": [{ "role": "user", "content": "Hi" }],
        "tools": [{ "name": "weather", "input_schema": { "type": "object" } }] });
    assert_eq!(
        count(&app, &key, with_tools).await,
        (StatusCode::OK, json!({ "input_tokens": 25 }))
    );
    let got = &alpha.received()[0];
    assert_eq!(got.path, "/tokenize");
    assert_eq!(got.body["model"], "upstream-llama");
    assert_eq!(got.body["add_generation_prompt"], true);
    assert_eq!(
        got.body["messages"],
        json!([{ "role": "system", "content": "Be brief." }, { "role": "user", "content": "Hi" }])
    );

    // A server with no tokenizer endpoint: a clear refusal, never an estimate.
    alpha.set(Behaviour::Fail(404));
    let (status, v) = count(&app, &key, body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["type"], "error");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("token counting is not available"),
        "{v}"
    );
    let (status, v) = count(
        &app,
        &key,
        json!({ "model": "secret-model", "messages": [] }),
    )
    .await;
    assert_eq!(
        (status, v["error"]["type"].as_str()),
        (StatusCode::FORBIDDEN, Some("permission_error")),
        "{v}"
    );
}

#[tokio::test]
async fn administrators_add_anthropic_upstreams_and_discover_their_models() {
    let claude = MockAnthropic::start("claude").await;
    let app = TestApp::new(Backend::Sqlite).await;
    let (_, admin) = app.admin().await;
    let draft = json!({ "name": "anthropic", "base_url": claude.base_url, "api": "anthropic",
                        "credential": "sk-ant-test", "discover_models": true });
    let test = app
        .call(
            "/api/upstreams/test",
            json!({ "draft": draft }),
            Some(&admin),
        )
        .await;
    assert_eq!(test.status, StatusCode::OK, "{}", test.body);
    assert_eq!(test.body["ok"], true, "{}", test.body);
    assert_eq!(test.body["models"], json!(["claude-mock"]));
    let got = &claude.received()[0];
    assert_eq!(got.path, "/v1/models?limit=1000");
    assert_eq!(got.header("x-api-key"), Some("sk-ant-test"));
    assert_eq!(got.header("anthropic-version"), Some("2023-06-01"));

    let created = app
        .call("/api/upstreams/create", draft.clone(), Some(&admin))
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    assert_eq!(created.body["api"], "anthropic");
    let id = created.str("upstream_id");
    let changed = app
        .call(
            "/api/upstreams/update",
            json!({ "upstream_id": id, "api": "openai" }),
            Some(&admin),
        )
        .await;
    assert_eq!(changed.body["api"], "openai", "{}", changed.body);
    let audited = app
        .db
        .text(
            "select details from audit_log where action = 'upstream.create'",
            &[],
        )
        .await
        .unwrap();
    assert!(audited.contains(r#""api":"anthropic""#), "{audited}");
    let bad = app
        .call(
            "/api/upstreams/create",
            json!({ "name": "x", "base_url": claude.base_url, "api": "grpc" }),
            Some(&admin),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
}
