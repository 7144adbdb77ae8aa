//! What every handler can reach. Axum clones the state for every extractor and middleware of
//! every request, so it is one `Arc`: a clone is one reference count, not one per service.

use std::{ops::Deref, sync::Arc};

use app::server::Services;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use crate::v1::bearer_cache::BearerCache;

#[derive(Debug, Clone)]
pub struct AppState(Arc<Shared>);

#[derive(Debug)]
pub struct Shared {
    pub leptos_options: LeptosOptions,
    pub services: Services,
    pub bearer_principals: BearerCache,
    /// Request bytes in translation between the two APIs (see [`crate::v1::exchange`]).
    pub translations: Arc<tokio::sync::Semaphore>,
}

impl AppState {
    pub fn new(leptos_options: LeptosOptions, services: Services) -> Self {
        Self(Arc::new(Shared {
            leptos_options,
            services,
            bearer_principals: BearerCache::default(),
            translations: crate::v1::exchange::translation_budget(),
        }))
    }
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
