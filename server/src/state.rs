//! What every handler can reach.

use app::server::Services;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;

#[derive(Debug, Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub services: Services,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
