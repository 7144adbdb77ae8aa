//! What becomes of each upstream stream event on its way to the client: passed on in the API it
//! came in, or translated into the client's, with the usage it reports noted and the end of the
//! answer recognised (`[DONE]`, `message_stop`, `response.completed`, an error event).

use app::server::usage::{Endpoint, Outcome, Tokens};
use bytes::Bytes;
use eventsource_stream::Event;
use serde_json::{Value, json};

use super::{delivered::Counted, usage_in};
use crate::v1::{
    anthropic::{self, from_chat, from_messages},
    measure,
    responses::{self, Keeper, stream::StreamTranslator as ToResponses},
};

pub enum Relay {
    /// OpenAI chunks as they came; the usage-only chunk only if the client asked for it.
    OpenAi { forward_usage: bool },
    /// Anthropic events as they came.
    Anthropic,
    /// OpenAI chunks as Anthropic events.
    ChatToMessages(Box<from_chat::StreamTranslator>),
    /// Anthropic events as OpenAI chunks.
    MessagesToChat(Box<from_messages::StreamTranslator>),
    /// A transcription's events as they came, ending at `transcript.text.done`.
    Transcript,
    /// Responses events as they came; the final response kept if the gateway stores it.
    Responses(Box<PassedResponses>),
    /// OpenAI chat chunks as Responses events.
    ChatToResponses(Box<ToResponses>, Option<Keeper>),
    /// Anthropic events as Responses events, through chat chunks.
    MessagesToResponses(
        Box<(from_messages::StreamTranslator, ToResponses)>,
        Option<Keeper>,
    ),
}

/// What a passed-through Responses stream needs to end it in its own words, and to keep it.
pub struct PassedResponses {
    /// The upstream's response id and the number of events it sent.
    pub id: Option<String>,
    pub sequence: u64,
    pub keeper: Option<Keeper>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ClientApi {
    OpenAi,
    Anthropic,
    Responses,
}

/// What one upstream event made: bytes for the client, if any, and how the answer ended, if
/// this event ended it.
type Relayed = (Option<Bytes>, Option<Outcome>);

impl Relay {
    fn client_api(&self) -> ClientApi {
        match self {
            Self::Anthropic | Self::ChatToMessages(_) => ClientApi::Anthropic,
            Self::OpenAi { .. } | Self::MessagesToChat(_) | Self::Transcript => ClientApi::OpenAi,
            Self::Responses(_) | Self::ChatToResponses(..) | Self::MessagesToResponses(..) => {
                ClientApi::Responses
            }
        }
    }

    pub fn event(&mut self, ev: &Event, counted: &mut Counted) -> Relayed {
        match self {
            Self::OpenAi { .. } | Self::ChatToMessages(_) | Self::ChatToResponses(..) => {
                counted.openai_chunk(&ev.data);
            }
            Self::Anthropic | Self::MessagesToChat(_) | Self::MessagesToResponses(..) => {
                counted.anthropic_event(&ev.event, &ev.data);
            }
            Self::Responses(_) => counted.responses_event(&ev.event, &ev.data),
            Self::Transcript if ev.data.contains("\"transcript.text.delta\"") => {
                counted.responses_event("transcript.text.delta", &ev.data);
            }
            Self::Transcript => {}
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
                let chunk = match chat_chunk(&ev.data, tokens) {
                    Ok(Some(chunk)) => chunk,
                    Ok(None) => return (None, None),
                    Err(message) => {
                        let out = self.error_event(&message, "upstream_error");
                        return (Some(out), Some(Outcome::UpstreamError));
                    }
                };
                let events = t.chunk(&chunk);
                (
                    (!events.is_empty()).then(|| anthropic_events(&events)),
                    None,
                )
            }
            Self::MessagesToChat(t) => {
                anthropic::usage::in_event(&ev.event, &ev.data, tokens);
                let data = match anthropic_event(&ev.event, &ev.data) {
                    Ok(data) => data,
                    Err(message) => {
                        let out = self.error_event(&message, "upstream_error");
                        return (Some(out), Some(Outcome::UpstreamError));
                    }
                };
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
            Self::Transcript => {
                // The event's type is in its data; OpenAI sends no `event:` line.
                let done = ev.data.contains("\"transcript.text.done\"");
                if done {
                    *tokens = measure::answer(Endpoint::AudioTranscriptions, ev.data.as_bytes())
                        .tokens
                        .or(*tokens);
                }
                let out = Bytes::from(format!("data: {}\n\n", ev.data));
                (Some(out), done.then_some(Outcome::Completed))
            }
            Self::Responses(passed) => {
                if let Some(t) = responses::usage::in_event(&ev.event, &ev.data) {
                    *tokens = Some(t);
                }
                passed.note(ev);
                let out = Bytes::from(format!("event: {}\ndata: {}\n\n", ev.event, ev.data));
                let end = match ev.event.as_str() {
                    "response.completed" | "response.incomplete" => {
                        if let Some(keeper) = passed.keeper.take()
                            && let Ok(data) = serde_json::from_str::<Value>(&ev.data)
                        {
                            keeper.keep(data.get("response").cloned().unwrap_or_default());
                        }
                        Some(Outcome::Completed)
                    }
                    "response.failed" | "error" => Some(Outcome::UpstreamError),
                    _ => None,
                };
                (Some(out), end)
            }
            Self::ChatToResponses(t, keeper) => {
                if ev.data == "[DONE]" {
                    let events = t.finish();
                    keep_final(keeper, &events);
                    return (
                        Some(Bytes::from(responses::stream::sse(&events))),
                        Some(Outcome::Completed),
                    );
                }
                let chunk = match chat_chunk(&ev.data, tokens) {
                    Ok(Some(chunk)) => chunk,
                    Ok(None) => return (None, None),
                    Err(message) => {
                        let out = self.error_event(&message, "upstream_error");
                        return (Some(out), Some(Outcome::UpstreamError));
                    }
                };
                let events = t.chunk(&chunk);
                (
                    (!events.is_empty()).then(|| Bytes::from(responses::stream::sse(&events))),
                    None,
                )
            }
            Self::MessagesToResponses(t, keeper) => {
                anthropic::usage::in_event(&ev.event, &ev.data, tokens);
                let data = match anthropic_event(&ev.event, &ev.data) {
                    Ok(data) => data,
                    Err(message) => {
                        let out = self.error_event(&message, "upstream_error");
                        return (Some(out), Some(Outcome::UpstreamError));
                    }
                };
                let (chat, translator) = &mut **t;
                let mut events = Vec::new();
                for chunk in chat.event(&ev.event, &data) {
                    events.extend(translator.chunk(&chunk));
                }
                let mut end = None;
                if ev.event == "message_stop" {
                    let last = translator.finish();
                    keep_final(keeper, &last);
                    events.extend(last);
                    end = Some(Outcome::Completed);
                }
                (
                    (!events.is_empty()).then(|| Bytes::from(responses::stream::sse(&events))),
                    end,
                )
            }
        }
    }

