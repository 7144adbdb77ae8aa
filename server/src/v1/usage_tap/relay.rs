//! What becomes of each upstream stream event on its way to the client: passed on in the API it
//! came in, or translated into the client's, with the usage it reports noted and the end of the
//! answer recognised (`[DONE]`, `message_stop`, an error event).

use app::server::usage::Outcome;
use bytes::Bytes;
use eventsource_stream::Event;
use serde_json::{Value, json};

use super::{delivered::Counted, usage_in};
use crate::v1::anthropic::{self, from_chat, from_messages};

pub enum Relay {
    /// OpenAI chunks as they came; the usage-only chunk only if the client asked for it.
    OpenAi { forward_usage: bool },
    /// Anthropic events as they came.
    Anthropic,
    /// OpenAI chunks as Anthropic events.
    ChatToMessages(Box<from_chat::StreamTranslator>),
    /// Anthropic events as OpenAI chunks.
    MessagesToChat(Box<from_messages::StreamTranslator>),
}

/// What one upstream event made: bytes for the client, if any, and how the answer ended, if
/// this event ended it.
type Relayed = (Option<Bytes>, Option<Outcome>);

impl Relay {
    fn client_speaks_anthropic(&self) -> bool {
        matches!(self, Self::Anthropic | Self::ChatToMessages(_))
    }

    pub fn event(&mut self, ev: &Event, counted: &mut Counted) -> Relayed {
        match self {
            Self::OpenAi { .. } | Self::ChatToMessages(_) => counted.openai_chunk(&ev.data),
            Self::Anthropic | Self::MessagesToChat(_) => {
                counted.anthropic_event(&ev.event, &ev.data);
            }
        }
        let tokens = &mut counted.reported;
        match self {
            Self::OpenAi { forward_usage } => {
                if ev.data == "[DONE]" {
                    return (
                        Some(Bytes::from_static(b"data: [DONE]\n\n")),
                        Some(Outcome::Completed),
                    );
                }
                if let Some((counted, usage_only)) = usage_in(&ev.data) {
                    *tokens = Some(counted);
                    if usage_only && !*forward_usage {
                        return (None, None);
                    }
                }
                (Some(Bytes::from(format!("data: {}\n\n", ev.data))), None)
            }
            Self::Anthropic => {
                anthropic::usage::in_event(&ev.event, &ev.data, tokens);
                let out = Bytes::from(format!("event: {}\ndata: {}\n\n", ev.event, ev.data));
                let end = match ev.event.as_str() {
                    "message_stop" => Some(Outcome::Completed),
                    "error" => Some(Outcome::UpstreamError),
                    _ => None,
                };
                (Some(out), end)
            }
            Self::ChatToMessages(t) => {
                if ev.data == "[DONE]" {
                    return (
                        Some(anthropic_events(&t.finish())),
                        Some(Outcome::Completed),
                    );
                }
                if let Some((counted, _)) = usage_in(&ev.data) {
                    *tokens = Some(counted);
                }
                let Ok(chunk) = serde_json::from_str::<Value>(&ev.data) else {
                    return (None, None);
                };
                // A failure the upstream reports in the stream, in OpenAI's envelope.
                if let Some(message) = chunk.pointer("/error/message").and_then(Value::as_str) {
                    let out = self.error_event(message, "upstream_error");
                    return (Some(out), Some(Outcome::UpstreamError));
                }
                let events = t.chunk(&chunk);
                (
                    (!events.is_empty()).then(|| anthropic_events(&events)),
                    None,
                )
            }
            Self::MessagesToChat(t) => {
                anthropic::usage::in_event(&ev.event, &ev.data, tokens);
                let data = serde_json::from_str::<Value>(&ev.data).unwrap_or(Value::Null);
                if ev.event == "error" {
                    let message = data
                        .pointer("/error/message")
                        .and_then(Value::as_str)
                        .unwrap_or("the upstream failed");
                    let out = self.error_event(message, "upstream_error");
                    return (Some(out), Some(Outcome::UpstreamError));
                }
                let mut out: String = t
                    .event(&ev.event, &data)
                    .iter()
                    .map(|c| format!("data: {c}\n\n"))
                    .collect();
                let mut end = None;
                if ev.event == "message_stop" {
                    out.push_str("data: [DONE]\n\n");
                    end = Some(Outcome::Completed);
                }
                ((!out.is_empty()).then(|| Bytes::from(out)), end)
            }
        }
    }

    /// A final error event in the client's API.
    pub fn error_event(&self, message: &str, code: &str) -> Bytes {
        if self.client_speaks_anthropic() {
            let body =
                json!({ "type": "error", "error": { "type": "api_error", "message": message } });
            return Bytes::from(format!("event: error\ndata: {body}\n\n"));
        }
        let body = json!({ "error": { "message": message, "type": "upstream_error", "param": null, "code": code } });
        Bytes::from(format!("data: {body}\n\n"))
    }
}

fn anthropic_events(events: &[from_chat::Event]) -> Bytes {
    Bytes::from(events.iter().map(from_chat::sse).collect::<String>())
}
