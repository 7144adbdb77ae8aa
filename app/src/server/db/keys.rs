//! Rows of `api_key` and `api_key_model`.

use chrono::{DateTime, Utc};

use super::{Db, on_pool};
use crate::server::CoreError;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KeyRow {
    pub api_key_id: String,
    pub public_id: String,
    pub user_id: String,
    pub owner: String,
    pub name: String,
    pub format: String,
    pub secret_digest: String,
    pub secret_sealed: Option<String>,
    pub previous_digest: Option<String>,
    pub previous_valid_until: Option<DateTime<Utc>>,
    pub enabled: bool,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub allowed_cidrs: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub managed_by_admin: bool,
}

macro_rules! select_keys {
    ($rest:literal) => {
        concat!(
            "select k.api_key_id, k.public_id, k.user_id, u.username as owner, k.name, k.format, \
             k.secret_digest, k.secret_sealed, k.previous_digest, k.previous_valid_until, k.enabled, \
             k.expires_at, k.revoked_at, k.allowed_cidrs, k.created_at, k.updated_at, k.last_used_at, \
             k.managed_by_admin from api_key k join app_user u on u.user_id = k.user_id ",
            $rest
        )
    };
}

pub struct NewKeyRow<'a> {
    pub api_key_id: &'a str,
    pub public_id: &'a str,
    pub user_id: &'a str,
    pub name: &'a str,
    pub format: &'a str,
    pub secret_digest: &'a str,
    pub secret_sealed: Option<&'a str>,
    pub expires_at: Option<DateTime<Utc>>,
    pub allowed_cidrs: Option<&'a str>,
    pub models: &'a [String],
    pub managed_by_admin: bool,
    pub now: DateTime<Utc>,
}

