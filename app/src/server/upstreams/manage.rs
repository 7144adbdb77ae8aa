//! Administrators' management of upstreams: list, create, change, delete, test, discover.
//! Rows from the configuration file are shown but not changed here (the file would undo it at
//! the next start). Credentials are sealed before they are stored and never shown again.

use std::{collections::BTreeMap, time::Duration};

use chrono::Utc;
use secrecy::SecretString;
use serde_json::json;

use super::{
    discovery,
    upstream::{self, DEFAULT_CONNECT_TIMEOUT, DEFAULT_IDLE_TIMEOUT, Upstream},
};
use crate::server::{
    CoreError, Services,
    audit::{self, Event},
    auth::Admin,
    db::{self, upstreams::UpstreamAdminRow},
    seal,
};
use crate::types::{
    ConnectionTest, CredentialChange, NewUpstream, Source, UpstreamApi, UpstreamChanges,
    UpstreamInfo,
};

pub async fn list(services: &Services, _admin: Admin<'_>) -> Result<Vec<UpstreamInfo>, CoreError> {
    let rows = db::upstreams::list(&services.db).await?;
    let discovered = db::upstreams::discovered_names(&services.db).await?;
    rows.into_iter()
        .map(|r| {
            let names = discovered
                .iter()
                .filter(|(id, _)| *id == r.upstream_id)
                .map(|(_, n)| n.clone())
                .collect();
            to_info(r, names)
        })
        .collect()
}

async fn get(services: &Services, upstream_id: &str) -> Result<UpstreamInfo, CoreError> {
    let row = find(services, upstream_id).await?;
    let names = db::upstreams::discovered_names(&services.db)
        .await?
        .into_iter()
        .filter(|(id, _)| id == upstream_id)
        .map(|(_, n)| n)
        .collect();
    to_info(row, names)
}

pub async fn create(
    services: &Services,
    admin: Admin<'_>,
    new: NewUpstream,
) -> Result<UpstreamInfo, CoreError> {
    let upstream_id = uuid::Uuid::now_v7().to_string();
    let name = check_name(&new.name)?;
    let base_url = check_base_url(&new.base_url)?;
    let headers = check_headers(&new.headers)?;
    let connect = check_timeout(
        "connect_timeout_ms",
        new.connect_timeout_ms,
        DEFAULT_CONNECT_TIMEOUT,
        CONNECT_RANGE,
    )?;
    let idle = check_timeout(
        "idle_timeout_ms",
        new.idle_timeout_ms,
        DEFAULT_IDLE_TIMEOUT,
        IDLE_RANGE,
    )?;
    let sealed = match &new.credential {
        Some(c) => Some(seal_credential(services, &upstream_id, c)?),
        None => None,
    };
    super::paths::check(&new.extra_paths)?;
    let extra_paths = paths_json(&new.extra_paths);
    let write = db::upstreams::UpstreamWrite {
        upstream_id: &upstream_id,
        name,
        base_url: &base_url,
        api: new.api.as_str(),
        credential_sealed: sealed.as_deref(),
        extra_headers: &headers,
        connect_timeout_ms: connect,
        idle_timeout_ms: idle,
        discover_models: new.discover_models,
        enabled: new.enabled.unwrap_or(true),
        now: Utc::now(),
        extra_paths: &extra_paths,
    };
    db::upstreams::insert(&services.db, &write)
        .await
        .map_err(|e| name_taken(e, name))?;
    let event = Event::new(admin.user().actor(), "upstream.create")
        .target("upstream", &upstream_id)
        .details(json!({
            "name": name, "base_url": base_url, "api": new.api, "has_credential": sealed.is_some(),
            "header_names": new.headers.keys().collect::<Vec<_>>(),
            "discover_models": new.discover_models, "enabled": write.enabled,
            "extra_paths": new.extra_paths,
        }));
    changed(services, event, &upstream_id).await?;
    get(services, &upstream_id).await
}

