//! An OpenAI chat-completions request as an Anthropic Messages request, for models behind an
//! Anthropic upstream. System and developer messages become the system prompt; tool results
//! become `tool_result` blocks in a user turn; consecutive turns of one role are joined, as
//! Anthropic wants them alternating. What has no counterpart (penalties, seeds, logprobs) is
//! dropped; what would change the answer's meaning if dropped (`n` > 1, a response format) is
//! refused.

use serde_json::{Map, Value, json};

use super::to_chat::{Untranslatable, bad};

/// The Messages body for `upstream_model`; `default_max_tokens` fills Anthropic's required
/// `max_tokens` when the client set none (the same figure its limits reserved).
pub fn request(
    chat: &Value,
    upstream_model: &str,
    default_max_tokens: i64,
) -> Result<Value, Untranslatable> {
    let req = chat
        .as_object()
        .ok_or_else(|| bad("the body must be a JSON object"))?;
    let mut out = Map::new();
    out.insert("model".into(), json!(upstream_model));
    if req.get("n").and_then(Value::as_i64).is_some_and(|n| n > 1) {
        return Err(bad(
            "`n` greater than 1 is not available for this model (its upstream speaks Anthropic's API)",
        ));
    }
    match req
        .get("response_format")
        .and_then(|f| f.get("type"))
        .and_then(Value::as_str)
    {
        None | Some("text") => {}
        Some(_) => {
            return Err(bad(
                "`response_format` is not available for this model (its upstream speaks Anthropic's API); describe the format in the prompt or use a tool",
            ));
        }
    }
    let turns = req
        .get("messages")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("`messages` must be a list"))?;
    let mut system = Vec::new();
    let mut messages: Vec<Value> = Vec::new();
    for (i, m) in turns.iter().enumerate() {
        let (role, blocks) = match m.get("role").and_then(Value::as_str) {
            Some("system" | "developer") => {
                system.push(text_of(m.get("content"), i)?);
                continue;
            }
            Some("user") => ("user", user_blocks(m.get("content"), i)?),
            Some("assistant") => ("assistant", assistant_blocks(m, i)?),
            Some("tool") => ("user", vec![tool_result(m, i)?]),
            _ => {
                return Err(bad(format!(
                    "`messages[{i}].role` must be system, developer, user, assistant or tool"
                )));
            }
        };
        if blocks.is_empty() {
            continue;
        }
        match messages.last_mut() {
            Some(last) if last["role"] == role => {
                if let Some(content) = last["content"].as_array_mut() {
                    content.extend(blocks);
                }
            }
            _ => messages.push(json!({ "role": role, "content": blocks })),
        }
    }
    let system: Vec<String> = system.into_iter().filter(|s| !s.is_empty()).collect();
    if !system.is_empty() {
        out.insert("system".into(), json!(system.join("\n\n")));
    }
    out.insert("messages".into(), Value::Array(messages));
    let max_tokens = ["max_completion_tokens", "max_tokens"]
        .iter()
        .find_map(|k| req.get(*k).and_then(Value::as_i64))
        .filter(|n| *n > 0)
        .unwrap_or(default_max_tokens);
    out.insert("max_tokens".into(), json!(max_tokens));
    for key in ["temperature", "top_p", "stream"] {
        if let Some(v) = req.get(key).filter(|v| !v.is_null()) {
            out.insert(key.into(), v.clone());
        }
    }
    match req.get("stop") {
        Some(Value::String(s)) => {
            out.insert("stop_sequences".into(), json!([s]));
        }
        Some(Value::Array(a)) if !a.is_empty() => {
            out.insert("stop_sequences".into(), Value::Array(a.clone()));
        }
        _ => {}
    }
    if let Some(user) = req.get("user").filter(|u| u.is_string()) {
        out.insert("metadata".into(), json!({ "user_id": user }));
    }
    if let Some(tools) = req.get("tools").and_then(Value::as_array) {
        let tools = tools.iter().map(tool).collect::<Result<Vec<_>, _>>()?;
        if !tools.is_empty() {
            out.insert("tools".into(), Value::Array(tools));
        }
    }
    let no_parallel = req.get("parallel_tool_calls") == Some(&json!(false));
    let choice = match req.get("tool_choice") {
        None | Some(Value::Null) => None,
        Some(c) => Some(tool_choice(c)?),
    };
    if let Some(mut choice) = choice.or_else(|| no_parallel.then(|| json!({ "type": "auto" }))) {
        if no_parallel && choice["type"] != "none" {
            choice["disable_parallel_tool_use"] = json!(true);
        }
        out.insert("tool_choice".into(), choice);
    }
    Ok(Value::Object(out))
}

