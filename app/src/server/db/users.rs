//! Rows of `app_user`.

use chrono::{DateTime, Utc};

use super::{Db, on_pool};
use crate::server::CoreError;
use crate::types::{Role, UserInfo};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub user_id: String,
    pub username: String,
    pub email: Option<String>,
    pub password_hash: Option<String>,
    pub role: String,
    pub enabled: bool,
    pub must_change_password: bool,
    pub all_models: bool,
    pub may_create_keys: bool,
    pub awaiting_approval: bool,
    pub token_version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
}

impl UserRow {
    pub fn role(&self) -> Result<Role, CoreError> {
        self.role
            .parse()
            .map_err(|e: String| CoreError::Internal(format!("user {}: {e}", self.user_id)))
    }

    pub fn into_info(self) -> Result<UserInfo, CoreError> {
        Ok(UserInfo {
            role: self.role()?,
            user_id: self.user_id,
            username: self.username,
            email: self.email,
            enabled: self.enabled,
            must_change_password: self.must_change_password,
            all_models: self.all_models,
            may_create_keys: self.may_create_keys,
            awaiting_approval: self.awaiting_approval,
            has_password: self.password_hash.is_some(),
            created_at: self.created_at,
            updated_at: self.updated_at,
            last_login_at: self.last_login_at,
        })
    }
}

/// `select <every column> from app_user <rest>`, as one static string.
macro_rules! select_users {
    ($rest:literal) => {
        concat!(
            "select user_id, username, email, password_hash, role, enabled, must_change_password, \
             all_models, may_create_keys, awaiting_approval, token_version, created_at, updated_at, last_login_at \
             from app_user ",
            $rest
        )
    };
}

/// A user to insert; the caller has validated and hashed everything.
pub struct NewUserRow<'a> {
    pub user_id: &'a str,
    pub username: &'a str,
    pub email: Option<&'a str>,
    pub password_hash: Option<&'a str>,
    pub role: Role,
    pub must_change_password: bool,
    pub now: DateTime<Utc>,
}

pub async fn insert(db: &Db, u: &NewUserRow<'_>) -> Result<(), CoreError> {
    const SQL: &str = "insert into app_user (user_id, username, email, password_hash, role, \
        must_change_password, created_at, updated_at) values ($1, $2, $3, $4, $5, $6, $7, $7)";
    on_pool!(db, |pool| {
        sqlx::query(SQL)
            .bind(u.user_id)
            .bind(u.username)
            .bind(u.email)
            .bind(u.password_hash)
            .bind(u.role.as_str())
            .bind(u.must_change_password)
            .bind(u.now)
            .execute(pool)
            .await
            .map(|_| ())
    })?;
    Ok(())
}

pub async fn count(db: &Db) -> Result<i64, CoreError> {
    const SQL: &str = "select count(*) from app_user";
    Ok(on_pool!(db, |pool| sqlx::query_scalar(SQL)
        .fetch_one(pool)
        .await)?)
}

/// Case-insensitive: usernames are ASCII, so `lower` agrees on both backends.
pub async fn find_by_username(db: &Db, username: &str) -> Result<Option<UserRow>, CoreError> {
    const SQL: &str = select_users!("where lower(username) = lower($1)");
    Ok(on_pool!(db, |pool| sqlx::query_as(SQL)
        .bind(username)
        .fetch_optional(pool)
        .await)?)
}

pub async fn find_by_id(db: &Db, user_id: &str) -> Result<Option<UserRow>, CoreError> {
    const SQL: &str = select_users!("where user_id = $1");
    Ok(on_pool!(db, |pool| sqlx::query_as(SQL)
        .bind(user_id)
        .fetch_optional(pool)
        .await)?)
}