pub async fn update(
    services: &Services,
    admin: Admin<'_>,
    upstream_id: &str,
    c: UpstreamChanges,
) -> Result<UpstreamInfo, CoreError> {
    let row = find(services, upstream_id).await?;
    owned_by_admins(&row.source, &row.name)?;
    let name = match &c.name {
        Some(n) => check_name(n)?.to_owned(),
        None => row.name.clone(),
    };
    let base_url = match &c.base_url {
        Some(u) => check_base_url(u)?,
        None => row.base_url.clone(),
    };
    // The stored credential and headers were given for one server: pointed elsewhere, they go
    // only if given again, or editing the URL would hand a write-only secret to any host.
    let moved = !same_server(&row.base_url, &base_url);
    let headers = match &c.headers {
        Some(h) => check_headers(h)?,
        None if moved => "{}".to_owned(),
        None => row.extra_headers.clone().unwrap_or_else(|| "{}".to_owned()),
    };
    let connect = match c.connect_timeout_ms {
        Some(ms) => check_timeout(
            "connect_timeout_ms",
            Some(ms),
            DEFAULT_CONNECT_TIMEOUT,
            CONNECT_RANGE,
        )?,
        None => row.connect_timeout_ms,
    };
    let idle = match c.idle_timeout_ms {
        Some(ms) => check_timeout(
            "idle_timeout_ms",
            Some(ms),
            DEFAULT_IDLE_TIMEOUT,
            IDLE_RANGE,
        )?,
        None => row.idle_timeout_ms,
    };
    let api = c.api.unwrap_or(UpstreamApi::parse(&row.api));
    let sealed = match &c.credential {
        Some(CredentialChange::Set(secret)) => {
            Some(seal_credential(services, upstream_id, secret)?)
        }
        Some(CredentialChange::Remove) => None,
        None if moved => None,
        None => row.credential_sealed.clone(),
    };
    let dropped =
        moved && c.credential.is_none() && (row.credential_sealed.is_some() || c.headers.is_none());
    let extra_paths = match &c.extra_paths {
        Some(p) => {
            super::paths::check(p)?;
            paths_json(p)
        }
        None => row.extra_paths.clone().unwrap_or_else(|| "[]".to_owned()),
    };
    let write = db::upstreams::UpstreamWrite {
        upstream_id,
        name: &name,
        base_url: &base_url,
        api: api.as_str(),
        credential_sealed: sealed.as_deref(),
        extra_headers: &headers,
        connect_timeout_ms: connect,
        idle_timeout_ms: idle,
        discover_models: c.discover_models.unwrap_or(row.discover_models),
        enabled: c.enabled.unwrap_or(row.enabled),
        now: Utc::now(),
        extra_paths: &extra_paths,
    };
    if !db::upstreams::update(&services.db, &write)
        .await
        .map_err(|e| name_taken(e, &name))?
    {
        return Err(CoreError::NotFound("upstream"));
    }
    let event = Event::new(admin.user().actor(), "upstream.update")
        .target("upstream", upstream_id)
        .details(json!({
            "name": c.name, "base_url": c.base_url, "api": c.api,
            "credential": c.credential.as_ref().map(|c| match c {
                CredentialChange::Set(_) => "set",
                CredentialChange::Remove => "removed",
            }),
            "header_names": c.headers.as_ref().map(|h| h.keys().collect::<Vec<_>>()),
            "connect_timeout_ms": c.connect_timeout_ms, "idle_timeout_ms": c.idle_timeout_ms,
            "discover_models": c.discover_models, "enabled": c.enabled,
            "moved_to_another_server": moved, "credential_and_headers_dropped": dropped,
            "extra_paths": c.extra_paths,
        }));
    changed(services, event, upstream_id).await?;
    get(services, upstream_id).await
}

pub async fn delete(
    services: &Services,
    admin: Admin<'_>,
    upstream_id: &str,
) -> Result<(), CoreError> {
    let row = find(services, upstream_id).await?;
    owned_by_admins(&row.source, &row.name)?;
    if !db::upstreams::delete(&services.db, upstream_id).await? {
        return Err(CoreError::NotFound("upstream"));
    }
    let event = Event::new(admin.user().actor(), "upstream.delete")
        .target("upstream", upstream_id)
        .details(json!({ "name": row.name }));
    audit::record(&services.db, &event).await?;
    reload(services).await
}

/// Where a connection test goes: a saved upstream (with its stored credential), or settings
/// not saved yet.
pub enum TestSubject {
    Saved(String),
    Draft(NewUpstream),
}

