//! The mock upstream's `/v1/responses`, as OpenAI and vLLM serve it: a whole response object or
//! its event stream (`response.created` … `response.completed`), answering `hello from <name>`,
//! or, for `Behaviour::Agent`, a shell tool call and then its output (see `mock_agent`).

use axum::{
    Json,
    body::Body,
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use crate::mock_agent::{arguments_for, done, is_shell};

/// The output item this mock model makes for `body`.
fn output(body: &Value, name: &str, agent: bool) -> Value {
    let items = body["input"].as_array().cloned().unwrap_or_default();
    let result = items
        .iter()
        .rev()
        .find(|i| i["type"] == "function_call_output")
        .map(|i| match &i["output"] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
    let tool = body["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["name"].as_str())
        .find(|n| is_shell(n));
    match (agent, result, tool) {
        (true, None, Some(tool)) => json!({
            "type": "function_call", "id": "fc_mock_1", "call_id": "call_agent_1", "name": tool,
            "arguments": arguments_for(tool).to_string(), "status": "completed",
        }),
        (true, result, _) => message(&done(result.as_deref())),
        (false, _, _) => message(&format!("hello from {name}")),
    }
}

fn message(text: &str) -> Value {
    json!({ "type": "message", "id": "msg_mock_1", "status": "completed", "role": "assistant",
        "content": [{ "type": "output_text", "text": text, "annotations": [] }] })
}

pub fn answer(body: &Value, name: &str, agent: bool) -> Response {
    let item = output(body, name, agent);
    let usage = json!({ "input_tokens": 11, "input_tokens_details": { "cached_tokens": 0 },
        "output_tokens": 4, "output_tokens_details": { "reasoning_tokens": 0 }, "total_tokens": 15 });
    let response = |status: &str, output: Value, usage: Value| {
        json!({ "id": "resp_mock_1", "object": "response", "created_at": 1_800_000_000, "status": status,
            "model": body["model"], "output": output, "usage": usage, "parallel_tool_calls": true,
            "tool_choice": "auto", "tools": [] })
    };
    if body["stream"] != true {
        return Json(response("completed", json!([item]), usage)).into_response();
    }
    let mut events = vec![
        json!({ "type": "response.created", "response": response("in_progress", json!([]), Value::Null) }),
    ];
    let mut added = item.clone();
    added["status"] = json!("in_progress");
    if item["type"] == "message" {
        added["content"] = json!([]);
        let text = item["content"][0]["text"].clone();
        events.extend([
            json!({ "type": "response.output_item.added", "output_index": 0, "item": added }),
            json!({ "type": "response.content_part.added", "item_id": item["id"], "output_index": 0, "content_index": 0,
                "part": { "type": "output_text", "text": "", "annotations": [] } }),
            json!({ "type": "response.output_text.delta", "item_id": item["id"], "output_index": 0, "content_index": 0, "delta": text }),
            json!({ "type": "response.output_text.done", "item_id": item["id"], "output_index": 0, "content_index": 0, "text": text }),
            json!({ "type": "response.content_part.done", "item_id": item["id"], "output_index": 0, "content_index": 0,
                "part": item["content"][0] }),
        ]);
    } else {
        added["arguments"] = json!("");
        events.extend([
            json!({ "type": "response.output_item.added", "output_index": 0, "item": added }),
            json!({ "type": "response.function_call_arguments.delta", "item_id": item["id"], "output_index": 0, "delta": item["arguments"] }),
            json!({ "type": "response.function_call_arguments.done", "item_id": item["id"], "output_index": 0, "arguments": item["arguments"] }),
        ]);
    }
    events.push(json!({ "type": "response.output_item.done", "output_index": 0, "item": item }));
    events.push(json!({ "type": "response.completed", "response": response("completed", json!([item]), usage) }));
    let text: String = events
        .iter_mut()
        .enumerate()
        .map(|(n, e)| {
            e["sequence_number"] = json!(n);
            format!(
                "event: {}\ndata: {e}\n\n",
                e["type"].as_str().unwrap_or_default()
            )
        })
        .collect();
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::from(text))
        .unwrap()
}
