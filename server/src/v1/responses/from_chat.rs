//! A whole chat-completions answer as a Responses answer: reasoning, then the message, then the
//! function calls, each an output item.

use serde_json::{Value, json};

use super::echo::{Echo, new_id, status, usage};

pub fn response(chat: &Value, echo: &Echo) -> Value {
    let choice = chat.pointer("/choices/0").cloned().unwrap_or(Value::Null);
    let message = choice.get("message").cloned().unwrap_or(Value::Null);
    let mut output = Vec::new();
    let reasoning = ["reasoning_content", "reasoning"].iter().find_map(|k| {
        message
            .get(*k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    });
    if let Some(text) = reasoning {
        output.push(json!({
            "type": "reasoning", "id": new_id("rs"), "summary": [],
            "content": [{ "type": "reasoning_text", "text": text }],
        }));
    }
    if let Some(text) = message
        .get("content")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        output.push(json!({
            "type": "message", "id": new_id("msg"), "status": "completed", "role": "assistant",
            "content": [{ "type": "output_text", "text": text, "annotations": [], "logprobs": [] }],
        }));
    }
    if let Some(refusal) = message
        .get("refusal")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        output.push(json!({
            "type": "message", "id": new_id("msg"), "status": "completed", "role": "assistant",
            "content": [{ "type": "refusal", "refusal": refusal }],
        }));
    }
    for call in message
        .get("tool_calls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let call_id = call
            .get("id")
            .and_then(Value::as_str)
            .map_or_else(|| new_id("call"), str::to_owned);
        output.push(
            echo.function_call(
                &new_id("fc"),
                &call_id,
                call.pointer("/function/name")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
                call.pointer("/function/arguments")
                    .and_then(Value::as_str)
                    .unwrap_or("{}"),
                "completed",
            ),
        );
    }
    let (state, details) = status(choice.get("finish_reason").and_then(Value::as_str));
    let mut response = echo.response(
        state,
        output,
        chat.get("usage").filter(|u| u.is_object()).map(usage),
    );
    response["incomplete_details"] = details;
    response
}