/// Lists the upstream's models through exactly the client `/v1` would use.
pub async fn test(
    services: &Services,
    admin: Admin<'_>,
    subject: TestSubject,
) -> Result<ConnectionTest, CoreError> {
    let (upstream, target_id) = match subject {
        TestSubject::Saved(id) => {
            let row = find(services, &id).await?;
            (
                Upstream::from_row(&row.routing(), &services.secrets.keyring)?,
                Some(id),
            )
        }
        TestSubject::Draft(new) => {
            let base_url = check_base_url(&new.base_url)?;
            let headers = check_headers(&new.headers)?;
            let connect = check_timeout(
                "connect_timeout_ms",
                new.connect_timeout_ms,
                DEFAULT_CONNECT_TIMEOUT,
                CONNECT_RANGE,
            )?;
            let credential = new
                .credential
                .as_deref()
                .map(check_credential)
                .transpose()?;
            let upstream = Upstream::new(upstream::Settings {
                upstream_id: "",
                name: new.name.trim(),
                base_url: &base_url,
                api: new.api,
                credential: credential.map(|c| SecretString::from(c.to_owned())),
                headers: upstream::parse_headers(Some(&headers), &new.name)?,
                connect_timeout: millis(connect),
                idle_timeout: DEFAULT_IDLE_TIMEOUT,
                discover_models: false,
                extra_paths: Vec::new(),
            })?;
            (upstream, None)
        }
    };
    let result = discovery::probe(&upstream).await;
    let mut event = Event::new(admin.user().actor(), "upstream.test").details(json!({
        "base_url": upstream.base_url, "ok": result.ok, "status": result.status,
        "latency_ms": result.latency_ms, "error": result.error,
    }));
    if let Some(id) = target_id {
        event = event.target("upstream", id);
    }
    audit::record(&services.db, &event).await?;
    Ok(result)
}

/// Runs discovery on one upstream now.
pub async fn discover(
    services: &Services,
    admin: Admin<'_>,
    upstream_id: &str,
) -> Result<UpstreamInfo, CoreError> {
    let row = find(services, upstream_id).await?;
    if !row.discover_models {
        return Err(CoreError::Refused(format!(
            "upstream `{}` does not offer discovery; turn discover_models on first",
            row.name
        )));
    }
    let upstream = Upstream::from_row(&row.routing(), &services.secrets.keyring)?;
    discovery::refresh(&services.db, &upstream).await?;
    let event =
        Event::new(admin.user().actor(), "upstream.discover").target("upstream", upstream_id);
    audit::record(&services.db, &event).await?;
    reload(services).await?;
    get(services, upstream_id).await
}

async fn find(services: &Services, upstream_id: &str) -> Result<UpstreamAdminRow, CoreError> {
    db::upstreams::find(&services.db, upstream_id)
        .await?
        .ok_or(CoreError::NotFound("upstream"))
}

/// Audits a change, reloads routing here (other instances follow within their poll), and
/// refreshes discovery for the upstream in the background when it offers it.
async fn changed(services: &Services, event: Event, upstream_id: &str) -> Result<(), CoreError> {
    audit::record(&services.db, &event).await?;
    reload(services).await?;
    if let Some(upstream) = services
        .registry
        .upstream(upstream_id)
        .filter(|u| u.discover_models)
    {
        let services = services.clone();
        tokio::spawn(async move {
            match discovery::refresh(&services.db, &upstream).await {
                Ok(true) => {
                    if let Err(e) = reload(&services).await {
                        tracing::warn!(error = %e, "cannot reload routing after discovery");
                    }
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(upstream = %upstream.name, error = %e, "model discovery failed")
                }
            }
        });
    }
    Ok(())
}

pub(crate) async fn reload(services: &Services) -> Result<(), CoreError> {
    services
        .registry
        .reload(&services.db, &services.secrets.keyring)
        .await
}

fn to_info(r: UpstreamAdminRow, discovered_models: Vec<String>) -> Result<UpstreamInfo, CoreError> {
    let header_names = upstream::parse_headers(r.extra_headers.as_deref(), &r.name)?
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    Ok(UpstreamInfo {
        extra_paths: upstream::parse_paths(r.extra_paths.as_deref(), &r.name)?,
        api: UpstreamApi::parse(&r.api),
        has_credential: r.credential_sealed.is_some(),
        header_names,
        connect_timeout_ms: u64::try_from(r.connect_timeout_ms).unwrap_or_default(),
        idle_timeout_ms: u64::try_from(r.idle_timeout_ms).unwrap_or_default(),
        discover_models: r.discover_models,
        enabled: r.enabled,
        source: source(&r.source),
        discovered_models,
        discovered_at: r.discovered_at,
        discovery_error: r.discovery_error,
        created_at: r.created_at,
        updated_at: r.updated_at,
        upstream_id: r.upstream_id,
        name: r.name,
        base_url: r.base_url,
    })
}

