//! Rows of `usage_event` and the hourly and daily rollups, written together.

use std::collections::HashMap;

use super::{Db, on_pool};
use crate::server::{
    CoreError,
    usage::{Outcome, UsageEvent},
};

pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 24 * HOUR_MS;

/// Events per multi-row insert: 15 parameters each stays far below both backends' limits.
const EVENTS_PER_INSERT: usize = 256;

/// What a batch adds to one rollup row.
#[derive(Debug, Default, Clone, Copy)]
struct Sums {
    requests: i64,
    errors: i64,
    prompt_tokens: i64,
    completion_tokens: i64,
    cost_micros: i64,
}

/// A rollup row: which table, the bucket's start, user, key ('' for none) and model.
type RollupKey<'a> = (&'static str, i64, &'a str, &'a str, &'a str);

macro_rules! rollup {
    ($table:literal) => {
        concat!(
            "insert into ",
            $table,
            " (bucket_start_ms, user_id, api_key_id, model, requests, errors, prompt_tokens, \
             completion_tokens, cost_micros) values ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             on conflict (bucket_start_ms, user_id, api_key_id, model) do update set \
             requests = ",
            $table,
            ".requests + excluded.requests, errors = ",
            $table,
            ".errors + excluded.errors, prompt_tokens = ",
            $table,
            ".prompt_tokens + excluded.prompt_tokens, completion_tokens = ",
            $table,
            ".completion_tokens + excluded.completion_tokens, cost_micros = ",
            $table,
            ".cost_micros + excluded.cost_micros"
        )
    };
}
const HOURLY: &str = rollup!("usage_hourly");
const DAILY: &str = rollup!("usage_daily");

/// Sums the batch per rollup row, so each row is written once per batch, not once per event.
fn rollups(events: &[UsageEvent]) -> HashMap<RollupKey<'_>, Sums> {
    let mut sums: HashMap<RollupKey<'_>, Sums> = HashMap::new();
    for e in events {
        let error = i64::from(e.outcome != Outcome::Completed || e.status >= 400);
        let key = e.api_key_id.as_deref().unwrap_or("");
        for (table, bucket) in [
            (HOURLY, e.created_ms - e.created_ms.rem_euclid(HOUR_MS)),
            (DAILY, e.created_ms - e.created_ms.rem_euclid(DAY_MS)),
        ] {
            let s = sums
                .entry((table, bucket, &e.user_id, key, &e.model))
                .or_default();
            s.requests += 1;
            s.errors += error;
            s.prompt_tokens += e.prompt_tokens;
            s.completion_tokens += e.completion_tokens;
            s.cost_micros += e.cost_micros;
        }
    }
    sums
}

/// Inserts the events and adds them to their rollups, in one transaction.
pub async fn insert_batch(db: &Db, events: &[UsageEvent]) -> Result<(), CoreError> {
    const EVENT: &str = "insert into usage_event (created_ms, user_id, api_key_id, model, \
        target_id, endpoint, status, outcome, streamed, prompt_tokens, completion_tokens, \
        total_ms, ttfb_ms, cost_micros, estimated, units) ";
    let sums = rollups(events);
    on_pool!(db, |pool| async {
        let mut tx = pool.begin().await?;
        for chunk in events.chunks(EVENTS_PER_INSERT) {
            let mut insert = sqlx::QueryBuilder::new(EVENT);
            insert.push_values(chunk, |mut row, e| {
                row.push_bind(e.created_ms)
                    .push_bind(&e.user_id)
                    .push_bind(&e.api_key_id)
                    .push_bind(&e.model)
                    .push_bind(&e.target_id)
                    .push_bind(e.endpoint as i32)
                    .push_bind(i32::from(e.status))
                    .push_bind(e.outcome as i32)
                    .push_bind(e.streamed)
                    .push_bind(e.prompt_tokens)
                    .push_bind(e.completion_tokens)
                    .push_bind(e.total_ms)
                    .push_bind(e.ttfb_ms)
                    .push_bind(e.cost_micros)
                    .push_bind(e.estimated)
                    .push_bind(e.units);
            });
            insert.build().execute(&mut *tx).await?;
        }
        for ((table, bucket, user, key, model), s) in &sums {
            sqlx::query(*table)
                .bind(bucket)
                .bind(user)
                .bind(key)
                .bind(model)
                .bind(s.requests)
                .bind(s.errors)
                .bind(s.prompt_tokens)
                .bind(s.completion_tokens)
                .bind(s.cost_micros)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    }
    .await)?;
    Ok(())
}

/// Deletes up to `batch` raw events older than `before_ms` (rollups stay); returns how many.
/// Small batches keep each transaction, and so each lock, short.
pub async fn delete_before(db: &Db, before_ms: i64, batch: i64) -> Result<u64, CoreError> {
    const SQL: &str = "delete from usage_event where usage_event_id in \
        (select usage_event_id from usage_event where created_ms < $1 \
         order by created_ms limit $2)";
    let n = on_pool!(db, |pool| sqlx::query(SQL)
        .bind(before_ms)
        .bind(batch)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n)
}
