//! `/metrics` for Prometheus. Open by default, as exporters usually are; with a metrics token
//! configured it wants `Authorization: Bearer <token>` (compared in constant time).

use axum::{
    Router,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

use crate::AppState;

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(scrape))
}

async fn scrape(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let services = &state.services;
    if let Some(token) = &services.metrics_token {
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        let ok: bool = presented
            .as_bytes()
            .ct_eq(token.expose_secret().as_bytes())
            .into();
        if !ok {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "a metrics token is required\n",
            )
                .into_response();
        }
    }
    let body = services
        .metrics
        .render(&services.usage, &services.registry, &services.keys);
    let mut res = body.into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(OPENMETRICS));
    res
}
