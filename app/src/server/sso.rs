//! Signing in through identity providers: OpenID Connect (any provider with a discovery
//! document) and GitHub's OAuth. A completed external sign-in ends like a password sign-in, in
//! one of our own sessions, so nothing after it cares how the user came in.
//!
//! The flow: [`flow::start`] sends the browser to the provider with state, nonce and a PKCE
//! challenge; [`flow::callback`] checks what comes back, matches or registers the user
//! ([`provision`]) and leaves a one-time hand-off code, which the web app trades for tokens
//! ([`flow::finish`]). Tokens never travel in a URL.

pub mod accounts;
pub mod bearer;
pub mod error;
pub mod flow;
pub mod github;
pub mod invites;
pub mod jwks;
pub mod oidc;
pub mod provision;
pub mod settings;

use std::{sync::Arc, time::Duration};

pub use error::SsoError;
pub use settings::{ProviderKind, ProviderSpec, SsoSettings};

use crate::types::{ProviderButton, SignInOptions};

/// How long the browser may take at the provider.
pub const ATTEMPT_TTL: Duration = Duration::from_secs(10 * 60);
/// How long the web app has to trade a hand-off code for tokens.
pub const HANDOFF_TTL: Duration = Duration::from_secs(60);
/// Identity providers are remote: none may hold a sign-in longer than this.
pub const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);

/// What a provider says about the person who signed in, in the provider's own terms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExternalIdentity {
    /// Stable and unique at the provider: OIDC `sub`, GitHub's account id.
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    /// A username to start from (`preferred_username`, GitHub's login).
    pub username_hint: Option<String>,
    pub display_name: Option<String>,
    /// Groups, roles or organisations, from the configured claim.
    pub groups: Vec<String>,
    /// Models from the configured claim; `None` when the claim is absent.
    pub models: Option<Vec<String>>,
}

/// A configured provider, ready to use.
pub enum Provider {
    Oidc(oidc::Oidc),
    Github(github::Github),
}

impl Provider {
    pub fn spec(&self) -> &ProviderSpec {
        match self {
            Self::Oidc(p) => &p.spec,
            Self::Github(p) => &p.spec,
        }
    }
}

/// The deployment's identity providers and registration rules.
pub struct Sso {
    pub settings: SsoSettings,
    providers: Vec<Arc<Provider>>,
}

impl std::fmt::Debug for Sso {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sso")
            .field("providers", &self.settings.providers.len())
            .finish_non_exhaustive()
    }
}

impl Sso {
    pub fn new(settings: SsoSettings) -> Result<Self, crate::server::CoreError> {
        settings.validate()?;
        let http = reqwest::Client::builder()
            .timeout(PROVIDER_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("portcullis/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| crate::server::CoreError::Internal(format!("http client: {e}")))?;
        let providers = settings
            .providers
            .iter()
            .map(|spec| {
                Arc::new(match &spec.kind {
                    ProviderKind::Oidc { .. } => Provider::Oidc(oidc::Oidc::new(
                        spec.clone(),
                        http.clone(),
                        settings.jwks_min_refresh,
                    )),
                    ProviderKind::Github { .. } => {
                        Provider::Github(github::Github::new(spec.clone(), http.clone()))
                    }
                })
            })
            .collect();
        Ok(Self {
            settings,
            providers,
        })
    }

    pub fn provider(&self, name: &str) -> Option<Arc<Provider>> {
        self.providers
            .iter()
            .find(|p| p.spec().name == name)
            .cloned()
    }

    pub fn buttons(&self) -> Vec<ProviderButton> {
        self.settings
            .providers
            .iter()
            .map(|p| ProviderButton {
                name: p.name.clone(),
                display_name: p.display_name.clone(),
            })
            .collect()
    }

    pub fn sign_in_options(&self) -> SignInOptions {
        SignInOptions {
            password_login: self.settings.password_login,
            providers: self.buttons(),
            registration: self.settings.registration,
        }
    }

    /// Where a provider sends the browser back to.
    pub fn redirect_uri(&self, provider: &str) -> String {
        format!(
            "{}/auth/sso/{provider}/callback",
            self.settings.public_url.trim_end_matches('/')
        )
    }
}

/// 256 random bits, base64url: states, nonces, PKCE verifiers, hand-off codes, invites.
pub fn random_token() -> String {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The PKCE S256 challenge of a verifier (RFC 7636).
pub fn pkce_challenge(verifier: &str) -> String {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    use sha2::{Digest, Sha256};
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// `base` with query parameters appended (keeping any it has).
pub fn with_query(base: &str, params: &[(&str, &str)]) -> Result<String, SsoError> {
    let mut url = reqwest::Url::parse(base)
        .map_err(|e| SsoError::Provider(format!("bad endpoint `{base}`: {e}")))?;
    url.query_pairs_mut().extend_pairs(params);
    Ok(url.into())
}

/// What a provider's endpoint answered, or why it could not be used. Only the OAuth `error`
/// and `error_description` of a refusal are kept: a body may echo what we sent.
pub async fn provider_json<T: serde::de::DeserializeOwned>(
    what: &str,
    sent: Result<reqwest::Response, reqwest::Error>,
) -> Result<T, SsoError> {
    #[derive(serde::Deserialize)]
    struct OAuthError {
        error: String,
        error_description: Option<String>,
    }
    let res = sent.map_err(|e| SsoError::Provider(format!("{what}: {}", e.without_url())))?;
    let status = res.status();
    let bytes = res
        .bytes()
        .await
        .map_err(|e| SsoError::Provider(format!("{what}: {}", e.without_url())))?;
    if let Ok(e) = serde_json::from_slice::<OAuthError>(&bytes) {
        let description = e.error_description.unwrap_or_default();
        return Err(SsoError::Provider(format!(
            "{what}: {} {}",
            e.error,
            description.chars().take(200).collect::<String>()
        )));
    }
    if !status.is_success() {
        return Err(SsoError::Provider(format!("{what}: status {status}")));
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| SsoError::Provider(format!("{what}: unexpected answer: {e}")))
}
