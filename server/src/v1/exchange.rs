//! How a request in one API reaches an upstream that may speak another: passed on with only
//! its model rewritten when both sides speak the same API, translated otherwise (Anthropic
//! Messages to chat completions for OpenAI-compatible upstreams, chat completions to Messages
//! for Anthropic ones, Responses to chat completions, and on to Messages for Anthropic ones).
//! The answer comes back the same way, whole or event by event.

use std::{sync::Arc, time::Duration};

use app::{server::usage::Endpoint, types::UpstreamApi};
use axum::http::StatusCode;
use bytes::Bytes;
use serde_json::Value;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{
    ApiError,
    anthropic::{from_chat, from_messages, to_chat, to_messages},
    request::ProxyRequest,
    responses::{self, Keeper, Turn, echo::Echo},
    usage_tap::{Relay, relay::PassedResponses},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exchange {
    /// Both sides speak the same API.
    Direct,
    /// An Anthropic Messages request to an OpenAI-compatible upstream.
    MessagesViaChat,
    /// A chat-completions request to an Anthropic upstream.
    ChatViaMessages,
    /// A Responses request to an OpenAI-compatible upstream without the Responses API.
    ResponsesViaChat,
    /// A Responses request to an Anthropic upstream, through chat completions.
    ResponsesViaMessages,
}

impl Exchange {
    /// How a `kind` request reaches an upstream speaking `api`; `None` when it cannot
    /// (Anthropic's API has no completions or embeddings).
    pub fn between(kind: Endpoint, api: UpstreamApi) -> Option<Self> {
        use UpstreamApi::{Anthropic, Openai, OpenaiResponses};
        match (kind, api) {
            (Endpoint::Messages, Anthropic) => Some(Self::Direct),
            (Endpoint::Messages, Openai | OpenaiResponses) => Some(Self::MessagesViaChat),
            (Endpoint::ChatCompletions, Anthropic) => Some(Self::ChatViaMessages),
            (Endpoint::Responses, Openai) => Some(Self::ResponsesViaChat),
            (Endpoint::Responses, Anthropic) => Some(Self::ResponsesViaMessages),
            (_, Openai | OpenaiResponses) => Some(Self::Direct),
            (_, Anthropic) => None,
        }
    }

    /// The path under the upstream's base URL.
    pub fn path(self, kind: Endpoint) -> &'static str {
        match self {
            Self::Direct => kind.name(),
            Self::MessagesViaChat | Self::ResponsesViaChat => Endpoint::ChatCompletions.name(),
            Self::ChatViaMessages | Self::ResponsesViaMessages => Endpoint::Messages.name(),
        }
    }

    /// What the usage tap makes of the upstream's stream.
    pub fn relay(
        self,
        kind: Endpoint,
        client_wants_usage: bool,
        model: &str,
        translated: &Translated,
        keeper: Option<Keeper>,
    ) -> Relay {
        match self {
            Self::Direct if kind == Endpoint::Messages => Relay::Anthropic,
            Self::Direct if kind.is_upload() => Relay::Transcript,
            Self::Direct if kind == Endpoint::Responses => {
                Relay::Responses(Box::new(PassedResponses::new(keeper)))
            }
            Self::Direct => Relay::OpenAi {
                forward_usage: client_wants_usage,
            },
            Self::MessagesViaChat => {
                Relay::ChatToMessages(Box::new(from_chat::StreamTranslator::new(model)))
            }
            Self::ChatViaMessages => Relay::MessagesToChat(Box::new(
                from_messages::StreamTranslator::new(model, client_wants_usage),
            )),
            Self::ResponsesViaChat => Relay::ChatToResponses(
                Box::new(responses::stream::StreamTranslator::new(translated.echo())),
                keeper,
            ),
            Self::ResponsesViaMessages => Relay::MessagesToResponses(
                Box::new((
                    from_messages::StreamTranslator::new(model, true),
                    responses::stream::StreamTranslator::new(translated.echo()),
                )),
                keeper,
            ),
        }
    }

    /// A whole answer in the client's API. An OpenAI-shaped error on the Messages endpoint is
    /// left to its error layer, which rewrites every error there.
    pub fn answer(
        self,
        status: StatusCode,
        body: Bytes,
        model: &str,
        translated: &Translated,
    ) -> Result<Bytes, ApiError> {
        if self == Self::Direct {
            return Ok(body);
        }
        let parsed = serde_json::from_slice::<Value>(&body);
        let translated = match (self, status.is_success(), parsed) {
            (_, true, Err(_)) => {
                return Err(ApiError::BadGateway(
                    "the upstream's answer is not JSON".into(),
                ));
            }
            (Self::MessagesViaChat, true, Ok(v)) => from_chat::response(&v, model),
            (Self::ChatViaMessages, true, Ok(v)) => from_messages::response(&v, model),
            (Self::ResponsesViaChat, true, Ok(v)) => {
                responses::from_chat::response(&v, &translated.echo())
            }
            (Self::ResponsesViaMessages, true, Ok(v)) => responses::from_chat::response(
                &from_messages::response(&v, model),
                &translated.echo(),
            ),
            (Self::ChatViaMessages | Self::ResponsesViaMessages, false, Ok(v)) => {
                match from_messages::error(&v) {
                    Some(e) => e,
                    None => return Ok(body),
                }
            }
            _ => return Ok(body),
        };
        Ok(Bytes::from(translated.to_string()))
    }

    /// An upstream's error body, for when every target failed, in the client's API.
    pub fn failure(self, body: Option<Value>) -> Option<Value> {
        match self {
            Self::ChatViaMessages | Self::ResponsesViaMessages => {
                body.map(|b| from_messages::error(&b).unwrap_or(b))
            }
            _ => body,
        }
    }
}

