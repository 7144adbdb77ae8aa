//! What request handlers and server functions share: cheap to clone, Arcs inside.

use std::sync::{Arc, Mutex};

use ipnet::IpNet;
use secrecy::SecretString;

use super::{
    CoreError, Db,
    auth::{
        AuthSettings,
        throttle::{LoginThrottle, ThrottleSettings},
    },
    keys::{KeyCache, RevealPolicy},
    limits::{Limiter, LimiterSettings},
    metrics::Metrics,
    secrets::Secrets,
    sso::{Sso, SsoSettings},
    upstreams::Registry,
    usage::{UsageRecorder, UsageWriter},
};
use crate::AppError;

/// The deployment's tunable behaviour, resolved from configuration.
#[derive(Debug, Clone)]
pub struct GatewaySettings {
    pub auth: AuthSettings,
    pub throttle: ThrottleSettings,
    pub trusted_proxies: Vec<IpNet>,
    pub key_reveal: RevealPolicy,
    /// Let signed-in users call `/v1` with their access token, not only with API keys.
    pub allow_jwt_on_v1: bool,
    /// Usage events that may wait for the writer; beyond that they are dropped and counted.
    pub usage_queue: usize,
    /// Largest `/v1` request body, in bytes; larger ones get 413.
    pub v1_body_limit: usize,
    /// Time a client has to send a whole `/v1` request body; slower ones get 408.
    pub v1_body_timeout: std::time::Duration,
    /// Largest multipart upload to `/v1`, in bytes; larger ones get 413.
    pub upload_limit: u64,
    pub limits: LimiterSettings,
    /// Tokens reserved for an answer whose request sets no `max_tokens`.
    pub default_max_tokens: i64,
    /// Raw usage events older than this are deleted; rollups are kept. `None`: kept forever.
    pub usage_retention: Option<std::time::Duration>,
    /// Audit log entries older than this are deleted. `None`: kept forever.
    pub audit_retention: Option<std::time::Duration>,
    /// How long Responses API answers are kept for `previous_response_id` and
    /// `/v1/responses/{id}`. `None` (the default): none are kept.
    pub response_retention: Option<std::time::Duration>,
    /// Keys one user may have in use (not revoked) at once.
    pub max_keys_per_user: i64,
    /// Sign-in sessions that ended (signed out, revoked, expired) longer ago than this are
    /// deleted with their refresh tokens; so are spent refresh tokens past their expiry.
    pub session_retention: std::time::Duration,
    /// When set, `/metrics` wants it as a bearer token.
    pub metrics_token: Option<SecretString>,
    /// Identity providers and who may register through them.
    pub sso: SsoSettings,
}

/// What an answer without `max_tokens` is assumed to take until it ends.
pub const DEFAULT_MAX_TOKENS: i64 = 4096;

/// 90 days of raw events; rollups are kept forever.
pub const DEFAULT_USAGE_RETENTION: std::time::Duration =
    std::time::Duration::from_secs(90 * 24 * 3600);

/// Keys one user may have in use at once, unless configured otherwise.
pub const DEFAULT_MAX_KEYS_PER_USER: i64 = 100;

/// 400 days of audit log: a year's reviews with room to spare.
pub const DEFAULT_AUDIT_RETENTION: std::time::Duration =
    std::time::Duration::from_secs(400 * 24 * 3600);

/// Ended sessions are kept 30 days, for the record of who was signed in where.
pub const DEFAULT_SESSION_RETENTION: std::time::Duration =
    std::time::Duration::from_secs(30 * 24 * 3600);

/// 32 MiB: images inline in chat requests make bodies large.
pub const DEFAULT_V1_BODY_LIMIT: usize = 32 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct Services {
    pub db: Db,
    pub secrets: Arc<Secrets>,
    pub auth: Arc<AuthSettings>,
    pub throttle: Arc<LoginThrottle>,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Arc<[IpNet]>,
    pub keys: Arc<KeyCache>,
    pub registry: Arc<Registry>,
    pub usage: UsageRecorder,
    usage_writer: Arc<Mutex<Option<UsageWriter>>>,
    pub key_reveal: RevealPolicy,
    pub allow_jwt_on_v1: bool,
    pub v1_body_limit: usize,
    pub v1_body_timeout: std::time::Duration,
    pub upload_limit: u64,
    pub limiter: Arc<Limiter>,
    pub metrics: Arc<Metrics>,
    pub default_max_tokens: i64,
    pub usage_retention: Option<std::time::Duration>,
    pub audit_retention: Option<std::time::Duration>,
    pub response_retention: Option<std::time::Duration>,
    pub session_retention: std::time::Duration,
    pub max_keys_per_user: i64,
    pub metrics_token: Option<Arc<SecretString>>,
    pub sso: Arc<Sso>,
}

impl Services {
    /// Builds the services and loads the key cache.
    pub async fn start(
        db: Db,
        secrets: Secrets,
        settings: GatewaySettings,
    ) -> Result<Self, CoreError> {
        let sso = Arc::new(Sso::new(settings.sso)?);
        let keys = Arc::new(KeyCache::default());
        keys.reload(&db).await?;
        let registry = Arc::new(Registry::default());
        registry.reload(&db, &secrets.keyring).await?;
        let (usage, writer) = UsageWriter::spawn(db.clone(), settings.usage_queue.max(1));
        let limiter = Arc::new(Limiter::new(db.clone(), settings.limits));
        Ok(Self {
            usage,
            usage_writer: Arc::new(Mutex::new(Some(writer))),
            db,
            secrets: Arc::new(secrets),
            auth: Arc::new(settings.auth),
            throttle: Arc::new(LoginThrottle::new(settings.throttle)),
            trusted_proxies: settings.trusted_proxies.into(),
            keys,
            registry,
            key_reveal: settings.key_reveal,
            allow_jwt_on_v1: settings.allow_jwt_on_v1,
            v1_body_limit: settings.v1_body_limit,
            v1_body_timeout: settings.v1_body_timeout,
            upload_limit: settings.upload_limit,
            limiter,
            metrics: Arc::default(),
            default_max_tokens: settings.default_max_tokens,
            usage_retention: settings.usage_retention,
            audit_retention: settings.audit_retention,
            response_retention: settings.response_retention,
            session_retention: settings.session_retention,
            max_keys_per_user: settings.max_keys_per_user,
            metrics_token: settings.metrics_token.map(Arc::new),
            sso,
        })
    }
}

impl Services {
    /// Writes the usage still queued and stops the writer; call once, after the server stopped.
    pub async fn shutdown(&self) {
        let writer = self
            .usage_writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(w) = writer {
            w.shutdown().await;
        }
    }
}

impl Default for GatewaySettings {
    fn default() -> Self {
        Self {
            auth: AuthSettings::default(),
            throttle: ThrottleSettings::default(),
            trusted_proxies: Vec::new(),
            key_reveal: RevealPolicy::default(),
            allow_jwt_on_v1: false,
            usage_queue: 10_000,
            v1_body_limit: DEFAULT_V1_BODY_LIMIT,
            v1_body_timeout: std::time::Duration::from_secs(60),
            upload_limit: 100 << 20,
            limits: LimiterSettings::default(),
            default_max_tokens: DEFAULT_MAX_TOKENS,
            usage_retention: Some(DEFAULT_USAGE_RETENTION),
            audit_retention: Some(DEFAULT_AUDIT_RETENTION),
            response_retention: None,
            session_retention: DEFAULT_SESSION_RETENTION,
            max_keys_per_user: DEFAULT_MAX_KEYS_PER_USER,
            metrics_token: None,
            sso: SsoSettings::default(),
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
