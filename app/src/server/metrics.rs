//! What `/metrics` shows Prometheus: traffic, errors, latency split into the time Portcullis
//! added and the upstream's, stream time to first byte, tokens, the usage queue, upstream
//! target health and refused requests. Label values are bounded: endpoints and codes are
//! fixed sets, and a model is named only if the routing table knows it.

use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};

use super::{keys::KeyCache, upstreams::Registry as Routing, usage::UsageRecorder};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub endpoint: &'static str,
    pub model: String,
    pub status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    pub endpoint: &'static str,
    pub model: String,
    pub code: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EndpointLabels {
    pub endpoint: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ModelLabels {
    pub model: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TokenLabels {
    pub model: String,
    pub kind: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TargetLabels {
    pub model: String,
    pub upstream: String,
    pub target: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LimitLabels {
    pub scope: &'static str,
    pub limit: &'static str,
}

fn latency() -> Histogram {
    // 50 µs to about 27 min: gateway overhead and long generations on one scale.
    Histogram::new(exponential_buckets(0.000_05, 2.0, 25))
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub errors: Family<ErrorLabels, Counter>,
    pub duration: Histograms<EndpointLabels>,
    pub overhead: Histograms<EndpointLabels>,
    pub upstream: Histograms<EndpointLabels>,
    pub stream_first_byte: Histograms<ModelLabels>,
    pub tokens: Family<TokenLabels, Counter>,
    pub limit_refusals: Family<LimitLabels, Counter>,
    usage_queue: Gauge,
    usage_dropped: Counter,
    target_up: Family<TargetLabels, Gauge>,
    target_in_flight: Family<TargetLabels, Gauge>,
    keys_cached: Gauge,
    access_revision: Gauge,
    key_full_loads: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("portcullis");
        let m = Self {
            requests: Family::default(),
            errors: Family::default(),
            duration: Family::new_with_constructor(latency),
            overhead: Family::new_with_constructor(latency),
            upstream: Family::new_with_constructor(latency),
            stream_first_byte: Family::new_with_constructor(latency),
            tokens: Family::default(),
            limit_refusals: Family::default(),
            usage_queue: Gauge::default(),
            usage_dropped: Counter::default(),
            target_up: Family::default(),
            target_in_flight: Family::default(),
            keys_cached: Gauge::default(),
            access_revision: Gauge::default(),
            key_full_loads: Counter::default(),
            registry: Registry::default(),
        };
        registry.register("requests", "/v1 requests answered", m.requests.clone());
        registry.register(
            "errors",
            "/v1 requests answered with an error, by code",
            m.errors.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Time from a /v1 request's arrival to its response headers",
            m.duration.clone(),
        );
        registry.register(
            "overhead_seconds",
            "Time Portcullis itself added to a forwarded /v1 request (all but the upstream's)",
            m.overhead.clone(),
        );
        registry.register(
            "upstream_duration_seconds",
            "Time the upstream took: to the whole answer, or to a stream's headers",
            m.upstream.clone(),
        );
        registry.register(
            "stream_first_byte_seconds",
            "Time from a streamed request's arrival to its first relayed event",
            m.stream_first_byte.clone(),
        );
        registry.register(
            "tokens",
            "Tokens used, as upstreams reported them",
            m.tokens.clone(),
        );
        registry.register(
            "limit_refusals",
            "Requests refused by a usage limit (429), or because limits could not be checked",
            m.limit_refusals.clone(),
        );
        registry.register(
            "usage_queue_depth",
            "Usage events waiting to be written",
            m.usage_queue.clone(),
        );
        registry.register(
            "usage_events_dropped",
            "Usage events dropped because the queue was full",
            m.usage_dropped.clone(),
        );
        registry.register(
            "upstream_target_up",
            "1 if a target takes traffic on this instance, 0 while it cools down after failures",
            m.target_up.clone(),
        );
        registry.register(
            "upstream_target_in_flight",
            "Requests in flight on a target on this instance",
            m.target_in_flight.clone(),
        );
        registry.register(
            "api_keys_cached",
            "Usable API keys in this instance's key cache",
            m.keys_cached.clone(),
        );
        registry.register(
            "access_revision",
            "The access change this instance's key cache has applied (equal across up-to-date replicas)",
            m.access_revision.clone(),
        );
        registry.register(
            "key_cache_full_loads",
            "Times this instance loaded every key: once at start, then only after falling behind the change log",
            m.key_full_loads.clone(),
        );
        Self { registry, ..m }
    }
}

impl Metrics {
    /// The text exposition (OpenMetrics, which Prometheus reads), with the gauges read now.
    pub fn render(&self, usage: &UsageRecorder, routing: &Routing, keys: &KeyCache) -> String {
        let cache = keys.stats();
        self.keys_cached
            .set(i64::try_from(cache.keys).unwrap_or(i64::MAX));
        self.access_revision.set(cache.revision);
        self.key_full_loads
            .inc_by(cache.full_loads.saturating_sub(self.key_full_loads.get()));
        self.usage_queue
            .set(i64::try_from(usage.queued()).unwrap_or(i64::MAX));
        let dropped = usage.dropped();
        self.usage_dropped
            .inc_by(dropped.saturating_sub(self.usage_dropped.get()));
        self.target_up.clear();
        self.target_in_flight.clear();
        let now = std::time::Instant::now();
        for model in routing.models() {
            for t in &model.targets {
                let labels = TargetLabels {
                    model: model.name.clone(),
                    upstream: t.upstream.name.clone(),
                    target: t.target_id.clone(),
                };
                self.target_up
                    .get_or_create(&labels)
                    .set(i64::from(!t.health.is_cooling(now)));
                self.target_in_flight
                    .get_or_create(&labels)
                    .set(i64::try_from(t.health.in_flight()).unwrap_or(i64::MAX));
            }
        }
        let mut out = String::new();
        if let Err(e) = encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "cannot encode metrics");
        }
        out
    }
}
