//! Signing in and out: the flows behind `/api/auth/*`.

use chrono::Utc;
use secrecy::SecretString;
use serde_json::json;

use super::{ClientInfo, CurrentUser, access, refresh};
use crate::server::{
    CoreError, Services,
    audit::{self, Actor, Event},
    db::{self, sessions::Rotation},
    password,
};
use crate::types::{Me, Session};

/// A valid argon2id hash of a random password, verified against when the username is
/// unknown, so that an unknown user and a wrong password cost the same time.
static DUMMY_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    use argon2::password_hash::PasswordHasher;
    argon2::Argon2::default()
        .hash_password(b"portcullis timing equaliser")
        .map(|h| h.to_string())
        .unwrap_or_default()
});

pub async fn login(
    services: &Services,
    username: &str,
    password: SecretString,
    client: &ClientInfo,
) -> Result<Session, CoreError> {
    let addr = client.addr_string();
    if !services.sso.settings.password_login {
        return Err(CoreError::Refused(
            "password sign-in is turned off here: sign in through your identity provider".into(),
        ));
    }
    // No account has a longer name: refused before it costs a hash, a count or a row.
    if username.len() > crate::server::users::MAX_USERNAME_LEN {
        return Err(CoreError::InvalidCredentials);
    }
    let attempt = match services.throttle.begin(username, client.addr) {
        Ok(a) => a,
        Err(retry_after) => {
            if services.throttle.first_refusal(username, client.addr) {
                let mut e = Event::new(Actor::System, "auth.login_throttled")
                    .details(json!({ "username": username, "retry_after": retry_after }));
                e.client_addr = addr;
                e.success = false;
                audit::record(&services.db, &e).await?;
            }
            return Err(CoreError::TooManyAttempts { retry_after });
        }
    };
    let user = db::users::find_by_username(&services.db, username).await?;
    let hash = user.as_ref().and_then(|u| u.password_hash.clone());
    let verified = password::verify(password, hash.unwrap_or_else(|| DUMMY_HASH.clone())).await?;
    let user = match user {
        Some(u) if verified && u.enabled => u,
        other => {
            let actor = match &other {
                Some(u) => Actor::User {
                    user_id: u.user_id.clone(),
                    username: u.username.clone(),
                },
                None => Actor::System,
            };
            let reason = match &other {
                None => "unknown_user",
                Some(u) if u.awaiting_approval && verified => "awaiting_approval",
                Some(u) if !u.enabled && verified => "disabled",
                Some(_) => "wrong_password",
            };
            let mut e = Event::new(actor, "auth.login")
                .details(json!({ "username": username, "reason": reason }));
            e.client_addr = addr;
            e.success = false;
            audit::record(&services.db, &e).await?;
            return Err(CoreError::InvalidCredentials);
        }
    };
    services.throttle.succeeded(username, client.addr, attempt);
    let now = Utc::now();
    db::users::record_login(&services.db, &user.user_id, now).await?;
    let session = start_session(services, &user.user_id, client).await?;
    let mut e = Event::new(
        Actor::User {
            user_id: user.user_id.clone(),
            username: user.username.clone(),
        },
        "auth.login",
    )
    .target("user", &user.user_id);
    e.client_addr = addr;
    audit::record(&services.db, &e).await?;
    Ok(session)
}

/// Opens a new session (refresh family) for a user and returns its first tokens.
pub(crate) async fn start_session(
    services: &Services,
    user_id: &str,
    client: &ClientInfo,
) -> Result<Session, CoreError> {
    open_session(
        services,
        user_id,
        client,
        None,
        services.auth.session_max_age,
    )
    .await
}

/// A session for `user_id`, opened by `impersonator` when an administrator acts as them.
pub(crate) async fn open_session(
    services: &Services,
    user_id: &str,
    client: &ClientInfo,
    impersonator: Option<&str>,
    max_age: std::time::Duration,
) -> Result<Session, CoreError> {
    let now = Utc::now();
    let family_id = uuid::Uuid::now_v7().to_string();
    let token_id = uuid::Uuid::now_v7().to_string();
    let (refresh_token, digest) = refresh::generate();
    let addr = client.addr_string();
    db::sessions::create_family(
        &services.db,
        &db::sessions::NewFamily {
            family_id: &family_id,
            user_id,
            token_id: &token_id,
            digest: &digest,
            now,
            token_expires_at: now + services.auth.refresh_ttl.min(max_age),
            family_expires_at: now + max_age,
            client_addr: addr.as_deref(),
            user_agent: client.user_agent.as_deref(),
            impersonator_id: impersonator,
        },
    )
    .await?;
    session_response(services, user_id, &family_id, refresh_token).await
}

async fn session_response(
    services: &Services,
    user_id: &str,
    family_id: &str,
    refresh_token: String,
) -> Result<Session, CoreError> {
    let user = db::users::find_by_id(&services.db, user_id)
        .await?
        .ok_or(CoreError::Unauthenticated)?;
    let access = access::issue(
        &services.secrets.jwt,
        user_id,
        user.token_version,
        family_id,
        services.auth.access_ttl,
    )?;
    Ok(Session {
        access_token: access.token,
        refresh_token,
        token_type: "Bearer".to_owned(),
        expires_in: access.expires_in,
        must_change_password: user.must_change_password,
        user: user.into_info()?,
    })
}

