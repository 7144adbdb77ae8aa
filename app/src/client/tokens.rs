//! The access and refresh tokens, kept in the tab's sessionStorage: they live as long as the
//! tab, are never sent by the browser on its own (no cookies, so no CSRF), and are gone when
//! the tab closes. Read only in the browser; on the server there are none.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
}

#[cfg(feature = "hydrate")]
const KEY: &str = "portcullis.tokens";

pub fn load() -> Option<Tokens> {
    #[cfg(feature = "hydrate")]
    {
        use gloo_storage::Storage;
        gloo_storage::SessionStorage::get(KEY).ok()
    }
    #[cfg(not(feature = "hydrate"))]
    None
}

pub fn store(tokens: &Tokens) {
    #[cfg(feature = "hydrate")]
    {
        use gloo_storage::Storage;
        // A full or disabled storage leaves the session in memory only: the next reload signs out.
        let _ = gloo_storage::SessionStorage::set(KEY, tokens);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = tokens;
}

pub fn clear() {
    #[cfg(feature = "hydrate")]
    {
        use gloo_storage::Storage;
        gloo_storage::SessionStorage::delete(KEY);
    }
}

pub fn access() -> Option<String> {
    load().map(|t| t.access)
}
