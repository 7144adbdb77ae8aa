//! What people do with keys: create, list, change, rotate, reveal, revoke, delete. Everyone
//! acts on their own keys; administrators on anyone's. Another user's key is "not found", so
//! ids reveal nothing. Every change is audited and reaches the key cache at once.

use std::collections::HashMap;

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use ipnet::IpNet;
use secrecy::ExposeSecret;
use serde_json::json;

use super::{RevealPolicy, format};
use crate::server::{
    CoreError, Services,
    audit::{self, Actor, Event},
    auth::CurrentUser,
    db::{self, keys::KeyRow},
    seal,
};
use crate::types::{KeyInfo, KeyWithSecret, Permission, Role};

/// The longest a rotated-out secret may keep working.
pub const MAX_GRACE: ChronoDuration = ChronoDuration::days(7);

pub struct NewKeyRequest {
    pub name: String,
    pub user_id: Option<String>,
    pub models: Vec<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub allowed_cidrs: Vec<String>,
}

pub async fn create(
    services: &Services,
    caller: &CurrentUser,
    req: NewKeyRequest,
) -> Result<KeyWithSecret, CoreError> {
    let owner_id = req
        .user_id
        .clone()
        .unwrap_or_else(|| caller.user_id.clone());
    caller.may_act_on(&owner_id)?;
    if owner_id != caller.user_id {
        caller.require_admin()?;
    } else if !caller.permissions().contains(&Permission::CreateKeys) {
        return Err(CoreError::Forbidden);
    }
    let owner = db::users::find_by_id(&services.db, &owner_id)
        .await?
        .ok_or(CoreError::NotFound("user"))?;
    create_for(services, caller.actor(), &owner, req).await
}

/// Creates a key for `owner` without checking who asks: for callers that already did (the
/// management API above, the console).
pub async fn create_for(
    services: &Services,
    actor: Actor,
    owner: &db::users::UserRow,
    req: NewKeyRequest,
) -> Result<KeyWithSecret, CoreError> {
    let name = check_name(&req.name)?;
    let models = check_models(services, owner, &req.models).await?;
    crate::server::dates::optional("expires_at", req.expires_at)?;
    if let Some(t) = req.expires_at.filter(|t| *t <= Utc::now()) {
        return Err(CoreError::invalid(
            "expires_at",
            format!("{t} is in the past"),
        ));
    }
    let cidrs = check_cidrs(&req.allowed_cidrs)?;
    let key = format::generate();
    let api_key_id = uuid::Uuid::now_v7().to_string();
    let sealed = seal_secret(services, &api_key_id, &key.full)?;
    let inserted = db::keys::insert(
        &services.db,
        &db::keys::NewKeyRow {
            api_key_id: &api_key_id,
            public_id: &key.public_id,
            user_id: &owner.user_id,
            name,
            format: "native",
            secret_digest: &format::to_hex(&key.digest),
            secret_sealed: sealed.as_deref(),
            expires_at: req.expires_at,
            allowed_cidrs: cidrs.as_deref(),
            models: &models,
            // Made for someone else (by an administrator or at the console): theirs to use,
            // not to loosen.
            managed_by_admin: match &actor {
                Actor::User { user_id, .. } => *user_id != owner.user_id,
                Actor::Impersonated { .. } | Actor::Console | Actor::System => true,
            },
            now: Utc::now(),
        },
        Some(services.max_keys_per_user),
    )
    .await?;
    if !inserted {
        return Err(CoreError::Refused(format!(
            "{} already has {} keys in use, the most allowed here; revoke or delete one first",
            owner.username, services.max_keys_per_user
        )));
    }
    let event = Event::new(actor, "key.create")
        .target("api_key", &api_key_id)
        .details(json!({
            "owner": owner.username, "name": name, "models": models, "expires_at": req.expires_at,
            "allowed_cidrs": req.allowed_cidrs,
        }));
    changed(services, event).await?;
    Ok(KeyWithSecret {
        key: info(services, &api_key_id).await?,
        secret: key.full,
    })
}

/// A page of a listing: at most `limit` rows from `offset`.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub limit: i64,
    pub offset: i64,
}

