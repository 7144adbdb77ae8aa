//! Rows of `usage_event` and the hourly and daily rollups, written together.

use super::{Db, on_pool};
use crate::server::{
    CoreError,
    usage::{Outcome, UsageEvent},
};

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// Inserts the events and adds them to their rollups, in one transaction.
pub async fn insert_batch(db: &Db, events: &[UsageEvent]) -> Result<(), CoreError> {
    const EVENT: &str = "insert into usage_event (created_ms, user_id, api_key_id, model, target_id, \
        endpoint, status, outcome, streamed, prompt_tokens, completion_tokens, total_ms, ttfb_ms) \
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";
    macro_rules! rollup {
        ($table:literal) => {
            concat!(
                "insert into ",
                $table,
                " (bucket_start_ms, user_id, api_key_id, model, requests, errors, \
                 prompt_tokens, completion_tokens) values ($1, $2, $3, $4, 1, $5, $6, $7) \
                 on conflict (bucket_start_ms, user_id, api_key_id, model) do update set \
                 requests = ",
                $table,
                ".requests + 1, errors = ",
                $table,
                ".errors + excluded.errors, \
                 prompt_tokens = ",
                $table,
                ".prompt_tokens + excluded.prompt_tokens, \
                 completion_tokens = ",
                $table,
                ".completion_tokens + excluded.completion_tokens"
            )
        };
    }
    const HOURLY: &str = rollup!("usage_hourly");
    const DAILY: &str = rollup!("usage_daily");
    on_pool!(db, |pool| async {
        let mut tx = pool.begin().await?;
        for e in events {
            sqlx::query(EVENT)
                .bind(e.created_ms)
                .bind(&e.user_id)
                .bind(&e.api_key_id)
                .bind(&e.model)
                .bind(&e.target_id)
                .bind(e.endpoint as i32)
                .bind(i32::from(e.status))
                .bind(e.outcome as i32)
                .bind(e.streamed)
                .bind(e.prompt_tokens)
                .bind(e.completion_tokens)
                .bind(e.total_ms)
                .bind(e.ttfb_ms)
                .execute(&mut *tx)
                .await?;
            let error = i64::from(e.outcome != Outcome::Completed || e.status >= 400);
            let key = e.api_key_id.as_deref().unwrap_or("");
            for (sql, bucket) in [
                (HOURLY, e.created_ms - e.created_ms.rem_euclid(HOUR_MS)),
                (DAILY, e.created_ms - e.created_ms.rem_euclid(DAY_MS)),
            ] {
                sqlx::query(sql)
                    .bind(bucket)
                    .bind(&e.user_id)
                    .bind(key)
                    .bind(&e.model)
                    .bind(error)
                    .bind(e.prompt_tokens)
                    .bind(e.completion_tokens)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await
    }
    .await)?;
    Ok(())
}
