//! The store suite: every test runs once on SQLite and once on PostgreSQL, through the same
//! code the gateway runs.

#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

mod audit;
mod limits;
mod schema;
mod usage;
mod users;

pub(crate) use app::on_both_backends;
