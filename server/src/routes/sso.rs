//! `/auth/sso/<provider>/start` and `/callback`: the two browser hops of an external sign-in.
//! Both answer with a redirect, to the provider or back to the web app; failures land on the
//! sign-in page with a code it puts in words.

use app::server::{
    auth::ClientInfo,
    client_addr,
    sso::{
        SsoError,
        flow::{self, Callback},
    },
};
use std::sync::Arc;

use axum::{
    Extension, Router,
    extract::{Path, Query, Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use serde::Deserialize;

use super::sso_start_limit::StartLimit;
use crate::AppState;

/// Each hop's own per-address allowance.
#[derive(Clone, Default)]
struct Limits {
    start: Arc<StartLimit>,
    callback: Arc<StartLimit>,
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/sso/{provider}/start", get(start))
        .route("/auth/sso/{provider}/callback", get(callback))
        .layer(Extension(Limits::default()))
}

#[derive(Debug, Deserialize)]
struct StartQuery {
    invite: Option<String>,
    next: Option<String>,
}

async fn start(
    State(state): State<AppState>,
    Extension(limits): Extension<Limits>,
    Path(provider): Path<String>,
    Query(q): Query<StartQuery>,
    req: Request,
) -> Response {
    let services = &state.services;
    let addr = client_addr::of_request(req.extensions(), req.headers(), &services.trusted_proxies);
    if !limits.start.admit(addr) {
        tracing::warn!(provider = %provider, addr = ?addr, "too many external sign-ins started from one address");
        return failed(&SsoError::TooMany);
    }
    let prefix = addr.map(client_addr::bucket);
    match flow::start(
        services,
        &provider,
        q.invite.as_deref(),
        q.next.as_deref(),
        prefix,
    )
    .await
    {
        Ok(started) => {
            let cookie = format!(
                "{}={}; Path=/auth/sso/{provider}/callback; Max-Age={}; HttpOnly; SameSite=Lax{}",
                started.cookie_name,
                started.cookie_value,
                app::server::sso::ATTEMPT_TTL.as_secs(),
                secure(&state),
            );
            redirect(&started.location, Some(cookie))
        }
        Err(e) => {
            tracing::warn!(provider = %provider, reason = %e, "cannot start an external sign-in");
            failed(&e)
        }
    }
}

async fn callback(
    State(state): State<AppState>,
    Extension(limits): Extension<Limits>,
    Path(provider): Path<String>,
    Query(back): Query<Callback>,
    req: Request,
) -> Response {
    let services = &state.services;
    // No provider of that name: nothing to do and nothing worth a row in the audit log.
    if services.sso.provider(&provider).is_none() {
        return StatusCode::NOT_FOUND.into_response();
    }
    let client = ClientInfo {
        addr: client_addr::of_request(req.extensions(), req.headers(), &services.trusted_proxies),
        user_agent: None,
    };
    if !limits.callback.admit(client.addr) {
        tracing::warn!(provider = %provider, addr = ?client.addr, "too many sign-in callbacks from one address");
        return failed(&SsoError::TooMany);
    }
    let name = back.state.as_deref().map(flow::cookie_name);
    let verifier = name.as_deref().and_then(|n| cookie(req.headers(), n));
    let result = flow::callback(services, &provider, &back, verifier, &client).await;
    let clear = name.map(|n| {
        format!(
            "{n}=; Path=/auth/sso/{provider}/callback; Max-Age=0; HttpOnly; SameSite=Lax{}",
            secure(&state)
        )
    });
    match result {
        Ok(location) => redirect(&location, clear),
        Err(e) => {
            let mut res = failed(&e);
            if let Some(c) = clear.and_then(|c| HeaderValue::from_str(&c).ok()) {
                res.headers_mut().insert(header::SET_COOKIE, c);
            }
            res
        }
    }
}

fn secure(state: &AppState) -> &'static str {
    if state.services.sso.settings.secure_cookies() {
        "; Secure"
    } else {
        ""
    }
}

/// One cookie's value from the request's `Cookie` headers.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn redirect(location: &str, cookie: Option<String>) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    let headers = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(location) {
        headers.insert(header::LOCATION, v);
    }
    if let Some(c) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        headers.insert(header::SET_COOKIE, c);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn failed(e: &SsoError) -> Response {
    redirect(&format!("/login?sso_error={}", e.code()), None)
}
