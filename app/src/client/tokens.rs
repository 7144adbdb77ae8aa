//! The access and refresh tokens, kept in the tab's sessionStorage: they live as long as the
//! tab, are never sent by the browser on its own (no cookies, so no CSRF), and are gone when
//! the tab closes. Read only in the browser; on the server there are none.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
}

const KEY: &str = "portcullis.tokens";
/// An administrator's own tokens, set aside while they act as another user.
const OWN: &str = "portcullis.tokens.own";

pub fn load() -> Option<Tokens> {
    get(KEY)
}

pub fn store(tokens: &Tokens) {
    set(KEY, tokens);
}

/// Forgets the tab's tokens, and any set aside.
pub fn clear() {
    delete(KEY);
    delete(OWN);
}

/// Keeps the current tokens aside and uses `acting` instead.
pub fn set_aside_for(acting: &Tokens) {
    if let Some(own) = load() {
        set(OWN, &own);
    }
    store(acting);
}

/// The tokens set aside, taken back into use; `None` when there were none.
pub fn restore_own() -> Option<Tokens> {
    let own: Tokens = get(OWN)?;
    delete(OWN);
    store(&own);
    Some(own)
}

fn get(key: &str) -> Option<Tokens> {
    #[cfg(feature = "hydrate")]
    {
        use gloo_storage::Storage;
        gloo_storage::SessionStorage::get(key).ok()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = key;
        None
    }
}

fn set(key: &str, tokens: &Tokens) {
    #[cfg(feature = "hydrate")]
    {
        use gloo_storage::Storage;
        // A full or disabled storage leaves the session in memory only: the next reload signs out.
        let _ = gloo_storage::SessionStorage::set(key, tokens);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (key, tokens);
}

fn delete(key: &str) {
    #[cfg(feature = "hydrate")]
    {
        use gloo_storage::Storage;
        gloo_storage::SessionStorage::delete(key);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = key;
}

pub fn access() -> Option<String> {
    load().map(|t| t.access)
}
