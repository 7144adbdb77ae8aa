//! OpenAI's Responses API through the real router: translated to chat completions for an
//! OpenAI-compatible upstream, to Messages for an Anthropic one, passed through to an upstream
//! that serves it; whole and streamed, with tool calls, refusals, usage, and stored responses.

use std::time::Duration;

use app::{
    server::{GatewaySettings, db::Backend, testing},
    types::UpstreamApi,
};
use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::{
    common::TestApp,
    mock_anthropic::MockAnthropic,
    mock_upstream::{Behaviour, MockUpstream},
    proxy::{gateway, gateway_speaking, post},
};

async fn responses(app: &TestApp, key: &str, body: Value) -> (StatusCode, String) {
    post(app, "/v1/responses", key, body.to_string()).await
}

async fn call(app: &TestApp, method: &str, path: &str, key: &str) -> (StatusCode, Value) {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {key}"))
        .body(Body::empty())
        .unwrap();
    req.extensions_mut().insert(axum::extract::ConnectInfo(
        "127.0.0.1:40000".parse::<std::net::SocketAddr>().unwrap(),
    ));
    let res = app.router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// The events of a Responses stream: each event line's type, checked against its data's.
fn events(text: &str) -> Vec<(String, Value)> {
    text.split("\n\n")
        .filter(|e| !e.trim().is_empty())
        .map(|e| {
            let kind = e
                .lines()
                .find_map(|l| l.strip_prefix("event: "))
                .expect("an event line");
            let data: Value = serde_json::from_str(
                e.lines()
                    .find_map(|l| l.strip_prefix("data: "))
                    .expect("a data line"),
            )
            .expect("JSON data");
            assert_eq!(data["type"], kind, "{e}");
            (kind.to_owned(), data)
        })
        .collect()
}

fn kinds(events: &[(String, Value)]) -> Vec<&str> {
    events.iter().map(|(k, _)| k.as_str()).collect()
}

async fn recorded(app: &TestApp) -> (i64, i64, i64) {
    app.services.shutdown().await;
    let n = |sql: &'static str| async move { app.db.scalar(sql, &[]).await };
    (
        n("select count(*) from usage_event where endpoint = 5").await,
        n("select cast(coalesce(sum(prompt_tokens), 0) as bigint) from usage_event").await,
        n("select cast(coalesce(sum(completion_tokens), 0) as bigint) from usage_event").await,
    )
}

#[tokio::test]
async fn a_response_goes_out_as_chat_completions_and_comes_back_as_a_response() {
    let up = MockUpstream::start("alpha").await;
    let (app, key) = gateway(&[&up]).await;
    let (status, text) = responses(
        &app,
        &key,
        json!({
            "model": "llama", "instructions": "Be brief.", "input": "Hi", "max_output_tokens": 7,
            "temperature": 0.5, "reasoning": { "effort": "minimal" }, "store": false,
            "text": { "format": { "type": "json_schema", "name": "answer", "strict": true,
                "schema": { "type": "object", "properties": { "a": { "type": "string" } } } } },
            "tools": [
                { "type": "function", "name": "lookup", "description": "Looks up", "parameters": { "type": "object" } },
                { "type": "namespace", "name": "agents", "tools": [{ "type": "function", "name": "spawn", "parameters": { "type": "object" } }] },
            ],
            "tool_choice": "auto", "parallel_tool_calls": false,
            "include": ["reasoning.encrypted_content"], "prompt_cache_key": "k",
        }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["object"], "response");
    assert!(v["id"].as_str().unwrap().starts_with("resp_"));
    assert_eq!(v["status"], "completed");
    assert_eq!(v["model"], "llama");
    assert_eq!(v["instructions"], "Be brief.");
    assert_eq!(v["store"], false);
    assert_eq!(v["output"][0]["type"], "message");
    assert_eq!(v["output"][0]["role"], "assistant");
    assert_eq!(
        v["output"][0]["content"][0]["text"], "hello from alpha",
        "{v}"
    );
    assert_eq!(v["usage"]["input_tokens"], 3);
    assert_eq!(v["usage"]["output_tokens"], 7);
    assert_eq!(v["usage"]["total_tokens"], 10);

    let sent = &up.received()[0];
    assert_eq!(sent.path, "/v1/chat/completions");
    let b = &sent.body;
    assert_eq!(b["model"], "upstream-llama");
    assert_eq!(
        b["messages"],
        json!([{ "role": "system", "content": "Be brief." }, { "role": "user", "content": "Hi" }])
    );
    assert_eq!(b["max_tokens"], 7);
    assert_eq!(b["reasoning_effort"], "low");
    assert_eq!(b["temperature"], 0.5);
    assert_eq!(b["parallel_tool_calls"], false);
    assert_eq!(b["response_format"]["type"], "json_schema");
    assert_eq!(b["response_format"]["json_schema"]["name"], "answer");
    assert_eq!(b["tools"][0]["function"]["name"], "lookup");
    assert_eq!(b["tools"][1]["function"]["name"], "agents__spawn");
    for dropped in [
        "include",
        "prompt_cache_key",
        "store",
        "input",
        "instructions",
    ] {
        assert!(b.get(dropped).is_none(), "{dropped} is not a chat field");
    }
    assert_eq!(recorded(&app).await, (1, 3, 7));
}

#[tokio::test]
async fn a_streamed_response_carries_the_whole_event_sequence_and_its_usage() {
    let up = MockUpstream::start("alpha").await;
    let (app, key) = gateway(&[&up]).await;
    let (status, text) = responses(
        &app,
        &key,
        json!({ "model": "llama", "input": [{ "role": "user", "content": [{ "type": "input_text", "text": "Hi" }] }], "stream": true }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let events = events(&text);
    assert_eq!(
        kinds(&events),
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    let numbers: Vec<_> = events
        .iter()
        .map(|(_, d)| d["sequence_number"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, (0..events.len() as u64).collect::<Vec<_>>());
    let done = &events.last().unwrap().1["response"];
    assert_eq!(done["status"], "completed");
    assert_eq!(done["output"][0]["content"][0]["text"], "Hello");
    assert_eq!(done["usage"]["input_tokens"], 5);
    assert_eq!(done["usage"]["output_tokens"], 2);
    assert_eq!(
        up.received()[0].body["stream_options"]["include_usage"],
        true
    );
    assert_eq!(recorded(&app).await, (1, 5, 2));
}

#[tokio::test]
async fn function_calls_and_their_outputs_make_a_tool_round_trip() {
    let up = MockUpstream::start("alpha").await;
    up.set(Behaviour::Agent);
    let (app, key) = gateway(&[&up]).await;
    let shell =
        json!([{ "type": "function", "name": "exec_command", "parameters": { "type": "object" } }]);
    let (status, text) = responses(
        &app,
        &key,
        json!({ "model": "llama", "input": "Run it.", "tools": shell, "stream": true }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let events = events(&text);
    assert!(
        kinds(&events).contains(&"response.function_call_arguments.delta"),
        "{text}"
    );
    let call = events
        .iter()
        .find(|(k, _)| k == "response.output_item.done")
        .map(|(_, d)| d["item"].clone())
        .unwrap();
    assert_eq!(call["type"], "function_call");
    assert_eq!(call["call_id"], "call_agent_1");
    assert_eq!(call["name"], "exec_command");
    let arguments: Value = serde_json::from_str(call["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(arguments["cmd"], "echo portcullis-tool-ok");

    // The agent sends the whole history back, as Codex does (`store: false`).
    let (status, text) = responses(
        &app,
        &key,
        json!({ "model": "llama", "tools": shell, "store": false, "input": [
            { "type": "message", "role": "user", "content": [{ "type": "input_text", "text": "Run it." }] },
            { "type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "opaque" },
            call,
            { "type": "function_call_output", "call_id": "call_agent_1", "output": "portcullis-tool-ok\n" },
        ] }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        v["output"][0]["content"][0]["text"],
        "done: portcullis-tool-ok"
    );
    let sent = &up.received()[1].body["messages"];
    assert_eq!(sent[1]["role"], "assistant");
    assert_eq!(sent[1]["tool_calls"][0]["id"], "call_agent_1");
    assert_eq!(sent[1]["tool_calls"][0]["function"]["name"], "exec_command");
    assert_eq!(
        sent[2],
        json!({ "role": "tool", "tool_call_id": "call_agent_1", "content": "portcullis-tool-ok\n" })
    );
}

#[tokio::test]
async fn what_the_upstream_cannot_do_is_refused_by_name() {
    let up = MockUpstream::start("alpha").await;
    let (app, key) = gateway(&[&up]).await;
    for (body, words) in [
        (
            json!({ "model": "llama", "input": "Hi", "tools": [{ "type": "web_search", "external_web_access": false }] }),
            "web_search",
        ),
        (
            json!({ "model": "llama", "input": "Hi", "tools": [{ "type": "file_search", "vector_store_ids": ["v"] }] }),
            "file_search",
        ),
        (
            json!({ "model": "llama", "input": [{ "type": "input_file", "file_id": "f" }] }),
            "input_file",
        ),
        (
            json!({ "model": "llama", "input": [{ "role": "user", "content": [{ "type": "input_file", "file_id": "f" }] }] }),
            "input_file",
        ),
        (
            json!({ "model": "llama", "input": "Hi", "background": true }),
            "background",
        ),
        (
            json!({ "model": "llama", "input": "Hi", "conversation": "conv_1" }),
            "conversation",
        ),
        (
            json!({ "model": "llama", "input": "Hi", "previous_response_id": "resp_1" }),
            "does not keep responses",
        ),
        (
            json!({ "model": "llama", "input": "Hi", "max_output_tokens": "100" }),
            "max_output_tokens",
        ),
    ] {
        let (status, text) = responses(&app, &key, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        let message = v["error"]["message"].as_str().unwrap();
        assert!(message.contains(words), "{body}: {message}");
    }
    assert!(
        up.received().is_empty(),
        "nothing refused reached the upstream"
    );
    // Without stored responses, reading one back says why it cannot.
    let (status, v) = call(&app, "GET", "/v1/responses/resp_1", &key).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--store-responses")
    );
    // The key's model permissions hold here as everywhere.
    let (status, text) = responses(
        &app,
        &key,
        json!({ "model": "secret-model", "input": "Hi" }),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{text}");
}

#[tokio::test]
async fn a_stream_the_upstream_breaks_ends_with_response_failed() {
    let up = MockUpstream::start("alpha").await;
    up.set(Behaviour::Truncated);
    let (app, key) = gateway(&[&up]).await;
    let (status, text) = responses(
        &app,
        &key,
        json!({ "model": "llama", "input": "Hi", "stream": true }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let events = events(&text);
    let (kind, last) = events.last().unwrap();
    assert_eq!(kind, "response.failed", "{text}");
    assert_eq!(last["response"]["status"], "failed");
    assert!(last["response"]["error"]["message"].is_string());
    // What was delivered is in the failed response.
    assert_eq!(last["response"]["output"][0]["content"][0]["text"], "Hello");
}

#[tokio::test]
async fn an_anthropic_upstream_answers_responses_whole_and_streamed() {
    let claude = MockAnthropic::start("claude").await;
    let (app, key) = gateway_speaking(
        TestApp::new(Backend::Sqlite).await,
        &[(claude.base_url.as_str(), UpstreamApi::Anthropic)],
        Duration::from_secs(5),
    )
    .await;
    let (status, text) = responses(
        &app,
        &key,
        json!({ "model": "llama", "instructions": "Be brief.", "input": "Hi", "max_output_tokens": 50 }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["output"][0]["content"][0]["text"], "hello from claude");
    assert!(v["usage"]["input_tokens"].as_i64().unwrap() > 0, "{v}");
    let sent = &claude.received()[0];
    assert_eq!(sent.path, "/v1/messages");
    assert_eq!(sent.body["system"], "Be brief.");
    assert_eq!(sent.body["max_tokens"], 50);

    let (status, text) = responses(
        &app,
        &key,
        json!({ "model": "llama", "input": "Hi", "stream": true }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let events = events(&text);
    let (kind, done) = events.last().unwrap();
    assert_eq!(kind, "response.completed", "{text}");
    // The mock streams its text in two deltas.
    assert_eq!(done["response"]["output"][0]["content"][0]["text"], "Hello");
    assert!(done["response"]["usage"]["output_tokens"].as_i64().unwrap() > 0);
    // The Messages API's structured output is not translated: refused, named.
    let (status, text) = responses(
        &app,
        &key,
        json!({ "model": "llama", "input": "Hi", "text": { "format": { "type": "json_object" } } }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    assert!(text.contains("response_format"), "{text}");
}

#[tokio::test]
async fn an_upstream_that_serves_responses_gets_the_request_as_it_came() {
    passed_through(Backend::Sqlite).await;
}

#[tokio::test]
async fn an_upstream_that_serves_responses_gets_the_request_as_it_came_on_postgres() {
    passed_through(Backend::Postgres).await;
}

async fn passed_through(backend: Backend) {
    let up = MockUpstream::start("alpha").await;
    let (app, key) = gateway_speaking(
        TestApp::new(backend).await,
        &[(up.base_url.as_str(), UpstreamApi::OpenaiResponses)],
        Duration::from_secs(5),
    )
    .await;
    let body = r#"{"model":"llama","input":"Hi","tools":[{"type":"web_search"}],"include":["reasoning.encrypted_content"],"store":false,"max_output_tokens":9}"#;
    let (status, text) = post(&app, "/v1/responses", &key, body.to_owned()).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["id"], "resp_mock_1");
    let sent = &up.received()[0];
    assert_eq!(sent.path, "/v1/responses");
    assert_eq!(sent.raw, body.replace("\"llama\"", "\"upstream-llama\""));

    let (status, text) = responses(
        &app,
        &key,
        json!({ "model": "llama", "input": "Hi", "stream": true }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let events = events(&text);
    assert_eq!(events.first().unwrap().0, "response.created");
    assert_eq!(events.last().unwrap().0, "response.completed");
    // A stream of the Responses API is not asked for chat's usage chunk.
    assert!(up.received()[1].body.get("stream_options").is_none());
    // An id in the upstream's own store (which every user shares) is never passed on, however
    // it is written.
    for body in [
        r#"{"model":"llama","input":[{"type":"item_reference","id":"msg_other"}]}"#,
        r#"{"model":"llama","input":"Hi","previous_response_id":"resp_other"}"#,
        r#"{"model":"llama","input":"Hi","previous_response_id":null,"previous_response_id":"resp_other"}"#,
    ] {
        let (status, text) = post(&app, "/v1/responses", &key, body.to_owned()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {text}");
    }
    assert_eq!(up.received().len(), 2);
    assert_eq!(recorded(&app).await, (2, 22, 8));
}

/// A gateway that keeps responses, with a second user who must not see the first's.
async fn storing_gateway(up: &MockUpstream, backend: Backend) -> (TestApp, String, String) {
    let settings = GatewaySettings {
        response_retention: Some(Duration::from_secs(3600)),
        ..GatewaySettings::default()
    };
    let app = TestApp::with_settings(testing::TestDb::new(backend).await, settings).await;
    let (app, key) = crate::proxy::gateway_in(app, &[up], Duration::from_secs(5)).await;
    app.user("sam", app::types::Role::User, "sam's long password", false)
        .await;
    let (sam, _) = app.login("sam", "sam's long password").await;
    let other = app
        .call(
            "/api/keys/create",
            json!({ "name": "k", "models": ["llama"] }),
            Some(&sam),
        )
        .await
        .str("secret");
    (app, key, other)
}

#[tokio::test]
async fn stored_responses_carry_a_conversation_and_are_their_owners_alone() {
    stored_responses(Backend::Sqlite).await;
}

#[tokio::test]
async fn stored_responses_carry_a_conversation_and_are_their_owners_alone_on_postgres() {
    stored_responses(Backend::Postgres).await;
}

async fn stored_responses(backend: Backend) {
    let up = MockUpstream::start("alpha").await;
    let (app, key, other) = storing_gateway(&up, backend).await;
    let (status, text) = responses(&app, &key, json!({ "model": "llama", "input": "First" })).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let first: Value = serde_json::from_str(&text).unwrap();
    let id = first["id"].as_str().unwrap().to_owned();
    assert_eq!(first["store"], true);

    // Kept in the background: wait for it.
    let path = format!("/v1/responses/{id}");
    let mut kept = Value::Null;
    for _ in 0..100 {
        let (status, v) = call(&app, "GET", &path, &key).await;
        if status == StatusCode::OK {
            kept = v;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(kept["id"], id);
    assert_eq!(kept["output"], first["output"]);

    // The next turn names it, streamed: the upstream sees the whole conversation.
    let (status, text) = responses(
        &app,
        &key,
        json!({ "model": "llama", "input": "Second", "previous_response_id": id, "stream": true }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let done = events(&text).last().unwrap().1["response"].clone();
    assert_eq!(done["previous_response_id"], id);
    let sent = &up.received()[1].body["messages"];
    assert_eq!(
        *sent,
        json!([
            { "role": "user", "content": "First" },
            { "role": "assistant", "content": "hello from alpha" },
            { "role": "user", "content": "Second" },
        ])
    );

    let (status, items) = call(&app, "GET", &format!("{path}/input_items?order=asc"), &key).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(items["object"], "list");
    assert_eq!(items["data"][0]["content"][0]["text"], "First");
    assert_eq!(items["has_more"], false);

    // Another user cannot read, chain from or delete it.
    let (status, _) = call(&app, "GET", &path, &other).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, text) = responses(
        &app,
        &other,
        json!({ "model": "llama", "input": "x", "previous_response_id": id }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    let (status, _) = call(&app, "DELETE", &path, &other).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, v) = call(&app, "DELETE", &path, &key).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["deleted"], true);
    let (status, _) = call(&app, "GET", &path, &key).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // `store: false` keeps nothing.
    let (_, text) = responses(
        &app,
        &key,
        json!({ "model": "llama", "input": "x", "store": false }),
    )
    .await;
    let unkept: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(unkept["store"], false);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (status, _) = call(
        &app,
        "GET",
        &format!("/v1/responses/{}", unkept["id"].as_str().unwrap()),
        &key,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
