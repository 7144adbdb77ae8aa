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
    /// The administrator acting as this user, when one opened this session.
    pub impersonator: Option<Impersonator>,
    /// The identity provider whose bearer token this is, when it is not one of ours.
    pub external: Option<String>,
}

/// An administrator acting as another user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Impersonator {
    pub user_id: String,
    pub username: String,
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
        let claims = match access::verify(&services.secrets.jwt, token) {
            Ok(claims) => claims,
            Err(CoreError::Unauthenticated) if services.sso.settings.any_bearer() => {
                return crate::server::sso::bearer::authenticate(services, token).await;
            }
            Err(e) => return Err(e),
        };
        let user = db::users::find_by_id(&services.db, &claims.user_id)
            .await?
            .ok_or(CoreError::Unauthenticated)?;
        if !user.enabled || user.token_version != claims.token_version {
            return Err(CoreError::Unauthenticated);
        }
        let family = db::sessions::open_family(&services.db, &claims.family_id, Utc::now())
            .await?
            .ok_or(CoreError::Unauthenticated)?;
        let impersonator = match (family.impersonator_id, family.impersonator_username) {
            // Acting as someone lasts only while the administrator still is one.
            (Some(_), _) if family.impersonator_is_admin != Some(true) => {
                return Err(CoreError::Unauthenticated);
            }
            (Some(user_id), Some(username)) => Some(Impersonator { user_id, username }),
            _ => None,
        };
        Self::of(user, claims.family_id, impersonator, None)
    }

    /// The caller a user row stands for, in session `family_id` (empty for a provider's token).
    pub(crate) fn of(
        user: db::users::UserRow,
        family_id: String,
        impersonator: Option<Impersonator>,
        external: Option<String>,
    ) -> Result<Self, CoreError> {
        Ok(Self {
            role: user.role()?,
            user_id: user.user_id,
            username: user.username,
            must_change_password: user.must_change_password,
            all_models: user.all_models,
            may_create_keys: user.may_create_keys,
            family_id,
            impersonator,
            external,
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
        use crate::server::audit::Actor;
        match &self.impersonator {
            None => Actor::User {
                user_id: self.user_id.clone(),
                username: self.username.clone(),
            },
            Some(by) => Actor::Impersonated {
                user_id: self.user_id.clone(),
                username: self.username.clone(),
                by_user_id: by.user_id.clone(),
                by_username: by.username.clone(),
            },
        }
    }

    /// Some things only the person themself may do, never an administrator acting as them.
    pub fn refuse_if_impersonated(&self, what: &str) -> Result<(), CoreError> {
        match &self.impersonator {
            Some(_) => Err(CoreError::Refused(format!(
                "{what} is not possible while acting as another user"
            ))),
            None => Ok(()),
        }
    }

    /// An administrator acting as someone may not reach their own account through them.
    pub fn may_act_on(&self, user_id: &str) -> Result<(), CoreError> {
        match &self.impersonator {
            Some(by) if by.user_id == user_id => Err(CoreError::Refused(
                "while acting as another user, your own account is out of reach".into(),
            )),
            _ => Ok(()),
        }
    }
}
