//! A streamed chat completion from the browser: `fetch` with the key, the server-sent events
//! read as they arrive, each delta handed on.

/// Sends the conversation and calls `on_delta` with every piece of the answer; the error is a
/// sentence for the person (the gateway's own message when it gave one).
pub async fn chat(
    key: &str,
    model: &str,
    history: &[(String, String)],
    on_delta: impl FnMut(String),
) -> Result<(), String> {
    let messages: Vec<serde_json::Value> = history
        .iter()
        .map(|(role, content)| serde_json::json!({ "role": role, "content": content }))
        .collect();
    let body =
        serde_json::json!({ "model": model, "messages": messages, "stream": true }).to_string();
    #[cfg(feature = "hydrate")]
    {
        browser::chat(key, &body, on_delta).await
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (key, body, on_delta);
        Err("the playground runs in the browser".to_owned())
    }
}

/// What one `data:` payload says: a piece of text, the end, or an error.
#[cfg_attr(
    not(feature = "hydrate"),
    allow(dead_code, reason = "read in the browser")
)]
#[derive(Debug, PartialEq)]
enum Data {
    Delta(String),
    Done,
    Failed(String),
    Nothing,
}

#[cfg_attr(
    not(feature = "hydrate"),
    allow(dead_code, reason = "read in the browser")
)]
fn read(data: &str) -> Data {
    if data == "[DONE]" {
        return Data::Done;
    }
    let Ok(v) = serde_json::from_str::<serde_json::Value>(data) else {
        return Data::Nothing;
    };
    if let Some(m) = v.pointer("/error/message").and_then(|m| m.as_str()) {
        return Data::Failed(m.to_owned());
    }
    match v
        .pointer("/choices/0/delta/content")
        .and_then(|c| c.as_str())
    {
        Some(c) if !c.is_empty() => Data::Delta(c.to_owned()),
        _ => Data::Nothing,
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use js_sys::{Reflect, Uint8Array};
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;

    use super::{Data, read};

    fn text(e: JsValue) -> String {
        e.as_string()
            .unwrap_or_else(|| "the request failed".to_owned())
    }

    pub async fn chat(
        key: &str,
        body: &str,
        mut on_delta: impl FnMut(String),
    ) -> Result<(), String> {
        let window = web_sys::window().ok_or("no window")?;
        let headers = web_sys::Headers::new().map_err(text)?;
        headers
            .set("authorization", &format!("Bearer {key}"))
            .map_err(text)?;
        headers
            .set("content-type", "application/json")
            .map_err(text)?;
        let init = web_sys::RequestInit::new();
        init.set_method("POST");
        init.set_headers(&headers);
        init.set_body(&JsValue::from_str(body));
        let response: web_sys::Response =
            JsFuture::from(window.fetch_with_str_and_init("/v1/chat/completions", &init))
                .await
                .map_err(|_| "the gateway could not be reached".to_owned())?
                .dyn_into()
                .map_err(text)?;
        if !response.ok() {
            let body = JsFuture::from(response.text().map_err(text)?)
                .await
                .map_err(text)?;
            let message = body
                .as_string()
                .and_then(|b| serde_json::from_str::<serde_json::Value>(&b).ok())
                .and_then(|v| {
                    v.pointer("/error/message")
                        .and_then(|m| m.as_str())
                        .map(str::to_owned)
                })
                .unwrap_or_else(|| format!("the gateway answered {}", response.status()));
            return Err(message);
        }
        let reader: web_sys::ReadableStreamDefaultReader = response
            .body()
            .ok_or("the answer has no body")?
            .get_reader()
            .dyn_into()
            .map_err(|e: js_sys::Object| text(e.into()))?;
        let mut pending = Vec::<u8>::new();
        loop {
            let chunk = JsFuture::from(reader.read()).await.map_err(text)?;
            if Reflect::get(&chunk, &"done".into())
                .ok()
                .and_then(|d| d.as_bool())
                .unwrap_or(true)
            {
                return Ok(());
            }
            let bytes: Uint8Array = Reflect::get(&chunk, &"value".into())
                .map_err(text)?
                .dyn_into()
                .map_err(text)?;
            pending.extend(bytes.to_vec());
            // Events end with a blank line; a chunk may hold several, or part of one.
            while let Some(end) = pending.windows(2).position(|w| w == b"\n\n") {
                let event: Vec<u8> = pending.drain(..end + 2).collect();
                for line in String::from_utf8_lossy(&event).lines() {
                    let Some(data) = line.strip_prefix("data:") else {
                        continue;
                    };
                    match read(data.trim()) {
                        Data::Delta(d) => on_delta(d),
                        Data::Done => return Ok(()),
                        Data::Failed(m) => return Err(m),
                        Data::Nothing => {}
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Data, read};

    #[test]
    fn payloads_read_as_deltas_errors_and_the_end() {
        assert_eq!(
            read(r#"{"choices":[{"delta":{"content":"Hi"}}]}"#),
            Data::Delta("Hi".into())
        );
        assert_eq!(
            read(r#"{"choices":[{"delta":{"role":"assistant"}}]}"#),
            Data::Nothing
        );
        assert_eq!(
            read(r#"{"choices":[],"usage":{"total_tokens":3}}"#),
            Data::Nothing
        );
        assert_eq!(read("[DONE]"), Data::Done);
        assert_eq!(
            read(r#"{"error":{"message":"the upstream stopped","code":"upstream_timeout"}}"#),
            Data::Failed("the upstream stopped".into())
        );
        assert_eq!(read("not json"), Data::Nothing);
    }
}
