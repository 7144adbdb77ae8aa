//! Rows of `invite`. An invite is used by one conditional update, so two sign-ins racing with
//! one invite cannot both succeed.

use chrono::{DateTime, Utc};

use super::{Db, on_pool};
use crate::server::CoreError;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InviteRow {
    pub invite_id: String,
    pub role: String,
    pub email: Option<String>,
    pub user_id: Option<String>,
    pub username: Option<String>,
    pub note: Option<String>,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub used_by: Option<String>,
    pub revoked_at: Option<DateTime<Utc>>,
}

macro_rules! select_invites {
    ($rest:literal) => {
        concat!(
            "select i.invite_id, i.role, i.email, i.user_id, target.username, i.note, \
             creator.username as created_by, i.created_at, i.expires_at, i.used_at, \
             used.username as used_by, i.revoked_at from invite i \
             left join app_user target on target.user_id = i.user_id \
             left join app_user creator on creator.user_id = i.created_by \
             left join app_user used on used.user_id = i.used_by ",
            $rest
        )
    };
}

/// Marks an invite used by `$3` at `$2`, if it still can be; run inside the transaction that
/// creates or links the account, so a failure there leaves the invite unused.
pub const USE: &str = "update invite set used_at = $2, used_by = $3 where token_digest = $1 \
    and used_at is null and revoked_at is null and expires_at > $2";

pub struct NewInvite<'a> {
    pub invite_id: &'a str,
    pub token_digest: &'a str,
    pub created_by: &'a str,
    pub role: &'a str,
    pub email: Option<&'a str>,
    pub user_id: Option<&'a str>,
    pub note: Option<&'a str>,
    pub now: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert(db: &Db, i: &NewInvite<'_>) -> Result<(), CoreError> {
    const SQL: &str = "insert into invite (invite_id, token_digest, created_by, role, email, \
        user_id, note, created_at, expires_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
    on_pool!(db, |pool| sqlx::query(SQL)
        .bind(i.invite_id)
        .bind(i.token_digest)
        .bind(i.created_by)
        .bind(i.role)
        .bind(i.email)
        .bind(i.user_id)
        .bind(i.note)
        .bind(i.now)
        .bind(i.expires_at)
        .execute(pool)
        .await
        .map(|_| ()))?;
    Ok(())
}

pub async fn find_by_digest(db: &Db, digest: &str) -> Result<Option<InviteRow>, CoreError> {
    const SQL: &str = select_invites!("where i.token_digest = $1");
    Ok(on_pool!(db, |pool| sqlx::query_as(SQL)
        .bind(digest)
        .fetch_optional(pool)
        .await)?)
}

pub async fn find(db: &Db, invite_id: &str) -> Result<Option<InviteRow>, CoreError> {
    const SQL: &str = select_invites!("where i.invite_id = $1");
    Ok(on_pool!(db, |pool| sqlx::query_as(SQL)
        .bind(invite_id)
        .fetch_optional(pool)
        .await)?)
}

/// The newest invites first.
pub async fn list(db: &Db, limit: i64) -> Result<Vec<InviteRow>, CoreError> {
    const SQL: &str = select_invites!("order by i.created_at desc limit $1");
    Ok(on_pool!(db, |pool| sqlx::query_as(SQL)
        .bind(limit)
        .fetch_all(pool)
        .await)?)
}

/// Revokes an invite that is still unused; false when there is none such.
pub async fn revoke(db: &Db, invite_id: &str, now: DateTime<Utc>) -> Result<bool, CoreError> {
    const SQL: &str = "update invite set revoked_at = $2 \
        where invite_id = $1 and used_at is null and revoked_at is null";
    let n = on_pool!(db, |pool| sqlx::query(SQL)
        .bind(invite_id)
        .bind(now)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}
