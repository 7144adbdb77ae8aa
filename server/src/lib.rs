//! The Portcullis server: command line, configuration and the HTTP router.

pub mod cli;
pub mod commands;
pub mod config;
pub mod console;
pub mod listen;
pub mod routes;
pub mod state;
pub mod telemetry;
pub mod v1;

use std::time::Duration;

use app::{App, shell};
use axum::{
    Router,
    http::{HeaderValue, StatusCode, header},
};
use leptos_axum::{LeptosRoutes, generate_route_list};
use tokio::net::TcpListener;
use tower_http::{
    catch_panic::CatchPanicLayer, limit::RequestBodyLimitLayer, set_header::SetResponseHeaderLayer,
    timeout::TimeoutLayer, trace::TraceLayer,
};

pub use state::AppState;

/// Largest request body the management API accepts.
pub const MANAGEMENT_BODY_LIMIT: usize = 1024 * 1024;

/// The whole HTTP surface of the gateway.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let services = state.services.clone();
    // Served over https (as the public URL says): browsers must never fall back to http.
    let hsts = services
        .sso
        .settings
        .public_url
        .starts_with("https://")
        .then(|| {
            SetResponseHeaderLayer::if_not_present(
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static("max-age=31536000"),
            )
        });
    let options = state.leptos_options.clone();
    let site = Router::new()
        .leptos_routes_with_context(
            &state,
            routes,
            move || leptos::prelude::provide_context(services.clone()),
            move || shell(options.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(axum::middleware::from_fn(routes::api_errors::fix_status))
        .layer(RequestBodyLimitLayer::new(MANAGEMENT_BODY_LIMIT))
        // Management calls are quick; a stuck one should not hold a connection forever.
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ));
    Router::new()
        .merge(routes::health::router())
        .merge(routes::metrics::router())
        .merge(routes::sso::router())
        .nest("/v1", v1::router(state.clone()))
        .merge(v1::rerank_aliases(state.clone()))
        .merge(site)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            v1::extra::intercept,
        ))
        // Headers every response carries unless its handler set its own.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(tower::util::option_layer(hsts))
        .layer(TraceLayer::new_for_http())
        .layer(CatchPanicLayer::new())
        .with_state(state)
}

/// Serves until `shutdown` resolves, then lets requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    edge: listen::Edge,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    listen::serve(listener, router(state), edge, shutdown).await
}
