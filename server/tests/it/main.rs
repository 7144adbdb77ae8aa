//! One integration-test binary for the server: the router in-process, and the `portcullis`
//! binary as an operator runs it.

#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

mod abuse;
mod admin;
mod agents;
mod anthropic;
mod anthropic_native;
mod anthropic_sdk;
mod auth;
mod binary;
mod cli;
mod common;
mod console_keys;
mod health;
mod impersonation;
mod key_cache;
mod keys;
mod limits;
mod media;
mod metrics;
mod mock_agent;
mod mock_anthropic;
mod mock_github;
mod mock_idp;
mod mock_media;
mod mock_responses;
mod mock_upstream;
mod openai_sdk;
mod proxy;
mod responses;
mod routing;
mod serve;
mod sessions;
mod sso;
mod sso_support;
mod usage;
mod usage_report;
mod warm_path;

pub(crate) use app::on_both_backends;
