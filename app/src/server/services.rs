//! What request handlers and server functions share: cheap to clone, Arcs inside.

use std::sync::Arc;

use ipnet::IpNet;

use super::{
    Db,
    auth::{
        AuthSettings,
        throttle::{LoginThrottle, ThrottleSettings},
    },
    secrets::Secrets,
};
use crate::AppError;

/// The deployment's tunable behaviour, resolved from configuration.
#[derive(Debug, Clone, Default)]
pub struct GatewaySettings {
    pub auth: AuthSettings,
    pub throttle: ThrottleSettings,
    pub trusted_proxies: Vec<IpNet>,
}

#[derive(Debug, Clone)]
pub struct Services {
    pub db: Db,
    pub secrets: Arc<Secrets>,
    pub auth: Arc<AuthSettings>,
    pub throttle: Arc<LoginThrottle>,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Arc<[IpNet]>,
}

impl Services {
    pub fn new(db: Db, secrets: Secrets, settings: GatewaySettings) -> Self {
        Self {
            db,
            secrets: Arc::new(secrets),
            auth: Arc::new(settings.auth),
            throttle: Arc::new(LoginThrottle::new(settings.throttle)),
            trusted_proxies: settings.trusted_proxies.into(),
        }
    }
}

/// The services of the running gateway, inside a server function.
pub fn services() -> Result<Services, AppError> {
    leptos::prelude::use_context::<Services>().ok_or_else(|| {
        tracing::error!("server function called without `Services` in its context");
        AppError::Internal("services-missing".to_owned())
    })
}
