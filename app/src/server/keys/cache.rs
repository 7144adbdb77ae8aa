//! The key check on the `/v1` hot path: an in-memory snapshot of every usable key and what its
//! owner may do, so a request costs a hash lookup and a digest comparison, never a database
//! round trip or a slow hash. The snapshot is rebuilt when the database's access revision moves
//! (see migration 0002): at once on the instance that made a change, and within the poll
//! interval on every other instance sharing the database.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex, PoisonError, RwLock},
};

use chrono::{DateTime, Utc};
use ipnet::IpNet;
use subtle::ConstantTimeEq;

use super::format::{self, Presented};
use crate::server::{
    CoreError, Db, db,
    limits::{LimitHolder, Limits},
};

/// One usable key and its owner's permissions, as of the snapshot.
#[derive(Debug)]
pub struct Entry {
    pub api_key_id: String,
    pub public_id: String,
    pub user_id: String,
    pub username: String,
    pub name: String,
    digest: [u8; 32],
    previous: Option<([u8; 32], DateTime<Utc>)>,
    enabled: bool,
    expires_at: Option<DateTime<Utc>>,
    cidrs: Vec<IpNet>,
    /// The key's own allowlist; empty means every model its owner may use.
    key_models: Vec<String>,
    owner_enabled: bool,
    /// `None`: the owner may use every model.
    owner_models: Option<Arc<[String]>>,
    key_limits: Limits,
    owner_limits: Limits,
}

/// An authenticated `/v1` caller.
#[derive(Debug, Clone)]
pub struct Principal(pub Arc<Entry>);

impl Principal {
    /// A signed-in user calling `/v1` with an access token (where the deployment allows it):
    /// the user's own model permissions, no key.
    pub fn for_user(
        user_id: String,
        username: String,
        models: Option<Vec<String>>,
        limits: Limits,
    ) -> Self {
        Self(Arc::new(Entry {
            api_key_id: String::new(),
            public_id: String::new(),
            user_id,
            username,
            name: String::new(),
            digest: [0; 32],
            previous: None,
            enabled: true,
            expires_at: None,
            cidrs: Vec::new(),
            key_models: Vec::new(),
            owner_enabled: true,
            owner_models: models.map(Into::into),
            key_limits: Limits::default(),
            owner_limits: limits,
        }))
    }

    /// The limits that apply to this caller: the key's own and its owner's, where set.
    pub fn limits(&self) -> impl Iterator<Item = (LimitHolder, &str, &Limits)> {
        let e = &self.0;
        [
            (LimitHolder::Key, e.api_key_id.as_str(), &e.key_limits),
            (LimitHolder::User, e.user_id.as_str(), &e.owner_limits),
        ]
        .into_iter()
        .filter(|(_, id, l)| !id.is_empty() && !l.is_unlimited())
    }

    /// Whether a spending limit applies to this caller (its key's or its owner's).
    pub fn has_cost_budget(&self) -> bool {
        self.limits()
            .any(|(_, _, l)| l.cost_per_month_micros.is_some())
    }

    /// The key used, if the caller used one.
    pub fn api_key_id(&self) -> Option<&str> {
        Some(self.0.api_key_id.as_str()).filter(|id| !id.is_empty())
    }

    /// Whether the key, within its owner's permissions, may use `model`.
    pub fn may_use(&self, model: &str) -> bool {
        let e = &self.0;
        let owner_ok = e
            .owner_models
            .as_ref()
            .is_none_or(|m| m.iter().any(|x| x == model));
        let key_ok = e.key_models.is_empty() || e.key_models.iter().any(|x| x == model);
        owner_ok && key_ok
    }
}

/// Why a presented key was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRejection {
    /// Missing, malformed, unknown, revoked, or a wrong secret.
    Invalid,
    Expired,
    /// The key or its owner is disabled.
    Disabled,
    AddressNotAllowed,
}

#[derive(Default)]
struct Snapshot {
    revision: i64,
    by_public_id: HashMap<String, Arc<Entry>>,
    by_foreign_digest: HashMap<[u8; 32], Arc<Entry>>,
}

#[derive(Default)]
pub struct KeyCache {
    snapshot: RwLock<Arc<Snapshot>>,
    /// Last use per key, written to the database in batches by [`KeyCache::flush_uses`].
    uses: Mutex<HashMap<String, DateTime<Utc>>>,
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.current();
        f.debug_struct("KeyCache")
            .field("revision", &s.revision)
            .field("keys", &s.by_public_id.len())
            .finish()
    }
}

