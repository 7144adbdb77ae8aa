//! A Responses request as a chat-completions request, for upstreams that serve only the latter
//! (llama.cpp, Ollama, Xinference, LocalAI and most OpenAI-compatible servers); for Anthropic
//! upstreams the result goes on through [`crate::v1::anthropic::to_messages`]. What only tunes
//! OpenAI's service (`store`, `include`, `prompt_cache_key`, `truncation`, the model's own
//! earlier reasoning) is dropped; what the upstream cannot do and the client relies on
//! (built-in tools such as `web_search`, files, stored prompts, background runs) is refused,
//! named, never guessed at.

use serde_json::{Map, Value, json};

use crate::v1::anthropic::to_chat::{Untranslatable, bad};

/// Between a namespace and a tool's name in the flat function name a chat upstream sees;
/// [`super::from_chat`] splits it back.
pub const NAMESPACE_SEPARATOR: &str = "__";

/// The chat-completions body for `upstream_model`.
pub fn request(responses: &Value, upstream_model: &str) -> Result<Value, Untranslatable> {
    let req = responses
        .as_object()
        .ok_or_else(|| bad("the body must be a JSON object"))?;
    refuse_unservable(req)?;
    let mut out = Map::new();
    out.insert("model".into(), json!(upstream_model));
    let mut messages = Vec::new();
    match req.get("instructions") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if s.is_empty() => {}
        Some(Value::String(s)) => messages.push(json!({ "role": "system", "content": s })),
        Some(_) => return Err(bad("`instructions` must be a string")),
    }
    match req.get("input") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => messages.push(json!({ "role": "user", "content": s })),
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                translate_item(item, i, &mut messages)?;
            }
        }
        Some(_) => return Err(bad("`input` must be a string or a list of items")),
    }
    if messages.is_empty() {
        return Err(bad("`input` is required"));
    }
    out.insert("messages".into(), Value::Array(messages));
    match req.get("max_output_tokens") {
        None | Some(Value::Null) => {}
        Some(v) => {
            let n = v
                .as_u64()
                .filter(|n| *n > 0)
                .ok_or_else(|| bad("`max_output_tokens` must be a positive integer"))?;
            out.insert("max_tokens".into(), json!(n));
        }
    }
    for key in ["temperature", "top_p", "parallel_tool_calls"] {
        if let Some(v) = req.get(key).filter(|v| !v.is_null()) {
            out.insert(key.into(), v.clone());
        }
    }
    if let Some(user) = ["safety_identifier", "user"]
        .iter()
        .find_map(|k| req.get(*k).filter(|v| v.is_string()))
    {
        out.insert("user".into(), user.clone());
    }
    if let Some(effort) = effort(req)? {
        out.insert("reasoning_effort".into(), json!(effort));
    }
    if let Some(format) = response_format(req)? {
        out.insert("response_format".into(), format);
    }
    if let Some(tools) = req.get("tools").filter(|t| !t.is_null()) {
        let tools = translate_tools(tools)?;
        if !tools.is_empty() {
            out.insert("tools".into(), Value::Array(tools));
        }
    }
    if let Some(choice) = req.get("tool_choice").filter(|c| !c.is_null()) {
        out.insert("tool_choice".into(), tool_choice(choice)?);
    }
    if req.get("stream") == Some(&json!(true)) {
        out.insert("stream".into(), json!(true));
        out.insert("stream_options".into(), json!({ "include_usage": true }));
    }
    Ok(Value::Object(out))
}

/// Features that need OpenAI's own service behind them.
fn refuse_unservable(req: &Map<String, Value>) -> Result<(), Untranslatable> {
    if req.get("background") == Some(&json!(true)) {
        return Err(bad(
            "`background` responses are not available for this model: send the request without it",
        ));
    }
    if req.get("prompt").is_some_and(|p| !p.is_null()) {
        return Err(bad(
            "stored prompts (`prompt`) are not available for this model: send the prompt's text in `instructions`",
        ));
    }
    Ok(())
}