/// Rotates a refresh token. Presenting one that was already used revokes its whole family.
pub async fn refresh(
    services: &Services,
    presented: &str,
    client: &ClientInfo,
) -> Result<Session, CoreError> {
    let now = Utc::now();
    let (next, next_digest) = refresh::generate();
    let token_id = uuid::Uuid::now_v7().to_string();
    let outcome = db::sessions::rotate(
        &services.db,
        &refresh::digest(presented),
        &token_id,
        &next_digest,
        now,
        now + services.auth.refresh_ttl,
    )
    .await?;
    match outcome {
        Rotation::Rotated { user_id, family_id } => {
            let user = db::users::find_by_id(&services.db, &user_id).await?;
            if !user.is_some_and(|u| u.enabled) {
                db::sessions::revoke_all_for_user(&services.db, &user_id, "disabled", now).await?;
                return Err(CoreError::Unauthenticated);
            }
            session_response(services, &user_id, &family_id, next).await
        }
        Rotation::Reused { user_id, family_id } => {
            let mut e = Event::new(Actor::System, "auth.refresh_reuse")
                .target("user", &user_id)
                .details(json!({ "family_id": family_id, "action": "session revoked" }));
            e.client_addr = client.addr_string();
            e.success = false;
            audit::record(&services.db, &e).await?;
            tracing::warn!(user.id = %user_id, family = %family_id, "refresh token reused; session revoked");
            Err(CoreError::Unauthenticated)
        }
        Rotation::Invalid => Err(CoreError::Unauthenticated),
    }
}

/// Ends the session a refresh token belongs to. Unknown or already-ended tokens are not an
/// error: signing out twice is harmless.
pub async fn logout(
    services: &Services,
    presented: &str,
    client: &ClientInfo,
) -> Result<(), CoreError> {
    let revoked = db::sessions::revoke_by_token(
        &services.db,
        &refresh::digest(presented),
        "logout",
        Utc::now(),
    )
    .await?;
    if let Some((user_id, family_id, impersonator_id)) = revoked {
        let action = if impersonator_id.is_some() {
            "auth.impersonate_end"
        } else {
            "auth.logout"
        };
        let mut e = Event::new(Actor::System, action)
            .target("user", &user_id)
            .details(json!({ "family_id": family_id }));
        let by = match &impersonator_id {
            Some(id) => db::users::find_by_id(&services.db, id).await?,
            None => None,
        };
        if let Some(u) = db::users::find_by_id(&services.db, &user_id).await? {
            e.actor = match by {
                Some(a) => Actor::Impersonated {
                    user_id: u.user_id,
                    username: u.username,
                    by_user_id: a.user_id,
                    by_username: a.username,
                },
                None => Actor::User {
                    user_id: u.user_id,
                    username: u.username,
                },
            };
        }
        e.client_addr = client.addr_string();
        audit::record(&services.db, &e).await?;
    }
    Ok(())
}

/// Ends every session of the caller and invalidates their access tokens.
pub async fn logout_all(
    services: &Services,
    user: &CurrentUser,
    client: &ClientInfo,
) -> Result<(), CoreError> {
    user.refuse_if_impersonated("signing the user out everywhere")?;
    let now = Utc::now();
    let n =
        db::sessions::revoke_all_for_user(&services.db, &user.user_id, "logout_all", now).await?;
    db::users::bump_token_version(&services.db, &user.user_id, now).await?;
    let mut e = Event::new(user.actor(), "auth.logout_all")
        .target("user", &user.user_id)
        .details(json!({ "sessions": n }));
    e.client_addr = client.addr_string();
    audit::record(&services.db, &e).await
}

/// Changes the caller's password. Every session ends, this one included, and a new session is
/// returned so the caller carries on signed in.
pub async fn change_password(
    services: &Services,
    user: &CurrentUser,
    current: SecretString,
    new: SecretString,
    client: &ClientInfo,
) -> Result<Session, CoreError> {
    user.refuse_if_impersonated("changing the password")?;
    let row = db::users::find_by_id(&services.db, &user.user_id)
        .await?
        .ok_or(CoreError::Unauthenticated)?;
    let Some(hash) = row.password_hash else {
        return Err(CoreError::Refused(
            "this account signs in through an identity provider and has no password".into(),
        ));
    };
    if !password::verify(current, hash).await? {
        return Err(CoreError::invalid(
            "current_password",
            "is not your current password",
        ));
    }
    password::check_policy(&new)?;
    let new_hash = password::hash(new).await?;
    db::users::set_password(&services.db, &user.user_id, &new_hash, false, Utc::now()).await?;
    let mut e = Event::new(user.actor(), "auth.change_password").target("user", &user.user_id);
    e.client_addr = client.addr_string();
    audit::record(&services.db, &e).await?;
    start_session(services, &user.user_id, client).await
}

/// The caller's profile, permissions and models.
pub async fn me(services: &Services, user: &CurrentUser) -> Result<Me, CoreError> {
    let row = db::users::find_by_id(&services.db, &user.user_id)
        .await?
        .ok_or(CoreError::Unauthenticated)?;
    let models = if row.all_models {
        None
    } else {
        Some(db::users::models(&services.db, &user.user_id).await?)
    };
    Ok(Me {
        user: row.into_info()?,
        permissions: user.permissions(),
        models,
        impersonated_by: user.impersonator.as_ref().map(|i| i.username.clone()),
    })
}
