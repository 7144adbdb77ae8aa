//! Holding `/v1` requests to their key's and user's limits: what a request may use, the 429 a
//! refused one gets, and the `x-ratelimit-*` headers OpenAI's clients already read.

use std::time::Duration;

use app::server::{
    Services,
    keys::Principal,
    limits::{Demand, Metric, RateHeaders, Refusal, Reservation, reservation::Window},
    metrics::LimitLabels,
    upstreams::registry::Prices,
};
use axum::http::{HeaderMap, HeaderValue};

use super::{ApiError, request::ProxyRequest};
use app::server::usage::{Endpoint, Tokens, Unit};

/// Bytes of request body per token, for the prompt estimate: English averages about four
/// characters a token; what the estimate misses is settled when the upstream reports usage.
const BYTES_PER_TOKEN: usize = 4;

/// What a request may use: its prompt, estimated from the body's size, and the most its answer
/// may take (`max_completion_tokens` or `max_tokens`, times `n`; else `default_max_tokens`).
/// Endpoints that answer no text take only the prompt; those measured in other units (audio,
/// images, requests on declared paths) no tokens at all until their upstream reports some.
pub fn estimate(request: &ProxyRequest, endpoint: Endpoint, default_max_tokens: i64) -> Tokens {
    let prompt = i64::try_from(request.body_len().div_ceil(BYTES_PER_TOKEN)).unwrap_or(i64::MAX);
    let answer = match endpoint.unit() {
        Unit::PromptTokens | Unit::SearchUnits => 0,
        Unit::AudioSeconds | Unit::Characters | Unit::Images | Unit::Requests => {
            return Tokens::default();
        }
        Unit::Tokens => {
            // Each API's own field: the one its upstream will obey.
            let asked = match endpoint {
                Endpoint::Responses => request.max_output_tokens,
                _ => request.max_tokens,
            };
            let max = asked.filter(|n| *n > 0).unwrap_or(default_max_tokens);
            let n = request.n.unwrap_or(1).clamp(1, 128);
            max.saturating_mul(n)
        }
    };
    Tokens {
        prompt_tokens: prompt,
        completion_tokens: answer,
    }
}

/// What an estimate reserves from the limits at the model's prices.
pub fn demand(estimate: Tokens, prices: &Prices) -> Demand {
    Demand {
        tokens: estimate
            .prompt_tokens
            .saturating_add(estimate.completion_tokens),
        cost_micros: prices.cost(estimate.prompt_tokens, estimate.completion_tokens),
    }
}

/// Reserves the request's demand from every limit of its key and user.
pub async fn admit(
    services: &Services,
    who: &Principal,
    demand: Demand,
) -> Result<Reservation, ApiError> {
    let subjects: Vec<_> = who.limits().collect();
    if subjects.is_empty() {
        return Ok(Reservation::none());
    }
    let refusal = match services
        .limiter
        .reserve(&subjects, demand, chrono::Utc::now())
        .await
    {
        Ok(r) => return Ok(r),
        Err(refusal) => refusal,
    };
    let (scope, limit) = refusal.labels();
    services
        .metrics
        .limit_refusals
        .get_or_create(&LimitLabels { scope, limit })
        .inc();
    Err(match refusal {
        Refusal::Exhausted {
            scope,
            metric,
            limit,
            retry_after,
            headers,
        } => ApiError::RateLimited {
            message: format!(
                "limit reached for {} on this {}: {limit}; try again in {}",
                describe(metric),
                scope.name(),
                go_duration(retry_after)
            ),
            kind: kind(metric),
            code: code(metric),
            retry_after: Some(retry_after),
            headers: Box::new(headers),
        },
        Refusal::TooLarge {
            scope,
            metric,
            limit,
            requested,
        } => ApiError::RateLimited {
            message: format!(
                "this request may use {requested}, more than the whole limit for {} on this \
                 {}: {limit}; ask for fewer tokens (max_tokens)",
                describe(metric),
                scope.name()
            ),
            kind: kind(metric),
            code: code(metric),
            retry_after: None,
            headers: Box::default(),
        },
        Refusal::Unavailable => ApiError::LimitsUnavailable,
    })
}

fn describe(metric: Metric) -> &'static str {
    match metric {
        Metric::RequestsPerMinute => "requests per minute",
        Metric::TokensPerMinute => "tokens per minute",
        Metric::TokensPerDay => "tokens per day",
        Metric::TokensPerMonth => "tokens per month",
        Metric::CostPerMonth => "spending per month (micro-units)",
    }
}

