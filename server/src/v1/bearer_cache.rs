//! Principals of identity providers' bearer tokens on `/v1`, kept while each token is valid and
//! nothing about access has changed, so a program holding one costs what an API key costs: no
//! signature check and no database at every call. Entries are keyed by the token's SHA-256
//! digest and die with the access revision (a user disabled, a permission or limit changed) or
//! the token's own `exp`. Our own access tokens are never kept: signing out revokes them
//! without moving the access revision.

use std::{collections::HashMap, sync::Mutex};

use app::server::keys::Principal;
use sha2::{Digest, Sha256};

/// Above this many tokens, expired ones are dropped, then all if that was not enough.
const MAX_ENTRIES: usize = 10_000;

#[derive(Debug, Default)]
pub struct BearerCache {
    entries: Mutex<HashMap<[u8; 32], Entry>>,
}

#[derive(Debug)]
struct Entry {
    principal: Principal,
    /// Unix seconds.
    expires_at: i64,
    revision: i64,
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl BearerCache {
    /// The principal `token` stood for, if it is still valid at `now` under `revision`.
    pub fn get(&self, token: &str, revision: i64, now: i64) -> Option<Principal> {
        let entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        entries
            .get(&digest(token))
            .filter(|e| e.revision == revision && now < e.expires_at)
            .map(|e| e.principal.clone())
    }

    pub fn put(&self, token: &str, principal: Principal, expires_at: i64, revision: i64, now: i64) {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| e.revision == revision && now < e.expires_at);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(
            digest(token),
            Entry {
                principal,
                expires_at,
                revision,
            },
        );
    }
}
