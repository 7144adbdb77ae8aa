//! A fake OpenAI-compatible server on a random loopback port: it answers chat (plain and
//! streamed), completions, embeddings and models, fails on demand, and records what it got.

use std::sync::{Arc, Mutex};

use axum::{
    Json, Router,
    body::Body,
    extract::State,
    http::{HeaderMap, StatusCode, Uri},
    response::{IntoResponse, Response},
    routing::post,
};
use futures_util::StreamExt;
use serde_json::{Value, json};

#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub authorization: Option<String>,
    pub body: Value,
    /// The body as it arrived, byte for byte.
    pub raw: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    Answer,
    Fail(u16),
    /// Streams one chunk, then breaks the connection.
    Cut,
    /// Streams a chunk every 50 ms, 200 of them, noting whether the client hung up early.
    Slow,
    /// Streams one chunk, then sends nothing more while keeping the connection open.
    Stall,
    /// Sends nothing at all, not even headers, for a minute.
    Hang,
    /// Streams one chunk, then the rest only once the test calls [`MockUpstream::open_gate`].
    Gated,
    /// Streams two chunks, then closes the connection cleanly without `[DONE]`.
    Truncated,
    /// Answers in full but reports no usage, streamed or not.
    NoUsage,
    /// Streams one chunk, then an event that never ends (64 MiB without a blank line).
    Flood,
    /// A model driving a coding agent: a tool call, then the tool's output (see `mock_agent`).
    Agent,
}

#[derive(Clone)]
struct Shared {
    name: &'static str,
    hung_up: Arc<std::sync::atomic::AtomicBool>,
    received: Arc<Mutex<Vec<Received>>>,
    behaviour: Arc<Mutex<Behaviour>>,
    models: Arc<Mutex<Vec<String>>>,
    gate: Arc<tokio::sync::Notify>,
    /// How long a plain answer waits before it is sent.
    delay: Arc<Mutex<std::time::Duration>>,
}

pub struct MockUpstream {
    pub base_url: String,
    shared: Shared,
    server: tokio::task::JoinHandle<()>,
}

impl MockUpstream {
    pub async fn start(name: &'static str) -> Self {
        let shared = Shared {
            name,
            hung_up: Arc::default(),
            received: Arc::default(),
            behaviour: Arc::new(Mutex::new(Behaviour::Answer)),
            models: Arc::new(Mutex::new(vec!["upstream-llama".to_owned()])),
            gate: Arc::default(),
            delay: Arc::default(),
        };
        let app = Router::new()
            .route("/v1/chat/completions", post(answer))
            .route("/v1/completions", post(answer))
            .route("/v1/embeddings", post(answer))
            .route("/v1/responses", post(answer))
            .route("/v1/rerank", post(answer))
            .route("/v1/audio/speech", post(answer))
            .route("/v1/audio/transcriptions", post(answer))
            .route("/v1/audio/translations", post(answer))
            .route("/v1/images/generations", post(answer))
            .route("/v1/images/edits", post(answer))
            .route("/v1/images/variations", post(answer))
            .route("/v1/moderations", post(answer))
            .route("/v1/score", post(answer))
            .route("/detokenize", post(answer))
            .route("/v1/models", axum::routing::get(list_models))
            // vLLM's tokenizer sits at the server's root, beside `/v1`.
            .route("/tokenize", post(tokenize))
            // Uploads as large as a long recording.
            .layer(axum::extract::DefaultBodyLimit::max(64 << 20))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind mock upstream");
        let addr = listener.local_addr().expect("address");
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("mock upstream");
        });
        Self {
            base_url: format!("http://{addr}/v1"),
            shared,
            server,
        }
    }

    /// Stops listening: connections are refused from now on.
    pub async fn stop(&self) {
        self.server.abort();
        // Let the runtime drop the listener.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    pub fn set(&self, b: Behaviour) {
        *self.shared.behaviour.lock().unwrap() = b;
    }

    /// Whether a slow stream's client hung up before its end.
    pub fn hung_up(&self) -> bool {
        self.shared
            .hung_up
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// What `GET /v1/models` lists from now on.
    pub fn set_models(&self, names: &[&str]) {
        *self.shared.models.lock().unwrap() = names.iter().map(|n| (*n).to_owned()).collect();
    }

    /// Plain answers wait this long from now on, so a burst of requests is in flight at once.
    pub fn set_delay(&self, delay: std::time::Duration) {
        *self.shared.delay.lock().unwrap() = delay;
    }

    /// Lets a gated stream send the rest of its chunks.
    pub fn open_gate(&self) {
        self.shared.gate.notify_one();
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }
}

