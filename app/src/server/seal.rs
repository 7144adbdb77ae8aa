//! Secrets that must be read back (an API key its owner reveals, an upstream's credential) are
//! sealed with AES-256-GCM: `v1.<key id>.<base64url(nonce ‖ ciphertext)>`, a random 96-bit nonce
//! each time, and associated data naming the row, so a ciphertext moved to another row or
//! column no longer opens.

use aes_gcm::{
    Aes256Gcm, Key, KeyInit,
    aead::{Aead, Payload},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use secrecy::SecretString;

use super::{CoreError, secrets::Keyring};

const VERSION: &str = "v1";
const NONCE_LEN: usize = 12;

/// Seals `plaintext` with the current key, bound to `context` (for example `api_key:<id>`).
pub fn seal(keyring: &Keyring, context: &str, plaintext: &[u8]) -> Result<String, CoreError> {
    let key = keyring.current();
    let cipher = Aes256Gcm::new(&Key::<Aes256Gcm>::from(*key.expose()));
    let mut nonce = [0u8; NONCE_LEN];
    rand::fill(&mut nonce);
    let ciphertext = cipher
        .encrypt(
            &nonce.into(),
            Payload {
                msg: plaintext,
                aad: context.as_bytes(),
            },
        )
        .map_err(|_| CoreError::Internal("encryption failed".into()))?;
    let mut blob = nonce.to_vec();
    blob.extend_from_slice(&ciphertext);
    Ok(format!(
        "{VERSION}.{}.{}",
        key.id,
        URL_SAFE_NO_PAD.encode(blob)
    ))
}

/// Opens a sealed value; fails when its key is not configured, or when it was tampered with or
/// sealed for another context.
pub fn open(keyring: &Keyring, context: &str, sealed: &str) -> Result<SecretString, CoreError> {
    let broken = || CoreError::Internal("a sealed secret cannot be opened".into());
    let mut parts = sealed.splitn(3, '.');
    let (Some(VERSION), Some(key_id), Some(b64)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(broken());
    };
    let key = keyring.get(key_id).ok_or_else(|| {
        CoreError::Config(format!(
            "the encryption key `{key_id}` is no longer configured"
        ))
    })?;
    let blob = URL_SAFE_NO_PAD.decode(b64).map_err(|_| broken())?;
    if blob.len() <= NONCE_LEN {
        return Err(broken());
    }
    let (nonce, ciphertext) = blob.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| broken())?;
    let cipher = Aes256Gcm::new(&Key::<Aes256Gcm>::from(*key.expose()));
    let plain = cipher
        .decrypt(
            &nonce.into(),
            Payload {
                msg: ciphertext,
                aad: context.as_bytes(),
            },
        )
        .map_err(|_| broken())?;
    String::from_utf8(plain)
        .map(SecretString::from)
        .map_err(|_| broken())
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    fn ring(spec: &str) -> Keyring {
        Keyring::parse(&SecretString::from(spec.to_owned())).unwrap()
    }

    #[test]
    fn round_trips_and_binds_to_its_context() {
        let k = ring(&format!(
            "k1:{}",
            base64::engine::general_purpose::STANDARD.encode([7u8; 32])
        ));
        let sealed = seal(&k, "api_key:1", b"sk-secret").unwrap();
        assert!(sealed.starts_with("v1.k1.") && !sealed.contains("sk-secret"));
        assert_eq!(
            open(&k, "api_key:1", &sealed).unwrap().expose_secret(),
            "sk-secret"
        );
        assert!(
            open(&k, "api_key:2", &sealed).is_err(),
            "moved to another row"
        );
        assert_ne!(
            seal(&k, "api_key:1", b"sk-secret").unwrap(),
            sealed,
            "fresh nonce each time"
        );
        let mut tampered = sealed.clone();
        tampered.push('A');
        assert!(open(&k, "api_key:1", &tampered).is_err());
    }

    #[test]
    fn old_keys_still_open_after_rotation() {
        let b64 = |b: u8| base64::engine::general_purpose::STANDARD.encode([b; 32]);
        let old = ring(&format!("old:{}", b64(1)));
        let sealed = seal(&old, "c", b"x").unwrap();
        let rotated = ring(&format!("new:{},old:{}", b64(2), b64(1)));
        assert_eq!(open(&rotated, "c", &sealed).unwrap().expose_secret(), "x");
        assert!(seal(&rotated, "c", b"x").unwrap().starts_with("v1.new."));
        let e = open(&ring(&format!("new:{}", b64(2))), "c", &sealed)
            .unwrap_err()
            .to_string();
        assert!(e.contains("`old` is no longer configured"), "{e}");
    }
}
