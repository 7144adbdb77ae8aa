//! Rows of `sso_attempt` and `sso_handoff`: external sign-ins in flight. Each is taken (deleted
//! and returned) in one statement, so a replayed callback or hand-off code finds nothing.

use chrono::{DateTime, Utc};

use super::{Db, on_pool};
use crate::server::CoreError;

pub struct NewAttempt<'a> {
    pub state_digest: &'a str,
    pub provider: &'a str,
    pub code_challenge: &'a str,
    pub nonce: &'a str,
    pub invite_digest: Option<&'a str>,
    pub next_path: Option<&'a str>,
    /// The client's address, an IPv6 /64 as its prefix.
    pub client_prefix: Option<&'a str>,
    pub now: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, sqlx::FromRow)]
pub struct Attempt {
    pub provider: String,
    pub code_challenge: String,
    pub nonce: String,
    pub invite_digest: Option<String>,
    pub next_path: Option<String>,
    pub expires_at: DateTime<Utc>,
}

/// How many attempts are in flight (expired ones included until purged), from one client
/// prefix or from anywhere.
pub async fn count_attempts(db: &Db, client_prefix: Option<&str>) -> Result<i64, CoreError> {
    const SQL: &str = "select count(*) from sso_attempt where $1 is null or client_prefix = $1";
    Ok(on_pool!(db, |pool| sqlx::query_scalar(SQL)
        .bind(client_prefix)
        .fetch_one(pool)
        .await)?)
}

pub async fn insert_attempt(db: &Db, a: &NewAttempt<'_>) -> Result<(), CoreError> {
    const SQL: &str = "insert into sso_attempt (state_digest, provider, code_challenge, nonce, \
        invite_digest, next_path, created_at, expires_at, client_prefix) \
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
    on_pool!(db, |pool| sqlx::query(SQL)
        .bind(a.state_digest)
        .bind(a.provider)
        .bind(a.code_challenge)
        .bind(a.nonce)
        .bind(a.invite_digest)
        .bind(a.next_path)
        .bind(a.now)
        .bind(a.expires_at)
        .bind(a.client_prefix)
        .execute(pool)
        .await
        .map(|_| ()))?;
    Ok(())
}

/// Removes and returns the attempt with this state, expired or not (the caller decides).
pub async fn take_attempt(db: &Db, state_digest: &str) -> Result<Option<Attempt>, CoreError> {
    const SQL: &str = "delete from sso_attempt where state_digest = $1 returning provider, \
        code_challenge, nonce, invite_digest, next_path, expires_at";
    Ok(on_pool!(db, |pool| sqlx::query_as(SQL)
        .bind(state_digest)
        .fetch_optional(pool)
        .await)?)
}

pub struct NewHandoff<'a> {
    pub code_digest: &'a str,
    pub user_id: &'a str,
    pub provider: &'a str,
    pub next_path: Option<&'a str>,
    pub now: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert_handoff(db: &Db, h: &NewHandoff<'_>) -> Result<(), CoreError> {
    const SQL: &str = "insert into sso_handoff (code_digest, user_id, provider, next_path, \
        created_at, expires_at) values ($1, $2, $3, $4, $5, $6)";
    on_pool!(db, |pool| sqlx::query(SQL)
        .bind(h.code_digest)
        .bind(h.user_id)
        .bind(h.provider)
        .bind(h.next_path)
        .bind(h.now)
        .bind(h.expires_at)
        .execute(pool)
        .await
        .map(|_| ()))?;
    Ok(())
}

#[derive(Debug, sqlx::FromRow)]
pub struct Handoff {
    pub user_id: String,
    pub provider: String,
    pub next_path: Option<String>,
}

/// Removes the hand-off with this code and returns it if it had not expired.
pub async fn take_handoff(
    db: &Db,
    code_digest: &str,
    now: DateTime<Utc>,
) -> Result<Option<Handoff>, CoreError> {
    const SQL: &str = "delete from sso_handoff where code_digest = $1 \
        returning user_id, provider, next_path, expires_at";
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        handoff: Handoff,
        expires_at: DateTime<Utc>,
    }
    let row: Option<Row> = on_pool!(db, |pool| sqlx::query_as(SQL)
        .bind(code_digest)
        .fetch_optional(pool)
        .await)?;
    Ok(row.filter(|r| r.expires_at > now).map(|r| r.handoff))
}

/// Forgets attempts and hand-offs nobody finished.
pub async fn purge_expired(db: &Db, now: DateTime<Utc>) -> Result<u64, CoreError> {
    const ATTEMPTS: &str = "delete from sso_attempt where expires_at <= $1";
    const HANDOFFS: &str = "delete from sso_handoff where expires_at <= $1";
    let mut n = 0;
    for sql in [ATTEMPTS, HANDOFFS] {
        n += on_pool!(db, |pool| sqlx::query(sql)
            .bind(now)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
    }
    Ok(n)
}
