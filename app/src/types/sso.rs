//! Signing in through identity providers, invites and registration, as the web app sees them.

use serde::{Deserialize, Serialize};

use super::{Role, Session};

/// Who may get an account by signing in through an identity provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Registration {
    /// Anyone the provider (and the email-domain allow-list) lets in.
    Open,
    /// As open, but new accounts wait, disabled, for an administrator's approval.
    Approval,
    /// Only people with an invite.
    Invite,
    /// Nobody new: only accounts that exist or are linked already.
    #[default]
    Closed,
}

impl Registration {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Approval => "approval",
            Self::Invite => "invite",
            Self::Closed => "closed",
        }
    }
}

/// One "Sign in with …" button.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderButton {
    /// The name in `/auth/sso/<name>/start`.
    pub name: String,
    pub display_name: String,
}

/// What the sign-in page offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInOptions {
    pub password_login: bool,
    pub providers: Vec<ProviderButton>,
    pub registration: Registration,
}

/// The tokens of a completed external sign-in, and where the web app goes next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoSession {
    pub session: Session,
    pub next: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InviteStatus {
    Pending,
    Used,
    Expired,
    Revoked,
}

/// An invite as administrators see it; the token itself is shown once, at creation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteInfo {
    pub invite_id: String,
    pub role: Role,
    /// Only a sign-in with this verified email may use it.
    pub email: Option<String>,
    /// Set for an invite that links a sign-in to this existing account.
    pub user_id: Option<String>,
    pub username: Option<String>,
    pub note: Option<String>,
    pub created_by: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub expires_at: chrono::DateTime<chrono::Utc>,
    pub used_at: Option<chrono::DateTime<chrono::Utc>>,
    pub used_by: Option<String>,
    pub status: InviteStatus,
}

/// A new invite and its link, which is shown only this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedInvite {
    pub invite: InviteInfo,
    pub link: String,
}

/// What someone holding an invite link may learn about it before using it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitePreview {
    pub usable: bool,
    pub for_existing_account: bool,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    pub providers: Vec<ProviderButton>,
}

/// An external identity linked to a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityInfo {
    pub provider: String,
    pub subject: String,
    pub email: Option<String>,
    pub external_name: Option<String>,
    pub linked_at: chrono::DateTime<chrono::Utc>,
    pub last_login_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// What an administrator asks for when creating an invite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewInviteRequest {
    pub role: Role,
    pub email: Option<String>,
    /// Link the sign-in to this existing account instead of creating one.
    pub user_id: Option<String>,
    pub note: Option<String>,
    /// Default 7 days (168 hours), at most 90 days.
    pub expires_in_hours: Option<u64>,
}
