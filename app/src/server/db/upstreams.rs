//! Rows of `upstream` and `discovered_model`, for administration and discovery.

use chrono::{DateTime, Utc};

use super::{Db, on_pool};
use crate::server::CoreError;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UpstreamAdminRow {
    pub upstream_id: String,
    pub name: String,
    pub base_url: String,
    /// The API's name as `UpstreamApi` spells it: stored as `api` and `responses_api`, so
    /// `openai_responses` is `api = 'openai'` with `responses_api` set.
    pub api: String,
    pub credential_sealed: Option<String>,
    pub extra_headers: Option<String>,
    pub connect_timeout_ms: i64,
    pub idle_timeout_ms: i64,
    pub discover_models: bool,
    pub enabled: bool,
    pub source: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub discovered_at: Option<DateTime<Utc>>,
    pub discovery_error: Option<String>,
    /// Further paths clients may call on it through the gateway, as a JSON list.
    pub extra_paths: Option<String>,
}

impl UpstreamAdminRow {
    /// The fields routing needs, for building a client from a row (tested before it is used).
    pub fn routing(&self) -> super::routing::UpstreamRow {
        super::routing::UpstreamRow {
            upstream_id: self.upstream_id.clone(),
            name: self.name.clone(),
            base_url: self.base_url.clone(),
            api: self.api.clone(),
            credential_sealed: self.credential_sealed.clone(),
            extra_headers: self.extra_headers.clone(),
            connect_timeout_ms: self.connect_timeout_ms,
            idle_timeout_ms: self.idle_timeout_ms,
            extra_paths: self.extra_paths.clone(),
            discover_models: self.discover_models,
        }
    }
}

macro_rules! select_upstreams {
    ($rest:literal) => {
        concat!(
            "select upstream_id, name, base_url, case when responses_api then 'openai_responses' else api end as api, \
             credential_sealed, extra_headers, connect_timeout_ms, idle_timeout_ms, discover_models, enabled, source, created_at, \
             updated_at, discovered_at, discovery_error, extra_paths from upstream ",
            $rest
        )
    };
}

pub async fn list(db: &Db) -> Result<Vec<UpstreamAdminRow>, CoreError> {
    const SQL: &str = select_upstreams!("order by name");
    Ok(on_pool!(db, |pool| sqlx::query_as(SQL)
        .fetch_all(pool)
        .await)?)
}

pub async fn find(db: &Db, upstream_id: &str) -> Result<Option<UpstreamAdminRow>, CoreError> {
    const SQL: &str = select_upstreams!("where upstream_id = $1");
    Ok(on_pool!(db, |pool| sqlx::query_as(SQL)
        .bind(upstream_id)
        .fetch_optional(pool)
        .await)?)
}

/// What discovery last found, upstream by upstream.
pub async fn discovered_names(db: &Db) -> Result<Vec<(String, String)>, CoreError> {
    const SQL: &str = "select upstream_id, name from discovered_model order by upstream_id, name";
    Ok(on_pool!(db, |pool| sqlx::query_as(SQL)
        .fetch_all(pool)
        .await)?)
}

/// An upstream row to write whole: a new one, or an administrator's edit of an existing one.
pub struct UpstreamWrite<'a> {
    pub upstream_id: &'a str,
    pub name: &'a str,
    pub base_url: &'a str,
    pub api: &'a str,
    pub credential_sealed: Option<&'a str>,
    pub extra_headers: &'a str,
    pub connect_timeout_ms: i64,
    pub idle_timeout_ms: i64,
    pub discover_models: bool,
    pub enabled: bool,
    pub now: DateTime<Utc>,
    /// A JSON list.
    pub extra_paths: &'a str,
}

pub async fn insert(db: &Db, u: &UpstreamWrite<'_>) -> Result<(), CoreError> {
    const SQL: &str = "insert into upstream (upstream_id, name, base_url, credential_sealed, \
        extra_headers, connect_timeout_ms, idle_timeout_ms, discover_models, enabled, api, \
        responses_api, source, created_at, updated_at, extra_paths) \
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9, case when $11 = 'openai_responses' then 'openai' else $11 end, \
        $11 = 'openai_responses', 'admin', $10, $10, $12)";
    on_pool!(db, |pool| sqlx::query(SQL)
        .bind(u.upstream_id)
        .bind(u.name)
        .bind(u.base_url)
        .bind(u.credential_sealed)
        .bind(u.extra_headers)
        .bind(u.connect_timeout_ms)
        .bind(u.idle_timeout_ms)
        .bind(u.discover_models)
        .bind(u.enabled)
        .bind(u.now)
        .bind(u.api)
        .bind(u.extra_paths)
        .execute(pool)
        .await
        .map(|_| ()))?;
    Ok(())
}

