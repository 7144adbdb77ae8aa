//! Rows of `refresh_family` and `refresh_token`: sign-in sessions and their rotating tokens.

use chrono::{DateTime, Utc};

use super::{Db, on_pool};
use crate::server::CoreError;

pub struct NewFamily<'a> {
    pub family_id: &'a str,
    pub user_id: &'a str,
    pub token_id: &'a str,
    pub digest: &'a str,
    pub now: DateTime<Utc>,
    pub token_expires_at: DateTime<Utc>,
    pub family_expires_at: DateTime<Utc>,
    pub client_addr: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    /// The administrator opening this session to act as the user.
    pub impersonator_id: Option<&'a str>,
}

/// Starts a session: its family and its first refresh token, together.
pub async fn create_family(db: &Db, f: &NewFamily<'_>) -> Result<(), CoreError> {
    const FAMILY: &str = "insert into refresh_family (family_id, user_id, created_at, last_used_at, \
        expires_at, client_addr, user_agent, impersonator_id) values ($1, $2, $3, $3, $4, $5, $6, $7)";
    const TOKEN: &str = "insert into refresh_token (token_id, family_id, digest, issued_at, expires_at) \
        values ($1, $2, $3, $4, $5)";
    on_pool!(db, |pool| {
        let mut tx = pool.begin().await?;
        sqlx::query(FAMILY)
            .bind(f.family_id)
            .bind(f.user_id)
            .bind(f.now)
            .bind(f.family_expires_at)
            .bind(f.client_addr)
            .bind(f.user_agent)
            .bind(f.impersonator_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(TOKEN)
            .bind(f.token_id)
            .bind(f.family_id)
            .bind(f.digest)
            .bind(f.now)
            .bind(f.token_expires_at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    })?;
    Ok(())
}

/// What presenting a refresh token led to.
#[derive(Debug, PartialEq, Eq)]
pub enum Rotation {
    /// The token was current: it is now used and its successor is stored.
    Rotated { user_id: String, family_id: String },
    /// The token had been used before: the whole family is now revoked.
    Reused { user_id: String, family_id: String },
    /// Unknown, expired, or of a revoked family.
    Invalid,
}

#[derive(sqlx::FromRow)]
struct PresentedRow {
    family_id: String,
    user_id: String,
    used_at: Option<DateTime<Utc>>,
    expires_at: DateTime<Utc>,
    family_expires_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
}

/// Marks the presented token used and stores its successor, in one transaction. The first
/// statement is the conditional write, so two concurrent presentations of one token cannot
/// both succeed: the loser sees it used and revokes the family.
pub async fn rotate(
    db: &Db,
    presented_digest: &str,
    next_token_id: &str,
    next_digest: &str,
    now: DateTime<Utc>,
    next_expires_at: DateTime<Utc>,
) -> Result<Rotation, CoreError> {
    const MARK: &str =
        "update refresh_token set used_at = $2 where digest = $1 and used_at is null";
    const FIND: &str = "select t.family_id, f.user_id, t.used_at, t.expires_at, \
        f.expires_at as family_expires_at, f.revoked_at \
        from refresh_token t join refresh_family f on f.family_id = t.family_id where t.digest = $1";
    const REVOKE: &str = "update refresh_family set revoked_at = $2, revoked_reason = 'reuse' \
        where family_id = $1 and revoked_at is null";
    const INSERT: &str = "insert into refresh_token (token_id, family_id, digest, issued_at, expires_at) \
        values ($1, $2, $3, $4, $5)";
    const TOUCH: &str = "update refresh_family set last_used_at = $2 where family_id = $1";
    let outcome = on_pool!(db, |pool| async {
        let mut tx = pool.begin().await?;
        let marked = sqlx::query(MARK)
            .bind(presented_digest)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let row: Option<PresentedRow> = sqlx::query_as(FIND)
            .bind(presented_digest)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            return Ok::<_, sqlx::Error>(Rotation::Invalid);
        };
        if row.revoked_at.is_some() {
            // Already revoked: nothing to change, and nothing to say beyond "invalid".
            tx.rollback().await?;
            return Ok(Rotation::Invalid);
        }
        if marked == 0 {
            debug_assert!(row.used_at.is_some());
            sqlx::query(REVOKE)
                .bind(&row.family_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok(Rotation::Reused {
                user_id: row.user_id,
                family_id: row.family_id,
            });
        }
        if row.expires_at <= now || row.family_expires_at <= now {
            tx.rollback().await?;
            return Ok(Rotation::Invalid);
        }
        sqlx::query(INSERT)
            .bind(next_token_id)
            .bind(&row.family_id)
            .bind(next_digest)
            .bind(now)
            .bind(next_expires_at.min(row.family_expires_at))
            .execute(&mut *tx)
            .await?;
        sqlx::query(TOUCH)
            .bind(&row.family_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Rotation::Rotated {
            user_id: row.user_id,
            family_id: row.family_id,
        })
    }
    .await)?;
    Ok(outcome)
}

/// Revokes the family a refresh token belongs to; returns its user, family and impersonator
/// when it was open.
pub async fn revoke_by_token(
    db: &Db,
    digest: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Option<(String, String, Option<String>)>, CoreError> {
    const SQL: &str = "update refresh_family set revoked_at = $2, revoked_reason = $3 \
        where revoked_at is null and family_id = (select family_id from refresh_token where digest = $1) \
        returning user_id, family_id, impersonator_id";
    Ok(on_pool!(db, |pool| {
        sqlx::query_as(SQL)
            .bind(digest)
            .bind(now)
            .bind(reason)
            .fetch_optional(pool)
            .await
    })?)
}

/// Revokes every open session of a user; returns how many there were.
pub async fn revoke_all_for_user(
    db: &Db,
    user_id: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<u64, CoreError> {
    const SQL: &str = "update refresh_family set revoked_at = $2, revoked_reason = $3 \
        where user_id = $1 and revoked_at is null";
    Ok(on_pool!(db, |pool| {
        sqlx::query(SQL)
            .bind(user_id)
            .bind(now)
            .bind(reason)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
    })?)
}

/// An open session: not revoked, not past its end.
#[derive(Debug, sqlx::FromRow)]
pub struct OpenFamily {
    /// The administrator acting as the user in this session, their name, and whether they
    /// still are an enabled administrator.
    pub impersonator_id: Option<String>,
    pub impersonator_username: Option<String>,
    pub impersonator_is_admin: Option<bool>,
}

/// The family, while it exists, is not revoked and has not reached its end.
pub async fn open_family(
    db: &Db,
    family_id: &str,
    now: DateTime<Utc>,
) -> Result<Option<OpenFamily>, CoreError> {
    const SQL: &str = "select f.impersonator_id, a.username as impersonator_username, \
        (a.enabled and a.role = 'admin') as impersonator_is_admin \
        from refresh_family f left join app_user a on a.user_id = f.impersonator_id \
        where f.family_id = $1 and f.revoked_at is null and f.expires_at > $2";
    Ok(on_pool!(db, |pool| {
        sqlx::query_as(SQL)
            .bind(family_id)
            .bind(now)
            .fetch_optional(pool)
            .await
    })?)
}

/// Deletes up to `batch` sessions that ended (revoked or past their hard end) before `before`,
/// with their refresh tokens; returns how many.
pub async fn delete_ended(db: &Db, before: DateTime<Utc>, batch: i64) -> Result<u64, CoreError> {
    const SQL: &str = "delete from refresh_family where family_id in \
        (select family_id from refresh_family where coalesce(revoked_at, expires_at) < $1 \
         order by family_id limit $2)";
    Ok(on_pool!(db, |pool| sqlx::query(SQL)
        .bind(before)
        .bind(batch)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?)
}

/// Deletes up to `batch` refresh tokens that were used, or expired, and whose own expiry lies
/// before `before`: presented again they would be refused as expired anyway. Returns how many.
pub async fn delete_spent_tokens(
    db: &Db,
    before: DateTime<Utc>,
    batch: i64,
) -> Result<u64, CoreError> {
    const SQL: &str = "delete from refresh_token where token_id in \
        (select token_id from refresh_token where expires_at < $1 order by token_id limit $2)";
    Ok(on_pool!(db, |pool| sqlx::query(SQL)
        .bind(before)
        .bind(batch)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?)
}