/// Users whose username or email contains `search` (case-insensitive), by username.
pub async fn list(
    db: &Db,
    search: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<Vec<UserRow>, CoreError> {
    let pattern = search.map(|s| format!("%{}%", escape_like(&s.to_ascii_lowercase())));
    const SQL: &str = select_users!(
        "where $1 is null or lower(username) like $1 escape '\\' \
         or lower(email) like $1 escape '\\' order by lower(username) limit $2 offset $3"
    );
    Ok(on_pool!(db, |pool| {
        sqlx::query_as(SQL)
            .bind(&pattern)
            .bind(limit)
            .bind(offset)
            .fetch_all(pool)
            .await
    })?)
}

/// Sets a new password hash and ends every session of the user, in one transaction.
pub async fn set_password(
    db: &Db,
    user_id: &str,
    password_hash: &str,
    must_change_password: bool,
    now: DateTime<Utc>,
) -> Result<bool, CoreError> {
    const UPDATE: &str = "update app_user set password_hash = $2, must_change_password = $3, \
        token_version = token_version + 1, updated_at = $4 where user_id = $1";
    const REVOKE: &str = "update refresh_family set revoked_at = $2, revoked_reason = 'password_changed' \
        where user_id = $1 and revoked_at is null";
    let updated = on_pool!(db, |pool| {
        let mut tx = pool.begin().await?;
        let done = sqlx::query(UPDATE)
            .bind(user_id)
            .bind(password_hash)
            .bind(must_change_password)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query(REVOKE)
            .bind(user_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(done)
    })?;
    Ok(updated == 1)
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// How many users match `search` in all (see [`list`]).
pub async fn count_matching(db: &Db, search: Option<&str>) -> Result<i64, CoreError> {
    const SQL: &str = "select count(*) from app_user where $1 is null \
        or lower(username) like $1 escape '\\' or lower(email) like $1 escape '\\'";
    let pattern = search.map(|s| format!("%{}%", escape_like(&s.to_ascii_lowercase())));
    Ok(on_pool!(db, |pool| sqlx::query_scalar(SQL)
        .bind(&pattern)
        .fetch_one(pool)
        .await)?)
}

pub async fn record_login(db: &Db, user_id: &str, now: DateTime<Utc>) -> Result<(), CoreError> {
    const SQL: &str = "update app_user set last_login_at = $2 where user_id = $1";
    on_pool!(db, |pool| sqlx::query(SQL)
        .bind(user_id)
        .bind(now)
        .execute(pool)
        .await
        .map(|_| ()))?;
    Ok(())
}

/// Locks the enabled administrators (PostgreSQL), so that concurrent changes that each leave
/// one administrator cannot together leave none. SQLite serialises writers anyway.
const LOCK_ADMINS: &str =
    "select user_id from app_user where role = 'admin' and enabled for update";
/// Checked after a change, inside its transaction.
const ADMINS_LEFT: &str = "select count(*) from app_user where role = 'admin' and enabled";

/// Changes to one user, applied together.
pub struct UserChanges<'a> {
    pub role: Option<Role>,
    pub enabled: Option<bool>,
    /// `Some(None)` removes the email.
    pub email: Option<Option<&'a str>>,
}

/// What an update did.
#[derive(Debug, PartialEq, Eq)]
pub enum UpdateOutcome {
    Updated,
    NotFound,
    /// It would have left no enabled administrator.
    LastAdmin,
}

/// Applies `changes`. Refuses, atomically, any change that leaves no enabled administrator:
/// on PostgreSQL the enabled admins are locked first so two admins demoting each other at
/// once cannot both succeed; SQLite serialises writers anyway. Disabling also bumps the
/// token version and ends the user's sessions.
pub async fn update(
    db: &Db,
    user_id: &str,
    changes: &UserChanges<'_>,
    now: DateTime<Utc>,
) -> Result<UpdateOutcome, CoreError> {
    const UPDATE: &str = "update app_user set \
        role = coalesce($2, role), enabled = coalesce($3, enabled), \
        awaiting_approval = case when $3 = true then false else awaiting_approval end, \
        email = case when $4 then $5 else email end, \
        token_version = token_version + case when $3 = false and enabled then 1 else 0 end, \
        updated_at = $6 where user_id = $1";
    const END_SESSIONS: &str = "update refresh_family set revoked_at = $2, revoked_reason = 'disabled' \
        where user_id = $1 and revoked_at is null";
    let set_email = changes.email.is_some();
    let email = changes.email.flatten();
    let is_pg = matches!(db, Db::Postgres(_));
    let outcome = on_pool!(db, |pool| async {
        let mut tx = pool.begin().await?;
        if is_pg {
            sqlx::query(LOCK_ADMINS).execute(&mut *tx).await?;
        }
        let n = sqlx::query(UPDATE)
            .bind(user_id)
            .bind(changes.role.map(Role::as_str))
            .bind(changes.enabled)
            .bind(set_email)
            .bind(email)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Ok::<_, sqlx::Error>(UpdateOutcome::NotFound);
        }
        let admins: i64 = sqlx::query_scalar(ADMINS_LEFT).fetch_one(&mut *tx).await?;
        if admins == 0 {
            tx.rollback().await?;
            return Ok(UpdateOutcome::LastAdmin);
        }
        if changes.enabled == Some(false) {
            sqlx::query(END_SESSIONS)
                .bind(user_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(UpdateOutcome::Updated)
    }
    .await)?;
    Ok(outcome)
}

/// Deletes a user (keys and sessions go with them, by foreign key), unless that leaves no
/// enabled administrator; same locking as [`update`].
pub async fn delete(db: &Db, user_id: &str) -> Result<UpdateOutcome, CoreError> {
    const DELETE: &str = "delete from app_user where user_id = $1";
    let is_pg = matches!(db, Db::Postgres(_));
    let outcome = on_pool!(db, |pool| async {
        let mut tx = pool.begin().await?;
        if is_pg {
            sqlx::query(LOCK_ADMINS).execute(&mut *tx).await?;
        }
        let n = sqlx::query(DELETE)
            .bind(user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Ok::<_, sqlx::Error>(UpdateOutcome::NotFound);
        }
        let admins: i64 = sqlx::query_scalar(ADMINS_LEFT).fetch_one(&mut *tx).await?;
        if admins == 0 {
            tx.rollback().await?;
            return Ok(UpdateOutcome::LastAdmin);
        }
        tx.commit().await?;
        Ok(UpdateOutcome::Updated)
    }
    .await)?;
    Ok(outcome)
}

/// Invalidates every access token of the user issued so far.
pub async fn bump_token_version(
    db: &Db,
    user_id: &str,
    now: DateTime<Utc>,
) -> Result<(), CoreError> {
    const SQL: &str =
        "update app_user set token_version = token_version + 1, updated_at = $2 where user_id = $1";
    on_pool!(db, |pool| sqlx::query(SQL)
        .bind(user_id)
        .bind(now)
        .execute(pool)
        .await
        .map(|_| ()))?;
    Ok(())
}

/// The models a user may use when `all_models` is false.
pub async fn models(db: &Db, user_id: &str) -> Result<Vec<String>, CoreError> {
    const SQL: &str = "select model from user_model where user_id = $1 order by model";
    Ok(on_pool!(db, |pool| sqlx::query_scalar(SQL)
        .bind(user_id)
        .fetch_all(pool)
        .await)?)
}

/// Case-insensitive, like the unique index on emails.
pub async fn find_by_email(db: &Db, email: &str) -> Result<Option<UserRow>, CoreError> {
    const SQL: &str = select_users!("where lower(email) = lower($1)");
    Ok(on_pool!(db, |pool| sqlx::query_as(SQL)
        .bind(email)
        .fetch_optional(pool)
        .await)?)
}
