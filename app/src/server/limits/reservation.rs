//! What a request holds of its limits between being let through and ending, and why one was
//! refused.

use std::{sync::Arc, time::Duration};

use super::{LimitHolder, Limiter, Metric, limiter::BucketKey};

/// What a request may use, reserved before it is forwarded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Demand {
    /// Prompt estimate plus the most the answer may take.
    pub tokens: i64,
    /// The cost of `tokens` at the model's prices; 0 for an unpriced model.
    pub cost_micros: i64,
}

/// One limit's state as a client sees it in `x-ratelimit-*` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub limit: i64,
    pub remaining: i64,
    /// Until the window ends.
    pub reset: Duration,
}

/// The tightest request and token-per-minute limits that applied, for the `x-ratelimit-*`
/// headers OpenAI's clients read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateHeaders {
    pub requests: Option<Window>,
    pub tokens: Option<Window>,
}

impl RateHeaders {
    pub(super) fn note(&mut self, metric: Metric, window: Window) {
        let slot = match metric {
            Metric::RequestsPerMinute => &mut self.requests,
            Metric::TokensPerMinute => &mut self.tokens,
            _ => return,
        };
        if slot.is_none_or(|w| window.remaining < w.remaining) {
            *slot = Some(window);
        }
    }
}

/// Why a request was not let through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The limit has no room left in this window.
    Exhausted {
        scope: LimitHolder,
        metric: Metric,
        limit: i64,
        retry_after: Duration,
        headers: RateHeaders,
    },
    /// The request alone asks for more than the whole limit: no wait would help.
    TooLarge {
        scope: LimitHolder,
        metric: Metric,
        limit: i64,
        requested: i64,
    },
    /// The shared ledger could not be reached and the deployment fails closed.
    Unavailable,
}

impl Refusal {
    /// The limit concerned, for metrics: `(scope, metric)`.
    pub fn labels(&self) -> (&'static str, &'static str) {
        match self {
            Self::Exhausted { scope, metric, .. } | Self::TooLarge { scope, metric, .. } => {
                (scope.name(), metric.name())
            }
            Self::Unavailable => ("none", "unavailable"),
        }
    }
}

/// A request's hold on its limits. [`Reservation::settle`] replaces the estimate with what was
/// really used; dropped unsettled, it gives back every token and cost it held (the request
/// itself still counts against requests per minute).
#[derive(Debug)]
pub struct Reservation {
    pub(super) limiter: Option<Arc<Limiter>>,
    pub(super) held: Vec<(BucketKey, i64)>,
    pub headers: RateHeaders,
}

impl Reservation {
    /// A request no limit applies to.
    pub fn none() -> Self {
        Self {
            limiter: None,
            held: Vec::new(),
            headers: RateHeaders::default(),
        }
    }

    /// Settles with the real usage; later calls (and the drop) do nothing.
    pub fn settle(&mut self, tokens: i64, cost_micros: i64) {
        let Some(limiter) = self.limiter.take() else {
            return;
        };
        for (key, reserved) in self.held.drain(..) {
            let actual = match key.metric {
                Metric::RequestsPerMinute => reserved,
                Metric::TokensPerMinute | Metric::TokensPerDay | Metric::TokensPerMonth => tokens,
                Metric::CostPerMonth => cost_micros,
            };
            limiter.settle_one(&key, reserved, actual.max(0));
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.settle(0, 0);
    }
}
