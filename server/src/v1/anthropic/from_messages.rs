//! An Anthropic Messages answer as an OpenAI chat completion, for `/v1/chat/completions`
//! callers of models behind an Anthropic upstream: whole, or as a stream whose events become
//! chat-completion chunks one by one. Thinking becomes `reasoning_content`, the field vLLM and
//! DeepSeek use for it.

use serde_json::{Value, json};

/// OpenAI's finish reason for an Anthropic stop reason.
pub fn finish_reason(stop: Option<&str>) -> Option<&'static str> {
    Some(match stop? {
        "max_tokens" => "length",
        "tool_use" => "tool_calls",
        "refusal" => "content_filter",
        _ => "stop",
    })
}

fn chat_id(message: &Value) -> String {
    match message.get("id").and_then(Value::as_str) {
        Some(id) if !id.is_empty() => format!("chatcmpl-{id}"),
        _ => format!("chatcmpl-{}", uuid::Uuid::now_v7().simple()),
    }
}

fn usage(u: &Value) -> Value {
    let t = super::usage::of(u);
    json!({ "prompt_tokens": t.prompt_tokens, "completion_tokens": t.completion_tokens, "total_tokens": t.prompt_tokens + t.completion_tokens })
}

/// The whole answer; `model` is the name the client asked for.
pub fn response(message: &Value, model: &str) -> Value {
    let mut text = String::new();
    let mut thinking = String::new();
    let mut calls = Vec::new();
    for block in message
        .get("content")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        match block.get("type").and_then(Value::as_str) {
            Some("text") => text.push_str(block.get("text").and_then(Value::as_str).unwrap_or("")),
            Some("thinking") => {
                thinking.push_str(block.get("thinking").and_then(Value::as_str).unwrap_or(""))
            }
            Some("tool_use") => calls.push(json!({
                "id": block.get("id").cloned().unwrap_or_default(),
                "type": "function",
                "function": {
                    "name": block.get("name").cloned().unwrap_or_default(),
                    "arguments": block.get("input").map_or_else(|| "{}".to_owned(), Value::to_string),
                },
            })),
            _ => {}
        }
    }
    let mut msg = json!({
        "role": "assistant",
        "content": if text.is_empty() && !calls.is_empty() { Value::Null } else { json!(text) },
    });
    if !thinking.is_empty() {
        msg["reasoning_content"] = json!(thinking);
    }
    if !calls.is_empty() {
        msg["tool_calls"] = Value::Array(calls);
    }
    json!({
        "id": chat_id(message),
        "object": "chat.completion",
        "created": chrono::Utc::now().timestamp(),
        "model": model,
        "choices": [{
            "index": 0,
            "message": msg,
            "finish_reason": finish_reason(message.get("stop_reason").and_then(Value::as_str)),
        }],
        "usage": usage(message.get("usage").unwrap_or(&Value::Null)),
    })
}

/// An Anthropic error body (`{"type":"error","error":{type, message}}`) in OpenAI's envelope;
/// anything else is left as it is.
pub fn error(body: &Value) -> Option<Value> {
    if body.get("type").and_then(Value::as_str) != Some("error") {
        return None;
    }
    let e = body.get("error")?;
    Some(json!({ "error": {
        "message": e.get("message").cloned().unwrap_or_else(|| json!("the upstream failed")),
        "type": e.get("type").cloned().unwrap_or_else(|| json!("api_error")),
        "param": null,
        "code": null,
    }}))
}

/// Turns Anthropic stream events into chat-completion chunks as they come.
#[derive(Debug)]
pub struct StreamTranslator {
    id: String,
    model: String,
    created: i64,
    include_usage: bool,
    /// Anthropic's block index → OpenAI's tool-call index, for argument fragments.
    tools: Vec<(u64, usize)>,
    prompt_tokens: i64,
    completion_tokens: i64,
}

impl StreamTranslator {
    /// `include_usage`: the client asked for the final usage chunk (`stream_options`).
    pub fn new(model: &str, include_usage: bool) -> Self {
        Self {
            id: chat_id(&Value::Null),
            model: model.to_owned(),
            created: chrono::Utc::now().timestamp(),
            include_usage,
            tools: Vec::new(),
            prompt_tokens: 0,
            completion_tokens: 0,
        }
    }

