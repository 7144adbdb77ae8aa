//! Rows of `model` and `model_target`: the public model names clients ask for and where each
//! is served.

use chrono::{DateTime, Utc};

use super::{Db, on_pool};
use crate::server::CoreError;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ModelRow {
    pub model_id: String,
    pub name: String,
    pub enabled: bool,
    pub source: String,
    pub created_at: DateTime<Utc>,
    pub input_price_micros: Option<i64>,
    pub output_price_micros: Option<i64>,
    pub unit_price_micros: Option<i64>,
    /// A JSON object of image prices by quality and size.
    pub image_prices: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TargetRow {
    pub target_id: String,
    pub model_id: String,
    pub upstream_id: String,
    pub upstream_name: String,
    pub upstream_model: String,
    pub weight: i64,
    pub enabled: bool,
}

pub async fn list(db: &Db) -> Result<Vec<ModelRow>, CoreError> {
    const SQL: &str = "select model_id, name, enabled, source, created_at, input_price_micros, \
        output_price_micros, unit_price_micros, image_prices from model order by name";
    Ok(on_pool!(db, |pool| sqlx::query_as(SQL)
        .fetch_all(pool)
        .await)?)
}

pub async fn find(db: &Db, model_id: &str) -> Result<Option<ModelRow>, CoreError> {
    const SQL: &str = "select model_id, name, enabled, source, created_at, input_price_micros, \
        output_price_micros, unit_price_micros, image_prices from model where model_id = $1";
    Ok(on_pool!(db, |pool| sqlx::query_as(SQL)
        .bind(model_id)
        .fetch_optional(pool)
        .await)?)
}

/// Every target of every model, or of one.
pub async fn targets(db: &Db, model_id: Option<&str>) -> Result<Vec<TargetRow>, CoreError> {
    const SQL: &str = "select t.target_id, t.model_id, t.upstream_id, u.name as upstream_name, \
        t.upstream_model, t.weight, t.enabled from model_target t \
        join upstream u on u.upstream_id = t.upstream_id \
        where $1 is null or t.model_id = $1 order by t.model_id, u.name, t.upstream_model";
    Ok(on_pool!(db, |pool| sqlx::query_as(SQL)
        .bind(model_id)
        .fetch_all(pool)
        .await)?)
}

/// A target to write: upstream, the name it knows the model by, weight, enabled.
pub struct TargetWrite {
    pub upstream_id: String,
    pub upstream_model: String,
    pub weight: i64,
    pub enabled: bool,
}

const INSERT_TARGET: &str = "insert into model_target (target_id, model_id, upstream_id, \
    upstream_model, weight, enabled) values ($1, $2, $3, $4, $5, $6)";

/// Inserts an administrator's model with its targets.
pub async fn insert(
    db: &Db,
    model_id: &str,
    name: &str,
    enabled: bool,
    targets: &[TargetWrite],
    now: DateTime<Utc>,
) -> Result<(), CoreError> {
    const MODEL: &str = "insert into model (model_id, name, enabled, source, created_at, \
        updated_at) values ($1, $2, $3, 'admin', $4, $4)";
    on_pool!(db, |pool| async {
        let mut tx = pool.begin().await?;
        sqlx::query(MODEL)
            .bind(model_id)
            .bind(name)
            .bind(enabled)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        for t in targets {
            sqlx::query(INSERT_TARGET)
                .bind(uuid::Uuid::now_v7().to_string())
                .bind(model_id)
                .bind(&t.upstream_id)
                .bind(&t.upstream_model)
                .bind(t.weight)
                .bind(t.enabled)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    }
    .await)?;
    Ok(())
}

/// Changes an administrator's model; `targets`, when given, replaces them all. False when
/// there is no such row (or it belongs to the configuration file).
pub async fn update(
    db: &Db,
    model_id: &str,
    name: Option<&str>,
    enabled: Option<bool>,
    targets: Option<&[TargetWrite]>,
    now: DateTime<Utc>,
) -> Result<bool, CoreError> {
    const MODEL: &str = "update model set name = coalesce($2, name), \
        enabled = coalesce($3, enabled), updated_at = $4 where model_id = $1 and source = 'admin'";
    const EXISTING: &str =
        "select target_id, upstream_id, upstream_model from model_target where model_id = $1";
    const CLEAR: &str = "delete from model_target where model_id = $1";
    Ok(on_pool!(db, |pool| async {
        let mut tx = pool.begin().await?;
        let n = sqlx::query(MODEL)
            .bind(model_id)
            .bind(name)
            .bind(enabled)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 1
            && let Some(targets) = targets
        {
            // A target that stays keeps its id, and with it its health on every instance.
            let kept: Vec<(String, String, String)> = sqlx::query_as(EXISTING)
                .bind(model_id)
                .fetch_all(&mut *tx)
                .await?;
            sqlx::query(CLEAR).bind(model_id).execute(&mut *tx).await?;
            for t in targets {
                let id = kept
                    .iter()
                    .find(|k| k.1 == t.upstream_id && k.2 == t.upstream_model)
                    .map_or_else(|| uuid::Uuid::now_v7().to_string(), |k| k.0.clone());
                sqlx::query(INSERT_TARGET)
                    .bind(id)
                    .bind(model_id)
                    .bind(&t.upstream_id)
                    .bind(&t.upstream_model)
                    .bind(t.weight)
                    .bind(t.enabled)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(n == 1)
    }
    .await)?)
}

pub async fn delete(db: &Db, model_id: &str) -> Result<bool, CoreError> {
    const SQL: &str = "delete from model where model_id = $1 and source = 'admin'";
    let n = on_pool!(db, |pool| sqlx::query(SQL)
        .bind(model_id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Sets a model's prices (per million tokens and per unit, in micro-units); false if there is
/// no such model.
pub async fn set_prices(
    db: &Db,
    model_id: &str,
    input: Option<i64>,
    output: Option<i64>,
    unit: Option<i64>,
    images: Option<&str>,
    now: DateTime<Utc>,
) -> Result<bool, CoreError> {
    const SQL: &str = "update model set input_price_micros = $2, output_price_micros = $3, \
        updated_at = $4, unit_price_micros = $5, image_prices = $6 where model_id = $1";
    let n = on_pool!(db, |pool| sqlx::query(SQL)
        .bind(model_id)
        .bind(input)
        .bind(output)
        .bind(now)
        .bind(unit)
        .bind(images)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}