fn tool(t: &Value) -> Result<Value, Untranslatable> {
    let f = t
        .get("function")
        .filter(|_| t.get("type").and_then(Value::as_str) == Some("function"))
        .ok_or_else(|| bad("every tool must be `{\"type\": \"function\", \"function\": …}`"))?;
    let name = f
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("every function needs a `name`"))?;
    let mut out = json!({
        "name": name,
        "input_schema": f.get("parameters").cloned().unwrap_or_else(|| json!({ "type": "object", "properties": {} })),
    });
    if let Some(d) = f.get("description") {
        out["description"] = d.clone();
    }
    Ok(out)
}

fn tool_choice(choice: &Value) -> Result<Value, Untranslatable> {
    match choice {
        Value::String(s) => match s.as_str() {
            "auto" => Ok(json!({ "type": "auto" })),
            "required" => Ok(json!({ "type": "any" })),
            "none" => Ok(json!({ "type": "none" })),
            _ => Err(bad(
                "`tool_choice` must be auto, required, none or a function",
            )),
        },
        Value::Object(_) => {
            let name = choice
                .pointer("/function/name")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("`tool_choice.function.name` is missing"))?;
            Ok(json!({ "type": "tool", "name": name }))
        }
        _ => Err(bad(
            "`tool_choice` must be auto, required, none or a function",
        )),
    }
}

/// Text from a string or a list of text parts.
fn text_of(content: Option<&Value>, i: usize) -> Result<String, Untranslatable> {
    match content {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Array(parts)) => Ok(parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n")),
        _ => Err(bad(format!(
            "`messages[{i}].content` must be a string or a list of parts"
        ))),
    }
}

fn user_blocks(content: Option<&Value>, i: usize) -> Result<Vec<Value>, Untranslatable> {
    match content {
        Some(Value::String(s)) => Ok(vec![json!({ "type": "text", "text": s })]),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| match p.get("type").and_then(Value::as_str) {
                Some("text") => Some(Ok(
                    json!({ "type": "text", "text": p.get("text").cloned().unwrap_or_default() }),
                )),
                Some("image_url") => Some(image(p, i)),
                // Audio and files have no Messages form.
                _ => None,
            })
            .collect(),
        _ => Err(bad(format!(
            "`messages[{i}].content` must be a string or a list of parts"
        ))),
    }
}

/// A data URL becomes a base64 source, any other URL a URL source.
fn image(part: &Value, i: usize) -> Result<Value, Untranslatable> {
    let url = part
        .pointer("/image_url/url")
        .or_else(|| part.get("image_url"))
        .and_then(Value::as_str)
        .ok_or_else(|| bad(format!("an image in `messages[{i}]` needs `image_url.url`")))?;
    let source = match url.strip_prefix("data:") {
        Some(rest) => {
            let (media_type, data) = rest.split_once(";base64,").ok_or_else(|| {
                bad(format!(
                    "the image in `messages[{i}]` is not a base64 data URL"
                ))
            })?;
            json!({ "type": "base64", "media_type": media_type, "data": data })
        }
        None => json!({ "type": "url", "url": url }),
    };
    Ok(json!({ "type": "image", "source": source }))
}

fn assistant_blocks(m: &Value, i: usize) -> Result<Vec<Value>, Untranslatable> {
    let mut blocks = Vec::new();
    let text = text_of(m.get("content"), i)?;
    if !text.is_empty() {
        blocks.push(json!({ "type": "text", "text": text }));
    }
    for call in m
        .get("tool_calls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let (Some(id), Some(name)) = (
            call.get("id").and_then(Value::as_str),
            call.pointer("/function/name").and_then(Value::as_str),
        ) else {
            return Err(bad(format!(
                "a tool call in `messages[{i}]` needs `id` and `function.name`"
            )));
        };
        let arguments = call
            .pointer("/function/arguments")
            .and_then(Value::as_str)
            .unwrap_or("");
        let input: Value = if arguments.trim().is_empty() {
            json!({})
        } else {
            serde_json::from_str(arguments).map_err(|_| {
                bad(format!(
                    "the arguments of tool call `{id}` in `messages[{i}]` are not JSON"
                ))
            })?
        };
        blocks.push(json!({ "type": "tool_use", "id": id, "name": name, "input": input }));
    }
    Ok(blocks)
}