impl Page {
    /// The most one page holds.
    pub const MAX: i64 = 1000;

    pub fn new(limit: Option<i64>, offset: Option<i64>) -> Self {
        Self {
            limit: limit.unwrap_or(Self::MAX).clamp(1, Self::MAX),
            offset: offset.unwrap_or(0).max(0),
        }
    }
}

/// Keys the caller may see: their own, or (administrators) everyone's or one user's.
pub async fn list(
    services: &Services,
    caller: &CurrentUser,
    user_id: Option<&str>,
    page: Page,
) -> Result<Vec<KeyInfo>, CoreError> {
    let filter = match (caller.role, user_id) {
        (Role::Admin, filter) => filter,
        (_, Some(other)) if other != caller.user_id => return Err(CoreError::Forbidden),
        _ => Some(caller.user_id.as_str()),
    };
    let rows = db::keys::list(&services.db, filter, page.limit, page.offset).await?;
    let mut models: HashMap<String, Vec<String>> = HashMap::new();
    let ids: Vec<&str> = rows.iter().map(|r| r.api_key_id.as_str()).collect();
    for (id, model) in db::keys::models_of(&services.db, &ids).await? {
        models.entry(id).or_default().push(model);
    }
    Ok(rows
        .into_iter()
        .map(|r| {
            let m = models.remove(&r.api_key_id).unwrap_or_default();
            to_info(r, m)
        })
        .collect())
}

pub async fn get(
    services: &Services,
    caller: &CurrentUser,
    api_key_id: &str,
) -> Result<KeyInfo, CoreError> {
    owned(services, caller, api_key_id).await?;
    info(services, api_key_id).await
}

#[derive(Default)]
pub struct KeyUpdate {
    pub name: Option<String>,
    pub enabled: Option<bool>,
    pub expires_at: Option<Option<DateTime<Utc>>>,
    pub allowed_cidrs: Option<Vec<String>>,
    pub models: Option<Vec<String>>,
}

pub async fn update(
    services: &Services,
    caller: &CurrentUser,
    api_key_id: &str,
    u: KeyUpdate,
) -> Result<KeyInfo, CoreError> {
    let key = owned(services, caller, api_key_id).await?;
    if key.revoked_at.is_some() && u.enabled == Some(true) {
        return Err(CoreError::Refused(
            "a revoked key cannot be enabled again; create a new one".into(),
        ));
    }
    let by_admin = by_admin(caller, &key.user_id);
    let fences = u.expires_at.is_some() || u.allowed_cidrs.is_some() || u.models.is_some();
    let restricts = fences || u.enabled.is_some();
    // Its owner may still rename the key or turn it off; nothing that widens it.
    let lifts = fences || u.enabled == Some(true);
    if key.managed_by_admin && caller.role != Role::Admin && lifts {
        return Err(managed());
    }
    let name = u.name.as_deref().map(check_name).transpose()?;
    let models = match &u.models {
        Some(m) => {
            let owner = db::users::find_by_id(&services.db, &key.user_id)
                .await?
                .ok_or(CoreError::NotFound("user"))?;
            Some(check_models(services, &owner, m).await?)
        }
        None => None,
    };
    let cidrs = u.allowed_cidrs.as_deref().map(check_cidrs).transpose()?;
    crate::server::dates::optional("expires_at", u.expires_at.flatten())?;
    let changes = db::keys::KeyChanges {
        name,
        enabled: u.enabled,
        expires_at: u.expires_at,
        allowed_cidrs: cidrs.as_ref().map(|c| c.as_deref()),
        models: models.as_deref(),
        by_admin: by_admin && restricts,
    };
    if !db::keys::update(&services.db, api_key_id, &changes, Utc::now()).await? {
        return Err(CoreError::NotFound("API key"));
    }
    let event = Event::new(caller.actor(), "key.update").target("api_key", api_key_id).details(json!({
        "name": name, "enabled": u.enabled, "expires_at": u.expires_at, "allowed_cidrs": u.allowed_cidrs, "models": models,
    }));
    changed(services, event).await?;
    info(services, api_key_id).await
}

