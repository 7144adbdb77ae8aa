//! What the mock upstream answers a coding agent (`Behaviour::Agent`): a model that asks for
//! one shell command through the agent's own tool, then, given its output, says it back. A
//! real agent run through the gateway thus makes a whole tool round trip.

use axum::{
    Json,
    body::Body,
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

/// What the tool call runs; the final answer is `done: ` and its output.
pub const COMMAND: &str = "echo portcullis-tool-ok";
pub const OUTPUT: &str = "portcullis-tool-ok";

/// The arguments that run [`COMMAND`] through the shell tool `tool`, in the shape each agent's
/// tool takes (Codex's `exec_command` takes `cmd`, Claude Code's `Bash` takes `command`).
pub fn arguments_for(tool: &str) -> Value {
    match tool {
        "exec_command" => json!({ "cmd": COMMAND }),
        _ => json!({ "command": COMMAND, "description": "Print a marker" }),
    }
}

/// The final answer for a tool result: `done: ` and its last line (Codex puts a header of its
/// own before the command's output).
pub fn done(result: Option<&str>) -> String {
    let last = result
        .unwrap_or_default()
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or_default();
    format!("done: {last}")
}

/// Whether `name` is a shell tool, by the names the agents use.
pub fn is_shell(name: &str) -> bool {
    matches!(name, "Bash" | "shell" | "exec_command" | "local_shell")
}

/// The tool the agent offers for shell commands.
fn shell_tool(tools: &[Value]) -> Option<&str> {
    tools
        .iter()
        .filter_map(|t| t.pointer("/function/name").and_then(Value::as_str))
        .find(|n| is_shell(n))
}

pub fn answer(body: &Value) -> Response {
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    let result = messages
        .iter()
        .rev()
        .find(|m| m["role"] == "tool")
        .and_then(|m| m["content"].as_str().map(str::to_owned));
    let tools = body["tools"].as_array().cloned().unwrap_or_default();
    let (delta, finish) = match (result, shell_tool(&tools)) {
        (None, Some(tool)) => {
            let arguments = arguments_for(tool);
            (
                json!({ "role": "assistant", "tool_calls": [{ "index": 0, "id": "call_agent_1", "type": "function",
                        "function": { "name": tool, "arguments": arguments.to_string() } }] }),
                "tool_calls",
            )
        }
        (result, _) => (
            json!({ "role": "assistant", "content": done(result.as_deref()) }),
            "stop",
        ),
    };
    let usage = json!({ "prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15 });
    if body["stream"] != true {
        let mut message = delta;
        if let Some(calls) = message.get_mut("tool_calls").and_then(Value::as_array_mut) {
            for c in calls {
                c.as_object_mut().map(|o| o.remove("index"));
            }
        }
        return Json(json!({ "id": "chatcmpl-agent", "object": "chat.completion", "model": body["model"],
            "choices": [{ "index": 0, "message": message, "finish_reason": finish }], "usage": usage }))
        .into_response();
    }
    let chunk = |choices: Value, usage: Value| json!({ "id": "chatcmpl-agent", "object": "chat.completion.chunk", "model": body["model"], "choices": choices, "usage": usage });
    let events = [
        chunk(
            json!([{ "index": 0, "delta": delta, "finish_reason": null }]),
            Value::Null,
        ),
        chunk(
            json!([{ "index": 0, "delta": {}, "finish_reason": finish }]),
            Value::Null,
        ),
        chunk(json!([]), usage),
    ];
    let mut text: String = events.iter().map(|e| format!("data: {e}\n\n")).collect();
    text.push_str("data: [DONE]\n\n");
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::from(text))
        .unwrap()
}

/// The same model behind the Anthropic mock, in Messages' shape (`MockAnthropic::agent`).
pub fn anthropic_answer(body: &Value) -> Response {
    let last_user = body["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
        .cloned()
        .unwrap_or_default();
    let result = last_user["content"].as_array().and_then(|blocks| {
        blocks
            .iter()
            .find(|b| b["type"] == "tool_result")
            .map(|b| match &b["content"] {
                Value::String(s) => s.clone(),
                Value::Array(parts) => parts.iter().filter_map(|p| p["text"].as_str()).collect(),
                _ => String::new(),
            })
    });
    let shell = body["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["name"].as_str())
        .find(|n| is_shell(n));
    let input = arguments_for(shell.unwrap_or_default());
    let (block, delta, stop) = match (result, shell) {
        (None, Some(tool)) => (
            json!({ "type": "tool_use", "id": "toolu_agent_1", "name": tool, "input": {} }),
            json!({ "type": "input_json_delta", "partial_json": input.to_string() }),
            "tool_use",
        ),
        (result, _) => {
            let text = done(result.as_deref());
            (
                json!({ "type": "text", "text": "" }),
                json!({ "type": "text_delta", "text": text }),
                "end_turn",
            )
        }
    };
    let usage = json!({ "input_tokens": 10, "output_tokens": 5 });
    if body["stream"] != true {
        let mut whole = block;
        match stop {
            "tool_use" => whole["input"] = input,
            _ => whole["text"] = delta["text"].clone(),
        }
        return Json(json!({ "id": "msg_agent", "type": "message", "role": "assistant", "model": body["model"],
            "content": [whole], "stop_reason": stop, "stop_sequence": null, "usage": usage }))
        .into_response();
    }
    let events = [
        (
            "message_start",
            json!({ "type": "message_start", "message": { "id": "msg_agent", "type": "message", "role": "assistant",
            "model": body["model"], "content": [], "stop_reason": null, "stop_sequence": null, "usage": { "input_tokens": 10, "output_tokens": 1 } } }),
        ),
        (
            "content_block_start",
            json!({ "type": "content_block_start", "index": 0, "content_block": block }),
        ),
        (
            "content_block_delta",
            json!({ "type": "content_block_delta", "index": 0, "delta": delta }),
        ),
        (
            "content_block_stop",
            json!({ "type": "content_block_stop", "index": 0 }),
        ),
        (
            "message_delta",
            json!({ "type": "message_delta", "delta": { "stop_reason": stop, "stop_sequence": null }, "usage": { "output_tokens": 5 } }),
        ),
        ("message_stop", json!({ "type": "message_stop" })),
    ];
    let text: String = events
        .iter()
        .map(|(name, data)| format!("event: {name}\ndata: {data}\n\n"))
        .collect();
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::from(text))
        .unwrap()
}
