//! Deleting what is kept only for a while: raw usage events past their retention (rollups are
//! never deleted), audit entries past theirs, ended sign-in sessions and spent refresh tokens.
//! A small batch at a time with pauses in between, so requests writing never wait long behind
//! it.

use std::{future::Future, time::Duration};

use chrono::{DateTime, Utc};

use crate::server::{CoreError, Db, Services, db};

/// Rows deleted per statement.
pub const BATCH: i64 = 2_000;

/// The pause between two batches: other writers get the database in between.
const PAUSE: Duration = Duration::from_millis(50);

/// How long after its own expiry a refresh token is kept: presented again, it is refused
/// either way.
const SPENT_TOKEN_GRACE: chrono::Duration = chrono::Duration::days(1);

/// Runs `delete` (one batch) until a batch comes back short; returns how many it deleted.
async fn in_batches<F, Fut>(delete: F) -> Result<u64, CoreError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<u64, CoreError>>,
{
    let mut total = 0;
    loop {
        let n = delete().await?;
        total += n;
        if n < BATCH.unsigned_abs() {
            return Ok(total);
        }
        tokio::time::sleep(PAUSE).await;
    }
}

fn before(now: DateTime<Utc>, keep: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(keep)
        .ok()
        .and_then(|k| now.checked_sub_signed(k))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Deletes every raw event older than `now - keep`; returns how many.
pub async fn purge(db: &Db, keep: Duration, now: DateTime<Utc>) -> Result<u64, CoreError> {
    let keep_ms = i64::try_from(keep.as_millis()).unwrap_or(i64::MAX);
    let cutoff = now.timestamp_millis().saturating_sub(keep_ms);
    in_batches(|| db::usage::delete_before(db, cutoff, BATCH)).await
}

/// What one pass of [`purge_records`] deleted.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Purged {
    pub audit_entries: u64,
    pub sessions: u64,
    pub refresh_tokens: u64,
    pub responses: u64,
}

/// Deletes audit entries past their retention, sessions that ended longer ago than theirs,
/// refresh tokens a day past their expiry, and stored responses past theirs.
pub async fn purge_records(services: &Services, now: DateTime<Utc>) -> Result<Purged, CoreError> {
    let db = &services.db;
    let audit_entries = match services.audit_retention {
        Some(keep) => {
            let cutoff = before(now, keep);
            in_batches(|| db::audit::delete_before(db, cutoff, BATCH)).await?
        }
        None => 0,
    };
    let ended = before(now, services.session_retention);
    let sessions = in_batches(|| db::sessions::delete_ended(db, ended, BATCH)).await?;
    let spent = now - SPENT_TOKEN_GRACE;
    let refresh_tokens = in_batches(|| db::sessions::delete_spent_tokens(db, spent, BATCH)).await?;
    // Expired ones are never read; deleted even after storage was turned off.
    let responses = in_batches(|| db::responses::delete_expired(db, now, BATCH)).await?;
    Ok(Purged {
        audit_entries,
        sessions,
        refresh_tokens,
        responses,
    })
}