/// A new secret for the key; the old one keeps working for `grace` (at most [`MAX_GRACE`]).
pub async fn rotate(
    services: &Services,
    caller: &CurrentUser,
    api_key_id: &str,
    grace: ChronoDuration,
) -> Result<KeyWithSecret, CoreError> {
    let key = owned(services, caller, api_key_id).await?;
    if key.revoked_at.is_some() {
        return Err(CoreError::Refused("a revoked key cannot be rotated".into()));
    }
    let next = format::secret_for(key.public_id.clone());
    let sealed = seal_secret(services, api_key_id, &next.full)?;
    let now = Utc::now();
    let until = (grace > ChronoDuration::zero()).then(|| now + grace);
    if !db::keys::rotate(
        &services.db,
        api_key_id,
        &format::to_hex(&next.digest),
        sealed.as_deref(),
        until,
        now,
    )
    .await?
    {
        return Err(CoreError::NotFound("API key"));
    }
    let event = Event::new(caller.actor(), "key.rotate")
        .target("api_key", api_key_id)
        .details(json!({ "previous_valid_until": until }));
    changed(services, event).await?;
    Ok(KeyWithSecret {
        key: info(services, api_key_id).await?,
        secret: next.full,
    })
}

/// The key's secret again, where the deployment's reveal policy allows it.
pub async fn reveal(
    services: &Services,
    caller: &CurrentUser,
    api_key_id: &str,
) -> Result<KeyWithSecret, CoreError> {
    match services.key_reveal {
        RevealPolicy::Off => {
            return Err(CoreError::Refused(
                "revealing keys is turned off on this gateway".into(),
            ));
        }
        RevealPolicy::Admins => {
            caller.require_admin()?;
        }
        RevealPolicy::Owner => {}
    }
    let key = owned(services, caller, api_key_id).await?;
    if key.revoked_at.is_some() {
        return Err(CoreError::Refused(
            "a revoked key cannot be revealed".into(),
        ));
    }
    let Some(sealed) = key.secret_sealed.as_deref() else {
        return Err(CoreError::Refused(
            "this key's secret was not kept; rotate it to get a new one".into(),
        ));
    };
    let secret = seal::open(&services.secrets.keyring, &context(api_key_id), sealed)?;
    audit::record(
        &services.db,
        &Event::new(caller.actor(), "key.reveal").target("api_key", api_key_id),
    )
    .await?;
    Ok(KeyWithSecret {
        key: info(services, api_key_id).await?,
        secret: secret.expose_secret().to_owned(),
    })
}

pub async fn revoke(
    services: &Services,
    caller: &CurrentUser,
    api_key_id: &str,
) -> Result<KeyInfo, CoreError> {
    owned(services, caller, api_key_id).await?;
    if db::keys::revoke(&services.db, api_key_id, Utc::now()).await? {
        changed(
            services,
            Event::new(caller.actor(), "key.revoke").target("api_key", api_key_id),
        )
        .await?;
    }
    info(services, api_key_id).await
}

pub async fn delete(
    services: &Services,
    caller: &CurrentUser,
    api_key_id: &str,
) -> Result<(), CoreError> {
    let key = owned(services, caller, api_key_id).await?;
    // Deleting would take the administrator's limits with it; revoking keeps them.
    if key.managed_by_admin && caller.role != Role::Admin {
        return Err(managed());
    }
    if !db::keys::delete(&services.db, api_key_id).await? {
        return Err(CoreError::NotFound("API key"));
    }
    let event = Event::new(caller.actor(), "key.delete")
        .target("api_key", api_key_id)
        .details(json!({ "name": key.name, "owner": key.owner }));
    changed(services, event).await
}

/// The key, if the caller may act on it.
async fn owned(
    services: &Services,
    caller: &CurrentUser,
    api_key_id: &str,
) -> Result<KeyRow, CoreError> {
    let key = db::keys::find(&services.db, api_key_id)
        .await?
        .ok_or(CoreError::NotFound("API key"))?;
    if key.user_id != caller.user_id && caller.role != Role::Admin {
        return Err(CoreError::NotFound("API key"));
    }
    caller.may_act_on(&key.user_id)?;
    Ok(key)
}

