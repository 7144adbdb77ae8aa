//! Anthropic's Messages API, translated for OpenAI-compatible upstreams: the request into chat
//! completions ([`to_chat`]) and the answer back ([`from_chat`]), whole or streamed.
//!
//! Work in progress (issue 11): the translations are here and tested; `/v1/messages` is not yet
//! routed to them.

pub mod from_chat;
pub mod to_chat;
