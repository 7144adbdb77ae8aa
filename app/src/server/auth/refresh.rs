//! Refresh tokens: 256 random bits, handed out once and stored only as a SHA-256 digest.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};

/// Recognisable in logs and by secret scanners.
const PREFIX: &str = "pcr_";

/// A new token and the digest to store for it.
pub fn generate() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    let token = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let digest = digest(&token);
    (token, digest)
}

/// Hex SHA-256 of a presented token. High-entropy tokens need no slow hash, and lookup by
/// digest in an index reveals nothing an attacker could use to guess one.
pub fn digest(token: &str) -> String {
    crate::server::keys::format::to_hex(&Sha256::digest(token.as_bytes()).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_digested() {
        let (a, da) = generate();
        let (b, _) = generate();
        assert_ne!(a, b);
        assert!(a.starts_with(PREFIX) && a.len() == PREFIX.len() + 43);
        assert_eq!(da, digest(&a));
        assert_eq!(da.len(), 64);
        assert!(!da.contains(&a[PREFIX.len()..]));
    }
}
