//! `sk-pc-<public id>-<secret>`: a fixed prefix secret scanners and people recognise, a public
//! id to look the key up by without scanning, and 238 random bits of secret, of which only a
//! SHA-256 digest is stored.

use rand::RngExt;
use sha2::{Digest, Sha256};

pub const PREFIX: &str = "sk-pc-";
pub const PUBLIC_ID_LEN: usize = 12;
pub const SECRET_LEN: usize = 40;
const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// A freshly generated key.
pub struct NewKey {
    pub full: String,
    pub public_id: String,
    pub digest: [u8; 32],
}

fn random(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

pub fn generate() -> NewKey {
    let public_id = random(PUBLIC_ID_LEN);
    secret_for(public_id)
}

/// A new secret for an existing public id (rotation keeps the id, so logs stay joinable).
pub fn secret_for(public_id: String) -> NewKey {
    let secret = random(SECRET_LEN);
    NewKey {
        full: format!("{PREFIX}{public_id}-{secret}"),
        digest: Sha256::digest(secret.as_bytes()).into(),
        public_id,
    }
}

/// A key as presented by a client.
#[derive(Debug, PartialEq, Eq)]
pub enum Presented {
    /// Ours: look up by public id, then compare the secret's digest in constant time.
    Native { public_id: String, digest: [u8; 32] },
    /// Any other shape, such as a key imported from another gateway: looked up by the digest
    /// of the whole key.
    Foreign { digest: [u8; 32] },
}

pub fn parse(raw: &str) -> Presented {
    let native = raw
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.split_once('-'))
        .filter(|(id, secret)| {
            let ok =
                |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_alphanumeric());
            ok(id, PUBLIC_ID_LEN) && ok(secret, SECRET_LEN)
        });
    match native {
        Some((id, secret)) => Presented::Native {
            public_id: id.to_owned(),
            digest: Sha256::digest(secret.as_bytes()).into(),
        },
        None => Presented::Foreign {
            digest: Sha256::digest(raw.as_bytes()).into(),
        },
    }
}

/// The digest of an imported key, as stored.
pub fn foreign_digest(raw: &str) -> [u8; 32] {
    Sha256::digest(raw.as_bytes()).into()
}

pub fn to_hex(d: &[u8; 32]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn from_hex(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// What the UI shows of a key once it was created: enough to recognise it, nothing to use.
pub fn display(public_id: &str) -> String {
    format!("{PREFIX}{public_id}-…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_parse_back_to_their_id_and_digest() {
        let k = generate();
        assert!(k.full.starts_with(PREFIX));
        assert_eq!(k.full.len(), PREFIX.len() + PUBLIC_ID_LEN + 1 + SECRET_LEN);
        assert_eq!(
            parse(&k.full),
            Presented::Native {
                public_id: k.public_id.clone(),
                digest: k.digest
            }
        );
        assert_ne!(generate().full, k.full);
        assert_eq!(from_hex(&to_hex(&k.digest)), Some(k.digest));
    }

    #[test]
    fn anything_else_is_foreign() {
        for raw in [
            "sk-72tkvudyGLPMi",
            "sk-pc-short-x",
            "",
            "sk-pc-AAAAAAAAAAAA-with-dashes-in-the-secret-part-xx",
        ] {
            assert_eq!(
                parse(raw),
                Presented::Foreign {
                    digest: foreign_digest(raw)
                },
                "{raw}"
            );
        }
    }
}
