//! One integration-test binary for the server: the router in-process, and the `portcullis`
//! binary as an operator runs it.

#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

mod admin;
mod auth;
mod binary;
mod cli;
mod common;
mod console_keys;
mod health;
mod keys;
mod serve;
mod sessions;

/// Declares `NAME::sqlite` and `NAME::postgres` for each story `async fn NAME(Backend)`.
macro_rules! on_both_backends {
    ($($story:ident),* $(,)?) => {$(
        mod $story {
            #[tokio::test]
            async fn sqlite() {
                super::$story(app::server::Backend::Sqlite).await;
            }

            #[tokio::test]
            async fn postgres() {
                super::$story(app::server::Backend::Postgres).await;
            }
        }
    )*};
}
pub(crate) use on_both_backends;
