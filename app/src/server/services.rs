//! What request handlers and server functions share: cheap to clone, Arcs inside.

use std::sync::Arc;

use super::{
    Db,
    auth::{
        AuthSettings,
        throttle::{LoginThrottle, ThrottleSettings},
    },
    secrets::Secrets,
};
use crate::AppError;

#[derive(Debug, Clone)]
pub struct Services {
    pub db: Db,
    pub secrets: Arc<Secrets>,
    pub auth: Arc<AuthSettings>,
    pub throttle: Arc<LoginThrottle>,
}

impl Services {
    pub fn new(db: Db, secrets: Secrets, auth: AuthSettings, throttle: ThrottleSettings) -> Self {
        Self {
            db,
            secrets: Arc::new(secrets),
            auth: Arc::new(auth),
            throttle: Arc::new(LoginThrottle::new(throttle)),
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
