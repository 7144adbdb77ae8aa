//! Why an external sign-in did not end in a session. The browser is sent back to the sign-in
//! page with [`SsoError::code`], which the page puts in words; the detail goes to the log and
//! the audit log only, and never carries a token or a secret.

use crate::server::CoreError;

#[derive(Debug, thiserror::Error)]
pub enum SsoError {
    #[error("no identity provider of that name")]
    UnknownProvider,
    #[error("the sign-in attempt is unknown, used, expired or from another browser")]
    State,
    #[error("the provider refused the sign-in: {0}")]
    Denied(String),
    #[error("the provider failed: {0}")]
    Provider(String),
    #[error("the identity token is not valid: {0}")]
    Token(String),
    #[error("the token has expired")]
    Expired,
    #[error("not a member of any group allowed to sign in")]
    NotAllowed,
    #[error("registration is closed")]
    RegistrationClosed,
    #[error("registration needs an invite")]
    InviteRequired,
    #[error("the invite is unknown, used, revoked, expired or for someone else")]
    InviteInvalid,
    #[error("the email domain may not register")]
    Domain,
    #[error("the provider gave no verified email")]
    EmailUnverified,
    #[error("the account awaits an administrator's approval")]
    Pending,
    #[error("the account is disabled")]
    Disabled,
    #[error("an account with this email exists and is not linked to this sign-in")]
    EmailTaken,
    #[error("too many sign-ins are in flight")]
    Busy,
    #[error("too many sign-ins started from this address")]
    TooMany,
    #[error(transparent)]
    Core(#[from] CoreError),
}

impl SsoError {
    /// What the sign-in page is told: stable, and no more than the user may know.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownProvider => "unknown_provider",
            Self::State => "state",
            Self::Denied(_) => "denied",
            Self::Provider(_) => "provider",
            Self::Token(_) | Self::Expired => "token",
            Self::NotAllowed => "not_allowed",
            Self::RegistrationClosed => "registration_closed",
            Self::InviteRequired => "invite_required",
            Self::InviteInvalid => "invite_invalid",
            Self::Domain => "domain",
            Self::EmailUnverified => "email_unverified",
            Self::Pending => "pending",
            Self::Disabled => "disabled",
            Self::EmailTaken => "email_taken",
            Self::Busy => "busy",
            Self::TooMany => "too_many",
            Self::Core(_) => "internal",
        }
    }
}
