//! A fake Anthropic API on a random loopback port: Messages (plain and streamed, with a tool
//! call when tools are offered), `count_tokens` and the model list; fails on demand in
//! Anthropic's error shape, and records what it got, headers included.

use std::sync::{Arc, Mutex};

use axum::{
    Json, Router,
    body::Body,
    extract::State,
    http::{HeaderMap, StatusCode, Uri},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::{Value, json};

#[derive(Debug, Clone)]
pub struct Received {
    /// With its query.
    pub path: String,
    pub headers: HeaderMap,
    pub body: Value,
    pub raw: String,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

#[derive(Clone)]
struct Shared {
    name: &'static str,
    received: Arc<Mutex<Vec<Received>>>,
    fail: Arc<Mutex<Option<u16>>>,
    /// Streams end with an `overloaded_error` event after the first text.
    break_streams: Arc<std::sync::atomic::AtomicBool>,
    /// Answers as a model driving a coding agent (see `mock_agent`).
    agent: Arc<std::sync::atomic::AtomicBool>,
}

pub struct MockAnthropic {
    pub base_url: String,
    shared: Shared,
}

/// The prompt's tokens as the mock reports them: 10 plain, 2 read from the cache.
pub const PROMPT_TOKENS: i64 = 12;
pub const OUTPUT_TOKENS: i64 = 4;

impl MockAnthropic {
    pub async fn start(name: &'static str) -> Self {
        let shared = Shared {
            name,
            received: Arc::default(),
            fail: Arc::default(),
            break_streams: Arc::default(),
            agent: Arc::default(),
        };
        let app = Router::new()
            .route("/v1/messages", post(messages))
            .route("/v1/messages/count_tokens", post(count_tokens))
            .route("/v1/models", get(models))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind mock anthropic");
        let addr = listener.local_addr().expect("address");
        tokio::spawn(async move {
            axum::serve(listener, app).await.expect("mock anthropic");
        });
        Self {
            base_url: format!("http://{addr}/v1"),
            shared,
        }
    }

    /// Every call fails with this status from now on; `None` answers again.
    pub fn fail(&self, status: Option<u16>) {
        *self.shared.fail.lock().unwrap() = status;
    }

    /// Streams fail midway from now on, as Anthropic's do when overloaded.
    pub fn break_streams(&self) {
        self.shared
            .break_streams
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Answers as a model driving a coding agent from now on: a tool call, then its output.
    pub fn agent(&self) {
        self.shared
            .agent
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }
}

fn record(s: &Shared, uri: &Uri, headers: &HeaderMap, raw: &[u8]) -> Value {
    let body: Value = serde_json::from_slice(raw).unwrap_or(Value::Null);
    s.received.lock().unwrap().push(Received {
        path: uri
            .path_and_query()
            .map_or_else(|| uri.path().to_owned(), ToString::to_string),
        headers: headers.clone(),
        body: body.clone(),
        raw: String::from_utf8_lossy(raw).into_owned(),
    });
    body
}

fn failure(s: &Shared) -> Option<Response> {
    let code = (*s.fail.lock().unwrap())?;
    let kind = match code {
        400 => "invalid_request_error",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        _ => "api_error",
    };
    let body = json!({ "type": "error", "error": { "type": kind, "message": format!("{} says no", s.name) } });
    Some((StatusCode::from_u16(code).unwrap(), Json(body)).into_response())
}

async fn models(State(s): State<Shared>, uri: Uri, headers: HeaderMap) -> Response {
    record(&s, &uri, &headers, b"");
    if let Some(f) = failure(&s) {
        return f;
    }
    Json(json!({
        "data": [{ "type": "model", "id": "claude-mock", "display_name": "Claude Mock", "created_at": "2026-01-01T00:00:00Z" }],
        "has_more": false, "first_id": "claude-mock", "last_id": "claude-mock",
    }))
    .into_response()
}

async fn count_tokens(
    State(s): State<Shared>,
    uri: Uri,
    headers: HeaderMap,
    raw: axum::body::Bytes,
) -> Response {
    record(&s, &uri, &headers, &raw);
    if let Some(f) = failure(&s) {
        return f;
    }
    Json(json!({ "input_tokens": 42 })).into_response()
}

async fn messages(
    State(s): State<Shared>,
    uri: Uri,
    headers: HeaderMap,
    raw: axum::body::Bytes,
) -> Response {
    let body = record(&s, &uri, &headers, &raw);
    if let Some(f) = failure(&s) {
        return f;
    }
    if s.agent.load(std::sync::atomic::Ordering::SeqCst) {
        return crate::mock_agent::anthropic_answer(&body);
    }
    let model = body["model"].clone();
    let tools = body["tools"].as_array().is_some_and(|t| !t.is_empty());
    let usage =
        json!({ "input_tokens": 10, "cache_read_input_tokens": 2, "output_tokens": OUTPUT_TOKENS });
    let text = format!("hello from {}", s.name);
    if body["stream"] != true {
        let mut content = vec![json!({ "type": "text", "text": text })];
        if tools {
            content.push(json!({ "type": "tool_use", "id": "toolu_mock", "name": "weather", "input": { "city": "Paris" } }));
        }
        return Json(json!({
            "id": "msg_mock", "type": "message", "role": "assistant", "model": model,
            "content": content, "stop_reason": if tools { "tool_use" } else { "end_turn" },
            "stop_sequence": null, "usage": usage,
        }))
        .into_response();
    }
    let mut events = vec![
        (
            "message_start",
            json!({ "type": "message_start", "message": { "id": "msg_mock", "type": "message", "role": "assistant", "model": model, "content": [], "stop_reason": null, "stop_sequence": null, "usage": { "input_tokens": 10, "cache_read_input_tokens": 2, "output_tokens": 1 } } }),
        ),
        (
            "content_block_start",
            json!({ "type": "content_block_start", "index": 0, "content_block": { "type": "text", "text": "" } }),
        ),
        ("ping", json!({ "type": "ping" })),
        (
            "content_block_delta",
            json!({ "type": "content_block_delta", "index": 0, "delta": { "type": "text_delta", "text": "Hel" } }),
        ),
        (
            "content_block_delta",
            json!({ "type": "content_block_delta", "index": 0, "delta": { "type": "text_delta", "text": "lo" } }),
        ),
        (
            "content_block_stop",
            json!({ "type": "content_block_stop", "index": 0 }),
        ),
    ];
    if s.break_streams.load(std::sync::atomic::Ordering::SeqCst) {
        events.truncate(4);
        events.push((
            "error",
            json!({ "type": "error", "error": { "type": "overloaded_error", "message": "Overloaded" } }),
        ));
        return event_stream(events);
    }
    if tools {
        events.extend([
            (
                "content_block_start",
                json!({ "type": "content_block_start", "index": 1, "content_block": { "type": "tool_use", "id": "toolu_mock", "name": "weather", "input": {} } }),
            ),
            (
                "content_block_delta",
                json!({ "type": "content_block_delta", "index": 1, "delta": { "type": "input_json_delta", "partial_json": "{\"city\":" } }),
            ),
            (
                "content_block_delta",
                json!({ "type": "content_block_delta", "index": 1, "delta": { "type": "input_json_delta", "partial_json": "\"Paris\"}" } }),
            ),
            (
                "content_block_stop",
                json!({ "type": "content_block_stop", "index": 1 }),
            ),
        ]);
    }
    events.extend([
        (
            "message_delta",
            json!({ "type": "message_delta", "delta": { "stop_reason": if tools { "tool_use" } else { "end_turn" }, "stop_sequence": null }, "usage": { "output_tokens": OUTPUT_TOKENS } }),
        ),
        ("message_stop", json!({ "type": "message_stop" })),
    ]);
    event_stream(events)
}

fn event_stream(events: Vec<(&'static str, Value)>) -> Response {
    let frames = events
        .into_iter()
        .map(|(name, data)| Ok::<_, std::io::Error>(format!("event: {name}\ndata: {data}\n\n")));
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::from_stream(futures_util::stream::iter(frames)))
        .unwrap()
}
