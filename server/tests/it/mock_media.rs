//! The mock upstream's rerank, audio, images and moderations, in the shapes vLLM, Xinference
//! and OpenAI answer with; uploads are read part by part, so tests can see what arrived.

use axum::{
    Json,
    body::Body,
    http::HeaderMap,
    response::{IntoResponse, Response},
};
use futures_util::StreamExt;
use serde_json::{Value, json};

/// The audio bytes `/audio/speech` answers with, sent in eight pieces.
pub const SPEECH: &[u8] = &[0x49, 0x44, 0x33, 0x04, 0x00, 0x00, 0x00, 0x00];

/// A multipart body's parts: text fields with their text, files with their length.
pub async fn parts(headers: &HeaderMap, raw: axum::body::Bytes) -> Vec<(String, Value)> {
    let boundary = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| multer::parse_boundary(ct).ok())
        .unwrap_or_default();
    let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(raw) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut out = Vec::new();
    while let Ok(Some(field)) = multipart.next_field().await {
        let name = field.name().unwrap_or_default().to_owned();
        let file = field.file_name().map(str::to_owned);
        let bytes = field.bytes().await.unwrap_or_default();
        let value = match file {
            Some(f) => {
                json!({ "file_name": f, "len": bytes.len(), "head": String::from_utf8_lossy(&bytes[..bytes.len().min(16)]) })
            }
            None => json!(String::from_utf8_lossy(&bytes)),
        };
        out.push((name, value));
    }
    out
}

/// Rerank as Xinference answers it: Cohere's shape, documents only when asked for, tokens in
/// `meta`; and it takes documents only as strings, as Cohere's v2 API does.
pub fn rerank(body: &Value) -> Response {
    let documents = body["documents"].as_array().cloned().unwrap_or_default();
    if !documents.iter().all(Value::is_string) {
        let error = json!({ "detail": "documents must be a list of strings" });
        return (axum::http::StatusCode::UNPROCESSABLE_ENTITY, Json(error)).into_response();
    }
    let returned = body["return_documents"] == true;
    let mut results: Vec<Value> = documents
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let document = if returned {
                json!({ "text": d })
            } else {
                Value::Null
            };
            json!({ "index": i, "relevance_score": 1.0 / (i as f64 + 1.0), "document": document })
        })
        .collect();
    if let Some(n) = body["top_n"].as_u64() {
        results.truncate(usize::try_from(n).unwrap_or(usize::MAX));
    }
    Json(json!({ "id": "rerank-1", "results": results,
        "meta": { "api_version": null, "billed_units": { "input_tokens": 12, "search_units": 1 },
            "tokens": { "input_tokens": 12, "output_tokens": 0 } } }))
    .into_response()
}

pub fn speech() -> Response {
    let pieces =
        futures_util::stream::iter(SPEECH.chunks(1).map(|c| c.to_vec())).then(|c| async move {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            Ok::<_, std::io::Error>(c)
        });
    Response::builder()
        .header("content-type", "audio/mpeg")
        .body(Body::from_stream(pieces))
        .unwrap()
}

pub fn images(n: u64) -> Response {
    let data: Vec<Value> = (0..n.max(1))
        .map(|_| json!({ "b64_json": "iVBORw0KGgo=" }))
        .collect();
    Json(json!({ "created": 1_800_000_000, "data": data, "usage": { "input_tokens": 5, "output_tokens": 50, "total_tokens": 55 } }))
        .into_response()
}

pub fn moderations(body: &Value) -> Response {
    Json(json!({ "id": "modr-1", "model": body["model"], "results": [{
        "flagged": false, "categories": { "violence": false }, "category_scores": { "violence": 0.01 },
    }] }))
    .into_response()
}

/// A transcription of the upload's file, in the format it asked for.
pub fn transcription(parts: &[(String, Value)]) -> Response {
    let field = |n: &str| parts.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let len = field("file").and_then(|f| f["len"].as_u64()).unwrap_or(0);
    let text = format!("heard {len} bytes");
    match field("response_format").as_ref().and_then(Value::as_str) {
        Some("text") => text.into_response(),
        _ if field("stream").as_ref().and_then(Value::as_str) == Some("true") => {
            let events = [
                json!({ "type": "transcript.text.delta", "delta": "heard " }),
                json!({ "type": "transcript.text.delta", "delta": format!("{len} bytes") }),
                json!({ "type": "transcript.text.done", "text": text, "usage": { "type": "tokens", "input_tokens": 20, "output_tokens": 4, "total_tokens": 24 } }),
            ];
            let sse: String = events.iter().map(|e| format!("data: {e}\n\n")).collect();
            Response::builder()
                .header("content-type", "text/event-stream")
                .body(Body::from(sse))
                .unwrap()
        }
        _ => Json(json!({ "text": text, "duration": 2.5, "language": "english" })).into_response(),
    }
}
