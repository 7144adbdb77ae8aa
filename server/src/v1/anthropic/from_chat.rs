//! An OpenAI chat-completions answer as an Anthropic Messages answer: whole, or as a stream
//! translated chunk by chunk into Anthropic's event sequence (`message_start`,
//! `content_block_start`, `content_block_delta`, `content_block_stop`, `message_delta`,
//! `message_stop`), holding nothing back.

use serde_json::{Value, json};

/// Anthropic's stop reason for an OpenAI finish reason.
pub fn stop_reason(finish: Option<&str>) -> &'static str {
    match finish {
        Some("length") => "max_tokens",
        Some("tool_calls" | "function_call") => "tool_use",
        _ => "end_turn",
    }
}

fn usage(chat: &Value) -> Value {
    let n = |k: &str| {
        chat.pointer(&format!("/usage/{k}"))
            .and_then(Value::as_i64)
            .unwrap_or(0)
    };
    json!({ "input_tokens": n("prompt_tokens"), "output_tokens": n("completion_tokens") })
}

/// A tool call's arguments as the JSON object Anthropic wants; unparsable ones are kept as
/// text under `_raw` rather than lost.
fn arguments(raw: &str) -> Value {
    if raw.trim().is_empty() {
        return json!({});
    }
    serde_json::from_str(raw).unwrap_or_else(|_| json!({ "_raw": raw }))
}

/// The whole answer; `model` is the name the client asked for.
pub fn response(chat: &Value, model: &str) -> Value {
    let choice = chat.pointer("/choices/0").cloned().unwrap_or(Value::Null);
    let message = choice.get("message").cloned().unwrap_or(Value::Null);
    let mut content = Vec::new();
    if let Some(text) = message.get("content").and_then(Value::as_str)
        && !text.is_empty()
    {
        content.push(json!({ "type": "text", "text": text }));
    }
    for call in message
        .get("tool_calls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        content.push(json!({
            "type": "tool_use",
            "id": call.get("id").cloned().unwrap_or_else(|| json!(new_id("toolu"))),
            "name": call.pointer("/function/name").cloned().unwrap_or_default(),
            "input": arguments(call.pointer("/function/arguments").and_then(Value::as_str).unwrap_or("")),
        }));
    }
    json!({
        "id": message_id(chat),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason(choice.get("finish_reason").and_then(Value::as_str)),
        "stop_sequence": null,
        "usage": usage(chat),
    })
}

fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

fn message_id(chat: &Value) -> String {
    match chat.get("id").and_then(Value::as_str) {
        Some(id) if !id.is_empty() => format!("msg_{id}"),
        _ => new_id("msg"),
    }
}

/// One Anthropic server-sent event: its name and data.
pub type Event = (&'static str, Value);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    None,
    Text(usize),
    Tool(usize),
}

/// Turns chat-completion chunks into Anthropic events as they come.
#[derive(Debug)]
pub struct StreamTranslator {
    model: String,
    started: bool,
    block: Block,
    next_index: usize,
    /// OpenAI's tool-call index → our block index, for argument fragments.
    tools: Vec<(u64, usize)>,
    stop: Option<&'static str>,
    input_tokens: i64,
    output_tokens: i64,
    finished: bool,
}

impl StreamTranslator {
    pub fn new(model: &str) -> Self {
        Self {
            model: model.to_owned(),
            started: false,
            block: Block::None,
            next_index: 0,
            tools: Vec::new(),
            stop: None,
            input_tokens: 0,
            output_tokens: 0,
            finished: false,
        }
    }

