//! Where requests go: upstreams (OpenAI-compatible or Anthropic servers) and the public model
//! names mapped onto them. Declared in the configuration file and kept in the database; held in
//! memory by the [`Registry`] that routes `/v1` requests.

pub mod config;
pub mod discovery;
pub mod health;
pub mod manage;
pub mod paths;
pub mod read;
pub mod registry;
pub mod upstream;

pub use registry::{Registry, Target};
pub use upstream::Upstream;
