use serde::{Deserialize, Serialize};

use super::UserInfo;

/// What a successful sign-in or refresh returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub access_token: String,
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Lifetime of the access token, in seconds.
    pub expires_in: u64,
    pub must_change_password: bool,
    pub user: UserInfo,
}

/// Things a user may do; derived from the role and the user's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    ManageUsers,
    ViewAuditLog,
    ManageUpstreams,
    ManageAllKeys,
    CreateKeys,
    ViewAllUsage,
    ViewOwnUsage,
}

/// The caller's profile and what they may do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub user: UserInfo,
    pub permissions: Vec<Permission>,
    /// The models the caller may use; `None` means all of them.
    pub models: Option<Vec<String>>,
    /// The administrator acting as the caller, when one is.
    #[serde(default)]
    pub impersonated_by: Option<String>,
}
