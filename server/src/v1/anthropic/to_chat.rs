//! An Anthropic Messages request as an OpenAI chat-completions request, for upstreams that
//! speak only the latter (vLLM, llama.cpp, Ollama…). What has no counterpart and changes
//! nothing the model is asked is dropped (`top_k`, thinking blocks, cache control, context
//! management); what would change the request if dropped (Anthropic's server tools, their
//! results, documents other than text) is refused, named, never guessed at.

use serde_json::{Map, Value, json};

/// Why a request cannot be translated: the client's mistake, answered with 400.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Untranslatable(pub String);

pub(crate) fn bad(msg: impl Into<String>) -> Untranslatable {
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
    if let Some(user) = messages_request
        .pointer("/metadata/user_id")
        .filter(|u| u.is_string())
    {
        out.insert("user".into(), user.clone());
    }
    if let Some(effort) = effort(req)? {
        out.insert("reasoning_effort".into(), json!(effort));
    }
    if let Some(tools) = req.get("tools").and_then(Value::as_array) {
        let tools: Vec<Value> = tools
            .iter()
            .map(|t| {
                // Anthropic's own tools (web search, code execution, bash, the text editor…)
                // run on Anthropic's side or follow Anthropic's schema: nothing here runs them.
                if let Some(kind) = t.get("type").and_then(Value::as_str).filter(|k| *k != "custom") {
                    return Err(bad(format!(
                        "the tool type `{kind}` is not available on this model: only tools with an `input_schema` are"
                    )));
                }
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

/// The reasoning effort asked for, as chat completions' `reasoning_effort`: from
/// `output_config.effort`, unless `thinking` is turned off. `thinking` alone (enabled with a
/// budget, or adaptive) has no chat-completions counterpart and is dropped.
fn effort(req: &Map<String, Value>) -> Result<Option<&'static str>, Untranslatable> {
    if req.get("thinking").and_then(|t| t.get("type")) == Some(&json!("disabled")) {
        return Ok(None);
    }
    match req.get("output_config").and_then(|c| c.get("effort")) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(e)) => match e.as_str() {
            "low" => Ok(Some("low")),
            "medium" => Ok(Some("medium")),
            "high" | "max" => Ok(Some("high")),
            other => Err(bad(format!(
                "`output_config.effort` must be low, medium, high or max, not `{other}`"
            ))),
        },
        Some(_) => Err(bad("`output_config.effort` must be a string")),
    }
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
        // A system message inside the conversation (Claude Code's `mid-conversation-system`
        // beta) stays where it is.
        Some("system") => {
            let text = text_of(content, &format!("messages[{i}].content"))?;
            out.push(json!({ "role": "system", "content": text }));
            Ok(())
        }
        _ => Err(bad(format!(
            "`messages[{i}].role` must be `user`, `assistant` or `system`"
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
            Some("document") => parts.push(document(b, i)?),
            other => skippable(other, i)?,
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

/// Blocks that may be left out without changing what the conversation says: the model's own
/// earlier reasoning. Anything else (results of Anthropic's server tools, search results,
/// uploads) would silently change the request, so it is refused, named.
fn skippable(kind: Option<&str>, i: usize) -> Result<(), Untranslatable> {
    match kind {
        Some("thinking" | "redacted_thinking") => Ok(()),
        Some(other) => Err(bad(format!(
            "`messages[{i}]` holds a `{other}` block, which this model cannot take"
        ))),
        None => Err(bad(format!("a block in `messages[{i}]` has no `type`"))),
    }
}

/// A plain-text document becomes text; others (PDFs, files, links) cannot be read here.
fn document(b: &Value, i: usize) -> Result<Value, Untranslatable> {
    let source = b.get("source");
    let text = match source.and_then(|s| s.get("type")).and_then(Value::as_str) {
        Some("text") => source
            .and_then(|s| s.get("data"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        Some("content") => text_of(
            source
                .and_then(|s| s.get("content"))
                .unwrap_or(&Value::Null),
            "document.source.content",
        )?,
        _ => {
            return Err(bad(format!(
                "a `document` in `messages[{i}]` is not plain text, which this model cannot read"
            )));
        }
    };
    let text = match b.get("title").and_then(Value::as_str) {
        Some(title) => format!("{title}\n\n{text}"),
        None => text,
    };
    Ok(json!({ "type": "text", "text": text }))
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
            other => skippable(other, i)?,
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

    /// The shape of Claude Code 2.1's first request (see ../shared/CLIENTS.md), trimmed.
    #[test]
    fn a_claude_code_request_translates_with_its_system_message_in_place() {
        let claude_code = json!({
            "model": "m", "max_tokens": 32000, "stream": true,
            "system": [
                { "type": "text", "text": "You are Claude Code.", "cache_control": { "type": "ephemeral" } },
                { "type": "text", "text": "Be careful." }
            ],
            "messages": [
                { "role": "user", "content": [{ "type": "text", "text": "say hi" }] },
                { "role": "system", "content": "Available agent types: general-purpose" },
                { "role": "assistant", "content": [
                    { "type": "thinking", "thinking": "…", "signature": "x" },
                    { "type": "text", "text": "hi" }
                ]},
                { "role": "user", "content": [
                    { "type": "document", "title": "notes.txt", "source": { "type": "text", "media_type": "text/plain", "data": "line one" } }
                ]}
            ],
            "tools": [{ "name": "Bash", "description": "Run a command", "input_schema": { "type": "object" }, "cache_control": { "type": "ephemeral" } }],
            "metadata": { "user_id": "{\"device_id\":\"d\",\"session_id\":\"s\"}" },
            "thinking": { "type": "adaptive" },
            "output_config": { "effort": "high" },
            "context_management": { "edits": [{ "type": "clear_thinking_20251015" }] }
        });
        let chat = request(&claude_code, "up", false).unwrap();
        assert_eq!(
            chat["messages"],
            json!([
                { "role": "system", "content": "You are Claude Code.\nBe careful." },
                { "role": "user", "content": "say hi" },
                { "role": "system", "content": "Available agent types: general-purpose" },
                { "role": "assistant", "content": "hi" },
                { "role": "user", "content": "notes.txt\n\nline one" }
            ])
        );
        assert_eq!(chat["reasoning_effort"], "high");
        assert_eq!(chat["user"], claude_code["metadata"]["user_id"]);
        assert_eq!(
            chat["tools"],
            json!([{ "type": "function", "function": { "name": "Bash", "description": "Run a command", "parameters": { "type": "object" } } }])
        );
        for dropped in [
            "thinking",
            "output_config",
            "context_management",
            "metadata",
            "system",
        ] {
            assert!(chat.get(dropped).is_none(), "{dropped}");
        }
        let mut off = claude_code.clone();
        off["thinking"] = json!({ "type": "disabled" });
        assert!(
            request(&off, "up", false)
                .unwrap()
                .get("reasoning_effort")
                .is_none()
        );
        let mut not_a_string = claude_code;
        not_a_string["metadata"]["user_id"] = json!({ "id": 1 });
        assert!(
            request(&not_a_string, "up", false)
                .unwrap()
                .get("user")
                .is_none()
        );
    }

    #[test]
    fn what_cannot_be_translated_says_why() {
        let cases = [
            (json!({ "model": "m", "messages": [] }), "max_tokens"),
            (json!({ "model": "m", "max_tokens": 1 }), "messages"),
            (
                json!({ "model": "m", "max_tokens": 1, "messages": [{ "role": "developer", "content": "x" }] }),
                "role",
            ),
            (
                json!({ "model": "m", "max_tokens": 1, "messages": [], "tools": [{ "type": "web_search_20250305", "name": "web_search" }] }),
                "web_search_20250305",
            ),
            (
                json!({ "model": "m", "max_tokens": 1, "messages": [{ "role": "assistant", "content": [{ "type": "server_tool_use", "id": "s", "name": "web_search", "input": {} }] }] }),
                "server_tool_use",
            ),
            (
                json!({ "model": "m", "max_tokens": 1, "messages": [{ "role": "user", "content": [{ "type": "document", "source": { "type": "base64", "media_type": "application/pdf", "data": "JVBERi0=" } }] }] }),
                "document",
            ),
            (
                json!({ "model": "m", "max_tokens": 1, "messages": [], "output_config": { "effort": "extreme" } }),
                "effort",
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