    /// The events one chunk makes.
    pub fn chunk(&mut self, chunk: &Value) -> Vec<Event> {
        let mut out = Vec::new();
        if !self.started {
            self.started = true;
            out.push(("message_start", json!({
                "type": "message_start",
                "message": {
                    "id": message_id(chunk), "type": "message", "role": "assistant",
                    "model": self.model, "content": [], "stop_reason": null, "stop_sequence": null,
                    "usage": { "input_tokens": 0, "output_tokens": 0 },
                },
            })));
        }
        if let Some(u) = chunk.get("usage").filter(|u| u.is_object()) {
            self.input_tokens = u
                .get("prompt_tokens")
                .and_then(Value::as_i64)
                .unwrap_or(self.input_tokens);
            self.output_tokens = u
                .get("completion_tokens")
                .and_then(Value::as_i64)
                .unwrap_or(self.output_tokens);
        }
        let Some(choice) = chunk.pointer("/choices/0") else {
            return out;
        };
        let delta = choice.get("delta").cloned().unwrap_or(Value::Null);
        if let Some(text) = delta.get("content").and_then(Value::as_str)
            && !text.is_empty()
        {
            let index = match self.block {
                Block::Text(i) => i,
                _ => {
                    self.close(&mut out);
                    let i = self.open(&mut out, json!({ "type": "text", "text": "" }));
                    self.block = Block::Text(i);
                    i
                }
            };
            out.push((
                "content_block_delta",
                json!({
                    "type": "content_block_delta", "index": index,
                    "delta": { "type": "text_delta", "text": text },
                }),
            ));
        }
        for call in delta
            .get("tool_calls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let openai_index = call.get("index").and_then(Value::as_u64).unwrap_or(0);
            let known = self
                .tools
                .iter()
                .find(|(o, _)| *o == openai_index)
                .map(|(_, b)| *b);
            let index =
                match known {
                    Some(b) => b,
                    None => {
                        self.close(&mut out);
                        let i = self.open(&mut out, json!({
                        "type": "tool_use",
                        "id": call.get("id").cloned().unwrap_or_else(|| json!(new_id("toolu"))),
                        "name": call.pointer("/function/name").cloned().unwrap_or_default(),
                        "input": {},
                    }));
                        self.tools.push((openai_index, i));
                        self.block = Block::Tool(i);
                        i
                    }
                };
            if let Some(args) = call.pointer("/function/arguments").and_then(Value::as_str)
                && !args.is_empty()
            {
                out.push((
                    "content_block_delta",
                    json!({
                        "type": "content_block_delta", "index": index,
                        "delta": { "type": "input_json_delta", "partial_json": args },
                    }),
                ));
            }
        }
        if let Some(finish) = choice.get("finish_reason").and_then(Value::as_str) {
            self.stop = Some(stop_reason(Some(finish)));
            self.close(&mut out);
        }
        out
    }

    /// The closing events, once the upstream's stream ended (`[DONE]` or its end).
    pub fn finish(&mut self) -> Vec<Event> {
        if self.finished {
            return Vec::new();
        }
        self.finished = true;
        let mut out = Vec::new();
        if !self.started {
            out.extend(self.chunk(&json!({})));
        }
        self.close(&mut out);
        out.push((
            "message_delta",
            json!({
                "type": "message_delta",
                "delta": { "stop_reason": self.stop.unwrap_or("end_turn"), "stop_sequence": null },
                "usage": { "input_tokens": self.input_tokens, "output_tokens": self.output_tokens },
            }),
        ));
        out.push(("message_stop", json!({ "type": "message_stop" })));
        out
    }

    fn open(&mut self, out: &mut Vec<Event>, block: Value) -> usize {
        let index = self.next_index;
        self.next_index += 1;
        out.push((
            "content_block_start",
            json!({
                "type": "content_block_start", "index": index, "content_block": block,
            }),
        ));
        index
    }

    fn close(&mut self, out: &mut Vec<Event>) {
        if let Block::Text(i) | Block::Tool(i) = self.block {
            out.push((
                "content_block_stop",
                json!({ "type": "content_block_stop", "index": i }),
            ));
        }
        self.block = Block::None;
    }
}

