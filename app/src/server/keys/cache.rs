//! The key check on the `/v1` hot path: an in-memory index of every usable key and of its
//! owner's permissions, so a request costs two hash lookups and a digest comparison, never a
//! database round trip or a slow hash.
//!
//! The index follows the access change log (migration 0007): a change made here is applied at
//! once by the code that made it ([`KeyCache::catch_up`]), and every other instance sharing the
//! database applies it at its next poll, by loading just the keys and users the change names.
//! Only an instance that has fallen further behind than the log reaches loads everything again.

mod entry;
mod load_thread;

use std::{
    collections::{BTreeSet, HashMap},
    net::IpAddr,
    sync::{
        Arc, Mutex, PoisonError, RwLock,
        atomic::{AtomicU64, Ordering},
    },
};

use chrono::{DateTime, Utc};
use subtle::ConstantTimeEq;

pub use entry::{KeyEntry, Owner};
use entry::{Lookup, Names};

use super::{
    Principal,
    format::{self, PUBLIC_ID_LEN, Presented},
};
use crate::server::{
    CoreError, Db,
    db::{
        self,
        key_cache::{Change, KeyRow, Loaded, OwnerRow},
    },
};

/// Changes one catch-up applies; an instance further behind loads everything instead, and the
/// log keeps this many (see [`KeyCache::prune_log`]).
pub const CATCH_UP_LIMIT: i64 = 1000;

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

#[derive(Debug, Default)]
struct Index {
    revision: i64,
    by_id: HashMap<Arc<str>, Arc<KeyEntry>>,
    native: HashMap<[u8; PUBLIC_ID_LEN], Arc<KeyEntry>>,
    foreign: HashMap<[u8; 32], Arc<KeyEntry>>,
    owners: HashMap<Arc<str>, Arc<Owner>>,
    names: Names,
}

impl Index {
    fn remove_key(&mut self, id: &str) {
        let Some(old) = self.by_id.remove(id) else {
            return;
        };
        // Only if the slot is still this key's: an imported digest may be shared by mistake.
        let mine = |e: &Arc<KeyEntry>| Arc::ptr_eq(e, &old);
        match old.lookup {
            Lookup::Native(public_id) => {
                if self.native.get(&public_id).is_some_and(mine) {
                    self.native.remove(&public_id);
                }
            }
            Lookup::Foreign => {
                if self.foreign.get(&old.digest).is_some_and(mine) {
                    self.foreign.remove(&old.digest);
                }
            }
        }
    }

    fn insert_key(&mut self, entry: KeyEntry) {
        self.remove_key(&entry.id);
        let entry = Arc::new(entry);
        match entry.lookup {
            Lookup::Native(public_id) => self.native.insert(public_id, entry.clone()),
            Lookup::Foreign => self.foreign.insert(entry.digest, entry.clone()),
        };
        self.by_id.insert(entry.id.clone(), entry);
    }

    /// An index of everything a full load reads, in its order.
    fn build(rows: impl IntoIterator<Item = Loaded>) -> Self {
        let mut index = Self::default();
        let mut key_models: HashMap<String, Vec<String>> = HashMap::new();
        for loaded in rows {
            match loaded {
                Loaded::Owners(owners, owner_models, models) => {
                    let mut by_user = grouped(owner_models);
                    for row in &owners {
                        index.add_owner(row, by_user.remove(&row.user_id));
                    }
                    key_models = grouped(models);
                }
                Loaded::Key(row) => {
                    let models = key_models.remove(&row.api_key_id);
                    index.add_key(row, models);
                }
            }
        }
        index
    }

    /// An owner with its model permissions (`None`: no rows), replacing any entry it had.
    fn add_owner(&mut self, row: &OwnerRow, models: Option<Vec<String>>) {
        let models = models.map(|m| self.names.list(m));
        let owner = Owner::from_row(row, models);
        self.owners.insert(owner.user_id.clone(), Arc::new(owner));
    }

    /// A usable key with its allowlist (`None`: every model its owner may use).
    fn add_key(&mut self, row: KeyRow, models: Option<Vec<String>>) {
        let models = models.map(|m| self.names.list(m)).unwrap_or_default();
        let user_id = self.owner_id(&row.user_id);
        if let Some(entry) = KeyEntry::from_row(row, user_id, models) {
            self.insert_key(entry);
        }
    }

