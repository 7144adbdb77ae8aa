//! Forwarding every `/v1` request that names a model (chat, completions, embeddings, Messages,
//! Responses, and the endpoints of [`super::media`]) to the model's upstreams. To an upstream
//! of the request's own API the body goes out as the
//! client sent it, with only `model` rewritten to the upstream's name for it, so fields
//! Portcullis does not know pass through untouched; the answer comes back the same way,
//! streamed chunk by chunk as the upstream sends it. Between the two APIs, both are translated
//! ([`super::exchange`]).
//!
//! Fail-over: a connection error, a timeout, a 5xx or a 429 before anything was sent to the
//! client moves on to the next target and puts the failed one on a short cool-down. Once the
//! upstream's answer starts flowing to the client it is never retried.

use std::time::Instant;

use app::server::{
    keys::Principal,
    metrics::EndpointLabels,
    upstreams::{
        discovery, read,
        registry::{COOLDOWN, Model},
    },
    usage::{Endpoint, Outcome, Unit, UsageEvent},
};
use app::types::UpstreamApi;
use axum::{
    Extension,
    body::Body,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use eventsource_stream::Eventsource;
use futures_util::StreamExt;

use super::{
    ApiError,
    accounting::{Accounting, Used},
    exchange::{Exchange, Translated},
    limits, measure,
    payload::{Incoming, Payload},
    responses::{self, Keeper, Turn},
    usage_tap,
};
use crate::AppState;

/// The response header carrying the time Portcullis added before the first byte, in µs.
pub const OVERHEAD_HEADER: &str = "x-portcullis-overhead-us";

pub async fn chat_completions(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    body: super::body::Body,
) -> Response {
    routed(state, who, Endpoint::ChatCompletions, body, Passed::none()).await
}

pub async fn completions(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    body: super::body::Body,
) -> Response {
    routed(state, who, Endpoint::Completions, body, Passed::none()).await
}

pub async fn embeddings(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    body: super::body::Body,
) -> Response {
    routed(state, who, Endpoint::Embeddings, body, Passed::none()).await
}

/// The model a `/v1` answer was for, left in its extensions for the metrics layer; set only
/// for models the routing table knows, so clients cannot mint label values.
#[derive(Debug, Clone)]
pub struct ModelLabel(pub String);

/// What of the client's request passes to the upstream beside its body: Anthropic's version
/// and beta headers (which say how the body is to be read) to an upstream of the client's own
/// API, and, for a declared extra path, that path.
pub struct Passed(HeaderMap, Option<String>);

impl Passed {
    pub fn none() -> Self {
        Self(HeaderMap::new(), None)
    }

    /// For a path upstreams declare ([`app::server::upstreams::paths`]), called as it came.
    pub fn path(path: &str) -> Self {
        Self(HeaderMap::new(), Some(path.to_owned()))
    }

    /// The declared path the request was made to, if it was.
    pub fn extra_path(&self) -> Option<&str> {
        self.1.as_deref()
    }

    pub fn anthropic(client: &HeaderMap) -> Self {
        let mut headers = HeaderMap::new();
        for name in ["anthropic-version", "anthropic-beta"] {
            if let Some(v) = client.get(name) {
                headers.insert(name, v.clone());
            }
        }
        Self(headers, None)
    }

    pub fn headers(&self) -> &HeaderMap {
        &self.0
    }
}

/// Forwards the request in a task of its own, so that a client who hangs up before the answer
/// does not stop it halfway: the answer is still read to its end and its usage charged.
pub(crate) async fn routed(
    state: AppState,
    who: Principal,
    kind: Endpoint,
    body: impl Into<Incoming>,
    passed: Passed,
) -> Response {
    routed_turn(state, who, kind, body.into(), passed, None).await
}

/// [`routed`], for a Responses request with the turn the gateway may keep.
pub(crate) async fn routed_turn(
    state: AppState,
    who: Principal,
    kind: Endpoint,
    body: Incoming,
    passed: Passed,
    turn: Option<Turn>,
) -> Response {
    let work = async move {
        let mut label = None;
        let res = forward(&state, &who, kind, body, &passed, turn.as_ref(), &mut label).await;
        labelled(res, label)
    };
    // The request's span goes along, so what the task logs is still the request's.
    let task = tokio::spawn(app::server::db::on_request_path(
        tracing::Instrument::instrument(work, tracing::Span::current()),
    ));
    match task.await {
        Ok(res) => res,
        Err(e) => ApiError::internal(e).into_response(),
    }
}

/// The answer, with the model it was for (see [`route`]) left for the metrics layer.
pub(crate) fn labelled(res: impl IntoResponse, label: Option<String>) -> Response {
    let mut res = res.into_response();
    if let Some(model) = label {
        res.extensions_mut().insert(ModelLabel(model));
    }
    res
}

/// The model's routes, if the caller may use it. Only a model the routing table knows is
/// labelled, so clients cannot mint metric label values.
pub(crate) fn route(
    services: &app::server::Services,
    who: &Principal,
    model: &str,
    label: &mut Option<String>,
) -> Result<std::sync::Arc<Model>, ApiError> {
    let routed = services.registry.model(model);
    if routed.is_some() {
        *label = Some(model.to_owned());
    }
    if !who.may_use(model) {
        return Err(ApiError::ModelNotAllowed(model.to_owned()));
    }
    routed.ok_or_else(|| ApiError::ModelNotFound(model.to_owned()))
}

async fn forward(
    state: &AppState,
    who: &Principal,
    kind: Endpoint,
    body: Incoming,
    passed: &Passed,
    turn: Option<&Turn>,
    label: &mut Option<String>,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let request = Payload::read(body)?;
    let model = request.model().to_owned();
    let services = &state.services;
    let routed = route(services, who, &model, label)?;
    // Usage of an unpriced model costs nothing: a spending limit would not hold on it, in
    // tokens or in the endpoint's own unit.
    if who.has_cost_budget() && !routed.prices.prices(kind.unit()) {
        return Err(match kind.unit() {
            Unit::Tokens | Unit::PromptTokens => ApiError::Unpriced(model),
            unit => ApiError::UnitUnpriced {
                model,
                unit: unit.name(),
            },
        });
    }
    let units_asked = match kind.unit() {
        Unit::AudioSeconds => request.audio_seconds().await.unwrap_or(0),
        _ => request.requested_units(kind)?,
    };
    let targets: Vec<_> = routed
        .ordered()
        .into_iter()
        .filter(|t| {
            passed
                .extra_path()
                .is_none_or(|p| t.upstream.extra_paths.iter().any(|d| d == p))
        })
        .filter_map(|t| Some((Exchange::between(kind, t.upstream.api)?, t)))
        .collect();
    if let (Some(path), true) = (passed.extra_path(), targets.is_empty()) {
        return Err(ApiError::BadRequest {
            message: format!("the model `{model}` is not served where `{path}` is"),
            param: Some("model".into()),
        });
    }
    if targets.is_empty() {
        return Err(ApiError::BadRequest {
            message: format!(
                "the model `{model}` is served through Anthropic's API, which has no /v1/{}",
                kind.name()
            ),
            param: Some("model".into()),
        });
    }
    let translated = match request.json() {
        Some(json) => {
            Translated::prepare(
                json,
                targets.iter().map(|(e, _)| *e),
                services.default_max_tokens,
                &state.translations,
                turn,
            )
            .await?
        }
        None => Translated::default(),
    };
    let prices = routed.prices.clone();
    let estimate = request.estimate(kind, services.default_max_tokens);
    let mut demand = limits::demand(estimate, &prices);
    let units_expected = request.expected_units(kind, units_asked);
    let (quality, size) = match kind.unit() {
        Unit::Images => request.image_variant(),
        _ => (None, None),
    };
    let unit_cost = match kind.unit() {
        Unit::Images => prices
            .image_price(quality.as_deref(), size.as_deref())
            .unwrap_or(0)
            .saturating_mul(units_expected),
        unit => prices.unit_cost(unit, units_expected),
    };
    demand.cost_micros = demand.cost_micros.saturating_add(unit_cost);
    let reservation = limits::admit(services, who, demand).await?;
    let rate_headers = reservation.headers;
    let mut accounting = Accounting::new(services, reservation, prices, estimate);
    if kind.unit() == Unit::Images {
        accounting.price_images(quality.as_deref(), size.as_deref());
    }
    let streamed = request.streamed(kind);
    let client_wants_usage = request.client_wants_usage();
    let event = |target_id: Option<String>, status: u16, outcome: Outcome| UsageEvent {
        created_ms: chrono::Utc::now().timestamp_millis(),
        user_id: who.user_id().to_owned(),
        api_key_id: who.api_key_id().map(str::to_owned),
        model: model.clone(),
        target_id,
        endpoint: kind,
        status,
        outcome,
        streamed,
        prompt_tokens: 0,
        completion_tokens: 0,
        total_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
        ttfb_ms: None,
        cost_micros: 0,
        estimated: false,
        units: 0,
    };

    let mut last_failure = ApiError::UpstreamUnreachable;
    let mut last_target = None;
    for (exchange, target) in targets {
        last_target = Some(target.target_id.clone());
        let upstream = &target.upstream;
        let mut req = match passed.extra_path() {
            // Declared at the server's root, as the client called it here.
            Some(path) => {
                upstream.root_request(reqwest::Method::POST, path.trim_start_matches('/'))
            }
            None => upstream.request(reqwest::Method::POST, exchange.path(kind)),
        };
        if exchange == Exchange::Direct && !passed.headers().is_empty() {
            req = req.headers(passed.headers().clone());
        }
        // Only chat and completion streams need asking for their usage.
        let usage_asked = streamed
            && upstream.api.is_openai()
            && matches!(kind, Endpoint::ChatCompletions | Endpoint::Completions);
        let req = request
            .attach(
                req,
                exchange,
                usage_asked,
                &target.upstream_model,
                &translated,
            )
            .await?;
        let in_flight = target.begin();
        let sent_at = Instant::now();
        let response = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                let reason = discovery::describe(&e);
                tracing::warn!(upstream = %upstream.name, model = %model, error = %reason, "upstream unreachable; trying the next target");
                target.health.failed(reason, Some(COOLDOWN));
                last_failure = ApiError::transport(&e);
                continue;
            }
        };
        let mut upstream_time = sent_at.elapsed();
        let ttfb_ms = i64::try_from(started.elapsed().as_millis()).ok();
        let status = response.status();
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            tracing::warn!(upstream = %upstream.name, model = %model, %status, "upstream failed; trying the next target");
            target
                .health
                .failed(format!("answered {status}"), Some(COOLDOWN));
            let body = read::whole(response, read::MAX_ERROR)
                .await
                .unwrap_or_default();
            last_failure = ApiError::Upstream {
                status,
                body: exchange.failure(serde_json::from_slice(&body).ok()),
            };
            continue;
        }
        let mut content_type = response.headers().get(header::CONTENT_TYPE).cloned();
        let is_sse = content_type
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        let mut ev = event(
            Some(target.target_id.clone()),
            status.as_u16(),
            Outcome::Completed,
        );
        ev.ttfb_ms = ttfb_ms;
        // It answered: a 4xx is the request's fault, not the target's.
        target.health.succeeded();
        let body = if streamed && status.is_success() && is_sse {
            let events: usage_tap::UpstreamEvents =
                Box::pin(read::events(response, read::MAX_EVENT).eventsource());
            if exchange != Exchange::Direct {
                content_type = Some(HeaderValue::from_static("text/event-stream"));
            }
            // A streamed transcript says nothing of the audio's length: the file's header.
            if kind.unit() == Unit::AudioSeconds {
                ev.units = units_asked;
            }
            Body::from_stream(usage_tap::Tapped::new(
                events,
                accounting,
                ev,
                started,
                exchange.relay(
                    kind,
                    client_wants_usage,
                    &model,
                    &translated,
                    Keeper::new(services, who, &model, turn),
                ),
                in_flight,
            ))
        } else if kind == Endpoint::AudioSpeech && status.is_success() {
            // Audio is relayed as it is made, charged for the characters asked for.
            ev.units = units_asked;
            accounting.finish(ev, Used::Nothing);
            let guard = in_flight;
            Body::from_stream(response.bytes_stream().map(move |part| {
                let _held = &guard;
                part
            }))
        } else {
            // Plain answers are read whole to count their tokens.
            let bytes = match read::whole(response, read::MAX_ANSWER).await {
                Ok(b) => b,
                Err(e) => {
                    let error = match &e {
                        read::ReadError::Transport(t) => ApiError::transport(t),
                        read::ReadError::TooLarge(_) => ApiError::BadGateway(e.to_string()),
                    };
                    target.health.failed(e.to_string(), Some(COOLDOWN));
                    accounting.finish(
                        event(
                            Some(target.target_id.clone()),
                            error.status().as_u16(),
                            Outcome::UpstreamError,
                        ),
                        Used::Nothing,
                    );
                    return Err(error);
                }
            };
            upstream_time = sent_at.elapsed();
            drop(in_flight);
            let tokens = match (exchange, kind, upstream.api) {
                (Exchange::Direct, Endpoint::Responses, _) => responses::usage::in_answer(&bytes),
                (_, _, UpstreamApi::Anthropic) => super::anthropic::usage::in_answer(&bytes),
                (
                    _,
                    Endpoint::ChatCompletions | Endpoint::Completions | Endpoint::Embeddings,
                    _,
                ) => usage_tap::usage_in_answer(&bytes),
                _ if status.is_success() => {
                    let measured = measure::answer(kind, &bytes);
                    if let Some((q, s)) = &measured.variant {
                        accounting.price_images(
                            q.as_deref().or(quality.as_deref()),
                            s.as_deref().or(size.as_deref()),
                        );
                    }
                    // An answer that does not say how long the audio was: the file's header.
                    ev.units = match (measured.units, kind.unit()) {
                        (0, Unit::AudioSeconds) => units_asked,
                        (units, _) => units,
                    };
                    measured.tokens
                }
                _ => None,
            };
            let used = match tokens {
                Some(t) => Used::Reported(t),
                // An answer is work done: without its count, it costs what was reserved.
                None if status.is_success() => Used::Unreported,
                None => Used::Nothing,
            };
            if !status.is_success() {
                ev.outcome = Outcome::UpstreamError;
            }
            ev.total_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
            accounting.finish(ev, used);
            if exchange != Exchange::Direct {
                content_type = Some(HeaderValue::from_static("application/json"));
            }
            let bytes = match (kind, status.is_success(), request.json()) {
                (Endpoint::Rerank, true, Some(json)) => json
                    .value()
                    .ok()
                    .and_then(|asked| super::rerank::answer(&bytes, &asked))
                    .map_or(bytes, |v| bytes::Bytes::from(v.to_string())),
                _ => bytes,
            };
            let answer = exchange.answer(status, bytes, &model, &translated)?;
            if status.is_success()
                && let Some(keeper) = Keeper::new(services, who, &model, turn)
                && let Ok(response) = serde_json::from_slice(&answer)
            {
                keeper.keep(response);
            }
            Body::from(answer)
        };
        let mut res = Response::new(body);
        *res.status_mut() =
            StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
        // What Portcullis itself added: everything but the wait for this upstream (for a plain
        // answer, its whole body; for a stream, its headers).
        let overhead = started.elapsed().saturating_sub(upstream_time);
        let micros = u64::try_from(overhead.as_micros()).unwrap_or(u64::MAX);
        res.headers_mut()
            .insert(OVERHEAD_HEADER, HeaderValue::from(micros));
        let endpoint_label = EndpointLabels {
            endpoint: kind.name(),
        };
        let metrics = &services.metrics;
        metrics
            .overhead
            .get_or_create(&endpoint_label)
            .observe(overhead.as_secs_f64());
        metrics
            .upstream
            .get_or_create(&endpoint_label)
            .observe(upstream_time.as_secs_f64());
        limits::write_headers(&rate_headers, res.headers_mut());
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            content_type.unwrap_or_else(|| HeaderValue::from_static("application/json")),
        );
        return Ok(res);
    }
    let (status, outcome) = match &last_failure {
        ApiError::Upstream { status, .. } => (status.as_u16(), Outcome::UpstreamError),
        ApiError::UpstreamTimeout => (504, Outcome::Unreachable),
        _ => (502, Outcome::Unreachable),
    };
    accounting.finish(event(last_target, status, outcome), Used::Nothing);
    Err(last_failure)
}
