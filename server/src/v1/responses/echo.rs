//! The response object a Responses client reads back: its id, its status and output, and the
//! settings of the request it answers, as OpenAI echoes them.

use serde_json::{Map, Value, json};

use super::to_chat::NAMESPACE_SEPARATOR;

/// The request's side of every response object made for it.
#[derive(Debug, Clone)]
pub struct Echo {
    pub id: String,
    pub created_at: i64,
    pub model: String,
    /// As the client sent it (the gateway takes it out of the body it routes).
    pub previous_response_id: Option<String>,
    settings: Map<String, Value>,
    /// The tool namespaces the request offered, to split flattened function names back.
    namespaces: Vec<String>,
}

/// Request fields a response repeats, with what they are when the request left them out.
const ECHOED: [(&str, Value); 11] = [
    ("instructions", Value::Null),
    ("max_output_tokens", Value::Null),
    ("metadata", Value::Null),
    ("parallel_tool_calls", Value::Bool(true)),
    ("reasoning", Value::Null),
    ("temperature", Value::Null),
    ("text", Value::Null),
    ("tool_choice", Value::Null),
    ("tools", Value::Null),
    ("top_p", Value::Null),
    ("truncation", Value::Null),
];

impl Echo {
    /// For `request`, asked of the public model `model`; `stored` says whether this gateway
    /// keeps the response.
    pub fn of(request: &Value, model: &str, stored: bool) -> Self {
        let mut settings = Map::new();
        for (key, default) in ECHOED {
            let value = request
                .get(key)
                .filter(|v| !v.is_null())
                .cloned()
                .unwrap_or(default);
            settings.insert(key.into(), value);
        }
        if settings["tool_choice"].is_null() {
            settings.insert("tool_choice".into(), json!("auto"));
        }
        if settings["tools"].is_null() {
            settings.insert("tools".into(), json!([]));
        }
        if settings["metadata"].is_null() {
            settings.insert("metadata".into(), json!({}));
        }
        settings.insert("store".into(), json!(stored));
        let namespaces = request
            .get("tools")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|t| t.get("type") == Some(&json!("namespace")))
            .filter_map(|t| t.get("name").and_then(Value::as_str).map(str::to_owned))
            .collect();
        Self {
            id: new_id("resp"),
            created_at: chrono::Utc::now().timestamp(),
            model: model.to_owned(),
            previous_response_id: None,
            settings,
            namespaces,
        }
    }

    /// The response object with `status`, `output` and `usage`.
    pub fn response(&self, status: &str, output: Vec<Value>, usage: Option<Value>) -> Value {
        let mut r = Map::new();
        r.insert("id".into(), json!(self.id));
        r.insert("object".into(), json!("response"));
        r.insert("created_at".into(), json!(self.created_at));
        r.insert("status".into(), json!(status));
        r.insert("error".into(), Value::Null);
        r.insert("incomplete_details".into(), Value::Null);
        r.insert("model".into(), json!(self.model));
        r.insert("output".into(), Value::Array(output));
        r.extend(self.settings.clone());
        r.insert(
            "previous_response_id".into(),
            json!(self.previous_response_id),
        );
        r.insert("usage".into(), usage.unwrap_or(Value::Null));
        Value::Object(r)
    }

    /// A function call item for the chat tool call named `name`: a flattened namespaced name
    /// is split back into its namespace and name.
    pub fn function_call(
        &self,
        id: &str,
        call_id: &str,
        name: &str,
        arguments: &str,
        status: &str,
    ) -> Value {
        let mut item = json!({
            "type": "function_call", "id": id, "call_id": call_id, "name": name,
            "arguments": arguments, "status": status,
        });
        if let Some((ns, inner)) = name.split_once(NAMESPACE_SEPARATOR)
            && self.namespaces.iter().any(|n| n == ns)
        {
            item["name"] = json!(inner);
            item["namespace"] = json!(ns);
        }
        item
    }
}

pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

/// The Responses usage object for chat completions' `usage`.
pub fn usage(chat_usage: &Value) -> Value {
    let n = |path: &str| {
        chat_usage
            .pointer(path)
            .and_then(Value::as_i64)
            .unwrap_or(0)
    };
    let input = n("/prompt_tokens");
    let output = n("/completion_tokens");
    json!({
        "input_tokens": input,
        "input_tokens_details": { "cached_tokens": n("/prompt_tokens_details/cached_tokens") },
        "output_tokens": output,
        "output_tokens_details": { "reasoning_tokens": n("/completion_tokens_details/reasoning_tokens") },
        "total_tokens": input.saturating_add(output),
    })
}

/// The status and incomplete details for a chat finish reason.
pub fn status(finish: Option<&str>) -> (&'static str, Value) {
    match finish {
        Some("length") => ("incomplete", json!({ "reason": "max_output_tokens" })),
        Some("content_filter") => ("incomplete", json!({ "reason": "content_filter" })),
        _ => ("completed", Value::Null),
    }
}