    /// The owner's id as the index already holds it, so its keys share one copy.
    fn owner_id(&self, user_id: &str) -> Arc<str> {
        self.owners
            .get_key_value(user_id)
            .map_or_else(|| user_id.into(), |(k, _)| k.clone())
    }
}

#[derive(Default)]
pub struct KeyCache {
    index: RwLock<Index>,
    /// One catch-up or load at a time: two applying overlapping changes could leave the older
    /// rows in place last.
    writer: tokio::sync::Mutex<()>,
    /// Last use per key, written to the database in batches by [`KeyCache::flush_uses`].
    uses: Mutex<HashMap<Arc<str>, DateTime<Utc>>>,
    full_loads: AtomicU64,
}

/// What the cache holds, for tests, logs and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheStats {
    pub revision: i64,
    pub keys: usize,
    pub owners: usize,
    /// Times every key was loaded: once at start, then only after falling behind the log.
    pub full_loads: u64,
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("KeyCache").field(&self.stats()).finish()
    }
}

impl KeyCache {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Index> {
        self.index.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Index> {
        self.index.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The access revision the index reflects.
    pub fn revision(&self) -> i64 {
        self.read().revision
    }

    pub fn stats(&self) -> CacheStats {
        let index = self.read();
        CacheStats {
            revision: index.revision,
            keys: index.by_id.len(),
            owners: index.owners.len(),
            full_loads: self.full_loads.load(Ordering::Relaxed),
        }
    }

    /// Loads every key from the database, replacing the index.
    pub async fn reload(&self, db: &Db) -> Result<(), CoreError> {
        let _one = self.writer.lock().await;
        self.load_all(db).await
    }

    async fn load_all(&self, db: &Db) -> Result<(), CoreError> {
        // Bounded, so rows in flight stay few and the index grows in the load thread's arena.
        let (rows, mut received) = tokio::sync::mpsc::channel(1024);
        let (built, index) = tokio::sync::oneshot::channel();
        load_thread::run(move || {
            let index = Index::build(std::iter::from_fn(|| received.blocking_recv()));
            // The receiver is gone only if the load failed and nobody waits.
            let _ = built.send(index);
        });
        let revision = db::key_cache::load_all(db, &rows).await;
        drop(rows);
        let revision = revision?;
        let mut index = index
            .await
            .map_err(|_| CoreError::Internal("the key cache's load failed".into()))?;
        index.revision = revision;
        let old = std::mem::replace(&mut *self.write(), index);
        load_thread::run(move || drop(old));
        self.full_loads.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Applies the changes made since the index's revision (every instance's, this one's
    /// included), or loads everything when the log no longer holds them all. Returns whether
    /// anything changed.
    pub async fn catch_up(&self, db: &Db) -> Result<bool, CoreError> {
        let _one = self.writer.lock().await;
        let from = self.revision();
        let (current, changes) = db::key_cache::changes_since(db, from, CATCH_UP_LIMIT + 1).await?;
        if current == from {
            return Ok(false);
        }
        if !continues(from, current, &changes) {
            self.load_all(db).await?;
            return Ok(true);
        }
        self.apply(db, &changes).await?;
        Ok(true)
    }

    async fn apply(&self, db: &Db, changes: &[Change]) -> Result<(), CoreError> {
        let key_ids: BTreeSet<&str> = changes
            .iter()
            .filter_map(|c| c.api_key_id.as_deref())
            .collect();
        let key_ids: Vec<&str> = key_ids.into_iter().collect();
        let rows = db::key_cache::keys(db, &key_ids).await?;
        let found: Vec<&str> = rows.iter().map(|r| r.api_key_id.as_str()).collect();
        let mut key_models = grouped(db::key_cache::key_models(db, &found).await?);
        // Owners the change names, and those of changed keys the index does not know yet.
        let mut user_ids: BTreeSet<&str> = changes
            .iter()
            .filter_map(|c| c.user_id.as_deref())
            .collect();
        {
            let index = self.read();
            user_ids.extend(
                rows.iter()
                    .map(|r| r.user_id.as_str())
                    .filter(|u| !index.owners.contains_key(*u)),
            );
        }
        let user_ids: Vec<&str> = user_ids.into_iter().collect();
        let owners = db::key_cache::owners(db, &user_ids).await?;
        let mut owner_models = grouped(db::key_cache::owner_models(db, &user_ids).await?);
        let revision = changes.last().map_or(0, |c| c.revision);
        let mut index = self.write();
        for user in &user_ids {
            index.owners.remove(*user);
        }
        for row in &owners {
            index.add_owner(row, owner_models.remove(&row.user_id));
        }
        for id in &key_ids {
            index.remove_key(id);
        }
        for row in rows {
            let models = key_models.remove(&row.api_key_id);
            index.add_key(row, models);
        }
        index.revision = revision;
        Ok(())
    }

    /// Forgets log entries no instance that is keeping up still needs.
    pub async fn prune_log(db: &Db) -> Result<u64, CoreError> {
        let current = db::key_cache::access_revision(db).await?;
        db::key_cache::prune_changes(db, current - CATCH_UP_LIMIT).await
    }

    /// Checks a presented key for a client at `addr`.
    pub fn check(
        &self,
        raw: &str,
        addr: Option<IpAddr>,
        now: DateTime<Utc>,
    ) -> Result<Principal, KeyRejection> {
        let (key, owner) = {
            let index = self.read();
            let key = match format::parse(raw) {
                Presented::Native { public_id, digest } => {
                    let public_id: [u8; PUBLIC_ID_LEN] = public_id
                        .as_bytes()
                        .try_into()
                        .map_err(|_| KeyRejection::Invalid)?;
                    let e = index.native.get(&public_id).ok_or(KeyRejection::Invalid)?;
                    let current: bool = e.digest.ct_eq(&digest).into();
                    let previous = e
                        .previous
                        .as_deref()
                        .is_some_and(|(d, until)| bool::from(d.ct_eq(&digest)) && now < *until);
                    if !(current || previous) {
                        return Err(KeyRejection::Invalid);
                    }
                    e.clone()
                }
                Presented::Foreign { digest } => index
                    .foreign
                    .get(&digest)
                    .ok_or(KeyRejection::Invalid)?
                    .clone(),
            };
            let owner = index
                .owners
                .get(&*key.user_id)
                .ok_or(KeyRejection::Invalid)?
                .clone();
            (key, owner)
        };
        if !key.enabled || !owner.enabled {
            return Err(KeyRejection::Disabled);
        }
        if key.expires_at.is_some_and(|t| t <= now) {
            return Err(KeyRejection::Expired);
        }
        if !key.cidrs.is_empty() && !addr.is_some_and(|a| key.cidrs.iter().any(|n| n.contains(&a)))
        {
            return Err(KeyRejection::AddressNotAllowed);
        }
        self.uses
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key.id.clone(), now);
        Ok(Principal {
            key: Some(key),
            owner,
        })
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

/// (id, model) pairs as each id's list of models.
fn grouped(pairs: Vec<(String, String)>) -> HashMap<String, Vec<String>> {
    let mut by_id: HashMap<String, Vec<String>> = HashMap::new();
    for (id, model) in pairs {
        by_id.entry(id).or_default().push(model);
    }
    by_id
}

/// Whether `changes` (read after `from`, at most one more than the limit) are all the changes
/// from `from` to `current`: the next revisions, none missing (pruned), the last one the
/// counter's (not a database restored to an older state), and not more than one catch-up
/// applies.
fn continues(from: i64, current: i64, changes: &[Change]) -> bool {
    changes.len() as i64 <= CATCH_UP_LIMIT
        && changes.last().is_some_and(|c| c.revision == current)
        && changes
            .iter()
            .zip(from + 1..)
            .all(|(c, expected)| c.revision == expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(revision: i64) -> Change {
        Change {
            revision,
            api_key_id: Some("k".into()),
            user_id: None,
        }
    }

    #[test]
    fn only_an_unbroken_run_of_changes_up_to_the_counter_is_applied_alone() {
        assert!(continues(4, 6, &[at(5), at(6)]));
        // pruned past us, a hole, or changes the log no longer has
        assert!(!continues(4, 7, &[at(6), at(7)]));
        assert!(!continues(4, 7, &[at(5), at(7)]));
        assert!(!continues(4, 6, &[]));
        // a counter behind us: the database was restored from a backup
        assert!(!continues(9, 6, &[]));
        let many: Vec<_> = (1..=CATCH_UP_LIMIT + 1).map(at).collect();
        assert!(!continues(0, CATCH_UP_LIMIT + 1, &many));
        assert!(continues(
            0,
            CATCH_UP_LIMIT,
            &many[..CATCH_UP_LIMIT as usize]
        ));
    }
}
