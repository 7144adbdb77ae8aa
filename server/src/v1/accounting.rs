//! How a `/v1` request ends in the books: its usage event (priced), its limit reservation
//! settled with what it used, and the token metrics, all at once.
//!
//! What it used is the upstream's own count where there is one. Where there is none (the client
//! left, the stream was cut short, the answer carried no usage) it is estimated, never zero: a
//! client must not be able to spend without being charged by hanging up at the right moment.

use std::sync::Arc;

use app::server::{
    Services,
    limits::Reservation,
    metrics::{Metrics, TokenLabels},
    upstreams::registry::Prices,
    usage::{Tokens, Unit, UsageEvent, UsageRecorder},
};

pub struct Accounting {
    recorder: UsageRecorder,
    metrics: Arc<Metrics>,
    reservation: Reservation,
    prices: Prices,
    /// The prompt estimate and the most the answer may take, as reserved.
    estimate: Tokens,
    /// What one image of this request costs, by its quality and size.
    image_price: Option<i64>,
}

/// What a request used, as far as Portcullis can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Used {
    /// Nothing: no upstream did any work for it; the reservation is refunded whole.
    Nothing,
    /// The upstream's own count.
    Reported(Tokens),
    /// A whole answer that reported nothing: charged as reserved.
    Unreported,
    /// Cut short: the prompt (the upstream's figure when it sent one, else the estimate) and
    /// the completion, the larger of the upstream's figure so far and what was relayed.
    Partial {
        reported: Option<Tokens>,
        delivered: i64,
    },
}

impl Accounting {
    pub fn new(
        services: &Services,
        reservation: Reservation,
        prices: Prices,
        estimate: Tokens,
    ) -> Self {
        Self {
            recorder: services.usage.clone(),
            metrics: services.metrics.clone(),
            reservation,
            prices,
            estimate,
            image_price: None,
        }
    }

    /// Prices the request's images by their `quality` and `size` ([`Prices::image_price`]);
    /// the answer's, where it names them, replace the request's.
    pub fn price_images(&mut self, quality: Option<&str>, size: Option<&str>) {
        self.image_price = self.prices.image_price(quality, size);
    }

    /// Records the request's one usage event with what it used.
    pub fn finish(&mut self, mut event: UsageEvent, used: Used) {
        let (tokens, estimated) = match used {
            Used::Nothing => (Tokens::default(), false),
            Used::Reported(t) => (t, false),
            Used::Unreported => (self.estimate, true),
            Used::Partial {
                reported,
                delivered,
            } => {
                let reported = reported.unwrap_or_default();
                let prompt = if reported.prompt_tokens > 0 {
                    reported.prompt_tokens
                } else {
                    self.estimate.prompt_tokens
                };
                let tokens = Tokens {
                    prompt_tokens: prompt,
                    completion_tokens: reported.completion_tokens.max(delivered),
                };
                (tokens, true)
            }
        };
        event.prompt_tokens = tokens.prompt_tokens;
        event.completion_tokens = tokens.completion_tokens;
        event.estimated = estimated;
        event.cost_micros = self
            .prices
            .cost(event.prompt_tokens, event.completion_tokens)
            .saturating_add(match (event.endpoint.unit(), self.image_price) {
                (Unit::Images, Some(each)) => each.max(0).saturating_mul(event.units.max(0)),
                (unit, _) => self.prices.unit_cost(unit, event.units),
            });
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
