//! How a `/v1` request ends in the books: its usage event (priced), its limit reservation
//! settled with the real token count, and the token metrics, all at once.

use std::sync::Arc;

use app::server::{
    Services,
    limits::Reservation,
    metrics::{Metrics, TokenLabels},
    upstreams::registry::Prices,
    usage::{UsageEvent, UsageRecorder},
};

pub struct Accounting {
    recorder: UsageRecorder,
    metrics: Arc<Metrics>,
    reservation: Reservation,
    prices: Prices,
}

impl Accounting {
    pub fn new(services: &Services, reservation: Reservation, prices: Prices) -> Self {
        Self {
            recorder: services.usage.clone(),
            metrics: services.metrics.clone(),
            reservation,
            prices,
        }
    }

    /// Records the request's one usage event; a failed request reports no tokens, so its
    /// reservation is refunded whole.
    pub fn finish(&mut self, mut event: UsageEvent) {
        event.cost_micros = self
            .prices
            .cost(event.prompt_tokens, event.completion_tokens);
        self.reservation.settle(
            event.prompt_tokens.saturating_add(event.completion_tokens),
            event.cost_micros,
        );
        for (kind, n) in [
            ("prompt", event.prompt_tokens),
            ("completion", event.completion_tokens),
        ] {
            if n > 0 {
                self.metrics
                    .tokens
                    .get_or_create(&TokenLabels {
                        model: event.model.clone(),
                        kind,
                    })
                    .inc_by(n.unsigned_abs());
            }
        }
        self.recorder.record(event);
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }
}
