//! Accounts: creation, the first administrator, password resets.

use chrono::Utc;
use secrecy::SecretString;

use super::{
    CoreError, Db, Services,
    audit::{self, Actor},
    auth::Admin,
    db, password,
};
use crate::types::{Role, UserInfo};

/// The username of the administrator created on first start.
pub const INITIAL_ADMIN: &str = "admin";

/// The longest username an account may have.
pub const MAX_USERNAME_LEN: usize = 64;

/// Usernames are 2 to 64 ASCII letters, digits and `.`, `_`, `-`, `@`, starting with a letter
/// or digit; keeping them ASCII makes case-insensitive uniqueness mean the same on every backend.
pub fn check_username(name: &str) -> Result<(), CoreError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@');
    if !(2..=MAX_USERNAME_LEN).contains(&name.len()) {
        return Err(CoreError::invalid(
            "username",
            "must be 2 to 64 characters long",
        ));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) || !name.chars().all(allowed) {
        return Err(CoreError::invalid(
            "username",
            "may contain only letters, digits and . _ - @, and must start with a letter or digit",
        ));
    }
    Ok(())
}

fn check_email(email: &str) -> Result<(), CoreError> {
    let ok = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
        })
        && !email.chars().any(char::is_whitespace);
    if ok {
        Ok(())
    } else {
        Err(CoreError::invalid("email", "is not a valid email address"))
    }
}

pub struct NewUser {
    pub username: String,
    pub email: Option<String>,
    pub role: Role,
    /// `None` generates a random password, returned once to the caller.
    pub password: Option<SecretString>,
    pub must_change_password: bool,
}

/// Creates a user; returns it, and the generated password when none was given.
pub async fn create(
    db: &Db,
    actor: Actor,
    new: NewUser,
) -> Result<(UserInfo, Option<SecretString>), CoreError> {
    let username = new.username.trim();
    check_username(username)?;
    let email = new
        .email
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty());
    if let Some(email) = email {
        check_email(email)?;
    }
    let (password, generated) = match new.password {
        Some(p) => (p, None),
        None => {
            let p = password::generate();
            (p.clone(), Some(p))
        }
    };
    password::check_policy(&password)?;
    let hash = password::hash(password).await?;
    let user_id = uuid::Uuid::now_v7().to_string();
    let row = db::users::NewUserRow {
        user_id: &user_id,
        username,
        email,
        password_hash: Some(&hash),
        role: new.role,
        must_change_password: new.must_change_password,
        now: Utc::now(),
    };
    db::users::insert(db, &row).await.map_err(|e| {
        if e.is_unique_violation() {
            CoreError::Conflict(format!("a user named `{username}` or with that email"))
        } else {
            e
        }
    })?;
    let event = audit::Event::new(actor, "user.create")
        .target("user", &user_id)
        .details(serde_json::json!({ "username": username, "role": new.role }));
    audit::record(db, &event).await?;
    let user = db::users::find_by_id(db, &user_id)
        .await?
        .ok_or(CoreError::NotFound("user"))?;
    Ok((user.into_info()?, generated))
}