async fn list_models(State(s): State<Shared>, headers: HeaderMap) -> Response {
    s.received.lock().unwrap().push(Received {
        path: "/v1/models".to_owned(),
        authorization: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: Value::Null,
        raw: String::new(),
    });
    if let Behaviour::Fail(code) = *s.behaviour.lock().unwrap() {
        return (StatusCode::from_u16(code).unwrap(), "listing failed").into_response();
    }
    let data: Vec<Value> = s
        .models
        .lock()
        .unwrap()
        .iter()
        .map(|id| json!({ "id": id, "object": "model", "created": 1, "owned_by": s.name }))
        .collect();
    Json(json!({ "object": "list", "data": data })).into_response()
}

/// Like vLLM's chat `/tokenize`: ten tokens a message, five for the tools.
async fn tokenize(State(s): State<Shared>, headers: HeaderMap, raw: axum::body::Bytes) -> Response {
    let body: Value = serde_json::from_slice(&raw).unwrap_or(Value::Null);
    s.received.lock().unwrap().push(Received {
        path: "/tokenize".to_owned(),
        authorization: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: body.clone(),
        raw: String::from_utf8_lossy(&raw).into_owned(),
    });
    if let Behaviour::Fail(code) = *s.behaviour.lock().unwrap() {
        return (StatusCode::from_u16(code).unwrap(), "tokenize failed").into_response();
    }
    let messages = body["messages"].as_array().map_or(0, Vec::len);
    let tools = if body["tools"].is_array() { 5 } else { 0 };
    let count = messages * 10 + tools;
    Json(json!({ "count": count, "max_model_len": 8192, "tokens": vec![1; count] })).into_response()
}

fn chunk(content: &str) -> String {
    let c = json!({ "object": "chat.completion.chunk", "choices": [{ "index": 0, "delta": { "content": content } }] });
    format!("data: {c}\n\n")
}

fn event_stream(
    stream: impl futures_util::Stream<Item = Result<String, std::io::Error>> + Send + 'static,
) -> Response {
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::from_stream(stream))
        .unwrap()
}

