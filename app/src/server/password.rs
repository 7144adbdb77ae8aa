//! Password hashing with argon2id (OWASP parameters: 19 MiB, 2 passes, 1 lane), run off the
//! async threads because one hash takes tens of milliseconds of CPU. At most one hash per core
//! runs at once and a bounded number wait: past that a request is refused at once (503), so a
//! burst of sign-ins costs a fixed amount of memory, not 19 MiB each.

use argon2::{
    Argon2,
    password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash},
};
use rand::RngExt;
use secrecy::{ExposeSecret, SecretString};
use std::sync::{
    LazyLock,
    atomic::{AtomicUsize, Ordering},
};
use tokio::sync::Semaphore;

use super::CoreError;

pub const MIN_LEN: usize = 12;
/// Bounds the work an attacker can ask of the hasher.
pub const MAX_LEN: usize = 1024;

/// Refuses passwords that are too short or too long, in words a person understands.
pub fn check_policy(password: &SecretString) -> Result<(), CoreError> {
    let len = password.expose_secret().chars().count();
    if len < MIN_LEN {
        return Err(CoreError::invalid(
            "password",
            format!("must be at least {MIN_LEN} characters long"),
        ));
    }
    if len > MAX_LEN {
        return Err(CoreError::invalid(
            "password",
            format!("must be at most {MAX_LEN} characters long"),
        ));
    }
    Ok(())
}

/// Hashes waiting for a core, per core, before further ones are refused.
const WAITING_PER_CORE: usize = 16;

/// Admits hashing work: `running` at once, up to `capacity` admitted in all.
struct Gate {
    running: Semaphore,
    admitted: AtomicUsize,
    capacity: usize,
}

/// One admission, held until its hash is done.
struct Admitted<'a>(&'a Gate);

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        self.0.admitted.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Gate {
    fn new(cores: usize) -> Self {
        Self {
            running: Semaphore::new(cores),
            admitted: AtomicUsize::new(0),
            capacity: cores * (1 + WAITING_PER_CORE),
        }
    }

    fn admit(&self) -> Result<Admitted<'_>, CoreError> {
        if self.admitted.fetch_add(1, Ordering::AcqRel) >= self.capacity {
            self.admitted.fetch_sub(1, Ordering::AcqRel);
            return Err(CoreError::Busy);
        }
        Ok(Admitted(self))
    }

    /// Runs `work` on a blocking thread once a core is free, or refuses it when too many wait.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, CoreError> {
        let _admitted = self.admit()?;
        let _core = self
            .running
            .acquire()
            .await
            .map_err(|e| CoreError::Internal(format!("password gate closed: {e}")))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| CoreError::Internal(format!("password task failed: {e}")))
    }
}

static GATE: LazyLock<Gate> = LazyLock::new(|| {
    Gate::new(std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get))
});

/// Returns the PHC string of a fresh argon2id hash with a random salt.
pub async fn hash(password: SecretString) -> Result<String, CoreError> {
    GATE.run(move || {
        Argon2::default()
            .hash_password(password.expose_secret().as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| CoreError::Internal(format!("password hashing failed: {e}")))
    })
    .await?
}

/// Checks `password` against a stored PHC string; a malformed hash never matches.
pub async fn verify(password: SecretString, phc: String) -> Result<bool, CoreError> {
    GATE.run(move || {
        let Ok(parsed) = PasswordHash::new(&phc) else {
            return false;
        };
        Argon2::default()
            .verify_password(password.expose_secret().as_bytes(), &parsed)
            .is_ok()
    })
    .await
}

/// A random password of 24 characters from an alphabet without look-alikes (about 138 bits).
pub fn generate() -> SecretString {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = rand::rng();
    let s: String = (0..24)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect();
    SecretString::from(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_gate_refuses_at_once_instead_of_queueing_without_bound() {
        let gate = Gate::new(1);
        let held: Vec<_> = (0..gate.capacity).map(|_| gate.admit().unwrap()).collect();
        assert!(matches!(gate.admit(), Err(CoreError::Busy)));
        assert!(matches!(gate.run(|| 1).await, Err(CoreError::Busy)));
        drop(held);
        assert_eq!(gate.run(|| 7).await.unwrap(), 7);
    }

    #[tokio::test]
    async fn hashes_with_argon2id_and_verifies_only_the_right_password() {
        let phc = hash(SecretString::from("correct horse battery"))
            .await
            .unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(
            verify(SecretString::from("correct horse battery"), phc.clone())
                .await
                .unwrap()
        );
        assert!(
            !verify(SecretString::from("correct horse batterY"), phc)
                .await
                .unwrap()
        );
        assert!(
            !verify(SecretString::from("x"), "not a hash".into())
                .await
                .unwrap()
        );
    }

    #[test]
    fn policy_explains_what_is_wrong() {
        let e = check_policy(&SecretString::from("short")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "password: must be at least 12 characters long"
        );
        assert!(check_policy(&SecretString::from("x".repeat(MAX_LEN + 1))).is_err());
        assert!(check_policy(&generate()).is_ok());
    }

    #[test]
    fn generated_passwords_differ() {
        assert_ne!(generate().expose_secret(), generate().expose_secret());
    }
}
