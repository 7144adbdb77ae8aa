//! An Anthropic Messages request as an OpenAI chat-completions request, for upstreams that
//! speak only the latter (vLLM, llama.cpp, Ollama…). What has no counterpart is dropped
//! (`top_k`, thinking blocks, cache control), never guessed at.

use serde_json::{Map, Value, json};

/// Why a request cannot be translated: the client's mistake, answered with 400.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Untranslatable(pub String);

pub(super) fn bad(msg: impl Into<String>) -> Untranslatable {
    Untranslatable(msg.into())
}

/// The chat-completions body for `upstream_model`; `stream` asks for usage in the stream too.
pub fn request(
    messages_request: &Value,
    upstream_model: &str,
    stream: bool,
) -> Result<Value, Untranslatable> {
    let req = messages_request
        .as_object()
        .ok_or_else(|| bad("the body must be a JSON object"))?;
    let mut out = Map::new();
    out.insert("model".into(), json!(upstream_model));
    let mut messages = Vec::new();
    if let Some(system) = req.get("system") {
        let text = text_of(system, "system")?;
        if !text.is_empty() {
            messages.push(json!({ "role": "system", "content": text }));
        }
    }
    let turns = req
        .get("messages")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("`messages` must be a list"))?;
    for (i, turn) in turns.iter().enumerate() {
        translate_turn(turn, i, &mut messages)?;
    }
    out.insert("messages".into(), Value::Array(messages));
    let max_tokens = req
        .get("max_tokens")
        .and_then(Value::as_u64)
        .ok_or_else(|| bad("`max_tokens` is required and must be a positive integer"))?;
    out.insert("max_tokens".into(), json!(max_tokens));
    for key in ["temperature", "top_p"] {
        if let Some(v) = req.get(key) {
            out.insert(key.into(), v.clone());
        }
    }
    if let Some(stop) = req.get("stop_sequences") {
        out.insert("stop".into(), stop.clone());
    }
    if let Some(user) = messages_request.pointer("/metadata/user_id") {
        out.insert("user".into(), user.clone());
    }
    if let Some(tools) = req.get("tools").and_then(Value::as_array) {
        let tools: Vec<Value> = tools
            .iter()
            .map(|t| {
                let name = t.get("name").and_then(Value::as_str).ok_or_else(|| bad("every tool needs a `name`"))?;
                let mut function = json!({
                    "name": name,
                    "parameters": t.get("input_schema").cloned().unwrap_or_else(|| json!({ "type": "object" })),
                });
                if let Some(d) = t.get("description") {
                    function["description"] = d.clone();
                }
                Ok(json!({ "type": "function", "function": function }))
            })
            .collect::<Result<_, Untranslatable>>()?;
        if !tools.is_empty() {
            out.insert("tools".into(), Value::Array(tools));
        }
    }
    if let Some(choice) = req.get("tool_choice") {
        out.insert("tool_choice".into(), tool_choice(choice)?);
        if choice.get("disable_parallel_tool_use") == Some(&json!(true)) {
            out.insert("parallel_tool_calls".into(), json!(false));
        }
    }
    let streaming = stream || req.get("stream") == Some(&json!(true));
    if streaming {
        out.insert("stream".into(), json!(true));
        out.insert("stream_options".into(), json!({ "include_usage": true }));
    }
    Ok(Value::Object(out))
}

fn tool_choice(choice: &Value) -> Result<Value, Untranslatable> {
    match choice.get("type").and_then(Value::as_str) {
        Some("auto") => Ok(json!("auto")),
        Some("any") => Ok(json!("required")),
        Some("none") => Ok(json!("none")),
        Some("tool") => {
            let name = choice
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("`tool_choice` of type `tool` needs a `name`"))?;
            Ok(json!({ "type": "function", "function": { "name": name } }))
        }
        _ => Err(bad("`tool_choice.type` must be auto, any, tool or none")),
    }
}

/// Text from a string or a list of text blocks (system prompts, tool results).
fn text_of(v: &Value, what: &str) -> Result<String, Untranslatable> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Array(blocks) => Ok(blocks
            .iter()
            .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n")),
        _ => Err(bad(format!(
            "`{what}` must be a string or a list of blocks"
        ))),
    }
}