async fn answer(
    State(s): State<Shared>,
    uri: Uri,
    headers: HeaderMap,
    raw: axum::body::Bytes,
) -> Response {
    let multipart = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("multipart/form-data"));
    // An upload is recorded as its parts, by name.
    let parts = if multipart {
        crate::mock_media::parts(&headers, raw.clone()).await
    } else {
        Vec::new()
    };
    let body: Value = if multipart {
        Value::Object(parts.iter().cloned().collect())
    } else {
        serde_json::from_slice(&raw).unwrap_or(Value::Null)
    };
    s.received.lock().unwrap().push(Received {
        path: uri.path().to_owned(),
        authorization: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: body.clone(),
        raw: String::from_utf8_lossy(&raw).into_owned(),
    });
    if let Behaviour::Fail(code) = *s.behaviour.lock().unwrap() {
        let status = StatusCode::from_u16(code).unwrap();
        let error = json!({ "error": { "message": format!("{} is failing", s.name), "type": "server_error", "param": null, "code": "mock_failure" } });
        return (status, Json(error)).into_response();
    }
    let model = body["model"].clone();
    let behaviour = *s.behaviour.lock().unwrap();
    match behaviour {
        Behaviour::Hang => {
            tokio::time::sleep(std::time::Duration::from_secs(60)).await;
        }
        Behaviour::Stall => {
            let stream = futures_util::stream::once(async { Ok(chunk("x")) })
                .chain(futures_util::stream::pending());
            return event_stream(stream);
        }
        Behaviour::Gated => {
            let gate = s.gate.clone();
            let rest = futures_util::stream::once(async move {
                gate.notified().await;
                Ok(chunk("second"))
            })
            .chain(futures_util::stream::iter([Ok(
                "data: [DONE]\n\n".to_owned()
            )]));
            return event_stream(futures_util::stream::iter([Ok(chunk("first"))]).chain(rest));
        }
        Behaviour::Truncated => {
            return event_stream(futures_util::stream::iter([
                Ok(chunk("Hel")),
                Ok(chunk("lo")),
            ]));
        }
        Behaviour::Flood => {
            let piece = "x".repeat(1 << 20);
            let flood = futures_util::stream::iter(0..64).map(move |_| Ok(piece.clone()));
            return event_stream(
                futures_util::stream::iter([Ok(chunk("x")), Ok("data: ".to_owned())]).chain(flood),
            );
        }
        Behaviour::NoUsage if body["stream"] == true => {
            return event_stream(futures_util::stream::iter([
                Ok(chunk("Hello")),
                Ok("data: [DONE]\n\n".to_owned()),
            ]));
        }
        Behaviour::NoUsage => {
            return Json(json!({
                "id": "cmpl-1", "object": "chat.completion", "model": model,
                "choices": [{ "index": 0, "message": { "role": "assistant", "content": "hello" }, "finish_reason": "stop" }],
            }))
            .into_response();
        }
        _ => {}
    }
    match uri.path() {
        "/v1/rerank" => return crate::mock_media::rerank(&body),
        "/v1/audio/speech" => return crate::mock_media::speech(),
        "/v1/audio/transcriptions" | "/v1/audio/translations" => {
            return crate::mock_media::transcription(&parts);
        }
        "/v1/images/generations" => {
            return crate::mock_media::images(body["n"].as_u64().unwrap_or(1));
        }
        "/v1/images/edits" | "/v1/images/variations" => {
            let n = body["n"].as_str().and_then(|n| n.parse().ok()).unwrap_or(1);
            return crate::mock_media::images(n);
        }
        "/v1/moderations" => return crate::mock_media::moderations(&body),
        "/detokenize" => return Json(json!({ "prompt": "hi" })).into_response(),
        "/v1/score" => {
            return Json(
                json!({ "id": "score-1", "object": "list", "model": body["model"],
                "data": [{ "index": 0, "object": "score", "score": 0.5 }],
                "usage": { "prompt_tokens": 7, "total_tokens": 7 } }),
            )
            .into_response();
        }
        _ => {}
    }
    if uri.path() == "/v1/responses" {
        return crate::mock_responses::answer(&body, s.name, behaviour == Behaviour::Agent);
    }
    if behaviour == Behaviour::Agent {
        return crate::mock_agent::answer(&body);
    }
    if behaviour == Behaviour::Cut {
        let chunk = json!({ "object": "chat.completion.chunk", "choices": [{ "index": 0, "delta": { "content": "x" } }] });
        let stream = futures_util::stream::unfold(0, move |step| {
            let chunk = chunk.clone();
            async move {
                match step {
                    0 => Some((Ok(format!("data: {chunk}\n\n")), 1)),
                    1 => {
                        // Let the first chunk reach the gateway before the connection breaks.
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                        Some((Err(std::io::Error::other("connection cut")), 2))
                    }
                    _ => None,
                }
            }
        });
        return Response::builder()
            .header("content-type", "text/event-stream")
            .body(Body::from_stream(stream))
            .unwrap();
    }
    if *s.behaviour.lock().unwrap() == Behaviour::Slow {
        struct HangUp(Arc<std::sync::atomic::AtomicBool>, usize);
        impl Drop for HangUp {
            fn drop(&mut self) {
                if self.1 < 200 {
                    self.0.store(true, std::sync::atomic::Ordering::SeqCst);
                }
            }
        }
        let guard = HangUp(s.hung_up.clone(), 0);
        let stream = futures_util::stream::unfold(guard, |mut g| async move {
            if g.1 == 200 {
                return None;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            g.1 += 1;
            let chunk = json!({ "object": "chat.completion.chunk", "choices": [{ "index": 0, "delta": { "content": "x" } }] });
            Some((Ok::<_, std::io::Error>(format!("data: {chunk}\n\n")), g))
        });
        return Response::builder()
            .header("content-type", "text/event-stream")
            .body(Body::from_stream(stream))
            .unwrap();
    }
    if uri.path().ends_with("/embeddings") {
        return Json(json!({ "object": "list", "model": model, "data": [{ "object": "embedding", "index": 0, "embedding": [0.1, 0.2] }], "usage": { "prompt_tokens": 2, "total_tokens": 2 } })).into_response();
    }
    if body["stream"] == true {
        let mut chunks: Vec<String> = ["Hel", "lo"]
            .iter()
            .map(|t| format!("data: {}\n\n", json!({ "object": "chat.completion.chunk", "model": model, "choices": [{ "index": 0, "delta": { "content": t } }] })))
            .collect();
        if body["stream_options"]["include_usage"] == true {
            let usage = json!({ "object": "chat.completion.chunk", "model": model, "choices": [], "usage": { "prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7 } });
            chunks.push(format!("data: {usage}\n\n"));
        }
        chunks.push("data: [DONE]\n\n".to_owned());
        let stream = futures_util::stream::iter(chunks.into_iter().map(Ok::<_, std::io::Error>));
        return Response::builder()
            .header("content-type", "text/event-stream")
            .body(Body::from_stream(stream))
            .unwrap();
    }
    let delay = *s.delay.lock().unwrap();
    tokio::time::sleep(delay).await;
    // Like a model that writes until it is stopped: as many tokens as `max_tokens` allows.
    let completion = body["max_tokens"].as_i64().unwrap_or(4);
    Json(json!({
        "id": "cmpl-1", "object": "chat.completion", "model": model, "served_by": s.name,
        "choices": [{ "index": 0, "message": { "role": "assistant", "content": format!("hello from {}", s.name) }, "finish_reason": "stop" }],
        "usage": { "prompt_tokens": 3, "completion_tokens": completion, "total_tokens": 3 + completion },
    }))
    .into_response()
}