/// OpenAI's error `type` for a refusal of this kind.
fn kind(metric: Metric) -> &'static str {
    match metric {
        Metric::RequestsPerMinute => "requests",
        Metric::TokensPerMinute => "tokens",
        _ => "insufficient_quota",
    }
}

fn code(metric: Metric) -> &'static str {
    match metric {
        Metric::RequestsPerMinute | Metric::TokensPerMinute => "rate_limit_exceeded",
        _ => "insufficient_quota",
    }
}

/// Sets `x-ratelimit-{limit,remaining,reset}-{requests,tokens}` as OpenAI does.
pub fn write_headers(rate: &RateHeaders, headers: &mut HeaderMap) {
    let mut put = |what: &str, w: &Window| {
        for (name, value) in [
            ("limit", w.limit.to_string()),
            ("remaining", w.remaining.to_string()),
            ("reset", go_duration(w.reset)),
        ] {
            if let (Ok(n), Ok(v)) = (
                axum::http::HeaderName::try_from(format!("x-ratelimit-{name}-{what}")),
                HeaderValue::try_from(value),
            ) {
                headers.insert(n, v);
            }
        }
    };
    if let Some(w) = &rate.requests {
        put("requests", w);
    }
    if let Some(w) = &rate.tokens {
        put("tokens", w);
    }
}

/// A duration as OpenAI writes its reset headers: `850ms`, `42s`, `6m0s`, `1h2m3s`.
fn go_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let secs = d.as_secs() + u64::from(d.subsec_millis() >= 500);
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_durations_read_like_openais() {
        assert_eq!(go_duration(Duration::from_millis(850)), "850ms");
        assert_eq!(go_duration(Duration::from_secs(42)), "42s");
        assert_eq!(go_duration(Duration::from_secs(360)), "6m0s");
        assert_eq!(go_duration(Duration::from_secs(3723)), "1h2m3s");
    }

    #[test]
    fn demand_counts_the_prompt_and_the_largest_answer() {
        let prices = Prices::default();
        // Bodies padded to 400 and 8 bytes: 100 and 2 prompt tokens.
        let body = |fields: &str, len: usize| {
            let head = format!(r#"{{"model":"m",{fields}"pad":""#);
            let pad = "x".repeat(len - head.len() - 2);
            ProxyRequest::parse(format!("{head}{pad}\"}}").into()).expect("valid")
        };
        let asked = body(r#""max_tokens":100,"n":2,"#, 400);
        let of = |r: &ProxyRequest, e: Endpoint, p: &Prices| demand(estimate(r, e, 4096), p);
        let d = of(&asked, Endpoint::ChatCompletions, &prices);
        assert_eq!(d.tokens, 100 + 200);
        let bare = ProxyRequest::parse(r#"{"model":"m"}"#.into()).expect("valid");
        let d = of(&bare, Endpoint::ChatCompletions, &prices);
        assert_eq!(d.tokens, 4 + 4096);
        let d = of(
            &body(r#""max_tokens":5,"#, 400),
            Endpoint::Embeddings,
            &prices,
        );
        assert_eq!(d.tokens, 100);
        let priced = Prices {
            input_micros: Some(1_000_000),
            output_micros: Some(2_000_000),
            unit_micros: Some(7),
            images: std::sync::Arc::new(
                [("high/1024x1536".to_owned(), 40), ("hd".to_owned(), 20)].into(),
            ),
        };
        let d = of(&asked, Endpoint::ChatCompletions, &priced);
        assert_eq!(d.cost_micros, 100 + 2 * 200);
        // Units are priced on their own: per second, image, search; per 1,000 characters.
        assert_eq!(priced.unit_cost(Unit::Images, 3), 21);
        assert_eq!(priced.unit_cost(Unit::Characters, 1001), 8);
        assert_eq!(priced.unit_cost(Unit::Tokens, 1000), 0);
        // An image by its quality and size, most specific first, else the unit price.
        assert_eq!(
            priced.image_price(Some("high"), Some("1024x1536")),
            Some(40)
        );
        assert_eq!(priced.image_price(Some("hd"), Some("1024x1024")), Some(20));
        assert_eq!(priced.image_price(Some("low"), None), Some(7));
        // What audio, images and declared paths ask for is not reserved as tokens.
        let speech = of(&asked, Endpoint::AudioSpeech, &priced);
        assert_eq!((speech.tokens, speech.cost_micros), (0, 0));
    }
}