/// `reasoning.effort` as chat completions' `reasoning_effort`, in the levels OpenAI-compatible
/// servers take.
fn effort(req: &Map<String, Value>) -> Result<Option<&'static str>, Untranslatable> {
    match req.get("reasoning").and_then(|r| r.get("effort")) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(e)) => match e.as_str() {
            "none" => Ok(None),
            "minimal" | "low" => Ok(Some("low")),
            "medium" => Ok(Some("medium")),
            "high" | "xhigh" => Ok(Some("high")),
            other => Err(bad(format!(
                "`reasoning.effort` must be none, minimal, low, medium, high or xhigh, not `{other}`"
            ))),
        },
        Some(_) => Err(bad("`reasoning.effort` must be a string")),
    }
}

/// `text.format` as chat completions' `response_format`.
fn response_format(req: &Map<String, Value>) -> Result<Option<Value>, Untranslatable> {
    let Some(format) = req
        .get("text")
        .and_then(|t| t.get("format"))
        .filter(|f| !f.is_null())
    else {
        return Ok(None);
    };
    match format.get("type").and_then(Value::as_str) {
        Some("text") => Ok(None),
        Some("json_object") => Ok(Some(json!({ "type": "json_object" }))),
        Some("json_schema") => {
            let name = format
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("`text.format.name` is required for a json_schema format"))?;
            let schema = format
                .get("schema")
                .filter(|s| s.is_object())
                .ok_or_else(|| bad("`text.format.schema` must be a JSON schema object"))?;
            let mut spec = json!({ "name": name, "schema": schema });
            for key in ["strict", "description"] {
                if let Some(v) = format.get(key).filter(|v| !v.is_null()) {
                    spec[key] = v.clone();
                }
            }
            Ok(Some(json!({ "type": "json_schema", "json_schema": spec })))
        }
        _ => Err(bad(
            "`text.format.type` must be text, json_object or json_schema",
        )),
    }
}

fn translate_tools(tools: &Value) -> Result<Vec<Value>, Untranslatable> {
    let tools = tools
        .as_array()
        .ok_or_else(|| bad("`tools` must be a list"))?;
    let mut out = Vec::new();
    for tool in tools {
        match tool.get("type").and_then(Value::as_str) {
            Some("function") => out.push(function(tool, None)?),
            // A group of function tools (Codex's sub-agent tools); a chat upstream sees each
            // under a name that keeps its namespace.
            Some("namespace") => {
                let namespace = tool
                    .get("name")
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad("every `namespace` tool needs a `name`"))?;
                for inner in tool
                    .get("tools")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if inner.get("type").and_then(Value::as_str) != Some("function") {
                        return Err(bad(format!(
                            "the namespace `{namespace}` holds a tool that is not a function, which this model cannot take"
                        )));
                    }
                    out.push(function(inner, Some(namespace))?);
                }
            }
            Some(kind) => {
                return Err(bad(format!(
                    "the built-in tool `{kind}` cannot run on this model (its upstream runs no tools of its own): offer only function tools{}",
                    if kind.starts_with("web_search") {
                        " (Codex: set `web_search = \"disabled\"` in its config.toml)"
                    } else {
                        ""
                    }
                )));
            }
            None => return Err(bad("every tool needs a `type`")),
        }
    }
    Ok(out)
}

fn function(tool: &Value, namespace: Option<&str>) -> Result<Value, Untranslatable> {
    let name = tool
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("every function tool needs a `name`"))?;
    let name = match namespace {
        Some(ns) => format!("{ns}{NAMESPACE_SEPARATOR}{name}"),
        None => name.to_owned(),
    };
    let mut function = json!({
        "name": name,
        "parameters": tool.get("parameters").filter(|p| !p.is_null()).cloned().unwrap_or_else(|| json!({ "type": "object", "properties": {} })),
    });
    for key in ["description", "strict"] {
        if let Some(v) = tool.get(key).filter(|v| !v.is_null()) {
            function[key] = v.clone();
        }
    }
    Ok(json!({ "type": "function", "function": function }))
}

