use std::path::Path;

use anyhow::Context;
use app::server::{
    GatewaySettings, Services,
    auth::{AuthSettings, throttle::ThrottleSettings},
    background,
    limits::LimiterSettings,
    services::{
        DEFAULT_AUDIT_RETENTION, DEFAULT_MAX_TOKENS, DEFAULT_SESSION_RETENTION,
        DEFAULT_USAGE_RETENTION,
    },
    users,
};
use leptos::config::{LeptosOptions, get_configuration};
use secrecy::ExposeSecret;
use tokio::net::TcpListener;

use crate::{
    AppState,
    cli::{GlobalArgs, ServeArgs},
    config::{Settings, secrets},
    console,
};

pub const DEFAULT_LEPTOS_CONFIG: &str = "Leptos.toml";

pub async fn run(global: &GlobalArgs, settings: &Settings, args: &ServeArgs) -> anyhow::Result<()> {
    // Secrets first: a missing one is a configuration error worth reporting before any I/O.
    let secrets = secrets::load(global, settings.database_url.backend(), &settings.data_dir)?;
    let leptos_path = args
        .leptos_config
        .clone()
        .or_else(|| settings.file.server.leptos_config.clone())
        .unwrap_or_else(|| DEFAULT_LEPTOS_CONFIG.into());
    let mut leptos_options = leptos_options(&leptos_path)?;

    let db = super::open_database(settings).await?;
    let upstreams = settings
        .file
        .upstreams
        .iter()
        .map(|u| u.resolve())
        .collect::<anyhow::Result<Vec<_>>>()?;
    app::server::upstreams::config::apply(&db, &secrets.keyring, &upstreams, &settings.file.models)
        .await
        .context("cannot apply the upstreams and models of the configuration file")?;
    if let Some(password) = users::ensure_initial_admin(&db).await? {
        announce_initial_admin(password.expose_secret());
    }

    let addr = args
        .listen
        .or(settings.file.server.listen)
        .unwrap_or(leptos_options.site_addr);
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    leptos_options.site_addr = listener.local_addr()?;
    let addr = leptos_options.site_addr;

    let gateway = GatewaySettings {
        auth: auth_settings(args)?,
        throttle: throttle_settings(args)?,
        trusted_proxies: args.trusted_proxies.clone(),
        key_reveal: global.key_reveal.into(),
        allow_jwt_on_v1: args.allow_jwt_on_v1,
        usage_queue: args.usage_queue,
        v1_body_limit: usize::try_from(args.max_request_body.as_u64())
            .context("--max-request-body is too large for this machine")?,
        v1_body_timeout: args.request_body_timeout,
        upload_limit: args.max_upload_size.as_u64(),
        limits: limiter_settings(args)?,
        default_max_tokens: args.default_max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
        usage_retention: match args.usage_retention {
            None => Some(DEFAULT_USAGE_RETENTION),
            Some(d) if d.is_zero() => None,
            Some(d) => Some(d),
        },
        audit_retention: match args.audit_retention {
            None => Some(DEFAULT_AUDIT_RETENTION),
            Some(d) if d.is_zero() => None,
            Some(d) => Some(d),
        },
        response_retention: args.store_responses.filter(|d| !d.is_zero()),
        session_retention: args.session_retention.unwrap_or(DEFAULT_SESSION_RETENTION),
        max_keys_per_user: args.max_keys_per_user,
        metrics_token: args.metrics_token.clone(),
        sso: settings.file.auth.resolve()?,
    };
    anyhow::ensure!(
        !args.header_read_timeout.is_zero() && !args.request_body_timeout.is_zero(),
        "the header read and request body timeouts must be greater than zero"
    );
    anyhow::ensure!(
        gateway.max_keys_per_user > 0,
        "--max-keys-per-user must be greater than zero"
    );
    anyhow::ensure!(
        gateway.default_max_tokens > 0,
        "--default-max-tokens must be greater than zero"
    );
    anyhow::ensure!(
        gateway
            .metrics_token
            .as_ref()
            .is_none_or(|t| t.expose_secret().len() >= 16),
        "the metrics token must be at least 16 characters"
    );
    let services = Services::start(db.clone(), secrets, gateway).await?;
    anyhow::ensure!(
        args.discovery_interval >= std::time::Duration::from_secs(10),
        "the discovery interval must be at least 10s"
    );
    let background = background::spawn(
        &services,
        background::POLL_INTERVAL,
        args.discovery_interval,
    );
    let state = AppState::new(leptos_options, services.clone());
    tracing::info!(database = %settings.database_url, backend = %db.backend(), "listening on http://{addr}");
    let edge = crate::listen::Edge {
        header_read_timeout: args.header_read_timeout,
        max_connections: args.max_connections,
    };
    crate::serve(listener, state, edge, shutdown_signal()).await?;
    tracing::info!("stopped accepting requests; closing the database");
    background.stop(&services).await;
    services.shutdown().await;
    db.close().await;
    Ok(())
}