/// On a database with no users, creates `admin` with a random password that must be changed at
/// first sign-in, and returns that password so it can be shown once. Replicas starting together
/// race safely: the unique username lets exactly one of them win.
pub async fn ensure_initial_admin(db: &Db) -> Result<Option<SecretString>, CoreError> {
    if db::users::count(db).await? > 0 {
        return Ok(None);
    }
    let new = NewUser {
        username: INITIAL_ADMIN.to_owned(),
        email: None,
        role: Role::Admin,
        password: None,
        must_change_password: true,
    };
    match create(db, Actor::System, new).await {
        Ok((_, password)) => Ok(password),
        Err(CoreError::Conflict(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Sets a new password (generated when `None`), which must be changed at next sign-in, and
/// ends every session of the user.
pub async fn reset_password(
    db: &Db,
    actor: Actor,
    username: &str,
    password: Option<SecretString>,
) -> Result<(UserInfo, Option<SecretString>), CoreError> {
    let user = db::users::find_by_username(db, username)
        .await?
        .ok_or(CoreError::NotFound("user"))?;
    let (password, generated) = match password {
        Some(p) => (p, None),
        None => {
            let p = password::generate();
            (p.clone(), Some(p))
        }
    };
    password::check_policy(&password)?;
    let hash = password::hash(password).await?;
    db::users::set_password(db, &user.user_id, &hash, true, Utc::now()).await?;
    let event = audit::Event::new(actor, "user.reset_password").target("user", &user.user_id);
    audit::record(db, &event).await?;
    let user = db::users::find_by_id(db, &user.user_id)
        .await?
        .ok_or(CoreError::NotFound("user"))?;
    Ok((user.into_info()?, generated))
}

pub async fn list(
    db: &Db,
    search: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<Vec<UserInfo>, CoreError> {
    db::users::list(db, search, limit, offset)
        .await?
        .into_iter()
        .map(|u| u.into_info())
        .collect()
}

/// Largest page of users one call returns.
pub const MAX_PAGE: i64 = 200;

pub async fn page(
    db: &Db,
    _admin: Admin<'_>,
    search: Option<&str>,
    limit: Option<i64>,
    offset: Option<i64>,
) -> Result<crate::types::UserPage, CoreError> {
    let search = search.map(str::trim).filter(|s| !s.is_empty());
    let limit = limit.unwrap_or(50).clamp(1, MAX_PAGE);
    let offset = offset.unwrap_or(0).max(0);
    Ok(crate::types::UserPage {
        users: list(db, search, limit, offset).await?,
        total: db::users::count_matching(db, search).await?,
    })
}

/// An administrator creates a user; the password, given or generated, must be changed at the
/// first sign-in.
pub async fn admin_create(
    db: &Db,
    admin: Admin<'_>,
    req: crate::types::NewUserRequest,
) -> Result<crate::types::CreatedUser, CoreError> {
    if req.role == Role::Admin {
        admin
            .user()
            .refuse_if_impersonated("making an administrator")?;
    }
    let new = NewUser {
        username: req.username,
        email: req.email,
        role: req.role,
        password: req.password.map(SecretString::from),
        must_change_password: true,
    };
    let (user, generated) = create(db, admin.user().actor(), new).await?;
    Ok(crate::types::CreatedUser {
        user,
        password: generated.map(|p| secrecy::ExposeSecret::expose_secret(&p).to_owned()),
    })
}

pub async fn update(
    services: &Services,
    admin: Admin<'_>,
    user_id: &str,
    changes: crate::types::UserUpdate,
) -> Result<UserInfo, CoreError> {
    admin.user().may_act_on(user_id)?;
    if changes.role == Some(Role::Admin) {
        admin
            .user()
            .refuse_if_impersonated("making an administrator")?;
    }
    let email = changes.email.as_deref().map(str::trim);
    if let Some(e) = email.filter(|e| !e.is_empty()) {
        check_email(e)?;
    }
    let db_changes = db::users::UserChanges {
        role: changes.role,
        enabled: changes.enabled,
        email: email.map(|e| (!e.is_empty()).then_some(e)),
    };
    let db = &services.db;
    let outcome = db::users::update(db, user_id, &db_changes, Utc::now())
        .await
        .map_err(|e| {
            if e.is_unique_violation() {
                CoreError::Conflict("a user with that email".into())
            } else {
                e
            }
        })?;
    match outcome {
        db::users::UpdateOutcome::Updated => {}
        db::users::UpdateOutcome::NotFound => return Err(CoreError::NotFound("user")),
        db::users::UpdateOutcome::LastAdmin => return Err(last_admin()),
    }
    let event = audit::Event::new(admin.user().actor(), "user.update")
        .target("user", user_id)
        .details(serde_json::json!({
            "role": changes.role,
            "enabled": changes.enabled,
            "email_changed": changes.email.is_some(),
        }));
    audit::record(db, &event).await?;
    services.keys.catch_up(db).await?;
    db::users::find_by_id(db, user_id)
        .await?
        .ok_or(CoreError::NotFound("user"))?
        .into_info()
}

/// An administrator sets a generated one-time password for a user.
pub async fn admin_reset_password(
    db: &Db,
    admin: Admin<'_>,
    user_id: &str,
) -> Result<SecretString, CoreError> {
    admin.user().may_act_on(user_id)?;
    let user = db::users::find_by_id(db, user_id)
        .await?
        .ok_or(CoreError::NotFound("user"))?;
    let (_, generated) = reset_password(db, admin.user().actor(), &user.username, None).await?;
    generated.ok_or_else(|| CoreError::Internal("no password was generated".into()))
}

pub async fn delete(services: &Services, admin: Admin<'_>, user_id: &str) -> Result<(), CoreError> {
    admin.user().may_act_on(user_id)?;
    let db = &services.db;
    let user = db::users::find_by_id(db, user_id)
        .await?
        .ok_or(CoreError::NotFound("user"))?;
    match db::users::delete(db, user_id).await? {
        db::users::UpdateOutcome::Updated => {}
        db::users::UpdateOutcome::NotFound => return Err(CoreError::NotFound("user")),
        db::users::UpdateOutcome::LastAdmin => return Err(last_admin()),
    }
    let event = audit::Event::new(admin.user().actor(), "user.delete")
        .target("user", user_id)
        .details(serde_json::json!({ "username": user.username }));
    audit::record(db, &event).await?;
    services.keys.catch_up(db).await.map(drop)
}

/// Sets which models a user may use and whether they may create keys. Their keys narrow with
/// them at once: a key's models are always checked within its owner's.
pub async fn set_permissions(
    services: &Services,
    admin: Admin<'_>,
    p: crate::types::UserPermissions,
) -> Result<crate::types::UserPermissions, CoreError> {
    admin.user().may_act_on(&p.user_id)?;
    let mut models: Vec<String> = p
        .models
        .iter()
        .map(|m| m.trim().to_owned())
        .filter(|m| !m.is_empty())
        .collect();
    models.sort();
    models.dedup();
    let now = Utc::now();
    if !db::keys::set_user_permissions(
        &services.db,
        &p.user_id,
        p.all_models,
        &models,
        p.may_create_keys,
        now,
    )
    .await?
    {
        return Err(CoreError::NotFound("user"));
    }
    let event = audit::Event::new(admin.user().actor(), "user.set_permissions")
        .target("user", &p.user_id)
        .details(serde_json::json!({
            "all_models": p.all_models, "models": models, "may_create_keys": p.may_create_keys,
        }));
    audit::record(&services.db, &event).await?;
    services.keys.catch_up(&services.db).await?;
    Ok(crate::types::UserPermissions { models, ..p })
}

/// A user's model permissions, for an administrator.
pub async fn permissions(
    services: &Services,
    _admin: Admin<'_>,
    user_id: &str,
) -> Result<crate::types::UserPermissions, CoreError> {
    let user = db::users::find_by_id(&services.db, user_id)
        .await?
        .ok_or(CoreError::NotFound("user"))?;
    Ok(crate::types::UserPermissions {
        models: db::users::models(&services.db, user_id).await?,
        user_id: user.user_id,
        all_models: user.all_models,
        may_create_keys: user.may_create_keys,
    })
}

fn last_admin() -> CoreError {
    CoreError::Refused("that would leave no enabled administrator".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_checked_with_a_reason() {
        assert!(check_username("alice").is_ok());
        assert!(check_username("bob.smith@example.org").is_ok());
        let e = check_username("-x").unwrap_err().to_string();
        assert!(e.starts_with("username: may contain only"), "{e}");
        assert!(check_username("a").is_err());
        assert!(check_username("Ünïcode").is_err());
        assert!(check_username("with space").is_err());
    }

    #[test]
    fn emails_are_checked() {
        assert!(check_email("a@example.org").is_ok());
        assert!(check_email("nope").is_err());
        assert!(check_email("a@localhost").is_err());
        assert!(check_email("a b@example.org").is_err());
    }
}