fn tool_choice(choice: &Value) -> Result<Value, Untranslatable> {
    match choice {
        Value::String(s) if matches!(s.as_str(), "auto" | "none" | "required") => {
            Ok(choice.clone())
        }
        Value::Object(o) if o.get("type") == Some(&json!("function")) => {
            let name = o
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("`tool_choice` of type `function` needs a `name`"))?;
            Ok(json!({ "type": "function", "function": { "name": name } }))
        }
        _ => Err(bad(
            "`tool_choice` must be auto, none, required or a function by name for this model",
        )),
    }
}

/// One input item as chat messages: messages as they are, a function call as an assistant
/// tool call (joined to the assistant message before it), its output as a `tool` message.
fn translate_item(item: &Value, i: usize, out: &mut Vec<Value>) -> Result<(), Untranslatable> {
    let kind = item.get("type").and_then(Value::as_str);
    match kind {
        // A message may leave out its type (the "easy" input message).
        Some("message") | None if item.get("role").is_some() => message(item, i, out),
        Some("function_call") => {
            let (Some(call_id), Some(name)) = (
                item.get("call_id").and_then(Value::as_str),
                item.get("name").and_then(Value::as_str),
            ) else {
                return Err(bad(format!(
                    "the function_call in `input[{i}]` needs `call_id` and `name`"
                )));
            };
            let name = match item.get("namespace").and_then(Value::as_str) {
                Some(ns) => format!("{ns}{NAMESPACE_SEPARATOR}{name}"),
                None => name.to_owned(),
            };
            let arguments = match item.get("arguments") {
                Some(Value::String(s)) => s.clone(),
                None | Some(Value::Null) => "{}".to_owned(),
                Some(other) => other.to_string(),
            };
            let call = json!({ "id": call_id, "type": "function", "function": { "name": name, "arguments": arguments } });
            match out.last_mut() {
                Some(last) if last["role"] == "assistant" => {
                    match last["tool_calls"].as_array_mut() {
                        Some(calls) => calls.push(call),
                        None => last["tool_calls"] = json!([call]),
                    }
                }
                _ => {
                    out.push(json!({ "role": "assistant", "content": null, "tool_calls": [call] }))
                }
            }
            Ok(())
        }
        Some("function_call_output") => {
            let call_id = item.get("call_id").and_then(Value::as_str).ok_or_else(|| {
                bad(format!(
                    "the function_call_output in `input[{i}]` needs a `call_id`"
                ))
            })?;
            let text = match item.get("output") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Array(parts)) => text_parts(parts, i)?,
                _ => {
                    return Err(bad(format!(
                        "the function_call_output in `input[{i}]` needs an `output`"
                    )));
                }
            };
            out.push(json!({ "role": "tool", "tool_call_id": call_id, "content": text }));
            Ok(())
        }
        // The model's own earlier reasoning: not something a chat upstream takes back.
        Some("reasoning") => Ok(()),
        Some("item_reference") => Err(bad(format!(
            "`input[{i}]` refers to a stored item, which this gateway does not keep: send the item itself"
        ))),
        Some(other) => Err(bad(format!(
            "`input[{i}]` is a `{other}` item, which this model cannot take"
        ))),
        None => Err(bad(format!("`input[{i}]` has no `type`"))),
    }
}

fn message(item: &Value, i: usize, out: &mut Vec<Value>) -> Result<(), Untranslatable> {
    let role = match item.get("role").and_then(Value::as_str) {
        Some("user") => "user",
        Some("assistant") => "assistant",
        // Chat servers that know `developer` are few; `system` means the same to all.
        Some("system" | "developer") => "system",
        _ => {
            return Err(bad(format!(
                "`input[{i}].role` must be user, assistant, system or developer"
            )));
        }
    };
    let content = match item.get("content") {
        Some(Value::String(s)) => json!(s),
        Some(Value::Array(parts)) if role == "user" => user_parts(parts, i)?,
        Some(Value::Array(parts)) => json!(text_parts(parts, i)?),
        _ => {
            return Err(bad(format!(
                "`input[{i}].content` must be a string or a list"
            )));
        }
    };
    out.push(json!({ "role": role, "content": content }));
    Ok(())
}

