//! What the routing table is built from: enabled upstreams, models' targets, discovered models.

use chrono::{DateTime, Utc};

use super::{Db, on_pool};
use crate::server::CoreError;

/// The `routing` change counter, bumped by triggers on every routing table (migration 0003).
pub async fn revision(db: &Db) -> Result<i64, CoreError> {
    const SQL: &str = "select value from change_counter where name = 'routing'";
    Ok(on_pool!(db, |pool| sqlx::query_scalar(SQL)
        .fetch_one(pool)
        .await)?)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UpstreamRow {
    pub upstream_id: String,
    pub name: String,
    pub base_url: String,
    /// `openai`, `openai_responses` or `anthropic` (see `UpstreamAdminRow::api`).
    pub api: String,
    pub credential_sealed: Option<String>,
    pub extra_headers: Option<String>,
    pub connect_timeout_ms: i64,
    pub idle_timeout_ms: i64,
    pub discover_models: bool,
    /// A JSON list of paths, as `UpstreamAdminRow::extra_paths`.
    pub extra_paths: Option<String>,
}

pub async fn enabled_upstreams(db: &Db) -> Result<Vec<UpstreamRow>, CoreError> {
    const SQL: &str = concat!(
        "select upstream_id, name, base_url, ",
        "case when responses_api then 'openai_responses' else api end as api, credential_sealed, extra_headers, ",
        "connect_timeout_ms, idle_timeout_ms, discover_models, extra_paths from upstream \
         where enabled"
    );
    Ok(on_pool!(db, |pool| sqlx::query_as(SQL)
        .fetch_all(pool)
        .await)?)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TargetRow {
    pub model: String,
    pub created_at: DateTime<Utc>,
    pub target_id: String,
    pub upstream_id: String,
    pub upstream_model: String,
    pub weight: i64,
    pub input_price_micros: Option<i64>,
    pub output_price_micros: Option<i64>,
    pub unit_price_micros: Option<i64>,
    /// A JSON object of image prices by quality and size.
    pub image_prices: Option<String>,
}

/// Enabled targets of enabled models, by model then target.
pub async fn enabled_targets(db: &Db) -> Result<Vec<TargetRow>, CoreError> {
    const SQL: &str = "select m.name as model, m.created_at, t.target_id, t.upstream_id, \
        t.upstream_model, t.weight, m.input_price_micros, m.output_price_micros, \
        m.unit_price_micros, m.image_prices \
        from model m join model_target t on t.model_id = m.model_id \
        where m.enabled and t.enabled order by m.name, t.target_id";
    Ok(on_pool!(db, |pool| sqlx::query_as(SQL)
        .fetch_all(pool)
        .await)?)
}

/// Every declared model name, enabled or not: a declared name is never taken by discovery.
pub async fn declared_names(db: &Db) -> Result<Vec<String>, CoreError> {
    const SQL: &str = "select name from model";
    Ok(on_pool!(db, |pool| sqlx::query_scalar(SQL)
        .fetch_all(pool)
        .await)?)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DiscoveredRow {
    pub upstream_id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// Models discovered on upstreams that are enabled and still offer discovery.
pub async fn discovered(db: &Db) -> Result<Vec<DiscoveredRow>, CoreError> {
    const SQL: &str = "select d.upstream_id, d.name, d.created_at from discovered_model d \
        join upstream u on u.upstream_id = d.upstream_id \
        where u.enabled and u.discover_models order by d.name, d.upstream_id";
    Ok(on_pool!(db, |pool| sqlx::query_as(SQL)
        .fetch_all(pool)
        .await)?)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DiscoveredPriceRow {
    pub name: String,
    pub input_price_micros: Option<i64>,
    pub output_price_micros: Option<i64>,
    pub unit_price_micros: Option<i64>,
    pub image_prices: Option<String>,
}

/// Prices set for discovered models.
pub async fn discovered_prices(db: &Db) -> Result<Vec<DiscoveredPriceRow>, CoreError> {
    const SQL: &str = "select name, input_price_micros, output_price_micros, unit_price_micros, \
        image_prices from discovered_price";
    Ok(on_pool!(db, |pool| sqlx::query_as(SQL)
        .fetch_all(pool)
        .await)?)
}

/// Sets (or, with every price `None`, removes) a discovered model's prices.
pub async fn set_discovered_price(
    db: &Db,
    name: &str,
    input: Option<i64>,
    output: Option<i64>,
    unit: Option<i64>,
    images: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), CoreError> {
    const UPSERT: &str = "insert into discovered_price (name, input_price_micros, \
        output_price_micros, unit_price_micros, updated_at, image_prices) \
        values ($1, $2, $3, $5, $4, $6) \
        on conflict (name) do update set input_price_micros = excluded.input_price_micros, \
        output_price_micros = excluded.output_price_micros, \
        unit_price_micros = excluded.unit_price_micros, image_prices = excluded.image_prices, \
        updated_at = excluded.updated_at";
    const DELETE: &str = "delete from discovered_price where name = $1";
    if input.is_none() && output.is_none() && unit.is_none() && images.is_none() {
        on_pool!(db, |pool| sqlx::query(DELETE)
            .bind(name)
            .execute(pool)
            .await
            .map(drop))?;
    } else {
        on_pool!(db, |pool| sqlx::query(UPSERT)
            .bind(name)
            .bind(input)
            .bind(output)
            .bind(now)
            .bind(unit)
            .bind(images)
            .execute(pool)
            .await
            .map(drop))?;
    }
    Ok(())
}
