//! Reading usage back: series and top models from the rollups, single requests from the events.

use chrono::{DateTime, Utc};

use super::{Db, on_pool};
use crate::server::CoreError;

/// The filter as bound: times in epoch milliseconds, `None` meaning "any".
pub struct Filter<'a> {
    pub since_ms: i64,
    pub until_ms: i64,
    pub user_id: Option<&'a str>,
    pub api_key_id: Option<&'a str>,
    pub model: Option<&'a str>,
    /// Single requests only (the rollups keep no endpoint).
    pub endpoint: Option<i32>,
}

macro_rules! where_rollup {
    () => {
        " where bucket_start_ms >= $1 and bucket_start_ms < $2 and ($3 is null or user_id = $3) \
         and ($4 is null or api_key_id = $4) and ($5 is null or model = $5) "
    };
}

macro_rules! series_sql {
    ($table:literal) => {
        concat!(
            "select bucket_start_ms, cast(sum(requests) as bigint), cast(sum(errors) as bigint), \
             cast(sum(prompt_tokens) as bigint), cast(sum(completion_tokens) as bigint), \
             cast(sum(cost_micros) as bigint) from ",
            $table,
            where_rollup!(),
            "group by bucket_start_ms order by bucket_start_ms"
        )
    };
}

macro_rules! top_sql {
    ($table:literal) => {
        concat!(
            "select model, cast(sum(requests) as bigint), \
             cast(sum(prompt_tokens + completion_tokens) as bigint) as tokens from ",
            $table,
            where_rollup!(),
            "group by model order by tokens desc, model limit 10"
        )
    };
}

pub type SeriesRow = (i64, i64, i64, i64, i64, i64);

/// Per bucket: start, requests, errors, prompt tokens, completion tokens, cost.
pub async fn series(db: &Db, f: &Filter<'_>, hourly: bool) -> Result<Vec<SeriesRow>, CoreError> {
    let sql = if hourly {
        series_sql!("usage_hourly")
    } else {
        series_sql!("usage_daily")
    };
    Ok(on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(f.since_ms)
        .bind(f.until_ms)
        .bind(f.user_id)
        .bind(f.api_key_id)
        .bind(f.model)
        .fetch_all(pool)
        .await)?)
}

/// The ten models with the most tokens: model, requests, tokens.
pub async fn top_models(
    db: &Db,
    f: &Filter<'_>,
    hourly: bool,
) -> Result<Vec<(String, i64, i64)>, CoreError> {
    let sql = if hourly {
        top_sql!("usage_hourly")
    } else {
        top_sql!("usage_daily")
    };
    Ok(on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(f.since_ms)
        .bind(f.until_ms)
        .bind(f.user_id)
        .bind(f.api_key_id)
        .bind(f.model)
        .fetch_all(pool)
        .await)?)
}

#[derive(Debug, sqlx::FromRow)]
pub struct EventRow {
    pub created_ms: i64,
    pub user_id: String,
    pub username: Option<String>,
    pub api_key_id: Option<String>,
    pub key_name: Option<String>,
    pub model: String,
    pub endpoint: i32,
    pub status: i32,
    pub outcome: i32,
    pub streamed: bool,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub total_ms: i64,
    pub ttfb_ms: Option<i64>,
    pub cost_micros: i64,
    pub units: i64,
}

macro_rules! where_events {
    () => {
        " where e.created_ms >= $1 and e.created_ms < $2 and ($3 is null or e.user_id = $3) \
         and ($4 is null or e.api_key_id = $4) and ($5 is null or e.model = $5) \
         and ($6 is null or e.endpoint = $6) "
    };
}

/// Single requests, newest first, and how many match in all.
pub async fn events(
    db: &Db,
    f: &Filter<'_>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<EventRow>, i64), CoreError> {
    const ROWS: &str = concat!(
        "select e.created_ms, e.user_id, u.username, e.api_key_id, k.name as key_name, e.model, \
         e.endpoint, e.status, e.outcome, e.streamed, e.prompt_tokens, e.completion_tokens, \
         e.total_ms, e.ttfb_ms, e.cost_micros, e.units from usage_event e \
         left join app_user u on u.user_id = e.user_id \
         left join api_key k on k.api_key_id = e.api_key_id",
        where_events!(),
        "order by e.created_ms desc, e.usage_event_id desc limit $7 offset $8"
    );
    const COUNT: &str = concat!("select count(*) from usage_event e", where_events!());
    Ok(on_pool!(db, |pool| async {
        let rows = sqlx::query_as(ROWS)
            .bind(f.since_ms)
            .bind(f.until_ms)
            .bind(f.user_id)
            .bind(f.api_key_id)
            .bind(f.model)
            .bind(f.endpoint)
            .bind(limit)
            .bind(offset)
            .fetch_all(pool)
            .await?;
        let total: i64 = sqlx::query_scalar(COUNT)
            .bind(f.since_ms)
            .bind(f.until_ms)
            .bind(f.user_id)
            .bind(f.api_key_id)
            .bind(f.model)
            .bind(f.endpoint)
            .fetch_one(pool)
            .await?;
        Ok::<_, sqlx::Error>((rows, total))
    }
    .await)?)
}

pub fn at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}
