//! This instance's share of every limit in use: allowance leased from the ledger, what local
//! requests reserved from it, and what must go back. See the module above for the scheme.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use chrono::{DateTime, Utc};

use super::{
    Demand, FailMode, LimitHolder, Limits, Metric, RateHeaders, Refusal, Reservation,
    reservation::Window,
};
use crate::server::{
    CoreError, Db,
    db::limits::{self as ledger, LedgerRow},
};

/// An instance leases this share of a limit at once (or what one request needs, if more):
/// small enough that replicas do not starve each other, large enough that a busy limit costs
/// a ledger write only every few requests.
const LEASE_PARTS: i64 = 20;

#[derive(Debug, Clone, Copy)]
pub struct LimiterSettings {
    pub on_database_error: FailMode,
    /// A lease slower than this counts as the ledger being unreachable.
    pub lease_timeout: Duration,
}

impl Default for LimiterSettings {
    fn default() -> Self {
        Self {
            on_database_error: FailMode::Closed,
            lease_timeout: Duration::from_millis(500),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BucketKey {
    pub(super) subject: Arc<str>,
    pub(super) metric: Metric,
    pub(super) window_start_ms: i64,
}

impl BucketKey {
    fn row(&self) -> LedgerRow<'_> {
        LedgerRow {
            subject: &self.subject,
            metric: self.metric as i32,
            window_start_ms: self.window_start_ms,
        }
    }
}

#[derive(Debug, Default)]
struct Bucket {
    limit: i64,
    window_end_ms: i64,
    /// Leased from the ledger by this instance.
    granted: i64,
    /// Reserved or spent by this instance's requests.
    consumed: i64,
    /// Spent beyond what was leased, not yet added to the ledger.
    owed: i64,
    /// The ledger's total (every instance's leases) when this instance last leased.
    seen_used: i64,
    in_flight: u32,
    /// Reserved from since the last tick: its allowance is kept for the next requests.
    busy: bool,
}

impl Bucket {
    fn free(&self) -> i64 {
        self.granted - self.consumed
    }

    fn window(&self, now_ms: i64) -> Window {
        Window {
            limit: self.limit,
            remaining: (self.limit - self.seen_used + self.free()).clamp(0, self.limit),
            reset: Duration::from_millis(u64::try_from(self.window_end_ms - now_ms).unwrap_or(0)),
        }
    }
}

#[derive(Debug)]
pub struct Limiter {
    db: Db,
    settings: LimiterSettings,
    buckets: Mutex<HashMap<BucketKey, Bucket>>,
}

impl Limiter {
    pub fn new(db: Db, settings: LimiterSettings) -> Self {
        Self {
            db,
            settings,
            buckets: Mutex::default(),
        }
    }

    fn buckets(&self) -> MutexGuard<'_, HashMap<BucketKey, Bucket>> {
        self.buckets.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reserves `demand` from every limit of every subject, all or nothing.
    pub async fn reserve(
        self: &Arc<Self>,
        subjects: &[(LimitHolder, &str, &Limits)],
        demand: Demand,
        now: DateTime<Utc>,
    ) -> Result<Reservation, Refusal> {
        let mut reservation = Reservation {
            limiter: Some(self.clone()),
            held: Vec::new(),
            headers: RateHeaders::default(),
        };
        for (scope, id, limits) in subjects {
            for metric in Metric::ALL {
                let Some(limit) = metric.limit(limits) else {
                    continue;
                };
                let amount = metric.amount(&demand);
                if amount <= 0 {
                    continue; // an unpriced model costs nothing
                }
                if amount > limit {
                    // Dropping `reservation` gives back what was taken so far.
                    return Err(Refusal::TooLarge {
                        scope: *scope,
                        metric,
                        limit,
                        requested: amount,
                    });
                }
                let (start, end) = metric.window(now);
                let key = BucketKey {
                    subject: scope.subject(id).into(),
                    metric,
                    window_start_ms: start,
                };
                match self.take(&key, amount, limit, end, now).await {
                    Ok(window) => {
                        reservation.held.push((key, amount));
                        reservation.headers.note(metric, window);
                    }
                    Err(Some(window)) => {
                        reservation.headers.note(metric, window);
                        return Err(Refusal::Exhausted {
                            scope: *scope,
                            metric,
                            limit,
                            retry_after: window.reset.max(Duration::from_secs(1)),
                            headers: reservation.headers,
                        });
                    }
                    Err(None) => return Err(Refusal::Unavailable),
                }
            }
        }
        Ok(reservation)
    }

    /// Takes `amount` from this instance's allowance, leasing more when it runs short.
    /// `Err(Some(window))`: no room; `Err(None)`: the ledger is unreachable and we fail closed.
    async fn take(
        &self,
        key: &BucketKey,
        amount: i64,
        limit: i64,
        window_end_ms: i64,
        now: DateTime<Utc>,
    ) -> Result<Window, Option<Window>> {
        let now_ms = now.timestamp_millis();
        // A few rounds: another local request may spend what we just leased before we can.
        for _ in 0..4 {
            let need = {
                let mut buckets = self.buckets();
                let b = buckets.entry(key.clone()).or_default();
                b.limit = limit;
                b.window_end_ms = window_end_ms;
                if amount <= b.free() {
                    b.consumed += amount;
                    b.in_flight += 1;
                    b.busy = true;
                    return Ok(b.window(now_ms));
                }
                amount - b.free().max(0)
            };
            let chunk = (limit / LEASE_PARTS).clamp(need, limit);
            match tokio::time::timeout(
                self.settings.lease_timeout,
                self.lease(key, need, chunk, limit),
            )
            .await
            {
                Ok(Ok(Some((granted, used)))) => {
                    let mut buckets = self.buckets();
                    let b = buckets.entry(key.clone()).or_default();
                    b.granted += granted;
                    b.seen_used = b.seen_used.max(used);
                }
                Ok(Ok(None)) => {
                    let used = ledger::used(&self.db, key.row()).await.unwrap_or(limit);
                    let mut buckets = self.buckets();
                    let b = buckets.entry(key.clone()).or_default();
                    b.seen_used = used;
                    return Err(Some(b.window(now_ms)));
                }
                Ok(Err(e)) => return self.unreachable(key, amount, &e.to_string(), now_ms),
                Err(_) => return self.unreachable(key, amount, "lease timed out", now_ms),
            }
        }
        let buckets = self.buckets();
        Err(buckets.get(key).map(|b| b.window(now_ms)))
    }

    /// Leases `chunk`, or only `need` if the chunk no longer fits.
    async fn lease(
        &self,
        key: &BucketKey,
        need: i64,
        chunk: i64,
        limit: i64,
    ) -> Result<Option<(i64, i64)>, CoreError> {
        if let Some(used) = ledger::lease(&self.db, key.row(), chunk, limit).await? {
            return Ok(Some((chunk, used)));
        }
        if chunk > need
            && let Some(used) = ledger::lease(&self.db, key.row(), need, limit).await?
        {
            return Ok(Some((need, used)));
        }
        Ok(None)
    }

    fn unreachable(
        &self,
        key: &BucketKey,
        amount: i64,
        error: &str,
        now_ms: i64,
    ) -> Result<Window, Option<Window>> {
        tracing::warn!(%error, metric = key.metric.name(), "cannot lease from the limit ledger");
        if self.settings.on_database_error == FailMode::Closed {
            return Err(None);
        }
        // Fail open: count it here and write it to the ledger when it is back.
        let mut buckets = self.buckets();
        let b = buckets.entry(key.clone()).or_default();
        let need = (amount - b.free()).max(0);
        b.granted += need;
        b.owed += need;
        b.consumed += amount;
        b.in_flight += 1;
        b.busy = true;
        Ok(b.window(now_ms))
    }

    pub(super) fn settle_one(&self, key: &BucketKey, reserved: i64, actual: i64) {
        let mut buckets = self.buckets();
        let b = buckets.entry(key.clone()).or_default();
        b.consumed += actual - reserved;
        b.in_flight = b.in_flight.saturating_sub(1);
        if b.consumed > b.granted {
            // Used more than was reserved: the ledger must learn of it, even past the limit.
            b.owed += b.consumed - b.granted;
            b.granted = b.consumed;
        }
    }

    /// Periodic bookkeeping: writes what was spent beyond the leases, gives back the unspent
    /// allowance of limits idle since the last tick, and forgets ended windows. Touches the
    /// database only when there is something to write.
    pub async fn tick(&self, now: DateTime<Utc>) -> Result<(), CoreError> {
        let now_ms = now.timestamp_millis();
        let mut writes = Vec::new();
        {
            let mut buckets = self.buckets();
            buckets.retain(|key, b| {
                let ended = b.window_end_ms <= now_ms;
                let mut delta = std::mem::take(&mut b.owed);
                if !ended && !b.busy && b.in_flight == 0 && b.free() > 0 {
                    delta -= b.free();
                    b.granted = b.consumed;
                }
                b.busy = false;
                if delta != 0 {
                    writes.push((key.clone(), delta));
                }
                !(ended && b.in_flight == 0)
            });
        }
        let mut failed = None;
        for (key, delta) in writes {
            if let Err(e) = ledger::adjust(&self.db, key.row(), delta).await {
                // Keep it for the next tick: owed usage must not be lost, nor returned allowance.
                let mut buckets = self.buckets();
                let b = buckets.entry(key).or_default();
                if delta > 0 {
                    b.owed += delta;
                } else {
                    b.granted -= delta;
                }
                failed = Some(e);
            }
        }
        failed.map_or(Ok(()), Err)
    }

    /// Deletes the ledger rows of every window before the previous one (minute rows would
    /// otherwise pile up); returns how many.
    pub async fn prune(&self, now: DateTime<Utc>) -> Result<u64, CoreError> {
        let mut deleted = 0;
        for metric in Metric::ALL {
            let (current, _) = metric.window(now);
            let before = DateTime::from_timestamp_millis(current - 1).unwrap_or(now);
            let (previous, _) = metric.window(before);
            deleted += ledger::prune(&self.db, metric as i32, previous).await?;
        }
        Ok(deleted)
    }
}
