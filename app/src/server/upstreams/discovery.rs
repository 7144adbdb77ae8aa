//! Asking an upstream what it serves: `GET {base_url}/models` (Anthropic's list has the same
//! `data[].id`). Used for the administrators'
//! "test connection" and, for upstreams with `discover_models`, to offer everything they list
//! (refreshed periodically; a failed refresh keeps what was found before).

use std::{
    error::Error as _,
    time::{Duration, Instant},
};

use chrono::Utc;
use serde::Deserialize;

use super::{Registry, upstream::Upstream};
use crate::{
    server::{CoreError, Db, db, secrets::Keyring},
    types::{ConnectionTest, UpstreamApi},
};

/// The longest a model listing may take, on top of the upstream's connect timeout.
const LISTING_TIMEOUT: Duration = Duration::from_secs(15);

/// How often discovery runs by default.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(300);

#[derive(Deserialize)]
struct Listing {
    data: Vec<Listed>,
}

#[derive(Deserialize)]
struct Listed {
    id: String,
}

/// Lists the upstream's models, timing the answer.
pub async fn probe(upstream: &Upstream) -> ConnectionTest {
    let started = Instant::now();
    // Anthropic pages its list, 20 models by default.
    let path = match upstream.api {
        UpstreamApi::Openai | UpstreamApi::OpenaiResponses => "models",
        UpstreamApi::Anthropic => "models?limit=1000",
    };
    let result = upstream
        .request(reqwest::Method::GET, path)
        .timeout(LISTING_TIMEOUT)
        .send()
        .await;
    let elapsed = || u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let failed = |status: Option<u16>, error: String, latency_ms| ConnectionTest {
        ok: false,
        status,
        latency_ms,
        models: Vec::new(),
        error: Some(error),
    };
    let response = match result {
        Ok(r) => r,
        Err(e) => return failed(None, describe(&e), elapsed()),
    };
    let status = response.status();
    // A model list is small; a server that sends more is not one to trust with the table.
    let body = super::read::whole(response, MODEL_LIST_CAP).await;
    let latency_ms = elapsed();
    let body = match body {
        Ok(b) => b,
        Err(e) => return failed(Some(status.as_u16()), e.to_string(), latency_ms),
    };
    if !status.is_success() {
        let text = String::from_utf8_lossy(&body);
        let excerpt: String = text.chars().take(300).collect();
        return failed(
            Some(status.as_u16()),
            format!("the upstream answered {status}: {excerpt}"),
            latency_ms,
        );
    }
    match serde_json::from_slice::<Listing>(&body) {
        Ok(listing) => {
            let mut models: Vec<String> = listing.data.into_iter().map(|m| m.id).collect();
            models.sort();
            models.dedup();
            ConnectionTest {
                ok: true,
                status: Some(status.as_u16()),
                latency_ms,
                models,
                error: None,
            }
        }
        Err(e) => failed(
            Some(status.as_u16()),
            format!("the answer is not an OpenAI model list: {e}"),
            latency_ms,
        ),
    }
}

/// A transport error in words, with its cause ("connection refused", "timed out"), never the
/// request's headers.
/// Largest model list read from an upstream.
const MODEL_LIST_CAP: usize = 8 << 20;

pub fn describe(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    let mut cause = e.source();
    let mut deepest = None;
    while let Some(c) = cause {
        deepest = Some(c.to_string());
        cause = c.source();
    }
    match deepest {
        Some(d) => format!("{what}: {d}"),
        None => what.to_owned(),
    }
}

/// Refreshes what one upstream offers; returns whether its list changed.
pub async fn refresh(db: &Db, upstream: &Upstream) -> Result<bool, CoreError> {
    let found = probe(upstream).await;
    match found.error {
        None => {
            db::upstreams::set_discovered(db, &upstream.upstream_id, &found.models, Utc::now())
                .await
        }
        Some(error) => {
            tracing::warn!(upstream = %upstream.name, %error, "model discovery failed; keeping what was found before");
            db::upstreams::set_discovery_error(db, &upstream.upstream_id, &error).await?;
            Ok(false)
        }
    }
}

/// Refreshes every enabled upstream that offers discovery, then the routing table if anything
/// changed.
pub async fn refresh_all(db: &Db, registry: &Registry, keyring: &Keyring) -> Result<(), CoreError> {
    let mut changed = false;
    for upstream in registry.upstreams().iter().filter(|u| u.discover_models) {
        changed |= refresh(db, upstream).await?;
    }
    if changed {
        registry.reload(db, keyring).await?;
    }
    Ok(())
}