impl KeyCache {
    fn current(&self) -> Arc<Snapshot> {
        self.snapshot
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The access revision the snapshot reflects.
    pub fn revision(&self) -> i64 {
        self.current().revision
    }

    /// Rebuilds the snapshot from the database.
    pub async fn reload(&self, db: &Db) -> Result<(), CoreError> {
        let (revision, rows, key_models, user_models) = db::keys::cache_snapshot(db).await?;
        let mut by_key_models: HashMap<String, Vec<String>> = HashMap::new();
        for (id, model) in key_models {
            by_key_models.entry(id).or_default().push(model);
        }
        let mut by_user: HashMap<String, Vec<String>> = HashMap::new();
        for (user, model) in user_models {
            by_user.entry(user).or_default().push(model);
        }
        let by_user: HashMap<String, Arc<[String]>> =
            by_user.into_iter().map(|(u, m)| (u, m.into())).collect();
        let mut snapshot = Snapshot {
            revision,
            ..Snapshot::default()
        };
        for row in rows {
            let Some(digest) = format::from_hex(&row.secret_digest) else {
                tracing::error!(key = %row.public_id, "stored key digest is malformed; key ignored");
                continue;
            };
            let previous = match (
                row.previous_digest.as_deref().and_then(format::from_hex),
                row.previous_valid_until,
            ) {
                (Some(d), Some(until)) => Some((d, until)),
                _ => None,
            };
            let cidrs = match row
                .allowed_cidrs
                .as_deref()
                .map(serde_json::from_str::<Vec<IpNet>>)
            {
                None => Vec::new(),
                Some(Ok(c)) => c,
                Some(Err(e)) => {
                    // Refusing every address is the safe reading of an unreadable allowlist.
                    tracing::error!(key = %row.public_id, error = %e, "stored address ranges are malformed");
                    vec![]
                }
            };
            let owner_models = (!row.owner_all_models).then(|| {
                by_user
                    .get(&row.user_id)
                    .cloned()
                    .unwrap_or_else(|| Arc::from(Vec::new()))
            });
            let foreign = row.format == "imported";
            let (key_limits, owner_limits) = (row.key_limits(), row.owner_limits());
            let entry = Arc::new(Entry {
                key_models: by_key_models.remove(&row.api_key_id).unwrap_or_default(),
                api_key_id: row.api_key_id,
                public_id: row.public_id,
                user_id: row.user_id,
                username: row.username,
                name: row.name,
                digest,
                previous,
                enabled: row.enabled,
                expires_at: row.expires_at,
                cidrs,
                owner_enabled: row.owner_enabled,
                owner_models,
                key_limits,
                owner_limits,
            });
            if foreign {
                snapshot.by_foreign_digest.insert(digest, entry.clone());
            }
            snapshot.by_public_id.insert(entry.public_id.clone(), entry);
        }
        *self
            .snapshot
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(snapshot);
        Ok(())
    }

    /// Reloads when the database's access revision differs from the snapshot's.
    pub async fn refresh_if_changed(&self, db: &Db) -> Result<bool, CoreError> {
        if db::keys::access_revision(db).await? == self.revision() {
            return Ok(false);
        }
        self.reload(db).await?;
        Ok(true)
    }

    /// Checks a presented key for a client at `addr`.
    pub fn check(
        &self,
        raw: &str,
        addr: Option<IpAddr>,
        now: DateTime<Utc>,
    ) -> Result<Principal, KeyRejection> {
        let snapshot = self.current();
        let entry = match format::parse(raw) {
            Presented::Native { public_id, digest } => {
                let e = snapshot
                    .by_public_id
                    .get(&public_id)
                    .ok_or(KeyRejection::Invalid)?;
                let current: bool = e.digest.ct_eq(&digest).into();
                let previous = e
                    .previous
                    .is_some_and(|(d, until)| bool::from(d.ct_eq(&digest)) && now < until);
                if !(current || previous) {
                    return Err(KeyRejection::Invalid);
                }
                e.clone()
            }
            Presented::Foreign { digest } => snapshot
                .by_foreign_digest
                .get(&digest)
                .ok_or(KeyRejection::Invalid)?
                .clone(),
        };
        if !entry.enabled || !entry.owner_enabled {
            return Err(KeyRejection::Disabled);
        }
        if entry.expires_at.is_some_and(|t| t <= now) {
            return Err(KeyRejection::Expired);
        }
        if !entry.cidrs.is_empty()
            && !addr.is_some_and(|a| entry.cidrs.iter().any(|n| n.contains(&a)))
        {
            return Err(KeyRejection::AddressNotAllowed);
        }
        self.uses
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(entry.api_key_id.clone(), now);
        Ok(Principal(entry))
    }

    /// Writes the recorded last-use times.
    pub async fn flush_uses(&self, db: &Db) -> Result<(), CoreError> {
        let uses: Vec<_> =
            std::mem::take(&mut *self.uses.lock().unwrap_or_else(PoisonError::into_inner))
                .into_iter()
                .collect();
        if uses.is_empty() {
            return Ok(());
        }
        db::keys::record_use(db, &uses).await
    }
}