/// Rewrites an administrator's upstream; false when there is no such row (or it belongs to
/// the configuration file).
pub async fn update(db: &Db, u: &UpstreamWrite<'_>) -> Result<bool, CoreError> {
    const SQL: &str = "update upstream set name = $2, base_url = $3, credential_sealed = $4, \
        extra_headers = $5, connect_timeout_ms = $6, idle_timeout_ms = $7, discover_models = $8, \
        enabled = $9, updated_at = $10, \
        api = case when $11 = 'openai_responses' then 'openai' else $11 end, \
        responses_api = ($11 = 'openai_responses'), extra_paths = $12 \
        where upstream_id = $1 and source = 'admin'";
    let n = on_pool!(db, |pool| sqlx::query(SQL)
        .bind(u.upstream_id)
        .bind(u.name)
        .bind(u.base_url)
        .bind(u.credential_sealed)
        .bind(u.extra_headers)
        .bind(u.connect_timeout_ms)
        .bind(u.idle_timeout_ms)
        .bind(u.discover_models)
        .bind(u.enabled)
        .bind(u.now)
        .bind(u.api)
        .bind(u.extra_paths)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Deletes an administrator's upstream and, by cascade, the targets on it.
pub async fn delete(db: &Db, upstream_id: &str) -> Result<bool, CoreError> {
    const SQL: &str = "delete from upstream where upstream_id = $1 and source = 'admin'";
    let n = on_pool!(db, |pool| sqlx::query(SQL)
        .bind(upstream_id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Records a successful discovery; the model rows are rewritten only when the list changed,
/// so an unchanged list costs no routing reload anywhere. Returns whether it changed. Two
/// refreshes of one upstream may overlap (an administrator's and the periodic one): inserts
/// tolerate each other.
pub async fn set_discovered(
    db: &Db,
    upstream_id: &str,
    names: &[String],
    now: DateTime<Utc>,
) -> Result<bool, CoreError> {
    const CURRENT: &str = "select name from discovered_model where upstream_id = $1";
    const REMOVE: &str = "delete from discovered_model where upstream_id = $1 and name = $2";
    const INSERT: &str = "insert into discovered_model (upstream_id, name, created_at) values ($1, $2, $3) \
        on conflict (upstream_id, name) do nothing";
    const MARK: &str = "update upstream set discovered_at = $2, discovery_error = null \
        where upstream_id = $1";
    let mut wanted: Vec<&str> = names.iter().map(String::as_str).collect();
    wanted.sort_unstable();
    wanted.dedup();
    Ok(on_pool!(db, |pool| async {
        let mut tx = pool.begin().await?;
        // Written first: the write lock is taken before the read, so an overlapping refresh
        // waits instead of failing to upgrade its read lock (SQLite answers that with "locked").
        sqlx::query(MARK)
            .bind(upstream_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let current: Vec<String> = sqlx::query_scalar(CURRENT)
            .bind(upstream_id)
            .fetch_all(&mut *tx)
            .await?;
        let mut changed = false;
        // Names seen before keep their first-seen time.
        for gone in current.iter().filter(|c| !wanted.contains(&c.as_str())) {
            changed = true;
            sqlx::query(REMOVE)
                .bind(upstream_id)
                .bind(gone)
                .execute(&mut *tx)
                .await?;
        }
        for new in wanted.iter().filter(|w| !current.iter().any(|c| c == *w)) {
            changed = true;
            sqlx::query(INSERT)
                .bind(upstream_id)
                .bind(new)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(changed)
    }
    .await)?)
}

/// Records a failed discovery; what was found before stays.
pub async fn set_discovery_error(db: &Db, upstream_id: &str, error: &str) -> Result<(), CoreError> {
    const SQL: &str = "update upstream set discovery_error = $2 where upstream_id = $1";
    on_pool!(db, |pool| sqlx::query(SQL)
        .bind(upstream_id)
        .bind(error)
        .execute(pool)
        .await
        .map(|_| ()))?;
    Ok(())
}