fn auth_settings(args: &ServeArgs) -> anyhow::Result<AuthSettings> {
    let default = AuthSettings::default();
    let s = AuthSettings {
        access_ttl: args.access_token_ttl.unwrap_or(default.access_ttl),
        refresh_ttl: args.refresh_token_ttl.unwrap_or(default.refresh_ttl),
        session_max_age: args.session_max_age.unwrap_or(default.session_max_age),
    };
    anyhow::ensure!(
        !s.access_ttl.is_zero(),
        "the access-token lifetime must be longer than zero"
    );
    anyhow::ensure!(
        s.access_ttl < s.refresh_ttl && s.refresh_ttl <= s.session_max_age,
        "token lifetimes must grow: access < refresh <= session maximum age"
    );
    Ok(s)
}

fn limiter_settings(args: &ServeArgs) -> anyhow::Result<LimiterSettings> {
    let default = LimiterSettings::default();
    let s = LimiterSettings {
        on_database_error: args
            .limits_on_database_error
            .map_or(default.on_database_error, Into::into),
        lease_timeout: args.limit_lease_timeout.unwrap_or(default.lease_timeout),
    };
    anyhow::ensure!(
        !s.lease_timeout.is_zero(),
        "the limit lease timeout must be longer than zero"
    );
    Ok(s)
}

fn throttle_settings(args: &ServeArgs) -> anyhow::Result<ThrottleSettings> {
    let default = ThrottleSettings::default();
    let s = ThrottleSettings {
        max_failures_per_user: args
            .login_max_failures_per_user
            .unwrap_or(default.max_failures_per_user),
        max_failures_per_addr: args
            .login_max_failures_per_address
            .unwrap_or(default.max_failures_per_addr),
        window: args.login_throttle_window.unwrap_or(default.window),
    };
    anyhow::ensure!(
        s.max_failures_per_user > 0 && s.max_failures_per_addr > 0 && !s.window.is_zero(),
        "sign-in throttling limits and window must be greater than zero"
    );
    Ok(s)
}

/// Reads the Leptos configuration and warns when the web app has not been built.
fn leptos_options(path: &Path) -> anyhow::Result<LeptosOptions> {
    let display = path.display();
    let path_str = path
        .to_str()
        .context("the Leptos configuration path must be valid UTF-8")?;
    anyhow::ensure!(
        path.is_file(),
        "cannot find the Leptos configuration `{display}`: run from the directory that holds it, \
         or pass --leptos-config"
    );
    let options = get_configuration(Some(path_str))
        .map_err(|e| anyhow::anyhow!("invalid Leptos configuration `{display}`: {e}"))?
        .leptos_options;
    let script = Path::new(&*options.site_root)
        .join(&*options.site_pkg_dir)
        .join(format!("{}.js", options.output_name));
    if !script.is_file() {
        tracing::warn!(
            missing = %script.display(),
            "the web app is not built: pages will render but never become interactive; \
             run scripts/build-site.sh"
        );
    }
    Ok(options)
}

/// The first administrator's password is shown once, on the console, and stored nowhere else.
fn announce_initial_admin(password: &str) {
    console::out(&format!(
        "\n  Portcullis created the administrator `{}`.\n  One-time password: {password}\n  \
         It is shown only now and must be changed at the first sign-in.\n",
        users::INITIAL_ADMIN
    ));
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C received, shutting down"),
        () = term => tracing::info!("SIGTERM received, shutting down"),
    }
}