fn tool_result(m: &Value, i: usize) -> Result<Value, Untranslatable> {
    let id = m
        .get("tool_call_id")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            bad(format!(
                "`messages[{i}]` (a tool result) needs `tool_call_id`"
            ))
        })?;
    Ok(
        json!({ "type": "tool_result", "tool_use_id": id, "content": text_of(m.get("content"), i)? }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_conversation_with_system_prompts_an_image_and_a_tool_round_trip_translates() {
        let chat = json!({
            "model": "claude",
            "max_completion_tokens": 300,
            "temperature": 0.3,
            "stop": "END",
            "user": "u-7",
            "seed": 4,
            "parallel_tool_calls": false,
            "tools": [{ "type": "function", "function": { "name": "weather", "description": "Weather now", "parameters": { "type": "object", "properties": { "city": { "type": "string" } } } } }],
            "messages": [
                { "role": "system", "content": "Be brief." },
                { "role": "developer", "content": [{ "type": "text", "text": "Use metric units." }] },
                { "role": "user", "content": [
                    { "type": "text", "text": "What is this, and the weather in Paris?" },
                    { "type": "image_url", "image_url": { "url": "data:image/png;base64,iVBOR" } },
                    { "type": "image_url", "image_url": { "url": "https://example.com/cat.jpg" } }
                ]},
                { "role": "assistant", "content": null, "tool_calls": [
                    { "id": "call_1", "type": "function", "function": { "name": "weather", "arguments": "{\"city\":\"Paris\"}" } }
                ]},
                { "role": "tool", "tool_call_id": "call_1", "content": "18°C, sunny" },
                { "role": "user", "content": "Thanks" }
            ]
        });
        assert_eq!(
            request(&chat, "claude-sonnet-4-5", 4096).unwrap(),
            json!({
                "model": "claude-sonnet-4-5",
                "system": "Be brief.\n\nUse metric units.",
                "max_tokens": 300,
                "temperature": 0.3,
                "stop_sequences": ["END"],
                "metadata": { "user_id": "u-7" },
                "tools": [{ "name": "weather", "description": "Weather now", "input_schema": { "type": "object", "properties": { "city": { "type": "string" } } } }],
                "tool_choice": { "type": "auto", "disable_parallel_tool_use": true },
                "messages": [
                    { "role": "user", "content": [
                        { "type": "text", "text": "What is this, and the weather in Paris?" },
                        { "type": "image", "source": { "type": "base64", "media_type": "image/png", "data": "iVBOR" } },
                        { "type": "image", "source": { "type": "url", "url": "https://example.com/cat.jpg" } }
                    ]},
                    { "role": "assistant", "content": [
                        { "type": "tool_use", "id": "call_1", "name": "weather", "input": { "city": "Paris" } }
                    ]},
                    // The tool result and the next user message are one user turn.
                    { "role": "user", "content": [
                        { "type": "tool_result", "tool_use_id": "call_1", "content": "18°C, sunny" },
                        { "type": "text", "text": "Thanks" }
                    ]}
                ]
            })
        );
    }

    #[test]
    fn max_tokens_defaults_and_tool_choices_map() {
        let base = json!({ "model": "m", "messages": [{ "role": "user", "content": "hi" }], "stream": true });
        let out = request(&base, "up", 1024).unwrap();
        assert_eq!(out["max_tokens"], 1024);
        assert_eq!(out["stream"], true);
        assert!(out.get("tool_choice").is_none());
        for (openai, anthropic) in [
            (json!("auto"), json!({ "type": "auto" })),
            (json!("required"), json!({ "type": "any" })),
            (json!("none"), json!({ "type": "none" })),
            (
                json!({ "type": "function", "function": { "name": "f" } }),
                json!({ "type": "tool", "name": "f" }),
            ),
        ] {
            let mut r = base.clone();
            r["tool_choice"] = openai;
            assert_eq!(request(&r, "up", 1).unwrap()["tool_choice"], anthropic);
        }
    }

    #[test]
    fn what_cannot_be_translated_says_why() {
        let cases = [
            (json!({ "model": "m" }), "messages"),
            (json!({ "model": "m", "n": 2, "messages": [] }), "`n`"),
            (
                json!({ "model": "m", "response_format": { "type": "json_object" }, "messages": [] }),
                "response_format",
            ),
            (
                json!({ "model": "m", "messages": [{ "role": "robot", "content": "x" }] }),
                "role",
            ),
            (
                json!({ "model": "m", "messages": [{ "role": "tool", "content": "x" }] }),
                "tool_call_id",
            ),
            (
                json!({ "model": "m", "messages": [{ "role": "assistant", "tool_calls": [{ "id": "c", "function": { "name": "f", "arguments": "{nope" } }] }] }),
                "not JSON",
            ),
            (
                json!({ "model": "m", "messages": [{ "role": "user", "content": [{ "type": "image_url", "image_url": { "url": "data:image/png,xyz" } }] }] }),
                "base64",
            ),
        ];
        for (body, needle) in cases {
            let e = request(&body, "up", 1).unwrap_err();
            assert!(e.0.contains(needle), "{body}: {}", e.0);
        }
    }
}
