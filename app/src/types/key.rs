use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// An API key as the management API shows it: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyInfo {
    pub api_key_id: String,
    pub public_id: String,
    /// `sk-pc-<public id>-…`: enough to recognise the key, nothing to use it with.
    pub display: String,
    pub user_id: String,
    pub owner: String,
    pub name: String,
    /// The key's own allowlist; empty means every model its owner may use.
    pub models: Vec<String>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Client address ranges allowed to use the key; empty means any.
    pub allowed_cidrs: Vec<String>,
    pub enabled: bool,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Until when the secret replaced by the last rotation still works.
    pub previous_valid_until: Option<DateTime<Utc>>,
    pub imported: bool,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    /// An administrator set what this key may do: only an administrator lifts it.
    #[serde(default)]
    pub managed_by_admin: bool,
}

/// A key with its secret: shown when created or rotated, and when revealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyWithSecret {
    pub key: KeyInfo,
    pub secret: String,
}

/// An expiry to set: `"never"` or an RFC 3339 time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Expiry {
    Never(NeverTag),
    At(DateTime<Utc>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NeverTag {
    Never,
}

impl Expiry {
    pub fn at(self) -> Option<DateTime<Utc>> {
        match self {
            Self::Never(_) => None,
            Self::At(t) => Some(t),
        }
    }
}

/// Which models a user may use and whether they may create keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserPermissions {
    pub user_id: String,
    /// True: every model; false: only `models`.
    pub all_models: bool,
    pub models: Vec<String>,
    pub may_create_keys: bool,
}