    /// A final error event in the client's API.
    pub fn error_event(&mut self, message: &str, code: &str) -> Bytes {
        match self {
            Self::ChatToResponses(t, _) => {
                return Bytes::from(responses::stream::sse(&t.failed(message, code)));
            }
            Self::MessagesToResponses(t, _) => {
                return Bytes::from(responses::stream::sse(&t.1.failed(message, code)));
            }
            Self::Responses(passed) => return passed.failed(message, code),
            _ => {}
        }
        if self.client_api() == ClientApi::Anthropic {
            let body =
                json!({ "type": "error", "error": { "type": "api_error", "message": message } });
            return Bytes::from(format!("event: error\ndata: {body}\n\n"));
        }
        let body = json!({ "error": { "message": message, "type": "upstream_error", "param": null, "code": code } });
        Bytes::from(format!("data: {body}\n\n"))
    }
}

/// A chat chunk for a translator, its usage noted: `Ok(None)` for what is not JSON, `Err` with
/// the message of a failure the upstream reports in the stream, in OpenAI's envelope.
fn chat_chunk(data: &str, tokens: &mut Option<Tokens>) -> Result<Option<Value>, String> {
    if let Some((counted, _)) = usage_in(data) {
        *tokens = Some(counted);
    }
    let Ok(chunk) = serde_json::from_str::<Value>(data) else {
        return Ok(None);
    };
    match chunk.pointer("/error/message").and_then(Value::as_str) {
        Some(message) => Err(message.to_owned()),
        None => Ok(Some(chunk)),
    }
}

/// An Anthropic event's data for a translator, or `Err` with the message of an `error` event.
fn anthropic_event(name: &str, data: &str) -> Result<Value, String> {
    let data = serde_json::from_str::<Value>(data).unwrap_or(Value::Null);
    if name != "error" {
        return Ok(data);
    }
    Err(data
        .pointer("/error/message")
        .and_then(Value::as_str)
        .unwrap_or("the upstream failed")
        .to_owned())
}

/// Hands the whole response in a stream's last event to the keeper, if there is one.
fn keep_final(keeper: &mut Option<Keeper>, events: &[responses::stream::Event]) {
    if let (Some(keeper), Some((_, last))) = (keeper.take(), events.last()) {
        keeper.keep(last.get("response").cloned().unwrap_or_default());
    }
}

impl PassedResponses {
    pub fn new(keeper: Option<Keeper>) -> Self {
        Self {
            id: None,
            sequence: 0,
            keeper,
        }
    }

    /// Notes the response id (from its first event) and counts the events: sequence numbers
    /// start at 0 and go up by one, so the count is the next one without parsing every event.
    fn note(&mut self, ev: &Event) {
        self.sequence += 1;
        if self.id.is_none() && ev.event == "response.created" {
            self.id = serde_json::from_str::<Value>(&ev.data)
                .ok()
                .and_then(|v| v.pointer("/response/id")?.as_str().map(str::to_owned));
        }
    }

    /// `response.failed` for a stream the upstream did not finish.
    fn failed(&self, message: &str, code: &str) -> Bytes {
        let response = json!({
            "id": self.id, "object": "response", "status": "failed",
            "error": { "code": code, "message": message }, "output": [],
        });
        let body = json!({ "type": "response.failed", "sequence_number": self.sequence, "response": response });
        Bytes::from(format!("event: response.failed\ndata: {body}\n\n"))
    }
}

fn anthropic_events(events: &[from_chat::Event]) -> Bytes {
    Bytes::from(events.iter().map(from_chat::sse).collect::<String>())
}
