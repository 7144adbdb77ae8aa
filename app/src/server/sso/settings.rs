//! The identity providers and registration rules a deployment configures.

use std::time::Duration;

use secrecy::SecretString;

use crate::server::CoreError;
use crate::types::Registration;

/// Refetch a provider's keys for an unknown key id at most this often: a flood of tokens with
/// made-up key ids must not become a flood of requests to the provider.
pub const DEFAULT_JWKS_MIN_REFRESH: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub struct SsoSettings {
    /// This deployment's address as browsers reach it (`https://gateway.example.com`); the
    /// redirect URIs registered at the providers are built from it, never from a request's
    /// `Host`.
    pub public_url: String,
    /// Whether people may sign in with a username and password at all.
    pub password_login: bool,
    pub registration: Registration,
    /// Lower-case email domains a new account's verified email must be in; empty: any.
    pub allowed_email_domains: Vec<String>,
    /// Lower-case verified emails that get the administrator role at every sign-in.
    pub admin_emails: Vec<String>,
    pub providers: Vec<ProviderSpec>,
    pub jwks_min_refresh: Duration,
}

impl Default for SsoSettings {
    fn default() -> Self {
        Self {
            public_url: String::new(),
            password_login: true,
            registration: Registration::Closed,
            allowed_email_domains: Vec::new(),
            admin_emails: Vec::new(),
            providers: Vec::new(),
            jwks_min_refresh: DEFAULT_JWKS_MIN_REFRESH,
        }
    }
}

#[derive(Debug, Clone)]
pub enum ProviderKind {
    /// Found through `<issuer>/.well-known/openid-configuration`.
    Oidc { issuer: String },
    /// github.com, or GitHub Enterprise Server at other addresses.
    Github {
        authorize_url: String,
        token_url: String,
        api_url: String,
    },
}

