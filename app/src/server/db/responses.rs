//! Rows of `stored_response`: Responses API answers kept for a while, each readable only by the
//! user whose request made it.

use chrono::{DateTime, Utc};

use super::{Db, on_pool};
use crate::server::CoreError;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredResponse {
    pub response_id: String,
    pub previous_response_id: Option<String>,
    /// This turn's input items, as a JSON list.
    pub input: String,
    /// The response object, as JSON.
    pub response: String,
}

pub struct NewStoredResponse<'a> {
    pub response_id: &'a str,
    pub user_id: &'a str,
    pub api_key_id: Option<&'a str>,
    pub model: &'a str,
    pub previous_response_id: Option<&'a str>,
    pub input: &'a str,
    pub response: &'a str,
    pub now: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Keeps a response; an id already kept (an upstream that reused one) keeps the first.
pub async fn insert(db: &Db, r: &NewStoredResponse<'_>) -> Result<(), CoreError> {
    const SQL: &str = "insert into stored_response (response_id, user_id, api_key_id, model, \
        previous_response_id, input, response, created_at, expires_at) \
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9) on conflict (response_id) do nothing";
    on_pool!(db, |pool| sqlx::query(SQL)
        .bind(r.response_id)
        .bind(r.user_id)
        .bind(r.api_key_id)
        .bind(r.model)
        .bind(r.previous_response_id)
        .bind(r.input)
        .bind(r.response)
        .bind(r.now)
        .bind(r.expires_at)
        .execute(pool)
        .await
        .map(|_| ()))?;
    Ok(())
}

/// The user's response `id`, unless it expired.
pub async fn find(
    db: &Db,
    user_id: &str,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Option<StoredResponse>, CoreError> {
    const SQL: &str = "select response_id, previous_response_id, input, response \
        from stored_response where response_id = $1 and user_id = $2 and expires_at > $3";
    Ok(on_pool!(db, |pool| sqlx::query_as(SQL)
        .bind(id)
        .bind(user_id)
        .bind(now)
        .fetch_optional(pool)
        .await)?)
}

/// Deletes the user's response `id`; whether there was one.
pub async fn delete(db: &Db, user_id: &str, id: &str) -> Result<bool, CoreError> {
    const SQL: &str = "delete from stored_response where response_id = $1 and user_id = $2";
    Ok(on_pool!(db, |pool| sqlx::query(SQL)
        .bind(id)
        .bind(user_id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected() > 0))?)
}

/// Deletes up to `batch` expired responses; how many.
pub async fn delete_expired(db: &Db, now: DateTime<Utc>, batch: i64) -> Result<u64, CoreError> {
    const SQL: &str = "delete from stored_response where response_id in \
        (select response_id from stored_response where expires_at <= $1 limit $2)";
    Ok(on_pool!(db, |pool| sqlx::query(SQL)
        .bind(now)
        .bind(batch)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?)
}
