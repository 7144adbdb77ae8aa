//! Server-only domain code: database, passwords, users, audit. Compiled only with `ssr`; nothing
//! outside this module names sqlx or argon2, so the WASM build never sees them.

pub mod api;
pub mod audit;
pub mod auth;
pub mod background;
pub mod client_addr;
pub mod dates;
pub mod db;
pub mod error;
pub mod import;
pub mod keys;
pub mod limits;
pub mod metrics;
pub mod models;
pub mod password;
pub mod private_fs;
pub mod seal;
pub mod secrets;
pub mod services;
pub mod sso;
#[cfg(feature = "testing")]
pub mod testing;
pub mod upstreams;
pub mod usage;
pub mod users;

pub use db::{Backend, DatabaseUrl, Db};
pub use error::CoreError;
pub use services::{GatewaySettings, Services, services};