/// Whether an administrator, not the key's owner, makes a change: one acting on someone else's
/// key, or acting as its owner.
pub(crate) fn by_admin(caller: &CurrentUser, owner_id: &str) -> bool {
    caller.impersonator.is_some() || (caller.role == Role::Admin && caller.user_id != owner_id)
}

fn managed() -> CoreError {
    CoreError::Refused(
        "an administrator manages what this key may do: only an administrator can lift it, and \
         the key can be revoked but not deleted"
            .into(),
    )
}

/// Audits a change and brings this instance's key cache up to date at once.
async fn changed(services: &Services, event: Event) -> Result<(), CoreError> {
    audit::record(&services.db, &event).await?;
    services.keys.catch_up(&services.db).await.map(drop)
}

async fn info(services: &Services, api_key_id: &str) -> Result<KeyInfo, CoreError> {
    let row = db::keys::find(&services.db, api_key_id)
        .await?
        .ok_or(CoreError::NotFound("API key"))?;
    let models = db::keys::models_of(&services.db, &[api_key_id])
        .await?
        .into_iter()
        .map(|(_, m)| m)
        .collect();
    Ok(to_info(row, models))
}

fn to_info(r: KeyRow, models: Vec<String>) -> KeyInfo {
    let allowed_cidrs = r
        .allowed_cidrs
        .as_deref()
        .and_then(|c| serde_json::from_str(c).ok())
        .unwrap_or_default();
    KeyInfo {
        display: format::display(&r.public_id),
        api_key_id: r.api_key_id,
        public_id: r.public_id,
        user_id: r.user_id,
        owner: r.owner,
        name: r.name,
        models,
        expires_at: r.expires_at,
        allowed_cidrs,
        enabled: r.enabled,
        revoked_at: r.revoked_at,
        previous_valid_until: r.previous_valid_until,
        imported: r.format == "imported",
        created_at: r.created_at,
        last_used_at: r.last_used_at,
        managed_by_admin: r.managed_by_admin,
    }
}

fn context(api_key_id: &str) -> String {
    format!("api_key:{api_key_id}")
}

pub(crate) fn seal_secret(
    services: &Services,
    api_key_id: &str,
    full: &str,
) -> Result<Option<String>, CoreError> {
    if services.key_reveal == RevealPolicy::Off {
        return Ok(None);
    }
    seal::seal(
        &services.secrets.keyring,
        &context(api_key_id),
        full.as_bytes(),
    )
    .map(Some)
}

fn check_name(name: &str) -> Result<&str, CoreError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(CoreError::invalid(
            "name",
            "must be 1 to 100 characters long",
        ));
    }
    Ok(name)
}

/// A key's models, deduplicated, each one its owner may use.
async fn check_models(
    services: &Services,
    owner: &db::users::UserRow,
    models: &[String],
) -> Result<Vec<String>, CoreError> {
    let mut out: Vec<String> = models
        .iter()
        .map(|m| m.trim().to_owned())
        .filter(|m| !m.is_empty())
        .collect();
    out.sort();
    out.dedup();
    if !owner.all_models {
        let allowed = db::users::models(&services.db, &owner.user_id).await?;
        if let Some(m) = out.iter().find(|m| !allowed.contains(m)) {
            return Err(CoreError::invalid(
                "models",
                format!("`{m}` is not among the models {} may use", owner.username),
            ));
        }
    }
    Ok(out)
}

/// Address ranges as stored: a JSON array of canonical CIDRs; `None` when empty (any address).
fn check_cidrs(cidrs: &[String]) -> Result<Option<String>, CoreError> {
    let mut nets = Vec::new();
    for c in cidrs.iter().map(|c| c.trim()).filter(|c| !c.is_empty()) {
        let net = c
            .parse::<IpNet>()
            .or_else(|_| c.parse::<std::net::IpAddr>().map(IpNet::from))
            .map_err(|_| {
                CoreError::invalid(
                    "allowed_cidrs",
                    format!("`{c}` is neither an IP address nor a CIDR range"),
                )
            })?;
        nets.push(net.trunc().to_string());
    }
    if nets.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        serde_json::to_string(&nets).map_err(|e| CoreError::Internal(e.to_string()))?,
    ))
}
