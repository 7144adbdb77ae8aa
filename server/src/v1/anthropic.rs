//! Anthropic's Messages API: `POST /v1/messages` ([`messages`]) and
//! `POST /v1/messages/count_tokens` ([`count_tokens`]), with errors in Anthropic's shape
//! ([`errors`]). Between the two APIs, requests and answers are translated both ways: Messages
//! to chat completions for OpenAI-compatible upstreams ([`to_chat`], [`from_chat`]), and chat
//! completions to Messages for Anthropic upstreams ([`to_messages`], [`from_messages`]).

pub mod count_tokens;
pub mod errors;
pub mod from_chat;
pub mod from_messages;
pub mod messages;
pub mod to_chat;
pub mod to_messages;
pub mod usage;
