//! The deployment's own secrets: the key that signs access tokens and the AES-256-GCM keys that
//! seal stored credentials. There are no built-in values: they come from configuration, or,
//! on a single-node SQLite deployment, are generated once and kept in the data directory.

use std::fmt;

use base64::{Engine, engine::general_purpose::STANDARD};
use secrecy::{ExposeSecret, SecretBox, SecretString};

use super::CoreError;

/// HMAC key for access tokens; at least 32 bytes.
pub struct JwtSecret(SecretBox<[u8]>);

impl JwtSecret {
    pub const MIN_LEN: usize = 32;

    pub fn parse(raw: &SecretString) -> Result<Self, CoreError> {
        let bytes = raw.expose_secret().trim().as_bytes();
        if bytes.len() < Self::MIN_LEN {
            return Err(CoreError::Config(format!(
                "the JWT secret must be at least {} characters; generate one with `openssl rand -base64 48`",
                Self::MIN_LEN
            )));
        }
        Ok(Self(SecretBox::new(bytes.into())))
    }

    pub fn generate() -> SecretString {
        let mut bytes = [0u8; 48];
        rand::fill(&mut bytes);
        SecretString::from(STANDARD.encode(bytes))
    }

    pub fn expose(&self) -> &[u8] {
        self.0.expose_secret()
    }
}

impl fmt::Debug for JwtSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JwtSecret(***)")
    }
}

/// One AES-256 key and the id stored beside everything it seals.
pub struct EncryptionKey {
    pub id: String,
    key: SecretBox<[u8; 32]>,
}

impl EncryptionKey {
    pub fn expose(&self) -> &[u8; 32] {
        self.key.expose_secret()
    }
}

/// The configured encryption keys; the first one seals, every one of them unseals, so keys
/// can be rotated without re-encrypting everything at once.
pub struct Keyring(Vec<EncryptionKey>);

impl Keyring {
    /// Parses `id:base64key[,id:base64key…]`; a bare base64 key gets the id `k1`.
    pub fn parse(raw: &SecretString) -> Result<Self, CoreError> {
        const HOW: &str = "generate a key with `openssl rand -base64 32`";
        let mut keys = Vec::new();
        for item in raw
            .expose_secret()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let (id, b64) = item.split_once(':').unwrap_or(("k1", item));
            if id.is_empty() || id.len() > 16 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(CoreError::Config(format!(
                    "encryption key id `{id}` must be 1 to 16 letters or digits"
                )));
            }
            let bytes = STANDARD.decode(b64).map_err(|_| {
                CoreError::Config(format!("encryption key `{id}` is not valid base64; {HOW}"))
            })?;
            let key: [u8; 32] = bytes.try_into().map_err(|_| {
                CoreError::Config(format!("encryption key `{id}` must be 32 bytes; {HOW}"))
            })?;
            if keys.iter().any(|k: &EncryptionKey| k.id == id) {
                return Err(CoreError::Config(format!(
                    "encryption key id `{id}` appears twice"
                )));
            }
            keys.push(EncryptionKey {
                id: id.to_owned(),
                key: SecretBox::new(Box::new(key)),
            });
        }
        if keys.is_empty() {
            return Err(CoreError::Config(format!("no encryption key given; {HOW}")));
        }
        Ok(Self(keys))
    }

    pub fn generate() -> SecretString {
        let mut key = [0u8; 32];
        rand::fill(&mut key);
        SecretString::from(format!("k1:{}", STANDARD.encode(key)))
    }

    /// The key new secrets are sealed with.
    pub fn current(&self) -> &EncryptionKey {
        &self.0[0]
    }

    pub fn get(&self, id: &str) -> Option<&EncryptionKey> {
        self.0.iter().find(|k| k.id == id)
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|k| format!("{}:***", k.id)))
            .finish()
    }
}

/// Everything secret a running gateway holds.
#[derive(Debug)]
pub struct Secrets {
    pub jwt: JwtSecret,
    pub keyring: Keyring,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_values_parse() {
        assert!(JwtSecret::parse(&JwtSecret::generate()).is_ok());
        let ring = Keyring::parse(&Keyring::generate()).unwrap();
        assert_eq!(ring.current().id, "k1");
    }

    #[test]
    fn keyring_reads_several_keys_and_a_bare_key() {
        let a = STANDARD.encode([1u8; 32]);
        let b = STANDARD.encode([2u8; 32]);
        let ring = Keyring::parse(&SecretString::from(format!("new:{a}, old:{b}"))).unwrap();
        assert_eq!(ring.current().id, "new");
        assert_eq!(ring.get("old").unwrap().expose(), &[2u8; 32]);
        let bare = Keyring::parse(&SecretString::from(a)).unwrap();
        assert_eq!(bare.current().id, "k1");
    }

    #[test]
    fn bad_keys_are_refused_with_a_hint() {
        let short = STANDARD.encode([1u8; 16]);
        let e = Keyring::parse(&SecretString::from(short))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("must be 32 bytes") && e.contains("openssl rand -base64 32"),
            "{e}"
        );
        assert!(Keyring::parse(&SecretString::from("k1:!!!")).is_err());
        assert!(Keyring::parse(&SecretString::from("")).is_err());
        let e = JwtSecret::parse(&SecretString::from("too short"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("openssl rand -base64 48"), "{e}");
    }

    #[test]
    fn debug_output_hides_key_material() {
        let ring = Keyring::parse(&Keyring::generate()).unwrap();
        assert_eq!(format!("{ring:?}"), r#"["k1:***"]"#);
        let jwt = JwtSecret::parse(&JwtSecret::generate()).unwrap();
        assert_eq!(format!("{jwt:?}"), "JwtSecret(***)");
    }
}
