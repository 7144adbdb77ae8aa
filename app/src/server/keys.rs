//! API keys: programs' credentials for `/v1`. Their format, the in-memory cache that checks
//! them on the hot path, and how people manage them.

pub mod cache;
pub mod format;
pub mod manage;
mod principal;

pub use cache::{KeyCache, KeyRejection};
pub use principal::Principal;

/// Who may reveal a key's secret again after creation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RevealPolicy {
    /// The key's owner and administrators.
    #[default]
    Owner,
    /// Administrators only.
    Admins,
    /// Nobody: secrets are not even stored sealed.
    Off,
}