/// An event as it goes on the wire.
pub fn sse((name, data): &Event) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_answer_with_text_and_a_tool_call_translates() {
        let chat = json!({
            "id": "chatcmpl-1", "object": "chat.completion", "model": "qwen-7b",
            "choices": [{ "index": 0, "finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": "Let me check.",
                "tool_calls": [{ "id": "call_1", "type": "function", "function": { "name": "weather", "arguments": "{\"city\":\"Paris\"}" } }],
            }}],
            "usage": { "prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19 },
        });
        assert_eq!(
            response(&chat, "claude-like"),
            json!({
                "id": "msg_chatcmpl-1", "type": "message", "role": "assistant", "model": "claude-like",
                "content": [
                    { "type": "text", "text": "Let me check." },
                    { "type": "tool_use", "id": "call_1", "name": "weather", "input": { "city": "Paris" } },
                ],
                "stop_reason": "tool_use", "stop_sequence": null,
                "usage": { "input_tokens": 12, "output_tokens": 7 },
            })
        );
        let cut =
            json!({ "choices": [{ "finish_reason": "length", "message": { "content": "abc" } }] });
        assert_eq!(response(&cut, "m")["stop_reason"], "max_tokens");
    }

    fn names(events: &[Event]) -> Vec<&'static str> {
        events.iter().map(|(n, _)| *n).collect()
    }

    #[test]
    fn a_stream_becomes_anthropics_event_sequence_in_order() {
        let mut t = StreamTranslator::new("claude-like");
        let mut all = Vec::new();
        for chunk in [
            json!({ "id": "c1", "choices": [{ "index": 0, "delta": { "role": "assistant", "content": "" } }] }),
            json!({ "id": "c1", "choices": [{ "index": 0, "delta": { "content": "Hel" } }] }),
            json!({ "id": "c1", "choices": [{ "index": 0, "delta": { "content": "lo" } }] }),
            json!({ "id": "c1", "choices": [{ "index": 0, "delta": { "tool_calls": [{ "index": 0, "id": "call_9", "type": "function", "function": { "name": "f", "arguments": "" } }] } }] }),
            json!({ "id": "c1", "choices": [{ "index": 0, "delta": { "tool_calls": [{ "index": 0, "function": { "arguments": "{\"a\":" } }] } }] }),
            json!({ "id": "c1", "choices": [{ "index": 0, "delta": { "tool_calls": [{ "index": 0, "function": { "arguments": "1}" } }] } }] }),
            json!({ "id": "c1", "choices": [{ "index": 0, "delta": {}, "finish_reason": "tool_calls" }] }),
            json!({ "id": "c1", "choices": [], "usage": { "prompt_tokens": 9, "completion_tokens": 4 } }),
        ] {
            all.extend(t.chunk(&chunk));
        }
        all.extend(t.finish());
        assert_eq!(
            names(&all),
            [
                "message_start",
                "content_block_start",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "content_block_start",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop",
            ]
        );
        assert_eq!(all[0].1["message"]["model"], "claude-like");
        assert_eq!(
            all[1].1,
            json!({ "type": "content_block_start", "index": 0, "content_block": { "type": "text", "text": "" } })
        );
        assert_eq!(
            all[3].1["delta"],
            json!({ "type": "text_delta", "text": "lo" })
        );
        assert_eq!(
            all[5].1["content_block"],
            json!({ "type": "tool_use", "id": "call_9", "name": "f", "input": {} })
        );
        assert_eq!(all[5].1["index"], 1);
        assert_eq!(
            all[7].1["delta"],
            json!({ "type": "input_json_delta", "partial_json": "1}" })
        );
        assert_eq!(all[9].1["delta"]["stop_reason"], "tool_use");
        assert_eq!(
            all[9].1["usage"],
            json!({ "input_tokens": 9, "output_tokens": 4 })
        );
        assert!(t.finish().is_empty(), "finishing twice adds nothing");
        assert_eq!(
            sse(&all[10]),
            "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
        );
    }

    #[test]
    fn an_empty_stream_still_opens_and_closes_a_message() {
        let mut t = StreamTranslator::new("m");
        assert_eq!(
            names(&t.finish()),
            ["message_start", "message_delta", "message_stop"]
        );
    }
}
