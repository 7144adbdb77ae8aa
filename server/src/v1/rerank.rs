//! Rerank between the shapes clients send and servers read: Cohere's v1 and v2, Jina's, and
//! Xinference's. They agree on `model`, `query`, `top_n` and `results[].{index,
//! relevance_score}`; they differ in whether `documents` may be objects, whether documents come
//! back, and where usage is reported. Requests whose documents are all strings pass as they
//! came (every server reads those); object documents become their text, which every server
//! reads, where Cohere v2 and Xinference would refuse objects. Answers are completed to what
//! each client reads: the documents when asked for, `usage` for Jina's clients and
//! `meta.billed_units` for Cohere's.

use serde_json::{Map, Value, json};

use super::ApiError;

/// The text a server reranks for one document: a string as it is; an object's `text`, else its
/// `rank_fields` (or every string field) as `key: value` lines, as Cohere reads objects.
fn text_of(document: &Value, rank_fields: Option<&[Value]>) -> Option<String> {
    match document {
        Value::String(s) => Some(s.clone()),
        Value::Object(fields) => {
            if let Some(text) = fields.get("text").and_then(Value::as_str) {
                return Some(text.to_owned());
            }
            let wanted = |k: &str| rank_fields.is_none_or(|r| r.iter().any(|f| f == k));
            let lines: Vec<String> = fields
                .iter()
                .filter(|(k, _)| wanted(k))
                .filter_map(|(k, v)| v.as_str().map(|v| format!("{k}: {v}")))
                .collect();
            (!lines.is_empty()).then(|| lines.join("\n"))
        }
        _ => None,
    }
}

/// Whether a document is an image (Jina's multimodal rerankers): only a server that reads
/// objects can take it, so such a request passes as it came.
fn is_image(document: &Value) -> bool {
    document.get("image").is_some()
}

/// The request for the upstream, when it must differ from the client's: `None` when every
/// document is already a string, or some are images.
pub fn request(body: &Value) -> Result<Option<Value>, ApiError> {
    let documents = body
        .get("documents")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::BadRequest {
            message: "`documents` must be a list of strings or objects".into(),
            param: Some("documents".into()),
        })?;
    if documents.iter().all(Value::is_string) || documents.iter().any(is_image) {
        return Ok(None);
    }
    let rank_fields = body.get("rank_fields").and_then(Value::as_array);
    let texts = documents
        .iter()
        .enumerate()
        .map(|(i, d)| {
            text_of(d, rank_fields.map(Vec::as_slice))
                .map(Value::String)
                .ok_or_else(|| ApiError::BadRequest {
                    message: format!("`documents[{i}]` has no text to rerank"),
                    param: Some("documents".into()),
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut out = body.clone();
    out["documents"] = Value::Array(texts);
    if let Some(o) = out.as_object_mut() {
        o.remove("rank_fields");
    }
    Ok(Some(out))
}

/// The upstream's answer completed for the client: each result's document when the client
/// asked for them (Jina's default) and the upstream left them out, and usage both as Jina's
/// `usage.total_tokens` and as Cohere's `meta.billed_units`. `None`: not an answer to complete.
pub fn answer(body: &[u8], request: &Value) -> Option<Value> {
    let Ok(Value::Object(mut answer)) = serde_json::from_slice::<Value>(body) else {
        return None;
    };
    let documents = request.get("documents").and_then(Value::as_array);
    let wants_documents = request.get("return_documents") != Some(&Value::Bool(false));
    if let (Some(Value::Array(results)), Some(documents)) = (answer.get_mut("results"), documents) {
        for r in results.iter_mut() {
            let index = r.get("index").and_then(Value::as_u64);
            let document = index
                .and_then(|i| documents.get(usize::try_from(i).ok()?))
                .and_then(|d| text_of(d, None));
            if let (Some(text), Some(result), true) = (document, r.as_object_mut(), wants_documents)
                && result.get("document").is_none_or(Value::is_null)
            {
                result.insert("document".into(), json!({ "text": text }));
            }
        }
    }
    let tokens = answer
        .get("usage")
        .and_then(|u| u.get("total_tokens"))
        .and_then(Value::as_i64)
        .or_else(|| {
            let meta = answer.get("meta")?;
            let input = meta
                .pointer("/billed_units/input_tokens")
                .or_else(|| meta.pointer("/tokens/input_tokens"))?;
            input.as_i64()
        });
    if let Some(tokens) = tokens
        && answer.get("usage").is_none()
    {
        answer.insert("usage".into(), json!({ "total_tokens": tokens }));
    }
    let meta = answer
        .entry("meta")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(meta) = meta.as_object_mut() {
        let billed = meta
            .entry("billed_units")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(billed) = billed.as_object_mut() {
            billed.entry("search_units").or_insert(json!(1));
        }
    }
    Some(Value::Object(answer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_documents_become_their_text_and_strings_pass_as_they_came() {
        let strings = json!({ "model": "m", "query": "q", "documents": ["a", "b"] });
        assert_eq!(request(&strings).unwrap(), None);
        let jina = json!({ "model": "m", "query": "q", "documents": [{ "text": "a" }, "b"] });
        assert_eq!(
            request(&jina).unwrap().unwrap()["documents"],
            json!(["a", "b"])
        );
        let cohere = json!({ "model": "m", "query": "q", "rank_fields": ["title"],
            "documents": [{ "title": "T", "body": "B" }] });
        let sent = request(&cohere).unwrap().unwrap();
        assert_eq!(sent["documents"], json!(["title: T"]));
        assert!(sent.get("rank_fields").is_none());
        assert!(request(&json!({ "documents": [{ "n": 1 }] })).is_err());
        let images =
            json!({ "documents": [{ "image": "https://x/cat.png" }, { "text": "a cat" }] });
        assert_eq!(
            request(&images).unwrap(),
            None,
            "images pass to a server that reads them"
        );
        assert!(request(&json!({ "documents": "a" })).is_err());
    }

    #[test]
    fn answers_carry_what_each_client_reads() {
        let asked = json!({ "documents": [{ "text": "a" }, "b"] });
        let bare = br#"{"id":"r","results":[{"index":1,"relevance_score":0.9}],"meta":{"billed_units":{"input_tokens":12}}}"#;
        let a = answer(bare, &asked).unwrap();
        assert_eq!(a["results"][0]["document"], json!({ "text": "b" }));
        assert_eq!(a["usage"]["total_tokens"], 12);
        assert_eq!(a["meta"]["billed_units"]["search_units"], 1);
        let no_documents = json!({ "documents": ["a"], "return_documents": false });
        let jina = br#"{"model":"m","usage":{"total_tokens":5},"results":[{"index":0,"relevance_score":0.5}]}"#;
        let a = answer(jina, &no_documents).unwrap();
        assert!(a["results"][0].get("document").is_none());
        assert_eq!(a["meta"]["billed_units"]["search_units"], 1);
        assert_eq!(answer(b"not json", &asked), None);
    }
}
