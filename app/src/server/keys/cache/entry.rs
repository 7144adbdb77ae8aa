//! What the key cache keeps of a key and of its owner: only what a check needs, with the
//! strings many entries repeat (owner ids, model names) shared, so a hundred thousand keys
//! stay within a few tens of MiB.

use std::{collections::HashSet, sync::Arc};

use chrono::{DateTime, Utc};
use ipnet::IpNet;

use crate::server::{
    db::key_cache::{KeyRow, OwnerRow},
    keys::format::{self, PUBLIC_ID_LEN},
    limits::Limits,
};

/// How a presented key finds its entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// Ours: by the public id in the key.
    Native([u8; PUBLIC_ID_LEN]),
    /// Imported from another gateway: by the digest of the whole key.
    Foreign,
}

#[derive(Debug)]
pub struct KeyEntry {
    pub id: Arc<str>,
    pub user_id: Arc<str>,
    pub lookup: Lookup,
    pub digest: [u8; 32],
    /// The secret before a rotation, and until when it still works.
    pub previous: Option<Box<([u8; 32], DateTime<Utc>)>>,
    pub enabled: bool,
    pub expires_at: Option<DateTime<Utc>>,
    pub cidrs: Box<[IpNet]>,
    /// The key's own allowlist; empty means every model its owner may use.
    pub models: Box<[Arc<str>]>,
    /// `None`: the key has no limits of its own.
    pub limits: Option<Box<Limits>>,
}

#[derive(Debug)]
pub struct Owner {
    pub user_id: Arc<str>,
    pub enabled: bool,
    /// `None`: the owner may use every model.
    pub models: Option<Box<[Arc<str>]>>,
    pub limits: Limits,
}

/// One copy of each model name, however many keys and users list it.
#[derive(Debug, Default)]
pub struct Names(HashSet<Arc<str>>);

impl Names {
    pub fn share(&mut self, name: &str) -> Arc<str> {
        if let Some(n) = self.0.get(name) {
            return n.clone();
        }
        let n: Arc<str> = name.into();
        self.0.insert(n.clone());
        n
    }

    pub fn list(&mut self, names: Vec<String>) -> Box<[Arc<str>]> {
        names.iter().map(|n| self.share(n)).collect()
    }
}

impl KeyEntry {
    /// The entry for a stored key, or `None` (logged) when what is stored cannot be read.
    pub fn from_row(row: KeyRow, user_id: Arc<str>, models: Box<[Arc<str>]>) -> Option<Self> {
        let Some(digest) = format::from_hex(&row.secret_digest) else {
            tracing::error!(key = %row.public_id, "stored key digest is malformed; key ignored");
            return None;
        };
        let lookup = if row.format == "imported" {
            Lookup::Foreign
        } else {
            let Ok(public_id) = row.public_id.as_bytes().try_into() else {
                tracing::error!(key = %row.public_id, "stored public id is malformed; key ignored");
                return None;
            };
            Lookup::Native(public_id)
        };
        let previous = match (
            row.previous_digest.as_deref().and_then(format::from_hex),
            row.previous_valid_until,
        ) {
            (Some(d), Some(until)) => Some(Box::new((d, until))),
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
                // An empty list would mean every address: refusing the key is the safe reading.
                tracing::error!(key = %row.public_id, error = %e, "stored address ranges are malformed; key ignored");
                return None;
            }
        };
        let limits = Some(row.limits())
            .filter(|l| !l.is_unlimited())
            .map(Box::new);
        Some(Self {
            id: row.api_key_id.into(),
            user_id,
            lookup,
            digest,
            previous,
            enabled: row.enabled,
            expires_at: row.expires_at,
            cidrs: cidrs.into(),
            models,
            limits,
        })
    }
}

impl Owner {
    pub fn from_row(row: &OwnerRow, models: Option<Box<[Arc<str>]>>) -> Self {
        Self {
            user_id: row.user_id.as_str().into(),
            enabled: row.enabled,
            models: if row.all_models {
                None
            } else {
                Some(models.unwrap_or_default())
            },
            limits: row.limits(),
        }
    }
}
