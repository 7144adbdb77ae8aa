//! Deleting raw usage events past their retention, a small batch at a time with pauses in
//! between, so requests writing usage never wait long behind it. Rollups are never deleted.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::server::{CoreError, Db, db};

/// Events deleted per statement.
pub const BATCH: i64 = 2_000;

/// The pause between two batches: other writers get the database in between.
const PAUSE: Duration = Duration::from_millis(50);

/// Deletes every raw event older than `now - keep`; returns how many.
pub async fn purge(db: &Db, keep: Duration, now: DateTime<Utc>) -> Result<u64, CoreError> {
    let keep_ms = i64::try_from(keep.as_millis()).unwrap_or(i64::MAX);
    let cutoff = now.timestamp_millis().saturating_sub(keep_ms);
    let mut total = 0;
    loop {
        let n = db::usage::delete_before(db, cutoff, BATCH).await?;
        total += n;
        if n < BATCH.unsigned_abs() {
            return Ok(total);
        }
        tokio::time::sleep(PAUSE).await;
    }
}
