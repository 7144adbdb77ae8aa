//! The further paths upstreams declare ([`app::server::upstreams::paths`]), reached at the same
//! path on the gateway: only a POST to a declared path is forwarded, under a key and its model
//! permissions, to the model's targets whose upstream declares it; anything else keeps the 404
//! it had.

use app::server::{keys::Principal, usage::Endpoint};
use axum::{
    Extension, Router,
    extract::{Request, State},
    http::{Method, Uri},
    middleware,
    response::Response,
};
use tower::ServiceExt;

use super::{auth, body::Body, metrics, proxy};
use crate::AppState;

/// Whether `req` (its URI the one the client called) is for a declared path; the caller then
/// hands it to [`serve`]. Only requests no route took get here, so routes cost nothing more.
pub fn claims(state: &AppState, req: &Request) -> bool {
    req.method() == Method::POST && state.services.registry.declares(req.uri().path())
}

/// Serves a request [`claims`] took, with the same key check and metrics as `/v1`.
pub async fn serve(state: AppState, req: Request) -> Response {
    let router: Router = Router::new()
        .fallback(forward)
        .layer(middleware::from_fn_with_state(state.clone(), auth::require))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::track_passthrough,
        ))
        .with_state(state);
    match router.oneshot(req).await {
        Ok(res) => res,
        Err(never) => match never {},
    }
}

/// Takes declared paths outside `/v1` before the web app's routes would answer them (inside
/// `/v1`, its fallback does). Everything else passes after a prefix check.
pub async fn intercept(
    State(state): State<AppState>,
    req: Request,
    next: middleware::Next,
) -> Response {
    let path = req.uri().path();
    let elsewhere = path.starts_with("/v1/") || path.starts_with("/api/");
    if !elsewhere && claims(&state, &req) {
        return serve(state, req).await;
    }
    next.run(req).await
}

async fn forward(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    uri: Uri,
    body: Body,
) -> Response {
    let passed = proxy::Passed::path(uri.path());
    proxy::routed(state, who, Endpoint::Passthrough, body, passed).await
}
