//! Anthropic's Messages API, translated for OpenAI-compatible upstreams: the request into chat
//! completions ([`to_chat`]) and the answer back ([`from_chat`]), whole or streamed.
//!
//! `POST /v1/messages` ([`messages`]) serves every model through this translation for now;
//! Anthropic-native upstreams (pass-through) and `count_tokens` are still to come (issue 11).

pub mod errors;
pub mod from_chat;
pub mod messages;
pub mod to_chat;