/// Inserts a key and its model allowlist together; with `cap`, only while its owner has fewer
/// keys in use (not revoked) than that. False when at the cap.
pub async fn insert(db: &Db, k: &NewKeyRow<'_>, cap: Option<i64>) -> Result<bool, CoreError> {
    // Written first: it takes the owner's row lock (PostgreSQL) or the write lock (SQLite), so
    // two creations racing for one owner cannot both pass the count.
    const LOCK: &str = "update app_user set user_id = user_id where user_id = $1";
    const COUNT: &str = "select count(*) from api_key where user_id = $1 and revoked_at is null";
    const KEY: &str = "insert into api_key (api_key_id, public_id, user_id, name, format, \
        secret_digest, secret_sealed, expires_at, allowed_cidrs, created_at, updated_at, \
        managed_by_admin) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11)";
    const MODEL: &str = "insert into api_key_model (api_key_id, model) values ($1, $2)";
    let inserted = on_pool!(db, |pool| async {
        let mut tx = pool.begin().await?;
        if let Some(cap) = cap {
            sqlx::query(LOCK).bind(k.user_id).execute(&mut *tx).await?;
            let n: i64 = sqlx::query_scalar(COUNT)
                .bind(k.user_id)
                .fetch_one(&mut *tx)
                .await?;
            if n >= cap {
                tx.rollback().await?;
                return Ok::<_, sqlx::Error>(false);
            }
        }
        sqlx::query(KEY)
            .bind(k.api_key_id)
            .bind(k.public_id)
            .bind(k.user_id)
            .bind(k.name)
            .bind(k.format)
            .bind(k.secret_digest)
            .bind(k.secret_sealed)
            .bind(k.expires_at)
            .bind(k.allowed_cidrs)
            .bind(k.now)
            .bind(k.managed_by_admin)
            .execute(&mut *tx)
            .await?;
        for m in k.models {
            sqlx::query(MODEL)
                .bind(k.api_key_id)
                .bind(m)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(true)
    }
    .await)?;
    Ok(inserted)
}

pub async fn find(db: &Db, api_key_id: &str) -> Result<Option<KeyRow>, CoreError> {
    const SQL: &str = select_keys!("where k.api_key_id = $1");
    Ok(on_pool!(db, |pool| sqlx::query_as(SQL)
        .bind(api_key_id)
        .fetch_optional(pool)
        .await)?)
}

/// A page of keys by creation, of all users or one.
pub async fn list(
    db: &Db,
    user_id: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<Vec<KeyRow>, CoreError> {
    const SQL: &str = select_keys!(
        "where $1 is null or k.user_id = $1 order by k.created_at, k.api_key_id limit $2 offset $3"
    );
    Ok(on_pool!(db, |pool| sqlx::query_as(SQL)
        .bind(user_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(pool)
        .await)?)
}

/// The model allowlists of these keys: (key id, model), by model.
pub async fn models_of(db: &Db, ids: &[&str]) -> Result<Vec<(String, String)>, CoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    // Bounded statements: a page is at most a thousand keys.
    for chunk in ids.chunks(500) {
        let rows: Vec<(String, String)> = on_pool!(db, |pool| {
            let mut q = sqlx::QueryBuilder::new(
                "select api_key_id, model from api_key_model where api_key_id in (",
            );
            let mut list = q.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            q.push(") order by model");
            q.build_query_as().fetch_all(pool).await
        })?;
        out.extend(rows);
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(out)
}

/// Changes to a key, applied together; `None` leaves a field as it is.
#[derive(Default)]
pub struct KeyChanges<'a> {
    pub name: Option<&'a str>,
    pub enabled: Option<bool>,
    pub expires_at: Option<Option<DateTime<Utc>>>,
    pub allowed_cidrs: Option<Option<&'a str>>,
    pub models: Option<&'a [String]>,
    /// An administrator made these changes: the key is managed from now on.
    pub by_admin: bool,
}

pub async fn update(
    db: &Db,
    api_key_id: &str,
    c: &KeyChanges<'_>,
    now: DateTime<Utc>,
) -> Result<bool, CoreError> {
    const UPDATE: &str = "update api_key set name = coalesce($2, name), enabled = coalesce($3, enabled), \
        expires_at = case when $4 then $5 else expires_at end, \
        allowed_cidrs = case when $6 then $7 else allowed_cidrs end, updated_at = $8, \
        managed_by_admin = managed_by_admin or $9 where api_key_id = $1";
    const CLEAR: &str = "delete from api_key_model where api_key_id = $1";
    const MODEL: &str = "insert into api_key_model (api_key_id, model) values ($1, $2)";
    let n = on_pool!(db, |pool| async {
        let mut tx = pool.begin().await?;
        let n = sqlx::query(UPDATE)
            .bind(api_key_id)
            .bind(c.name)
            .bind(c.enabled)
            .bind(c.expires_at.is_some())
            .bind(c.expires_at.flatten())
            .bind(c.allowed_cidrs.is_some())
            .bind(c.allowed_cidrs.flatten())
            .bind(now)
            .bind(c.by_admin)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 1
            && let Some(models) = c.models
        {
            sqlx::query(CLEAR)
                .bind(api_key_id)
                .execute(&mut *tx)
                .await?;
            for m in models {
                sqlx::query(MODEL)
                    .bind(api_key_id)
                    .bind(m)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(n)
    }
    .await)?;
    Ok(n == 1)
}

/// Replaces the secret; the previous one keeps working until `previous_valid_until` (or stops
/// at once when that is `None`).
pub async fn rotate(
    db: &Db,
    api_key_id: &str,
    digest: &str,
    sealed: Option<&str>,
    previous_valid_until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<bool, CoreError> {
    const SQL: &str = "update api_key set \
        previous_digest = case when $4 is null then null else secret_digest end, \
        previous_valid_until = $4, secret_digest = $2, secret_sealed = $3, updated_at = $5 \
        where api_key_id = $1 and revoked_at is null";
    let n = on_pool!(db, |pool| {
        sqlx::query(SQL)
            .bind(api_key_id)
            .bind(digest)
            .bind(sealed)
            .bind(previous_valid_until)
            .bind(now)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(n == 1)
}

/// Revokes for good: a revoked key never works again.
pub async fn revoke(db: &Db, api_key_id: &str, now: DateTime<Utc>) -> Result<bool, CoreError> {
    const SQL: &str = "update api_key set revoked_at = $2, previous_digest = null, \
        previous_valid_until = null, updated_at = $2 where api_key_id = $1 and revoked_at is null";
    let n = on_pool!(db, |pool| {
        sqlx::query(SQL)
            .bind(api_key_id)
            .bind(now)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(n == 1)
}

pub async fn delete(db: &Db, api_key_id: &str) -> Result<bool, CoreError> {
    const SQL: &str = "delete from api_key where api_key_id = $1";
    let n = on_pool!(db, |pool| {
        sqlx::query(SQL)
            .bind(api_key_id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(n == 1)
}

/// Records when keys were last used; called in batches, never on the request path.
pub async fn record_use(
    db: &Db,
    uses: &[(std::sync::Arc<str>, DateTime<Utc>)],
) -> Result<(), CoreError> {
    const SQL: &str = "update api_key set last_used_at = $2 where api_key_id = $1 \
        and (last_used_at is null or last_used_at < $2)";
    on_pool!(db, |pool| async {
        let mut tx = pool.begin().await?;
        for (id, at) in uses {
            sqlx::query(SQL)
                .bind(&**id)
                .bind(*at)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    }
    .await)?;
    Ok(())
}

/// Replaces a user's model permissions and key-creation right together.
pub async fn set_user_permissions(
    db: &Db,
    user_id: &str,
    all_models: bool,
    models: &[String],
    may_create_keys: bool,
    now: DateTime<Utc>,
) -> Result<bool, CoreError> {
    const USER: &str = "update app_user set all_models = $2, may_create_keys = $3, updated_at = $4 where user_id = $1";
    const CLEAR: &str = "delete from user_model where user_id = $1";
    const MODEL: &str = "insert into user_model (user_id, model) values ($1, $2)";
    let n = on_pool!(db, |pool| async {
        let mut tx = pool.begin().await?;
        let n = sqlx::query(USER)
            .bind(user_id)
            .bind(all_models)
            .bind(may_create_keys)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 1 {
            sqlx::query(CLEAR).bind(user_id).execute(&mut *tx).await?;
            for m in models {
                sqlx::query(MODEL)
                    .bind(user_id)
                    .bind(m)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(n)
    }
    .await)?;
    Ok(n == 1)
}

/// Marks the key as managed by an administrator (see `keys::manage`).
pub async fn mark_managed(db: &Db, api_key_id: &str) -> Result<(), CoreError> {
    const SQL: &str = "update api_key set managed_by_admin = true where api_key_id = $1";
    on_pool!(db, |pool| sqlx::query(SQL)
        .bind(api_key_id)
        .execute(pool)
        .await
        .map(drop))?;
    Ok(())
}
