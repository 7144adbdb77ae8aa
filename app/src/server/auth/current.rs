//! Who is calling: the user behind a valid access token, checked against the database on
//! every management call, so disabling, deleting, a password change or a logout takes effect
//! at the caller's very next request, on every replica.

use std::net::IpAddr;

use chrono::Utc;

use super::access;
use crate::server::{CoreError, Services, db};
use crate::types::{Permission, Role};

/// Where a request came from; recorded in the audit log and used for throttling.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub addr: Option<IpAddr>,
    pub user_agent: Option<String>,
}

impl ClientInfo {
    pub fn addr_string(&self) -> Option<String> {
        self.addr.map(|a| a.to_string())
    }
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user_id: String,
    pub username: String,
    pub role: Role,
    pub must_change_password: bool,
    pub all_models: bool,
    pub may_create_keys: bool,
    /// The sign-in session the access token belongs to.
    pub family_id: String,
}

/// Proof that the caller is an administrator; only [`CurrentUser::require_admin`] makes one.
#[derive(Debug, Clone, Copy)]
pub struct Admin<'a>(&'a CurrentUser);

impl Admin<'_> {
    pub fn user(&self) -> &CurrentUser {
        self.0
    }
}

impl CurrentUser {
    /// Resolves a bearer access token to its user; every failure is `Unauthenticated`
    /// except an expired token, which says so, so the client knows to refresh.
    pub async fn authenticate(
        services: &Services,
        bearer: Option<&str>,
    ) -> Result<Self, CoreError> {
        let token = bearer.ok_or(CoreError::Unauthenticated)?;
        let claims = access::verify(&services.secrets.jwt, token)?;
        let user = db::users::find_by_id(&services.db, &claims.user_id)
            .await?
            .ok_or(CoreError::Unauthenticated)?;
        if !user.enabled || user.token_version != claims.token_version {
            return Err(CoreError::Unauthenticated);
        }
        if !db::sessions::family_is_open(&services.db, &claims.family_id, Utc::now()).await? {
            return Err(CoreError::Unauthenticated);
        }
        Ok(Self {
            role: user.role()?,
            user_id: user.user_id,
            username: user.username,
            must_change_password: user.must_change_password,
            all_models: user.all_models,
            may_create_keys: user.may_create_keys,
            family_id: claims.family_id,
        })
    }

    /// Everything but changing the password and signing out waits for a required password change.
    pub fn require_active(&self) -> Result<&Self, CoreError> {
        if self.must_change_password {
            return Err(CoreError::PasswordChangeRequired);
        }
        Ok(self)
    }

    pub fn require_admin(&self) -> Result<Admin<'_>, CoreError> {
        self.require_active()?;
        if self.role != Role::Admin {
            return Err(CoreError::Forbidden);
        }
        Ok(Admin(self))
    }

    pub fn permissions(&self) -> Vec<Permission> {
        let mut p = Vec::new();
        if self.role == Role::Admin {
            p.extend([
                Permission::ManageUsers,
                Permission::ViewAuditLog,
                Permission::ManageUpstreams,
                Permission::ManageAllKeys,
                Permission::ViewAllUsage,
            ]);
        }
        if self.may_create_keys || self.role == Role::Admin {
            p.push(Permission::CreateKeys);
        }
        p.push(Permission::ViewOwnUsage);
        p
    }

    pub fn actor(&self) -> crate::server::audit::Actor {
        crate::server::audit::Actor::User {
            user_id: self.user_id.clone(),
            username: self.username.clone(),
        }
    }
}
