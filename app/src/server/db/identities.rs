//! Rows of `user_identity`, and the two transactions that give an external sign-in an
//! account: registering a new user, and linking an existing one.

use chrono::{DateTime, Utc};

use super::{Db, invites, on_pool, users::UserRow};
use crate::server::CoreError;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IdentityRow {
    pub provider: String,
    pub subject: String,
    pub user_id: String,
    pub email: Option<String>,
    pub external_name: Option<String>,
    pub linked_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
}

/// The identity to record, as the provider describes it.
pub struct NewIdentity<'a> {
    pub provider: &'a str,
    pub subject: &'a str,
    pub email: Option<&'a str>,
    pub external_name: Option<&'a str>,
    pub now: DateTime<Utc>,
}

/// Inserts the identity inside an open transaction, on either backend.
macro_rules! insert_identity {
    ($tx:ident, $user_id:expr, $id:expr) => {
        sqlx::query(
            "insert into user_identity (provider, subject, user_id, email, external_name, \
             linked_at, last_login_at) values ($1, $2, $3, $4, $5, $6, $6)",
        )
        .bind($id.provider)
        .bind($id.subject)
        .bind($user_id)
        .bind($id.email)
        .bind($id.external_name)
        .bind($id.now)
        .execute(&mut *$tx)
        .await?
    };
}

/// The user a provider's subject is linked to.
pub async fn find_user(
    db: &Db,
    provider: &str,
    subject: &str,
) -> Result<Option<UserRow>, CoreError> {
    const SQL: &str = "select u.user_id, u.username, u.email, u.password_hash, u.role, \
        u.enabled, u.must_change_password, u.all_models, u.may_create_keys, u.awaiting_approval, \
        u.token_version, u.created_at, u.updated_at, u.last_login_at from user_identity i \
        join app_user u on u.user_id = i.user_id where i.provider = $1 and i.subject = $2";
    Ok(on_pool!(db, |pool| sqlx::query_as(SQL)
        .bind(provider)
        .bind(subject)
        .fetch_optional(pool)
        .await)?)
}

/// Records what the provider said at this sign-in.
pub async fn touch(db: &Db, id: &NewIdentity<'_>) -> Result<(), CoreError> {
    const SQL: &str = "update user_identity set email = $3, external_name = $4, \
        last_login_at = $5 where provider = $1 and subject = $2";
    on_pool!(db, |pool| sqlx::query(SQL)
        .bind(id.provider)
        .bind(id.subject)
        .bind(id.email)
        .bind(id.external_name)
        .bind(id.now)
        .execute(pool)
        .await
        .map(|_| ()))?;
    Ok(())
}

pub async fn list_for_user(db: &Db, user_id: &str) -> Result<Vec<IdentityRow>, CoreError> {
    const SQL: &str = "select provider, subject, user_id, email, external_name, linked_at, \
        last_login_at from user_identity where user_id = $1 order by provider, subject";
    Ok(on_pool!(db, |pool| sqlx::query_as(SQL)
        .bind(user_id)
        .fetch_all(pool)
        .await)?)
}

pub async fn unlink(
    db: &Db,
    user_id: &str,
    provider: &str,
    subject: &str,
) -> Result<bool, CoreError> {
    const SQL: &str =
        "delete from user_identity where user_id = $1 and provider = $2 and subject = $3";
    let n = on_pool!(db, |pool| sqlx::query(SQL)
        .bind(user_id)
        .bind(provider)
        .bind(subject)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Uses the invite (a digest), if any, for `$user_id` inside an open transaction; when it
/// cannot be used, rolls back and returns [`Outcome::InviteGone`] from the enclosing block.
macro_rules! use_invite {
    ($tx:ident, $invite:expr, $now:expr, $user_id:expr) => {
        if let Some(digest) = $invite {
            let used = sqlx::query(invites::USE)
                .bind(digest)
                .bind($now)
                .bind($user_id)
                .execute(&mut *$tx)
                .await?
                .rows_affected();
            if used == 0 {
                $tx.rollback().await?;
                return Ok::<_, sqlx::Error>(Outcome::InviteGone);
            }
        }
    };
}

/// What an invite-guarded transaction found.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// The invite was used, revoked or expired meanwhile: nothing was written.
    InviteGone,
}

/// Links an identity to an existing user, using `invite` (a digest) if given.
pub async fn link(
    db: &Db,
    user_id: &str,
    id: &NewIdentity<'_>,
    invite: Option<&str>,
) -> Result<Outcome, CoreError> {
    let outcome = on_pool!(db, |pool| async {
        let mut tx = pool.begin().await?;
        use_invite!(tx, invite, id.now, user_id);
        insert_identity!(tx, user_id, id);
        tx.commit().await?;
        Ok(Outcome::Done)
    }
    .await)?;
    Ok(outcome)
}

/// A user to create for an external identity: no password.
pub struct NewExternalUser<'a> {
    pub user_id: &'a str,
    pub username: &'a str,
    pub email: Option<&'a str>,
    pub role: &'a str,
    pub awaiting_approval: bool,
    /// `Some`: only these models; `None`: every model.
    pub models: Option<&'a [String]>,
}

/// Creates the user and links the identity, using `invite` (a digest) if given, atomically.
pub async fn register(
    db: &Db,
    user: &NewExternalUser<'_>,
    id: &NewIdentity<'_>,
    invite: Option<&str>,
) -> Result<Outcome, CoreError> {
    const USER: &str = "insert into app_user (user_id, username, email, password_hash, role, \
        enabled, awaiting_approval, all_models, created_at, updated_at) \
        values ($1, $2, $3, null, $4, $5, $6, $7, $8, $8)";
    const MODEL: &str = "insert into user_model (user_id, model) values ($1, $2)";
    let outcome = on_pool!(db, |pool| async {
        let mut tx = pool.begin().await?;
        sqlx::query(USER)
            .bind(user.user_id)
            .bind(user.username)
            .bind(user.email)
            .bind(user.role)
            .bind(!user.awaiting_approval)
            .bind(user.awaiting_approval)
            .bind(user.models.is_none())
            .bind(id.now)
            .execute(&mut *tx)
            .await?;
        for m in user.models.unwrap_or_default() {
            sqlx::query(MODEL)
                .bind(user.user_id)
                .bind(m)
                .execute(&mut *tx)
                .await?;
        }
        use_invite!(tx, invite, id.now, user.user_id);
        insert_identity!(tx, user.user_id, id);
        tx.commit().await?;
        Ok(Outcome::Done)
    }
    .await)?;
    Ok(outcome)
}

/// Approves a user waiting for it: enables them.
pub async fn approve(db: &Db, user_id: &str, now: DateTime<Utc>) -> Result<bool, CoreError> {
    const SQL: &str = "update app_user set enabled = true, awaiting_approval = false, \
        updated_at = $2 where user_id = $1 and awaiting_approval";
    let n = on_pool!(db, |pool| sqlx::query(SQL)
        .bind(user_id)
        .bind(now)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}
