//! Rows of `limit_ledger`: what all instances together have leased from each limit per window.

use super::{Db, on_pool};
use crate::{
    server::CoreError,
    types::{LimitHolder, Limits},
};

/// One limit's window: whose, what, and when it starts.
#[derive(Debug, Clone, Copy)]
pub struct LedgerRow<'a> {
    pub subject: &'a str,
    pub metric: i32,
    pub window_start_ms: i64,
}

/// Leases `amount` more from the window if that keeps it within `limit`; returns what the
/// window then holds, or `None` (nothing taken) if `amount` does not fit. The check and the
/// write are one statement, so leases taken concurrently by any number of instances never
/// together pass the limit.
pub async fn lease(
    db: &Db,
    row: LedgerRow<'_>,
    amount: i64,
    limit: i64,
) -> Result<Option<i64>, CoreError> {
    const LEASE: &str = "insert into limit_ledger (subject, metric, window_start_ms, used) \
        values ($1, $2, $3, $4) on conflict (subject, metric, window_start_ms) do update \
        set used = limit_ledger.used + excluded.used \
        where limit_ledger.used + excluded.used <= $5 returning used";
    if amount > limit {
        return Ok(None);
    }
    let used = on_pool!(db, |pool| sqlx::query_scalar::<_, i64>(LEASE)
        .bind(row.subject)
        .bind(row.metric)
        .bind(row.window_start_ms)
        .bind(amount)
        .bind(limit)
        .fetch_optional(pool)
        .await)?;
    Ok(used)
}

/// Adds `delta` to the window unconditionally: allowance given back (negative), or usage
/// beyond what was leased (positive).
pub async fn adjust(db: &Db, row: LedgerRow<'_>, delta: i64) -> Result<(), CoreError> {
    const ADD: &str = "insert into limit_ledger (subject, metric, window_start_ms, used) \
        values ($1, $2, $3, $4) on conflict (subject, metric, window_start_ms) do update \
        set used = limit_ledger.used + excluded.used";
    const GIVE_BACK: &str = "update limit_ledger set used = used + $4 \
        where subject = $1 and metric = $2 and window_start_ms = $3";
    let sql = if delta >= 0 { ADD } else { GIVE_BACK };
    on_pool!(db, |pool| sqlx::query(sql)
        .bind(row.subject)
        .bind(row.metric)
        .bind(row.window_start_ms)
        .bind(delta)
        .execute(pool)
        .await
        .map(|_| ()))?;
    Ok(())
}

/// What the window holds now; 0 if nothing was leased from it.
pub async fn used(db: &Db, row: LedgerRow<'_>) -> Result<i64, CoreError> {
    const USED: &str = "select used from limit_ledger \
        where subject = $1 and metric = $2 and window_start_ms = $3";
    let used = on_pool!(db, |pool| sqlx::query_scalar::<_, i64>(USED)
        .bind(row.subject)
        .bind(row.metric)
        .bind(row.window_start_ms)
        .fetch_optional(pool)
        .await)?;
    Ok(used.unwrap_or(0))
}

/// Forgets the metric's windows that started before `before_ms`; returns how many.
pub async fn prune(db: &Db, metric: i32, before_ms: i64) -> Result<u64, CoreError> {
    const PRUNE: &str = "delete from limit_ledger where metric = $1 and window_start_ms < $2";
    let n = on_pool!(db, |pool| sqlx::query(PRUNE)
        .bind(metric)
        .bind(before_ms)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n)
}

macro_rules! limits_sql {
    ($table:literal, $row:literal, $writable:literal) => {
        (
            concat!(
                "select requests_per_minute, tokens_per_minute, tokens_per_day, tokens_per_month, \
                 cost_per_month_micros from ",
                $table,
                " where ",
                $row
            ),
            concat!(
                "update ",
                $table,
                " set requests_per_minute = $2, tokens_per_minute = $3, tokens_per_day = $4, \
                 tokens_per_month = $5, cost_per_month_micros = $6, updated_at = $7 where ",
                $row,
                $writable
            ),
        )
    };
}

/// (read, write) statements of a holder's limits (`app_user` and `api_key` have the same
/// columns); a revoked key's limits can no longer be changed.
fn limits_sql(holder: LimitHolder) -> (&'static str, &'static str) {
    match holder {
        LimitHolder::User => limits_sql!("app_user", "user_id = $1", ""),
        LimitHolder::Key => limits_sql!("api_key", "api_key_id = $1", " and revoked_at is null"),
    }
}

type LimitColumns = (
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

/// The limits of a user or key; `None` if there is no such row.
pub async fn limits_of(
    db: &Db,
    holder: LimitHolder,
    id: &str,
) -> Result<Option<Limits>, CoreError> {
    let (select, _) = limits_sql(holder);
    let row: Option<LimitColumns> = on_pool!(db, |pool| sqlx::query_as(select)
        .bind(id)
        .fetch_optional(pool)
        .await)?;
    Ok(row.map(|(rpm, tpm, tpd, tpmo, cost)| Limits {
        requests_per_minute: rpm,
        tokens_per_minute: tpm,
        tokens_per_day: tpd,
        tokens_per_month: tpmo,
        cost_per_month_micros: cost,
    }))
}

/// Replaces the limits of a user or key; false if there is no such row.
pub async fn set_limits(
    db: &Db,
    holder: LimitHolder,
    id: &str,
    limits: &Limits,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool, CoreError> {
    let (_, update) = limits_sql(holder);
    let n = on_pool!(db, |pool| sqlx::query(update)
        .bind(id)
        .bind(limits.requests_per_minute)
        .bind(limits.tokens_per_minute)
        .bind(limits.tokens_per_day)
        .bind(limits.tokens_per_month)
        .bind(limits.cost_per_month_micros)
        .bind(now)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Tokens used since `day_start_ms` and since `month_start_ms`, and the cost since the latter,
/// by a user or a key, from the daily rollups.
pub async fn spent(
    db: &Db,
    holder: LimitHolder,
    id: &str,
    day_start_ms: i64,
    month_start_ms: i64,
) -> Result<(i64, i64, i64), CoreError> {
    macro_rules! spent_sql {
        ($column:literal) => {
            concat!(
                "select cast(coalesce(sum(case when bucket_start_ms >= $2 \
                 then prompt_tokens + completion_tokens else 0 end), 0) as bigint), \
                 cast(coalesce(sum(prompt_tokens + completion_tokens), 0) as bigint), \
                 cast(coalesce(sum(cost_micros), 0) as bigint) \
                 from usage_daily where ",
                $column,
                " = $1 and bucket_start_ms >= $3"
            )
        };
    }
    let sql = match holder {
        LimitHolder::User => spent_sql!("user_id"),
        LimitHolder::Key => spent_sql!("api_key_id"),
    };
    Ok(on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(id)
        .bind(day_start_ms)
        .bind(month_start_ms)
        .fetch_one(pool)
        .await)?)
}