fn translate_turn(turn: &Value, i: usize, out: &mut Vec<Value>) -> Result<(), Untranslatable> {
    let role = turn.get("role").and_then(Value::as_str);
    let content = turn
        .get("content")
        .ok_or_else(|| bad(format!("`messages[{i}].content` is missing")))?;
    let blocks: Vec<Value> = match content {
        Value::String(s) => vec![json!({ "type": "text", "text": s })],
        Value::Array(b) => b.clone(),
        _ => {
            return Err(bad(format!(
                "`messages[{i}].content` must be a string or a list"
            )));
        }
    };
    match role {
        Some("user") => user_turn(&blocks, i, out),
        Some("assistant") => {
            out.push(assistant_turn(&blocks, i)?);
            Ok(())
        }
        _ => Err(bad(format!(
            "`messages[{i}].role` must be `user` or `assistant`"
        ))),
    }
}

/// Tool results become `tool` messages (first, as OpenAI wants them right after the call);
/// the rest stays one user message.
fn user_turn(blocks: &[Value], i: usize, out: &mut Vec<Value>) -> Result<(), Untranslatable> {
    let mut parts = Vec::new();
    for b in blocks {
        match b.get("type").and_then(Value::as_str) {
            Some("text") => parts.push(
                json!({ "type": "text", "text": b.get("text").cloned().unwrap_or_default() }),
            ),
            Some("image") => parts.push(image(b, i)?),
            Some("tool_result") => {
                let id = b
                    .get("tool_use_id")
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        bad(format!(
                            "a tool_result in `messages[{i}]` needs a `tool_use_id`"
                        ))
                    })?;
                let mut text = match b.get("content") {
                    None => String::new(),
                    Some(c) => text_of(c, "tool_result.content")?,
                };
                if b.get("is_error") == Some(&json!(true)) {
                    text = format!("Error: {text}");
                }
                out.push(json!({ "role": "tool", "tool_call_id": id, "content": text }));
            }
            // Thinking, documents and other blocks have no chat-completions form.
            _ => {}
        }
    }
    if !parts.is_empty() {
        let content = match parts.as_slice() {
            [only] if only.get("type") == Some(&json!("text")) => only["text"].clone(),
            _ => Value::Array(parts),
        };
        out.push(json!({ "role": "user", "content": content }));
    }
    Ok(())
}

fn image(b: &Value, i: usize) -> Result<Value, Untranslatable> {
    let source = b
        .get("source")
        .ok_or_else(|| bad(format!("an image in `messages[{i}]` needs a `source`")))?;
    let url = match source.get("type").and_then(Value::as_str) {
        Some("base64") => format!(
            "data:{};base64,{}",
            source
                .get("media_type")
                .and_then(Value::as_str)
                .unwrap_or("image/png"),
            source
                .get("data")
                .and_then(Value::as_str)
                .unwrap_or_default()
        ),
        Some("url") => source
            .get("url")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        _ => {
            return Err(bad(format!(
                "an image in `messages[{i}]` has an unknown source type"
            )));
        }
    };
    Ok(json!({ "type": "image_url", "image_url": { "url": url } }))
}

