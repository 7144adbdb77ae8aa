//! Chat-completion chunks as the Responses API's event sequence, translated as they come:
//! `response.created`, then for each output item `response.output_item.added`, its deltas
//! (`response.output_text.delta` inside a content part, `response.reasoning_text.delta`,
//! `response.function_call_arguments.delta`), its `…done` events and
//! `response.output_item.done`; last `response.completed` (or `response.incomplete`) with the
//! whole response and its usage. A failure ends it with `response.failed`.

use serde_json::{Value, json};

use super::echo::{Echo, new_id, status, usage};

/// One Responses server-sent event: its type and data.
pub type Event = (&'static str, Value);

#[derive(Debug)]
enum Kind {
    Reasoning,
    Message,
    /// A function call, by the chat tool-call index it came under.
    Call {
        index: u64,
        call_id: String,
        name: String,
    },
}

#[derive(Debug)]
struct Item {
    id: String,
    output_index: usize,
    kind: Kind,
    text: String,
    open: bool,
}

#[derive(Debug)]
pub struct StreamTranslator {
    echo: Echo,
    sequence: u64,
    started: bool,
    items: Vec<Item>,
    finish: Option<String>,
    usage: Option<Value>,
    finished: bool,
}

impl StreamTranslator {
    pub fn new(echo: Echo) -> Self {
        Self {
            echo,
            sequence: 0,
            started: false,
            items: Vec::new(),
            finish: None,
            usage: None,
            finished: false,
        }
    }

    pub fn echo(&self) -> &Echo {
        &self.echo
    }

    fn push(&mut self, out: &mut Vec<Event>, kind: &'static str, mut data: Value) {
        data["type"] = json!(kind);
        data["sequence_number"] = json!(self.sequence);
        self.sequence += 1;
        out.push((kind, data));
    }

    fn start(&mut self, out: &mut Vec<Event>) {
        if self.started {
            return;
        }
        self.started = true;
        let response = self.echo.response("in_progress", Vec::new(), None);
        self.push(out, "response.created", json!({ "response": response }));
        let response = self.echo.response("in_progress", Vec::new(), None);
        self.push(out, "response.in_progress", json!({ "response": response }));
    }

    /// The events one chat chunk makes.
    pub fn chunk(&mut self, chunk: &Value) -> Vec<Event> {
        let mut out = Vec::new();
        self.start(&mut out);
        if let Some(u) = chunk.get("usage").filter(|u| u.is_object()) {
            self.usage = Some(usage(u));
        }
        let Some(choice) = chunk.pointer("/choices/0") else {
            return out;
        };
        let delta = choice.get("delta").cloned().unwrap_or(Value::Null);
        let reasoning = ["reasoning_content", "reasoning"].iter().find_map(|k| {
            delta
                .get(*k)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        });
        if let Some(text) = reasoning {
            let at = self.current(
                &mut out,
                |k| matches!(k, Kind::Reasoning),
                || Kind::Reasoning,
            );
            self.items[at].text.push_str(text);
            let data = json!({ "item_id": self.items[at].id, "output_index": self.items[at].output_index, "content_index": 0, "delta": text });
            self.push(&mut out, "response.reasoning_text.delta", data);
        }
        if let Some(text) = delta
            .get("content")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        {
            let at = self.current(&mut out, |k| matches!(k, Kind::Message), || Kind::Message);
            self.items[at].text.push_str(text);
            let data = json!({ "item_id": self.items[at].id, "output_index": self.items[at].output_index, "content_index": 0, "delta": text, "logprobs": [] });
            self.push(&mut out, "response.output_text.delta", data);
        }
        for call in delta
            .get("tool_calls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let index = call.get("index").and_then(Value::as_u64).unwrap_or(0);
            let at = match self
                .items
                .iter()
                .position(|i| matches!(&i.kind, Kind::Call { index: n, .. } if *n == index))
            {
                Some(at) => at,
                None => {
                    let call_id = call
                        .get("id")
                        .and_then(Value::as_str)
                        .map_or_else(|| new_id("call"), str::to_owned);
                    let name = call
                        .pointer("/function/name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned();
                    self.current(
                        &mut out,
                        |_| false,
                        || Kind::Call {
                            index,
                            call_id,
                            name,
                        },
                    )
                }
            };
            if let Some(args) = call
                .pointer("/function/arguments")
                .and_then(Value::as_str)
                .filter(|a| !a.is_empty())
            {
                self.items[at].text.push_str(args);
                let data = json!({ "item_id": self.items[at].id, "output_index": self.items[at].output_index, "delta": args });
                self.push(&mut out, "response.function_call_arguments.delta", data);
            }
        }
        if let Some(finish) = choice.get("finish_reason").and_then(Value::as_str) {
            self.finish = Some(finish.to_owned());
        }
        out
    }

    /// The open item `is` accepts, else a new one (closing an open text or reasoning item, as
    /// those do not interleave; function calls stay open until the end, as their fragments may).
    fn current(
        &mut self,
        out: &mut Vec<Event>,
        is: impl Fn(&Kind) -> bool,
        kind: impl FnOnce() -> Kind,
    ) -> usize {
        if let Some(at) = self.items.iter().rposition(|i| i.open && is(&i.kind)) {
            return at;
        }
        for at in 0..self.items.len() {
            if self.items[at].open && !matches!(self.items[at].kind, Kind::Call { .. }) {
                self.close(out, at);
            }
        }
        let kind = kind();
        let prefix = match kind {
            Kind::Reasoning => "rs",
            Kind::Message => "msg",
            Kind::Call { .. } => "fc",
        };
        let item = Item {
            id: new_id(prefix),
            output_index: self.items.len(),
            kind,
            text: String::new(),
            open: true,
        };
        let added = self.item_json(&item, "in_progress");
        let output_index = item.output_index;
        let item_id = item.id.clone();
        self.items.push(item);
        self.push(
            out,
            "response.output_item.added",
            json!({ "output_index": output_index, "item": added }),
        );
        if matches!(self.items[output_index].kind, Kind::Message) {
            let part =
                json!({ "type": "output_text", "text": "", "annotations": [], "logprobs": [] });
            self.push(out, "response.content_part.added", json!({ "item_id": item_id, "output_index": output_index, "content_index": 0, "part": part }));
        }
        output_index
    }

    fn item_json(&self, item: &Item, status: &str) -> Value {
        match &item.kind {
            Kind::Reasoning => {
                let content = if status == "completed" {
                    json!([{ "type": "reasoning_text", "text": item.text }])
                } else {
                    json!([])
                };
                json!({ "type": "reasoning", "id": item.id, "summary": [], "content": content })
            }
            Kind::Message => {
                let content = if status == "completed" {
                    json!([{ "type": "output_text", "text": item.text, "annotations": [], "logprobs": [] }])
                } else {
                    json!([])
                };
                json!({ "type": "message", "id": item.id, "status": status, "role": "assistant", "content": content })
            }
            Kind::Call { call_id, name, .. } => self
                .echo
                .function_call(&item.id, call_id, name, &item.text, status),
        }
    }

    fn close(&mut self, out: &mut Vec<Event>, at: usize) {
        self.items[at].open = false;
        let (id, output_index, text) = (
            self.items[at].id.clone(),
            self.items[at].output_index,
            self.items[at].text.clone(),
        );
        match self.items[at].kind {
            Kind::Reasoning => {
                self.push(out, "response.reasoning_text.done", json!({ "item_id": id, "output_index": output_index, "content_index": 0, "text": text }));
            }
            Kind::Message => {
                self.push(out, "response.output_text.done", json!({ "item_id": id, "output_index": output_index, "content_index": 0, "text": text, "logprobs": [] }));
                let part = json!({ "type": "output_text", "text": text, "annotations": [], "logprobs": [] });
                self.push(out, "response.content_part.done", json!({ "item_id": id, "output_index": output_index, "content_index": 0, "part": part }));
            }
            Kind::Call { .. } => {
                self.push(
                    out,
                    "response.function_call_arguments.done",
                    json!({ "item_id": id, "output_index": output_index, "arguments": text }),
                );
            }
        }
        let item = self.item_json(&self.items[at], "completed");
        self.push(
            out,
            "response.output_item.done",
            json!({ "output_index": output_index, "item": item }),
        );
    }

    fn output(&self) -> Vec<Value> {
        self.items
            .iter()
            .map(|i| self.item_json(i, "completed"))
            .collect()
    }

    /// The closing events, once the upstream's stream ended; the last one's `response` is the
    /// whole answer.
    pub fn finish(&mut self) -> Vec<Event> {
        if self.finished {
            return Vec::new();
        }
        self.finished = true;
        let mut out = Vec::new();
        self.start(&mut out);
        for at in 0..self.items.len() {
            if self.items[at].open {
                self.close(&mut out, at);
            }
        }
        let (state, details) = status(self.finish.as_deref());
        let mut response = self.echo.response(state, self.output(), self.usage.clone());
        response["incomplete_details"] = details;
        let kind = if state == "completed" {
            "response.completed"
        } else {
            "response.incomplete"
        };
        self.push(&mut out, kind, json!({ "response": response }));
        out
    }

    /// The event that ends a failed stream.
    pub fn failed(&mut self, message: &str, code: &str) -> Vec<Event> {
        self.finished = true;
        let mut out = Vec::new();
        self.start(&mut out);
        let mut response = self
            .echo
            .response("failed", self.output(), self.usage.clone());
        response["error"] = json!({ "code": code, "message": message });
        self.push(&mut out, "response.failed", json!({ "response": response }));
        out
    }
}

/// Events as server-sent-event text.
pub fn sse(events: &[Event]) -> String {
    events
        .iter()
        .map(|(kind, data)| format!("event: {kind}\ndata: {data}\n\n"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(delta: Value, finish: Option<&str>) -> Value {
        json!({ "choices": [{ "index": 0, "delta": delta, "finish_reason": finish }] })
    }

    #[test]
    fn reasoning_text_and_calls_become_items_in_order_and_namespaces_split_back() {
        let request = json!({ "tools": [{ "type": "namespace", "name": "agents", "tools": [] }] });
        let mut t = StreamTranslator::new(Echo::of(&request, "m", false));
        let mut events = t.chunk(&chunk(json!({ "reasoning_content": "think" }), None));
        events.extend(t.chunk(&chunk(json!({ "content": "Hi" }), None)));
        events.extend(t.chunk(&chunk(
            json!({ "tool_calls": [
                { "index": 0, "id": "c1", "function": { "name": "agents__spawn", "arguments": "{\"a\"" } },
                { "index": 1, "id": "c2", "function": { "name": "lookup", "arguments": "{}" } },
            ] }),
            None,
        )));
        events.extend(t.chunk(&chunk(
            json!({ "tool_calls": [{ "index": 0, "function": { "arguments": ":1}" } }] }),
            Some("length"),
        )));
        events.extend(t.chunk(
            &json!({ "choices": [], "usage": { "prompt_tokens": 4, "completion_tokens": 9 } }),
        ));
        events.extend(t.finish());
        let kinds: Vec<_> = events.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            &kinds[..4],
            [
                "response.created",
                "response.in_progress",
                "response.output_item.added",
                "response.reasoning_text.delta"
            ]
        );
        // The reasoning item closes before the message opens.
        let closed = kinds
            .iter()
            .position(|k| *k == "response.reasoning_text.done")
            .unwrap();
        let message = kinds
            .iter()
            .position(|k| *k == "response.content_part.added")
            .unwrap();
        assert!(closed < message);
        // Each item is added before its deltas and done after them.
        for (at, (kind, data)) in events.iter().enumerate() {
            if kind.ends_with(".delta") {
                let id = &data["item_id"];
                assert!(
                    events[..at]
                        .iter()
                        .any(|(k, d)| *k == "response.output_item.added" && d["item"]["id"] == *id)
                );
                assert!(
                    !events[..at]
                        .iter()
                        .any(|(k, d)| *k == "response.output_item.done" && d["item"]["id"] == *id)
                );
            }
        }
        let (kind, last) = events.last().unwrap();
        assert_eq!(*kind, "response.incomplete");
        let response = &last["response"];
        assert_eq!(
            response["incomplete_details"]["reason"],
            "max_output_tokens"
        );
        let output = response["output"].as_array().unwrap();
        assert_eq!(output[0]["content"][0]["text"], "think");
        assert_eq!(output[1]["content"][0]["text"], "Hi");
        assert_eq!(output[2]["name"], "spawn");
        assert_eq!(output[2]["namespace"], "agents");
        assert_eq!(output[2]["arguments"], "{\"a\":1}");
        assert_eq!(output[3]["name"], "lookup");
        assert!(output[3].get("namespace").is_none());
        assert_eq!(response["usage"]["total_tokens"], 13);
        let numbers: Vec<_> = events
            .iter()
            .map(|(_, d)| d["sequence_number"].as_u64().unwrap())
            .collect();
        assert_eq!(numbers, (0..events.len() as u64).collect::<Vec<_>>());
    }
}
