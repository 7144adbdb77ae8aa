//! A target's record on this instance: requests in flight, cool-down after a failure, and what
//! administrators see of its recent successes and failures. Kept across routing reloads, by
//! target id, so a reload neither forgets a cool-down nor loses count of requests in flight.

use std::{
    sync::{
        Mutex, PoisonError,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};

use crate::types::TargetHealth;

#[derive(Debug, Default)]
pub struct Health {
    in_flight: AtomicUsize,
    record: Mutex<Record>,
}

#[derive(Debug, Default)]
struct Record {
    cooling_until: Option<Instant>,
    successes: u64,
    failures: u64,
    last_success_at: Option<DateTime<Utc>>,
    last_failure: Option<(DateTime<Utc>, String)>,
}

impl Health {
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    pub(super) fn started(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn ended(&self) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
    }

    pub fn is_cooling(&self, now: Instant) -> bool {
        self.record().cooling_until.is_some_and(|t| now < t)
    }

    pub fn succeeded(&self) {
        let mut r = self.record();
        r.successes += 1;
        r.last_success_at = Some(Utc::now());
    }

    /// Records a failure; with `cooldown`, takes the target out of rotation for that long.
    pub fn failed(&self, reason: String, cooldown: Option<Duration>) {
        let mut r = self.record();
        r.failures += 1;
        r.last_failure = Some((Utc::now(), reason));
        if let Some(c) = cooldown {
            r.cooling_until = Some(Instant::now() + c);
        }
    }

    pub fn snapshot(&self) -> TargetHealth {
        let now = Instant::now();
        let r = self.record();
        TargetHealth {
            in_flight: self.in_flight() as u64,
            cooling_down_ms: r
                .cooling_until
                .filter(|t| now < *t)
                .map(|t| u64::try_from((t - now).as_millis()).unwrap_or(u64::MAX)),
            successes: r.successes,
            failures: r.failures,
            last_success_at: r.last_success_at,
            last_failure_at: r.last_failure.as_ref().map(|f| f.0),
            last_failure: r.last_failure.as_ref().map(|f| f.1.clone()),
        }
    }

    fn record(&self) -> std::sync::MutexGuard<'_, Record> {
        self.record.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