/// The request translated for the upstreams that need it, once for all of its targets: at most
/// one chat-completions body and one Messages body (a Responses request routed to both kinds
/// of upstream needs both). The default is a request nothing translates.
#[derive(Default)]
pub struct Translated {
    chat: Option<Value>,
    messages: Option<Value>,
    /// For a Responses request, what its response objects repeat of it.
    echo: Option<Echo>,
    /// Its share of the translation budget, held as long as the trees live.
    _budget: Option<OwnedSemaphorePermit>,
}

/// Request bytes that may be in translation at once, across all requests. A translated body is
/// held as a JSON tree several times its size for the whole request: without a bound, a burst
/// of 32 MiB bodies would take the gateway's memory.
pub const TRANSLATION_BUDGET: usize = 64 << 20;

/// How long a request waits for room in the budget before it is refused (503).
const BUDGET_WAIT: Duration = Duration::from_secs(10);

/// The budget, as a semaphore of bytes.
pub fn translation_budget() -> Arc<Semaphore> {
    Arc::new(Semaphore::new(TRANSLATION_BUDGET))
}

impl Translated {
    /// Translates only when some target needs it; a request that cannot be translated is
    /// refused before anything is reserved or sent.
    pub async fn prepare(
        request: &ProxyRequest,
        exchanges: impl Iterator<Item = Exchange>,
        default_max_tokens: i64,
        budget: &Arc<Semaphore>,
        turn: Option<&Turn>,
    ) -> Result<Self, ApiError> {
        let needed: Vec<Exchange> = exchanges.filter(|e| *e != Exchange::Direct).collect();
        let mut out = Self::default();
        if needed.is_empty() {
            return Ok(out);
        }
        let bytes = u32::try_from(request.body_len().min(TRANSLATION_BUDGET)).unwrap_or(u32::MAX);
        let permit = tokio::time::timeout(BUDGET_WAIT, budget.clone().acquire_many_owned(bytes))
            .await
            .ok()
            .and_then(Result::ok)
            .ok_or(ApiError::Busy)?;
        out._budget = Some(permit);
        let body = request.value()?;
        let model = &request.model;
        let needs = |e: Exchange| needed.contains(&e);
        if needs(Exchange::MessagesViaChat) {
            out.chat = Some(to_chat::request(&body, model, false)?);
        }
        if needs(Exchange::ChatViaMessages) {
            out.messages = Some(to_messages::request(&body, model, default_max_tokens)?);
        }
        if needs(Exchange::ResponsesViaChat) || needs(Exchange::ResponsesViaMessages) {
            let mut echo = Echo::of(&body, model, turn.is_some_and(|t| t.keep));
            echo.previous_response_id = turn.and_then(|t| t.previous_response_id.clone());
            out.echo = Some(echo);
            let chat = responses::to_chat::request(&body, model)?;
            if needs(Exchange::ResponsesViaMessages) {
                out.messages = Some(to_messages::request(&chat, model, default_max_tokens)?);
            }
            out.chat = Some(chat);
        }
        Ok(out)
    }

    /// The translated body for a target reached through `exchange` that knows the model as
    /// `upstream_model`.
    pub fn for_model(&self, exchange: Exchange, upstream_model: &str) -> Option<Bytes> {
        let body = match exchange {
            Exchange::Direct => return None,
            Exchange::MessagesViaChat | Exchange::ResponsesViaChat => self.chat.as_ref(),
            Exchange::ChatViaMessages | Exchange::ResponsesViaMessages => self.messages.as_ref(),
        };
        let mut body = body?.clone();
        body["model"] = Value::String(upstream_model.to_owned());
        Some(Bytes::from(body.to_string()))
    }

    /// What a Responses request's response objects repeat of it.
    fn echo(&self) -> Echo {
        self.echo
            .clone()
            .unwrap_or_else(|| Echo::of(&Value::Null, "", false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages_request(len: usize) -> ProxyRequest {
        let text = "x".repeat(len);
        let body = serde_json::json!({ "model": "m", "max_tokens": 5, "messages": [{ "role": "user", "content": text }] });
        ProxyRequest::parse(Bytes::from(body.to_string())).expect("valid")
    }

    #[tokio::test(start_paused = true)]
    async fn translations_wait_for_room_in_the_budget_and_are_refused_past_it() {
        let budget = Arc::new(Semaphore::new(1_500));
        let request = messages_request(1_000);
        let via_chat = || std::iter::once(Exchange::MessagesViaChat);
        let first = Translated::prepare(&request, via_chat(), 100, &budget, None)
            .await
            .expect("room for one");
        assert!(
            first
                .for_model(Exchange::MessagesViaChat, "upstream")
                .is_some()
        );
        // No room for a second while the first is held: it waits, then is refused.
        let second = Translated::prepare(&request, via_chat(), 100, &budget, None).await;
        assert!(matches!(second, Err(ApiError::Busy)));
        drop(first);
        assert!(
            Translated::prepare(&request, via_chat(), 100, &budget, None)
                .await
                .is_ok()
        );
        // A request no target translates takes nothing from the budget.
        let direct = Translated::prepare(
            &request,
            std::iter::once(Exchange::Direct),
            100,
            &budget,
            None,
        )
        .await
        .expect("direct");
        assert!(direct.for_model(Exchange::MessagesViaChat, "u").is_none());
    }
}
