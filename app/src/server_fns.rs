//! Server functions: the management API. Each lives in a file of its own, with an explicit
//! path under `/api/` and JSON in and out, so scripts can call it as a documented endpoint.
//! They are thin: authenticate, check permission, call one domain function.

pub mod audit;
pub mod auth;
pub mod invites;
pub mod keys;
pub mod limits;
pub mod models;
mod status;
pub mod upstreams;
pub mod usage;
pub mod users;

pub use status::*;