    fn chunk(&self, delta: Value, finish: Option<&str>) -> Value {
        json!({
            "id": self.id, "object": "chat.completion.chunk", "created": self.created,
            "model": self.model,
            "choices": [{ "index": 0, "delta": delta, "finish_reason": finish }],
        })
    }

    /// The chunks one event makes; `message_stop` makes the last ones.
    pub fn event(&mut self, name: &str, data: &Value) -> Vec<Value> {
        match name {
            "message_start" => {
                let message = data.get("message").unwrap_or(&Value::Null);
                self.id = chat_id(message);
                let t = super::usage::of(message.get("usage").unwrap_or(&Value::Null));
                self.prompt_tokens = t.prompt_tokens;
                self.completion_tokens = t.completion_tokens;
                vec![self.chunk(json!({ "role": "assistant", "content": "" }), None)]
            }
            "content_block_start" => {
                let block = data.get("content_block").unwrap_or(&Value::Null);
                match block.get("type").and_then(Value::as_str) {
                    Some("tool_use") => {
                        let index = self.tools.len();
                        let block_index = data.get("index").and_then(Value::as_u64).unwrap_or(0);
                        self.tools.push((block_index, index));
                        vec![self.chunk(
                            json!({ "tool_calls": [{
                                "index": index,
                                "id": block.get("id").cloned().unwrap_or_default(),
                                "type": "function",
                                "function": { "name": block.get("name").cloned().unwrap_or_default(), "arguments": "" },
                            }]}),
                            None,
                        )]
                    }
                    Some("text") => match block.get("text").and_then(Value::as_str) {
                        Some(t) if !t.is_empty() => vec![self.chunk(json!({ "content": t }), None)],
                        _ => Vec::new(),
                    },
                    _ => Vec::new(),
                }
            }
            "content_block_delta" => {
                let delta = data.get("delta").unwrap_or(&Value::Null);
                let text = |k: &str| delta.get(k).and_then(Value::as_str).unwrap_or("");
                match delta.get("type").and_then(Value::as_str) {
                    Some("text_delta") => {
                        vec![self.chunk(json!({ "content": text("text") }), None)]
                    }
                    Some("thinking_delta") => {
                        vec![self.chunk(json!({ "reasoning_content": text("thinking") }), None)]
                    }
                    Some("input_json_delta") => {
                        let block_index = data.get("index").and_then(Value::as_u64).unwrap_or(0);
                        let Some(&(_, index)) = self.tools.iter().find(|(b, _)| *b == block_index)
                        else {
                            return Vec::new();
                        };
                        vec![self.chunk(
                            json!({ "tool_calls": [{ "index": index, "function": { "arguments": text("partial_json") } }] }),
                            None,
                        )]
                    }
                    _ => Vec::new(),
                }
            }
            "message_delta" => {
                if let Some(n) = data.pointer("/usage/output_tokens").and_then(Value::as_i64) {
                    self.completion_tokens = n;
                }
                let stop = data.pointer("/delta/stop_reason").and_then(Value::as_str);
                match finish_reason(stop) {
                    Some(f) => vec![self.chunk(json!({}), Some(f))],
                    None => Vec::new(),
                }
            }
            "message_stop" if self.include_usage => vec![json!({
                "id": self.id, "object": "chat.completion.chunk", "created": self.created,
                "model": self.model, "choices": [],
                "usage": {
                    "prompt_tokens": self.prompt_tokens,
                    "completion_tokens": self.completion_tokens,
                    "total_tokens": self.prompt_tokens + self.completion_tokens,
                },
            })],
            // `ping`, block stops, and `message_stop` without usage make no chunk.
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_answer_with_thinking_text_and_a_tool_call_translates() {
        let message = json!({
            "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
            "content": [
                { "type": "thinking", "thinking": "Paris weather needs the tool.", "signature": "sig" },
                { "type": "text", "text": "Let me check." },
                { "type": "tool_use", "id": "toolu_01", "name": "weather", "input": { "city": "Paris" } },
            ],
            "stop_reason": "tool_use", "stop_sequence": null,
            "usage": { "input_tokens": 20, "cache_read_input_tokens": 5, "output_tokens": 9 },
        });
        let mut chat = response(&message, "claude");
        assert!(chat["created"].as_i64().is_some());
        chat["created"] = json!(0);
        assert_eq!(
            chat,
            json!({
                "id": "chatcmpl-msg_01", "object": "chat.completion", "created": 0, "model": "claude",
                "choices": [{ "index": 0, "finish_reason": "tool_calls", "message": {
                    "role": "assistant", "content": "Let me check.",
                    "reasoning_content": "Paris weather needs the tool.",
                    "tool_calls": [{ "id": "toolu_01", "type": "function", "function": { "name": "weather", "arguments": "{\"city\":\"Paris\"}" } }],
                }}],
                "usage": { "prompt_tokens": 25, "completion_tokens": 9, "total_tokens": 34 },
            })
        );
        for (stop, finish) in [
            ("end_turn", "stop"),
            ("stop_sequence", "stop"),
            ("max_tokens", "length"),
            ("refusal", "content_filter"),
        ] {
            let m = json!({ "content": [{ "type": "text", "text": "x" }], "stop_reason": stop });
            assert_eq!(response(&m, "c")["choices"][0]["finish_reason"], finish);
        }
    }

    #[test]
    fn errors_move_into_openais_envelope() {
        let e = json!({ "type": "error", "error": { "type": "invalid_request_error", "message": "max_tokens: too large" } });
        assert_eq!(
            error(&e),
            Some(
                json!({ "error": { "message": "max_tokens: too large", "type": "invalid_request_error", "param": null, "code": null } })
            )
        );
        assert_eq!(error(&json!({ "error": { "message": "x" } })), None);
    }

    /// A stream as Anthropic sends it (recorded shape), text then a tool call.
    fn recorded_stream() -> Vec<(&'static str, Value)> {
        vec![
            (
                "message_start",
                json!({ "type": "message_start", "message": { "id": "msg_02", "type": "message", "role": "assistant", "content": [], "model": "claude-sonnet-4-5", "stop_reason": null, "usage": { "input_tokens": 30, "output_tokens": 1 } } }),
            ),
            (
                "content_block_start",
                json!({ "type": "content_block_start", "index": 0, "content_block": { "type": "text", "text": "" } }),
            ),
            ("ping", json!({ "type": "ping" })),
            (
                "content_block_delta",
                json!({ "type": "content_block_delta", "index": 0, "delta": { "type": "text_delta", "text": "Checking" } }),
            ),
            (
                "content_block_stop",
                json!({ "type": "content_block_stop", "index": 0 }),
            ),
            (
                "content_block_start",
                json!({ "type": "content_block_start", "index": 1, "content_block": { "type": "tool_use", "id": "toolu_9", "name": "weather", "input": {} } }),
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
            (
                "message_delta",
                json!({ "type": "message_delta", "delta": { "stop_reason": "tool_use", "stop_sequence": null }, "usage": { "output_tokens": 12 } }),
            ),
            ("message_stop", json!({ "type": "message_stop" })),
        ]
    }

    #[test]
    fn a_stream_becomes_chat_chunks_in_order_with_usage_last() {
        let mut t = StreamTranslator::new("claude", true);
        let chunks: Vec<Value> = recorded_stream()
            .iter()
            .flat_map(|(name, data)| t.event(name, data))
            .collect();
        let deltas: Vec<&Value> = chunks
            .iter()
            .filter_map(|c| c.pointer("/choices/0/delta"))
            .collect();
        assert_eq!(
            deltas,
            [
                &json!({ "role": "assistant", "content": "" }),
                &json!({ "content": "Checking" }),
                &json!({ "tool_calls": [{ "index": 0, "id": "toolu_9", "type": "function", "function": { "name": "weather", "arguments": "" } }] }),
                &json!({ "tool_calls": [{ "index": 0, "function": { "arguments": "{\"city\":" } }] }),
                &json!({ "tool_calls": [{ "index": 0, "function": { "arguments": "\"Paris\"}" } }] }),
                &json!({}),
            ]
        );
        assert_eq!(chunks[5]["choices"][0]["finish_reason"], "tool_calls");
        assert!(
            chunks
                .iter()
                .all(|c| c["id"] == "chatcmpl-msg_02" && c["model"] == "claude")
        );
        let last = chunks.last().unwrap();
        assert_eq!(last["choices"], json!([]));
        assert_eq!(
            last["usage"],
            json!({ "prompt_tokens": 30, "completion_tokens": 12, "total_tokens": 42 })
        );
        // Without `include_usage`, no usage chunk.
        let mut t = StreamTranslator::new("claude", false);
        let n = recorded_stream()
            .iter()
            .flat_map(|(name, data)| t.event(name, data))
            .filter(|c| c.get("usage").is_some())
            .count();
        assert_eq!(n, 0);
    }
}
