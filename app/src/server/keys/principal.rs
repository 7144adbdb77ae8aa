//! An authenticated `/v1` caller: the key it presented (if any) and the key's owner, each as
//! the key cache held them when the request was checked.

use std::sync::Arc;

use super::cache::{KeyEntry, Owner};
use crate::server::limits::{LimitHolder, Limits};

#[derive(Debug, Clone)]
pub struct Principal {
    pub(super) key: Option<Arc<KeyEntry>>,
    pub(super) owner: Arc<Owner>,
}

impl Principal {
    /// A signed-in user calling `/v1` with an access token (where the deployment allows it):
    /// the user's own model permissions, no key.
    pub fn for_user(user_id: &str, models: Option<Vec<String>>, limits: Limits) -> Self {
        Self {
            key: None,
            owner: Arc::new(Owner {
                user_id: user_id.into(),
                enabled: true,
                models: models.map(|m| m.into_iter().map(Arc::from).collect()),
                limits,
            }),
        }
    }

    pub fn user_id(&self) -> &str {
        &self.owner.user_id
    }

    /// The key used, if the caller used one.
    pub fn api_key_id(&self) -> Option<&str> {
        self.key.as_deref().map(|k| &*k.id)
    }

    /// The limits that apply to this caller: the key's own and its owner's, where set.
    pub fn limits(&self) -> impl Iterator<Item = (LimitHolder, &str, &Limits)> {
        let key = self
            .key
            .as_deref()
            .and_then(|k| Some((LimitHolder::Key, &*k.id, k.limits.as_deref()?)));
        let owner = (LimitHolder::User, self.user_id(), &self.owner.limits);
        key.into_iter()
            .chain(std::iter::once(owner))
            .filter(|(_, _, l)| !l.is_unlimited())
    }

    /// Whether a spending limit applies to this caller (its key's or its owner's).
    pub fn has_cost_budget(&self) -> bool {
        self.limits()
            .any(|(_, _, l)| l.cost_per_month_micros.is_some())
    }

    /// Whether the key, within its owner's permissions, may use `model`.
    pub fn may_use(&self, model: &str) -> bool {
        let listed = |m: &[Arc<str>]| m.iter().any(|x| &**x == model);
        let owner_ok = self.owner.models.as_deref().is_none_or(listed);
        let key_ok = self
            .key
            .as_deref()
            .is_none_or(|k| k.models.is_empty() || listed(&k.models));
        owner_ok && key_ok
    }
}
