//! The upstream the benchmark measures against. Its answers are built once and it does as
//! little per request as an HTTP server can, so that what differs between a direct run and a
//! run through the gateway is the gateway alone.
//!
//! Streamed chunks carry the wall-clock time they were sent (`x_sent_us`), so the load
//! generator can tell how long each one took to arrive, through the gateway or not.

use std::{
    convert::Infallible,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use bytes::Bytes;
use futures_util::stream;
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::{
    Method, Request, Response, StatusCode, body::Frame, header, server::conn::http1,
    service::service_fn,
};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use tokio::net::TcpListener;

#[derive(Debug, Clone, Copy)]
pub struct MockOptions {
    /// Content chunks in a streamed answer.
    pub chunks: usize,
    /// The pause before each content chunk, as a model's time per token.
    pub gap: Duration,
    /// Dimensions of each embedding.
    pub dims: usize,
}

struct Bodies {
    chat: Bytes,
    embeddings: Bytes,
    models: Bytes,
    role_chunk: Bytes,
    finish_chunk: Bytes,
    usage_chunk: Bytes,
    options: MockOptions,
}

type Body = BoxBody<Bytes, Infallible>;

pub async fn serve(listener: TcpListener, options: MockOptions) -> anyhow::Result<()> {
    let bodies = Arc::new(Bodies::new(options));
    loop {
        let (tcp, _) = listener.accept().await?;
        tcp.set_nodelay(true)?;
        let bodies = bodies.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| answer(bodies.clone(), req));
            // A client going away mid-answer is normal under load; nothing to report.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(tcp), service)
                .await;
        });
    }
}

#[derive(Deserialize)]
struct Probe {
    #[serde(default)]
    stream: bool,
}

async fn answer(
    bodies: Arc<Bodies>,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Body>, hyper::Error> {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let body = req.into_body().collect().await?.to_bytes();
    Ok(match (method, path.as_str()) {
        (Method::POST, "/v1/chat/completions") => match serde_json::from_slice::<Probe>(&body) {
            Ok(Probe { stream: true }) => streamed(bodies),
            Ok(_) => json(bodies.chat.clone()),
            Err(_) => status(StatusCode::BAD_REQUEST),
        },
        (Method::POST, "/v1/embeddings") => json(bodies.embeddings.clone()),
        (Method::GET, "/v1/models") => json(bodies.models.clone()),
        _ => status(StatusCode::NOT_FOUND),
    })
}

fn json(body: Bytes) -> Response<Body> {
    Response::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .body(Full::new(body).boxed())
        .unwrap_or_else(|_| status(StatusCode::INTERNAL_SERVER_ERROR))
}

fn status(code: StatusCode) -> Response<Body> {
    let mut res = Response::new(Full::new(Bytes::new()).boxed());
    *res.status_mut() = code;
    res
}

fn streamed(bodies: Arc<Bodies>) -> Response<Body> {
    let opts = bodies.options;
    // Step 0 is the role chunk, sent with the headers; then the content chunks, each after a
    // gap; then the finish, usage and `[DONE]` events together.
    let events = stream::unfold(0usize, move |step| {
        let bodies = bodies.clone();
        async move {
            let frame = match step {
                0 => bodies.role_chunk.clone(),
                n if n <= opts.chunks => {
                    if !opts.gap.is_zero() {
                        tokio::time::sleep(opts.gap).await;
                    }
                    content_chunk(n)
                }
                n if n == opts.chunks + 1 => {
                    let mut tail = Vec::with_capacity(512);
                    tail.extend_from_slice(&bodies.finish_chunk);
                    tail.extend_from_slice(&bodies.usage_chunk);
                    tail.extend_from_slice(b"data: [DONE]\n\n");
                    Bytes::from(tail)
                }
                _ => return None,
            };
            Some((Ok::<_, Infallible>(Frame::data(frame)), step + 1))
        }
    });
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(BodyExt::boxed(StreamBody::new(events)))
        .unwrap_or_else(|_| status(StatusCode::INTERNAL_SERVER_ERROR))
}

pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

fn content_chunk(n: usize) -> Bytes {
    Bytes::from(format!(
        "data: {{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\
         \"model\":\"bench\",\"x_sent_us\":{},\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"token{n} \"}},\
         \"finish_reason\":null}}]}}\n\n",
        now_us()
    ))
}

impl Bodies {
    fn new(options: MockOptions) -> Self {
        let chunks = options.chunks;
        let chat = serde_json::json!({
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": "bench",
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": "Hello! How can I help you today?"},
                "finish_reason": "stop",
            }],
            "usage": {"prompt_tokens": 12, "completion_tokens": 9, "total_tokens": 21},
        });
        // Deterministic values with the digits of real embeddings.
        let vector: Vec<f64> = (0..options.dims)
            .map(|i| ((i * 7919 % 2000) as f64 - 1000.0) / 31_337.0)
            .collect();
        let embeddings = serde_json::json!({
            "object": "list",
            "data": [{"object": "embedding", "index": 0, "embedding": vector}],
            "model": "bench",
            "usage": {"prompt_tokens": 8, "total_tokens": 8},
        });
        let models = serde_json::json!({
            "object": "list",
            "data": [{"id": "bench", "object": "model", "created": 1_700_000_000, "owned_by": "bench"}],
        });
        let chunk = |v: serde_json::Value| Bytes::from(format!("data: {v}\n\n"));
        Self {
            chat: Bytes::from(chat.to_string()),
            embeddings: Bytes::from(embeddings.to_string()),
            models: Bytes::from(models.to_string()),
            role_chunk: chunk(serde_json::json!({
                "id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1_700_000_000,
                "model": "bench",
                "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}],
            })),
            finish_chunk: chunk(serde_json::json!({
                "id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1_700_000_000,
                "model": "bench",
                "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
            })),
            usage_chunk: chunk(serde_json::json!({
                "id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1_700_000_000,
                "model": "bench", "choices": [],
                "usage": {"prompt_tokens": 12, "completion_tokens": chunks, "total_tokens": 12 + chunks},
            })),
            options,
        }
    }
}