fn assistant_turn(blocks: &[Value], i: usize) -> Result<Value, Untranslatable> {
    let mut text = String::new();
    let mut calls = Vec::new();
    for b in blocks {
        match b.get("type").and_then(Value::as_str) {
            Some("text") => {
                text.push_str(b.get("text").and_then(Value::as_str).unwrap_or_default())
            }
            Some("tool_use") => {
                let (Some(id), Some(name)) = (
                    b.get("id").and_then(Value::as_str),
                    b.get("name").and_then(Value::as_str),
                ) else {
                    return Err(bad(format!(
                        "a tool_use in `messages[{i}]` needs `id` and `name`"
                    )));
                };
                let input = b.get("input").cloned().unwrap_or_else(|| json!({}));
                calls.push(json!({
                    "id": id, "type": "function",
                    "function": { "name": name, "arguments": input.to_string() },
                }));
            }
            _ => {}
        }
    }
    let mut m = json!({ "role": "assistant", "content": if text.is_empty() && !calls.is_empty() { Value::Null } else { json!(text) } });
    if !calls.is_empty() {
        m["tool_calls"] = Value::Array(calls);
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_conversation_with_a_system_prompt_an_image_and_a_tool_round_trip_translates() {
        let anthropic = json!({
            "model": "claude-like",
            "max_tokens": 256,
            "system": [{ "type": "text", "text": "Be brief." }],
            "temperature": 0.2,
            "top_k": 5,
            "stop_sequences": ["END"],
            "metadata": { "user_id": "u-1" },
            "tools": [{ "name": "weather", "description": "Weather now", "input_schema": { "type": "object", "properties": { "city": { "type": "string" } } } }],
            "tool_choice": { "type": "any" },
            "messages": [
                { "role": "user", "content": [
                    { "type": "text", "text": "What is this and how is the weather in Paris?" },
                    { "type": "image", "source": { "type": "base64", "media_type": "image/jpeg", "data": "AAAA" } }
                ]},
                { "role": "assistant", "content": [
                    { "type": "text", "text": "A cat. Checking." },
                    { "type": "tool_use", "id": "toolu_1", "name": "weather", "input": { "city": "Paris" } }
                ]},
                { "role": "user", "content": [
                    { "type": "tool_result", "tool_use_id": "toolu_1", "content": [{ "type": "text", "text": "18°C, sunny" }] },
                    { "type": "text", "text": "Thanks" }
                ]}
            ]
        });
        let chat = request(&anthropic, "qwen-7b", false).unwrap();
        assert_eq!(
            chat,
            json!({
                "model": "qwen-7b",
                "max_tokens": 256,
                "temperature": 0.2,
                "stop": ["END"],
                "user": "u-1",
                "tools": [{ "type": "function", "function": { "name": "weather", "description": "Weather now", "parameters": { "type": "object", "properties": { "city": { "type": "string" } } } } }],
                "tool_choice": "required",
                "messages": [
                    { "role": "system", "content": "Be brief." },
                    { "role": "user", "content": [
                        { "type": "text", "text": "What is this and how is the weather in Paris?" },
                        { "type": "image_url", "image_url": { "url": "data:image/jpeg;base64,AAAA" } }
                    ]},
                    { "role": "assistant", "content": "A cat. Checking.", "tool_calls": [
                        { "id": "toolu_1", "type": "function", "function": { "name": "weather", "arguments": "{\"city\":\"Paris\"}" } }
                    ]},
                    { "role": "tool", "tool_call_id": "toolu_1", "content": "18°C, sunny" },
                    { "role": "user", "content": "Thanks" }
                ]
            })
        );
    }

    #[test]
    fn streaming_asks_for_usage_and_tool_choices_map() {
        let r = json!({ "model": "m", "max_tokens": 5, "stream": true, "messages": [{ "role": "user", "content": "hi" }],
                        "tool_choice": { "type": "tool", "name": "f", "disable_parallel_tool_use": true } });
        let chat = request(&r, "up", false).unwrap();
        assert_eq!(chat["stream"], true);
        assert_eq!(chat["stream_options"], json!({ "include_usage": true }));
        assert_eq!(
            chat["tool_choice"],
            json!({ "type": "function", "function": { "name": "f" } })
        );
        assert_eq!(chat["parallel_tool_calls"], false);
        assert_eq!(
            chat["messages"],
            json!([{ "role": "user", "content": "hi" }])
        );
    }

    #[test]
    fn what_cannot_be_translated_says_why() {
        let cases = [
            (json!({ "model": "m", "messages": [] }), "max_tokens"),
            (json!({ "model": "m", "max_tokens": 1 }), "messages"),
            (
                json!({ "model": "m", "max_tokens": 1, "messages": [{ "role": "system", "content": "x" }] }),
                "role",
            ),
            (
                json!({ "model": "m", "max_tokens": 1, "messages": [{ "role": "user", "content": [{ "type": "tool_result" }] }] }),
                "tool_use_id",
            ),
            (
                json!({ "model": "m", "max_tokens": 1, "messages": [], "tool_choice": { "type": "sometimes" } }),
                "tool_choice",
            ),
        ];
        for (body, needle) in cases {
            let e = request(&body, "up", false).unwrap_err();
            assert!(e.0.contains(needle), "{body}: {}", e.0);
        }
    }
}
