//! Authentication: access tokens, refresh-token rotation, sign-in throttling, and who the
//! caller of a management call is.

pub mod access;
pub mod current;
pub mod impersonation;
pub mod refresh;
pub mod session;
pub mod throttle;

pub use current::{Admin, ClientInfo, CurrentUser, Impersonator};

use std::time::Duration;

/// Lifetimes of the tokens this deployment issues.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    /// The longest a sign-in lasts, however often its tokens are refreshed.
    pub session_max_age: Duration,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            access_ttl: Duration::from_secs(15 * 60),
            refresh_ttl: Duration::from_secs(7 * 24 * 3600),
            session_max_age: Duration::from_secs(30 * 24 * 3600),
        }
    }
}
