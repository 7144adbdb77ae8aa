//! One integration-test binary for the server: the router in-process, and the `portcullis`
//! binary as an operator runs it.

#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

mod binary;
mod cli;
mod common;
mod health;
mod serve;