impl ProviderKind {
    pub fn github() -> Self {
        Self::Github {
            authorize_url: "https://github.com/login/oauth/authorize".into(),
            token_url: "https://github.com/login/oauth/access_token".into(),
            api_url: "https://api.github.com".into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ProviderSpec {
    /// Short, URL-safe: `/auth/sso/<name>/…`, and the key of linked identities.
    pub name: String,
    pub display_name: String,
    pub kind: ProviderKind,
    pub client_id: String,
    pub client_secret: Option<SecretString>,
    pub scopes: Vec<String>,
    /// Link a first sign-in to the existing account with the same email, when the provider
    /// says the email is verified. Off unless configured: only trust providers that verify.
    pub link_verified_email: bool,
    /// The claim holding groups (OIDC); GitHub's groups are the user's organisations.
    pub groups_claim: String,
    /// Members of any of these groups are administrators; when set, the role follows the
    /// groups at every sign-in.
    pub admin_groups: Vec<String>,
    /// When set, only members of one of these groups may sign in.
    pub allowed_groups: Vec<String>,
    /// A claim listing the models the user may use; when present, it replaces the user's
    /// model permissions at every sign-in.
    pub models_claim: Option<String>,
    /// Accept the provider's own JWTs as bearer tokens (OIDC only).
    pub bearer: Option<BearerSpec>,
}

/// Bearer JWTs issued by a provider, accepted in place of our access tokens.
#[derive(Debug, Clone)]
pub struct BearerSpec {
    /// The `aud` the tokens must carry (often the API's own client id).
    pub audience: String,
    /// On `/v1` too, not only on the management API.
    pub on_v1: bool,
}

impl ProviderSpec {
    pub fn default_scopes(kind: &ProviderKind) -> Vec<String> {
        match kind {
            ProviderKind::Oidc { .. } => vec!["openid".into(), "email".into(), "profile".into()],
            ProviderKind::Github { .. } => vec!["read:user".into(), "user:email".into()],
        }
    }
}

fn valid_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

impl SsoSettings {
    pub fn validate(&self) -> Result<(), CoreError> {
        let mut names = std::collections::HashSet::new();
        for p in &self.providers {
            if !valid_name(&p.name) {
                return Err(CoreError::Config(format!(
                    "identity provider `{}`: the name must be 1 to 32 lower-case letters, digits, `-` or `_`",
                    p.name
                )));
            }
            if !names.insert(p.name.as_str()) {
                return Err(CoreError::Config(format!(
                    "identity provider `{}` is configured twice",
                    p.name
                )));
            }
            if p.client_id.is_empty() {
                return Err(CoreError::Config(format!(
                    "identity provider `{}` needs a client_id",
                    p.name
                )));
            }
            let urls: Vec<&str> = match &p.kind {
                ProviderKind::Oidc { issuer } => vec![issuer],
                ProviderKind::Github {
                    authorize_url,
                    token_url,
                    api_url,
                } => vec![authorize_url, token_url, api_url],
            };
            for u in urls {
                check_url(&p.name, u)?;
            }
            if matches!(p.kind, ProviderKind::Github { .. }) && p.bearer.is_some() {
                return Err(CoreError::Config(format!(
                    "identity provider `{}`: GitHub issues no JWTs to accept as bearer tokens",
                    p.name
                )));
            }
            if matches!(p.kind, ProviderKind::Github { .. }) && p.client_secret.is_none() {
                return Err(CoreError::Config(format!(
                    "identity provider `{}`: GitHub needs a client secret",
                    p.name
                )));
            }
        }
        if !self.providers.is_empty() {
            check_url("public_url", &self.public_url).map_err(|_| {
                CoreError::Config(
                    "identity providers need `public_url`, this gateway's address as browsers \
                     reach it (for example https://gateway.example.com)"
                        .into(),
                )
            })?;
        }
        if !self.password_login && self.providers.is_empty() {
            return Err(CoreError::Config(
                "password sign-in is turned off and no identity provider is configured: \
                 nobody could sign in"
                    .into(),
            ));
        }
        Ok(())
    }

    /// A verified email's domain is allowed for a new account.
    pub fn domain_allowed(&self, email: &str) -> bool {
        if self.allowed_email_domains.is_empty() {
            return true;
        }
        email.rsplit_once('@').is_some_and(|(_, domain)| {
            let domain = domain.to_ascii_lowercase();
            self.allowed_email_domains.contains(&domain)
        })
    }

    pub fn is_admin_email(&self, email: &str) -> bool {
        let email = email.to_ascii_lowercase();
        self.admin_emails.contains(&email)
    }

    /// Some provider's tokens are accepted as bearer tokens.
    pub fn any_bearer(&self) -> bool {
        self.providers.iter().any(|p| p.bearer.is_some())
    }

    /// `provider`'s tokens are accepted on `/v1`; with `None`, some provider's are.
    pub fn bearer_on_v1(&self, provider: Option<&str>) -> bool {
        self.providers.iter().any(|p| {
            provider.is_none_or(|name| p.name == name) && p.bearer.as_ref().is_some_and(|b| b.on_v1)
        })
    }

    /// Plain http only for loopback, where a test or a local deployment runs.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

fn check_url(what: &str, url: &str) -> Result<(), CoreError> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| CoreError::Config(format!("`{what}`: `{url}` is not a URL: {e}")))?;
    // IPv6 hosts come in brackets.
    let loopback = parsed.host_str().is_some_and(|h| {
        h == "localhost"
            || h.trim_matches(['[', ']'])
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    });
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(CoreError::Config(format!(
            "`{what}`: `{url}` must be https (plain http only on loopback)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oidc(name: &str, issuer: &str) -> ProviderSpec {
        let kind = ProviderKind::Oidc {
            issuer: issuer.into(),
        };
        ProviderSpec {
            name: name.into(),
            display_name: name.into(),
            scopes: ProviderSpec::default_scopes(&kind),
            kind,
            client_id: "c".into(),
            client_secret: None,
            link_verified_email: false,
            groups_claim: "groups".into(),
            admin_groups: vec![],
            allowed_groups: vec![],
            models_claim: None,
            bearer: None,
        }
    }

    #[test]
    fn providers_need_https_a_public_url_and_distinct_names() {
        let mut s = SsoSettings {
            public_url: "https://gw.example.com".into(),
            providers: vec![oidc("kc", "https://kc.example.com/realms/x")],
            ..SsoSettings::default()
        };
        s.validate().unwrap();
        s.providers.push(oidc("kc", "https://other.example.com"));
        assert!(s.validate().unwrap_err().to_string().contains("twice"));
        s.providers[1] = oidc("dex", "http://dex.example.com");
        assert!(s.validate().unwrap_err().to_string().contains("https"));
        s.providers[1] = oidc("dex", "http://127.0.0.1:5556/dex");
        s.validate().unwrap();
        s.providers[1] = oidc("Dex Server", "https://dex.example.com");
        assert!(s.validate().unwrap_err().to_string().contains("lower-case"));
        s.providers.pop();
        s.public_url = String::new();
        assert!(s.validate().unwrap_err().to_string().contains("public_url"));
    }

    #[test]
    fn turning_off_passwords_needs_a_provider() {
        let s = SsoSettings {
            password_login: false,
            ..SsoSettings::default()
        };
        assert!(s.validate().unwrap_err().to_string().contains("nobody"));
    }

    #[test]
    fn email_domains_match_whole_and_case_blind() {
        let s = SsoSettings {
            allowed_email_domains: vec!["example.com".into()],
            ..SsoSettings::default()
        };
        assert!(s.domain_allowed("a@Example.COM"));
        assert!(!s.domain_allowed("a@evilexample.com"));
        assert!(!s.domain_allowed("a@example.com.evil.org"));
        assert!(!s.domain_allowed("example.com"));
        assert!(SsoSettings::default().domain_allowed("a@anything.org"));
    }
}