/// A user message's parts: text and images, as chat content parts (plain text as a string).
fn user_parts(parts: &[Value], i: usize) -> Result<Value, Untranslatable> {
    let mut out = Vec::new();
    for part in parts {
        match part.get("type").and_then(Value::as_str) {
            Some("input_text" | "output_text" | "text") => out.push(
                json!({ "type": "text", "text": part.get("text").cloned().unwrap_or_default() }),
            ),
            Some("input_image") => {
                let url = part
                    .get("image_url")
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        bad(format!(
                            "an image in `input[{i}]` must have an `image_url` (uploaded files are not available for this model)"
                        ))
                    })?;
                let mut image = json!({ "url": url });
                if let Some(detail) = part.get("detail").filter(|d| d.is_string()) {
                    image["detail"] = detail.clone();
                }
                out.push(json!({ "type": "image_url", "image_url": image }));
            }
            other => return Err(unreadable_part(other, i)),
        }
    }
    Ok(match out.as_slice() {
        [only] if only["type"] == "text" => only["text"].clone(),
        _ => Value::Array(out),
    })
}

/// The text of parts that can only be text (assistant, system and tool output).
fn text_parts(parts: &[Value], i: usize) -> Result<String, Untranslatable> {
    let mut text = String::new();
    for part in parts {
        match part.get("type").and_then(Value::as_str) {
            Some("input_text" | "output_text" | "text") => {
                text.push_str(part.get("text").and_then(Value::as_str).unwrap_or_default());
            }
            Some("refusal") => {
                text.push_str(
                    part.get("refusal")
                        .and_then(Value::as_str)
                        .unwrap_or_default(),
                );
            }
            other => return Err(unreadable_part(other, i)),
        }
    }
    Ok(text)
}

fn unreadable_part(kind: Option<&str>, i: usize) -> Untranslatable {
    match kind {
        Some(kind) => bad(format!(
            "`input[{i}]` holds an `{kind}` part, which this model cannot take"
        )),
        None => bad(format!("a part in `input[{i}]` has no `type`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_become_chat_messages_with_calls_joined_to_their_assistant_turn() {
        let body = json!({ "input": [
            { "role": "developer", "content": "Rules." },
            { "role": "user", "content": [
                { "type": "input_text", "text": "Look:" },
                { "type": "input_image", "image_url": "data:image/png;base64,AA", "detail": "low" },
            ] },
            { "type": "message", "role": "assistant", "content": [{ "type": "output_text", "text": "Checking." }] },
            { "type": "function_call", "call_id": "c1", "name": "spawn", "namespace": "agents", "arguments": "{}" },
            { "type": "function_call", "call_id": "c2", "name": "lookup", "arguments": "{\"q\":1}" },
            { "type": "function_call_output", "call_id": "c1", "output": [{ "type": "input_text", "text": "ok" }] },
            { "type": "function_call_output", "call_id": "c2", "output": "42" },
        ], "tool_choice": { "type": "function", "name": "lookup" } });
        let chat = request(&body, "up").unwrap();
        let m = &chat["messages"];
        assert_eq!(m[0], json!({ "role": "system", "content": "Rules." }));
        assert_eq!(
            m[1]["content"][1]["image_url"],
            json!({ "url": "data:image/png;base64,AA", "detail": "low" })
        );
        assert_eq!(m[2]["content"], "Checking.");
        assert_eq!(m[2]["tool_calls"][0]["function"]["name"], "agents__spawn");
        assert_eq!(m[2]["tool_calls"][1]["id"], "c2");
        assert_eq!(
            m[3],
            json!({ "role": "tool", "tool_call_id": "c1", "content": "ok" })
        );
        assert_eq!(m[4]["content"], "42");
        assert_eq!(
            chat["tool_choice"],
            json!({ "type": "function", "function": { "name": "lookup" } })
        );
        assert!(
            request(&json!({ "input": [] }), "up").is_err(),
            "no input at all"
        );
    }
}
