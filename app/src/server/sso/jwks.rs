//! A provider's signing keys (JWKS), cached. An unknown key id refetches the set, since
//! providers rotate keys, but no more often than a floor, so that tokens with made-up key ids
//! cannot make us hammer the provider. The set is also refreshed when it grows old, so a key
//! the provider withdrew stops being trusted.

use std::time::{Duration, Instant};

use jsonwebtoken::{
    Algorithm, DecodingKey,
    jwk::{AlgorithmParameters, Jwk, JwkSet, KeyAlgorithm, PublicKeyUse},
};
use tokio::sync::Mutex;

/// A cached set older than this is refetched before use (kept if the provider is down).
pub const MAX_AGE: Duration = Duration::from_secs(3600);

/// The signature algorithms we accept from providers: asymmetric only, so that no shared
/// secret and no `none` can ever pass.
pub const ACCEPTED: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the token is signed with a key the provider does not publish")]
    UnknownKey,
    #[error("the provider's keys cannot be fetched: {0}")]
    Unreachable(String),
}

pub struct Jwks {
    uri: String,
    http: reqwest::Client,
    min_refresh: Duration,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    set: Option<JwkSet>,
    fetched_at: Option<Instant>,
}

impl Jwks {
    pub fn new(uri: String, http: reqwest::Client, min_refresh: Duration) -> Self {
        Self {
            uri,
            http,
            min_refresh,
            state: Mutex::default(),
        }
    }

    /// The key that verifies a token with header `kid` and `alg`.
    pub async fn key(&self, kid: Option<&str>, alg: Algorithm) -> Result<DecodingKey, KeyError> {
        // One fetch at a time: callers that wait find the set the first one fetched.
        let mut state = self.state.lock().await;
        let stale = state.fetched_at.is_none_or(|t| t.elapsed() >= MAX_AGE);
        if stale {
            match self.fetch().await {
                Ok(set) => state.replace(set),
                Err(e) if state.set.is_none() => return Err(e),
                Err(e) => {
                    tracing::warn!(uri = %self.uri, error = %e, "keeping the provider's old keys")
                }
            }
        }
        if let Some(key) = state.find(kid, alg) {
            return Ok(key);
        }
        let may_refetch = state
            .fetched_at
            .is_none_or(|t| t.elapsed() >= self.min_refresh);
        if stale || !may_refetch {
            return Err(KeyError::UnknownKey);
        }
        state.replace(self.fetch().await?);
        state.find(kid, alg).ok_or(KeyError::UnknownKey)
    }

    async fn fetch(&self) -> Result<JwkSet, KeyError> {
        let res = self
            .http
            .get(&self.uri)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| KeyError::Unreachable(e.without_url().to_string()))?;
        #[derive(serde::Deserialize)]
        struct Raw {
            keys: Vec<serde_json::Value>,
        }
        let raw: Raw = res
            .json()
            .await
            .map_err(|e| KeyError::Unreachable(format!("not a JWK set: {}", e.without_url())))?;
        // A key of a kind we do not know must not hide the ones we do.
        let keys = raw
            .keys
            .into_iter()
            .filter_map(|k| serde_json::from_value::<Jwk>(k).ok())
            .collect();
        Ok(JwkSet { keys })
    }
}

impl State {
    fn replace(&mut self, set: JwkSet) {
        self.set = Some(set);
        self.fetched_at = Some(Instant::now());
    }

    fn find(&self, kid: Option<&str>, alg: Algorithm) -> Option<DecodingKey> {
        let set = self.set.as_ref()?;
        let usable = |k: &&Jwk| suits(k, alg);
        let jwk = match kid {
            Some(kid) => set
                .keys
                .iter()
                .filter(usable)
                .find(|k| k.common.key_id.as_deref() == Some(kid)),
            // Without a key id, only an unambiguous set will do.
            None => {
                let mut candidates = set.keys.iter().filter(usable);
                match (candidates.next(), candidates.next()) {
                    (Some(only), None) => Some(only),
                    _ => None,
                }
            }
        }?;
        DecodingKey::from_jwk(jwk).ok()
    }
}

/// A key fits an algorithm by type, by its declared algorithm if any, and is for signing.
fn suits(k: &Jwk, alg: Algorithm) -> bool {
    let family_fits = match &k.algorithm {
        AlgorithmParameters::RSA(_) => matches!(
            alg,
            Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512
        ),
        AlgorithmParameters::EllipticCurve(_) => matches!(alg, Algorithm::ES256 | Algorithm::ES384),
        AlgorithmParameters::OctetKeyPair(_) => alg == Algorithm::EdDSA,
        // Symmetric keys are never trusted from a provider.
        _ => false,
    };
    let declared_fits = k
        .common
        .key_algorithm
        .is_none_or(|declared| key_algorithm(alg) == Some(declared));
    let for_signing = k
        .common
        .public_key_use
        .as_ref()
        .is_none_or(|u| *u == PublicKeyUse::Signature);
    family_fits && declared_fits && for_signing
}

fn key_algorithm(alg: Algorithm) -> Option<KeyAlgorithm> {
    Some(match alg {
        Algorithm::RS256 => KeyAlgorithm::RS256,
        Algorithm::RS384 => KeyAlgorithm::RS384,
        Algorithm::RS512 => KeyAlgorithm::RS512,
        Algorithm::PS256 => KeyAlgorithm::PS256,
        Algorithm::PS384 => KeyAlgorithm::PS384,
        Algorithm::PS512 => KeyAlgorithm::PS512,
        Algorithm::ES256 => KeyAlgorithm::ES256,
        Algorithm::ES384 => KeyAlgorithm::ES384,
        Algorithm::EdDSA => KeyAlgorithm::EdDSA,
        _ => return None,
    })
}
