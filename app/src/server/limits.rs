//! Request, token and cost limits per user and per API key, enforced before a request is
//! forwarded and settled when it ends.
//!
//! How they hold under concurrency and across replicas: a request first *reserves* what it may
//! use (one request; its prompt estimate plus `max_tokens` or a configured estimate; the cost of
//! that at the model's prices) from every limit that applies, all or nothing. Reservations are
//! taken from allowance this instance has leased from the shared `limit_ledger` table, where a
//! conditional update never lets the sum of all instances' leases pass the limit. When the
//! request ends the reservation is settled with the real usage: what was not used goes back to
//! the instance's allowance (a failed request gives back all its tokens), and what an
//! instance does not spend goes back to the ledger once it has been idle for a tick.
//!
//! So a limit is exceeded only by what requests use beyond their reservation (a prompt longer
//! than estimated, or an answer longer than the estimate where `max_tokens` was not given), and
//! only by requests that were already in flight. Allowance leased by one instance and not yet
//! spent cannot be used by another until it is returned (at most one tick after it goes idle):
//! the limit is never multiplied, at worst briefly under-used.

pub mod limiter;
pub mod manage;
pub mod reservation;

use chrono::{DateTime, Datelike, TimeZone, Utc};

pub use crate::types::{LimitHolder, Limits};
pub use limiter::{Limiter, LimiterSettings};
pub use reservation::{Demand, RateHeaders, Refusal, Reservation};

/// What a limit counts, and over which window; stored as a small integer in `limit_ledger`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    RequestsPerMinute = 1,
    TokensPerMinute = 2,
    TokensPerDay = 3,
    TokensPerMonth = 4,
    CostPerMonth = 5,
}

impl Metric {
    pub const ALL: [Self; 5] = [
        Self::RequestsPerMinute,
        Self::TokensPerMinute,
        Self::TokensPerDay,
        Self::TokensPerMonth,
        Self::CostPerMonth,
    ];

    /// The setting's name, as in [`Limits`], metrics and error messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::RequestsPerMinute => "requests_per_minute",
            Self::TokensPerMinute => "tokens_per_minute",
            Self::TokensPerDay => "tokens_per_day",
            Self::TokensPerMonth => "tokens_per_month",
            Self::CostPerMonth => "cost_per_month",
        }
    }

    pub fn limit(self, limits: &Limits) -> Option<i64> {
        match self {
            Self::RequestsPerMinute => limits.requests_per_minute,
            Self::TokensPerMinute => limits.tokens_per_minute,
            Self::TokensPerDay => limits.tokens_per_day,
            Self::TokensPerMonth => limits.tokens_per_month,
            Self::CostPerMonth => limits.cost_per_month_micros,
        }
    }

    /// How much of this metric `demand` takes.
    pub fn amount(self, demand: &Demand) -> i64 {
        match self {
            Self::RequestsPerMinute => 1,
            Self::TokensPerMinute | Self::TokensPerDay | Self::TokensPerMonth => demand.tokens,
            Self::CostPerMonth => demand.cost_micros,
        }
    }

    /// The fixed window this metric counts in that holds `now`, as epoch-ms `[start, end)`.
    pub fn window(self, now: DateTime<Utc>) -> (i64, i64) {
        const MINUTE_MS: i64 = 60_000;
        const DAY_MS: i64 = 24 * 60 * MINUTE_MS;
        let ms = now.timestamp_millis();
        match self {
            Self::RequestsPerMinute | Self::TokensPerMinute => {
                let start = ms - ms.rem_euclid(MINUTE_MS);
                (start, start + MINUTE_MS)
            }
            Self::TokensPerDay => {
                let start = ms - ms.rem_euclid(DAY_MS);
                (start, start + DAY_MS)
            }
            Self::TokensPerMonth | Self::CostPerMonth => month_window(now),
        }
    }
}

fn month_window(now: DateTime<Utc>) -> (i64, i64) {
    let (y, m) = (now.year(), now.month());
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    let at = |y, m| {
        Utc.with_ymd_and_hms(y, m, 1, 0, 0, 0)
            .single()
            .map_or(0, |t| t.timestamp_millis())
    };
    (at(y, m), at(ny, nm))
}

/// Whose limit, as metrics name it and as `limit_ledger` stores it.
impl LimitHolder {
    pub fn name(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Key => "key",
        }
    }

    /// The subject as `limit_ledger` stores it.
    pub fn subject(self, id: &str) -> String {
        match self {
            Self::User => format!("u:{id}"),
            Self::Key => format!("k:{id}"),
        }
    }
}

/// What to do when the ledger cannot be reached (database down or slower than the lease
/// timeout).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FailMode {
    /// Refuse requests that need a lease (503); limits never pass their bound.
    #[default]
    Closed,
    /// Let them through on this instance's own count, and write it to the ledger later.
    Open,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> i64 {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
            .unwrap()
            .timestamp_millis()
    }

    #[test]
    fn windows_are_utc_minutes_days_and_calendar_months() {
        let t = Utc.with_ymd_and_hms(2026, 12, 31, 23, 59, 30).unwrap();
        let minute = (ms(2026, 12, 31, 23, 59), ms(2027, 1, 1, 0, 0));
        let day = (ms(2026, 12, 31, 0, 0), ms(2027, 1, 1, 0, 0));
        let month = (ms(2026, 12, 1, 0, 0), ms(2027, 1, 1, 0, 0));
        assert_eq!(Metric::RequestsPerMinute.window(t), minute);
        assert_eq!(Metric::TokensPerDay.window(t), day);
        assert_eq!(Metric::CostPerMonth.window(t), month);
        let february = Utc.with_ymd_and_hms(2028, 2, 29, 12, 0, 0).unwrap();
        assert_eq!(
            Metric::TokensPerMonth.window(february),
            (ms(2028, 2, 1, 0, 0), ms(2028, 3, 1, 0, 0))
        );
    }
}