pub(crate) fn source(s: &str) -> Source {
    if s == "config" {
        Source::Config
    } else {
        Source::Admin
    }
}

/// Rows from the configuration file are changed in the file.
pub(crate) fn owned_by_admins(source: &str, name: &str) -> Result<(), CoreError> {
    if source == "config" {
        return Err(CoreError::Refused(format!(
            "`{name}` comes from the configuration file; change it there"
        )));
    }
    Ok(())
}

fn name_taken(e: CoreError, name: &str) -> CoreError {
    if e.is_unique_violation() {
        CoreError::Conflict(format!("upstream `{name}`"))
    } else {
        e
    }
}

fn seal_credential(
    services: &Services,
    upstream_id: &str,
    secret: &str,
) -> Result<String, CoreError> {
    let secret = check_credential(secret)?;
    seal::seal(
        &services.secrets.keyring,
        &upstream::seal_context(upstream_id),
        secret.as_bytes(),
    )
}

fn check_name(name: &str) -> Result<&str, CoreError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(CoreError::invalid(
            "name",
            "give a name of 1 to 64 printable characters",
        ));
    }
    Ok(name)
}

/// An `http(s)` URL with a host and no query, user name or password (the credential has its
/// own field, where it is encrypted); stored without a trailing slash.
pub fn check_base_url(raw: &str) -> Result<String, CoreError> {
    let bad = |why: &str| CoreError::invalid("base_url", why.to_owned());
    let url = reqwest::Url::parse(raw.trim()).map_err(|e| bad(&format!("not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(bad(
            "use an http:// or https:// address, e.g. http://127.0.0.1:8000/v1",
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(
            "put the credential in its own field, not in the address",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("the address may not have a query or a fragment"));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// Headers that describe the request itself; an upstream may not override them.
const RESERVED_HEADERS: [&str; 6] = [
    "host",
    "content-length",
    "content-type",
    "transfer-encoding",
    "connection",
    "te",
];

fn check_headers(headers: &BTreeMap<String, String>) -> Result<String, CoreError> {
    for (name, value) in headers {
        let lower = name.to_ascii_lowercase();
        if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err()
            || RESERVED_HEADERS.contains(&lower.as_str())
        {
            return Err(CoreError::invalid(
                "headers",
                format!("`{name}` cannot be set as an extra header"),
            ));
        }
        if reqwest::header::HeaderValue::from_str(value).is_err() {
            return Err(CoreError::invalid(
                "headers",
                format!("the value of `{name}` has characters a header cannot carry"),
            ));
        }
    }
    serde_json::to_string(headers).map_err(|e| CoreError::Internal(e.to_string()))
}

fn check_credential(secret: &str) -> Result<&str, CoreError> {
    let secret = secret.trim();
    if secret.is_empty() || secret.len() > 4096 || secret.chars().any(char::is_control) {
        return Err(CoreError::invalid(
            "credential",
            "give the upstream's API key (printable, at most 4096 characters), or leave it out",
        ));
    }
    Ok(secret)
}

const CONNECT_RANGE: (u64, u64) = (100, 60_000);
const IDLE_RANGE: (u64, u64) = (1_000, 3_600_000);

fn check_timeout(
    field: &'static str,
    ms: Option<u64>,
    default: Duration,
    (min, max): (u64, u64),
) -> Result<i64, CoreError> {
    let ms = ms.unwrap_or(u64::try_from(default.as_millis()).unwrap_or(u64::MAX));
    if !(min..=max).contains(&ms) {
        return Err(CoreError::invalid(
            field,
            format!("give between {min} and {max} milliseconds"),
        ));
    }
    Ok(i64::try_from(ms).unwrap_or(i64::MAX))
}

fn millis(ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or_default())
}

/// Whether two base URLs name the same server: scheme, host and port (default ports filled in).
fn same_server(a: &str, b: &str) -> bool {
    let origin = |u: &str| {
        reqwest::Url::parse(u).ok().map(|u| {
            (
                u.scheme().to_owned(),
                u.host_str().map(str::to_ascii_lowercase),
                u.port_or_known_default(),
            )
        })
    };
    matches!((origin(a), origin(b)), (Some(x), Some(y)) if x == y)
}

/// Declared paths as stored: a JSON list.
fn paths_json(paths: &[String]) -> String {
    serde_json::to_string(paths).unwrap_or_else(|_| "[]".to_owned())
}
