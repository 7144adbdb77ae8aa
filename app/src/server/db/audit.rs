//! Rows of `audit_log`.

use chrono::{DateTime, Utc};

use super::{Db, on_pool};
use crate::server::CoreError;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRow {
    pub audit_id: i64,
    pub created_at: DateTime<Utc>,
    pub actor_user_id: Option<String>,
    pub actor_username: Option<String>,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub client_addr: Option<String>,
    pub success: bool,
    pub details: Option<String>,
    pub impersonator_username: Option<String>,
}

pub struct NewAuditRow<'a> {
    pub created_at: DateTime<Utc>,
    pub actor_user_id: Option<&'a str>,
    pub actor_username: Option<&'a str>,
    pub action: &'a str,
    pub target_type: Option<&'a str>,
    pub target_id: Option<&'a str>,
    pub client_addr: Option<&'a str>,
    pub success: bool,
    pub details: Option<String>,
    pub impersonator_user_id: Option<&'a str>,
    pub impersonator_username: Option<&'a str>,
}

pub async fn insert(db: &Db, r: &NewAuditRow<'_>) -> Result<(), CoreError> {
    const SQL: &str = "insert into audit_log (created_at, actor_user_id, actor_username, action, \
        target_type, target_id, client_addr, success, details, impersonator_user_id, \
        impersonator_username) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
    on_pool!(db, |pool| {
        sqlx::query(SQL)
            .bind(r.created_at)
            .bind(r.actor_user_id)
            .bind(r.actor_username)
            .bind(r.action)
            .bind(r.target_type)
            .bind(r.target_id)
            .bind(r.client_addr)
            .bind(r.success)
            .bind(&r.details)
            .bind(r.impersonator_user_id)
            .bind(r.impersonator_username)
            .execute(pool)
            .await
            .map(|_| ())
    })?;
    Ok(())
}

/// Newest first; `action` filters when given.
pub async fn list(
    db: &Db,
    action: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<Vec<AuditRow>, CoreError> {
    const SQL: &str = "select audit_id, created_at, actor_user_id, actor_username, action, \
        target_type, target_id, client_addr, success, details, impersonator_username from audit_log \
        where $1 is null or action = $1 order by audit_id desc limit $2 offset $3";
    Ok(on_pool!(db, |pool| {
        sqlx::query_as(SQL)
            .bind(action)
            .bind(limit)
            .bind(offset)
            .fetch_all(pool)
            .await
    })?)
}

/// Entries matching every given filter, newest first, and how many match in all.
pub async fn query(
    db: &Db,
    q: &crate::types::AuditQuery,
    limit: i64,
    offset: i64,
) -> Result<(Vec<AuditRow>, i64), CoreError> {
    macro_rules! filtered {
        ($select:literal, $tail:literal) => {
            concat!(
                $select,
                " from audit_log where ($1 is null or action = $1) \
                  and ($2 is null or actor_user_id = $2) and ($3 is null or target_id = $3) \
                  and ($4 is null or created_at >= $4) and ($5 is null or created_at < $5) ",
                $tail
            )
        };
    }
    const ROWS: &str = filtered!(
        "select audit_id, created_at, actor_user_id, actor_username, action, target_type, \
         target_id, client_addr, success, details, impersonator_username",
        "order by audit_id desc limit $6 offset $7"
    );
    const COUNT: &str = filtered!("select count(*)", "");
    let (rows, total) = on_pool!(db, |pool| {
        let rows = sqlx::query_as(ROWS)
            .bind(&q.action)
            .bind(&q.actor_user_id)
            .bind(&q.target_id)
            .bind(q.since)
            .bind(q.until)
            .bind(limit)
            .bind(offset)
            .fetch_all(pool)
            .await?;
        let total: i64 = sqlx::query_scalar(COUNT)
            .bind(&q.action)
            .bind(&q.actor_user_id)
            .bind(&q.target_id)
            .bind(q.since)
            .bind(q.until)
            .fetch_one(pool)
            .await?;
        Ok::<_, sqlx::Error>((rows, total))
    })?;
    Ok((rows, total))
}

/// Deletes up to `batch` entries older than `before`; returns how many.
pub async fn delete_before(db: &Db, before: DateTime<Utc>, batch: i64) -> Result<u64, CoreError> {
    const SQL: &str = "delete from audit_log where audit_id in \
        (select audit_id from audit_log where created_at < $1 order by created_at limit $2)";
    Ok(on_pool!(db, |pool| sqlx::query(SQL)
        .bind(before)
        .bind(batch)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?)
}
