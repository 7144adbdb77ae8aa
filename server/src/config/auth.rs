//! The `[auth]` section: identity providers and registration. Client secrets are never written
//! in the file: it names the environment variable or file that holds each.

use std::path::PathBuf;

use app::server::sso::{
    ProviderKind, ProviderSpec, SsoSettings,
    settings::{BearerSpec, DEFAULT_JWKS_MIN_REFRESH},
};
use app::types::Registration;
use serde::Deserialize;

use super::{humantime_serde_opt, read_secret};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileAuth {
    /// This gateway's address as browsers reach it; redirect URIs are built from it.
    pub public_url: Option<String>,
    pub password_login: Option<bool>,
    pub registration: Option<Registration>,
    #[serde(default)]
    pub allowed_email_domains: Vec<String>,
    #[serde(default)]
    pub admin_emails: Vec<String>,
    #[serde(default, with = "humantime_serde_opt")]
    pub jwks_min_refresh: Option<std::time::Duration>,
    #[serde(default)]
    pub providers: Vec<FileProvider>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileProviderKind {
    Oidc,
    Github,
}

/// An `[[auth.providers]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileProvider {
    pub name: String,
    pub kind: FileProviderKind,
    pub display_name: Option<String>,
    /// OpenID Connect: the issuer, whose discovery document is fetched.
    pub issuer: Option<String>,
    /// GitHub Enterprise Server: its addresses (github.com by default).
    pub authorize_url: Option<String>,
    pub token_url: Option<String>,
    pub api_url: Option<String>,
    pub client_id: String,
    pub client_secret_env: Option<String>,
    pub client_secret_file: Option<PathBuf>,
    pub scopes: Option<Vec<String>>,
    #[serde(default)]
    pub link_verified_email: bool,
    pub groups_claim: Option<String>,
    #[serde(default)]
    pub admin_groups: Vec<String>,
    #[serde(default)]
    pub allowed_groups: Vec<String>,
    pub models_claim: Option<String>,
    /// Accept JWTs this provider issues as bearer tokens on the management API.
    #[serde(default)]
    pub accept_bearer_tokens: bool,
    /// The `aud` those tokens carry; the client id by default.
    pub bearer_audience: Option<String>,
    /// On `/v1` too.
    #[serde(default)]
    pub bearer_on_v1: bool,
}

impl FileAuth {
    /// The settings, with client secrets read from where the file points.
    pub fn resolve(&self) -> anyhow::Result<SsoSettings> {
        let providers = self
            .providers
            .iter()
            .map(FileProvider::resolve)
            .collect::<anyhow::Result<Vec<_>>>()?;
        let lower = |v: &[String]| v.iter().map(|s| s.trim().to_ascii_lowercase()).collect();
        let settings = SsoSettings {
            public_url: self.public_url.clone().unwrap_or_default(),
            password_login: self.password_login.unwrap_or(true),
            registration: self.registration.unwrap_or_default(),
            allowed_email_domains: lower(&self.allowed_email_domains),
            admin_emails: lower(&self.admin_emails),
            providers,
            jwks_min_refresh: self.jwks_min_refresh.unwrap_or(DEFAULT_JWKS_MIN_REFRESH),
        };
        settings.validate()?;
        Ok(settings)
    }
}

impl FileProvider {
    fn resolve(&self) -> anyhow::Result<ProviderSpec> {
        anyhow::ensure!(
            self.accept_bearer_tokens || (self.bearer_audience.is_none() && !self.bearer_on_v1),
            "identity provider `{}`: bearer_audience and bearer_on_v1 need accept_bearer_tokens = true",
            self.name
        );
        let name = &self.name;
        let kind = match self.kind {
            FileProviderKind::Oidc => {
                anyhow::ensure!(
                    self.authorize_url.is_none()
                        && self.token_url.is_none()
                        && self.api_url.is_none(),
                    "identity provider `{name}`: OpenID Connect endpoints come from the issuer's discovery document; remove authorize_url, token_url and api_url"
                );
                ProviderKind::Oidc {
                    issuer: self.issuer.clone().ok_or_else(|| {
                        anyhow::anyhow!("identity provider `{name}`: kind `oidc` needs an issuer")
                    })?,
                }
            }
            FileProviderKind::Github => {
                anyhow::ensure!(
                    self.issuer.is_none(),
                    "identity provider `{name}`: GitHub has no issuer; set api_url etc. for GitHub Enterprise"
                );
                let ProviderKind::Github {
                    authorize_url,
                    token_url,
                    api_url,
                } = ProviderKind::github()
                else {
                    unreachable!("ProviderKind::github is GitHub")
                };
                ProviderKind::Github {
                    authorize_url: self.authorize_url.clone().unwrap_or(authorize_url),
                    token_url: self.token_url.clone().unwrap_or(token_url),
                    api_url: self.api_url.clone().unwrap_or(api_url),
                }
            }
        };
        let client_secret = read_secret(
            &format!("identity provider `{name}`"),
            self.client_secret_env.as_deref(),
            self.client_secret_file.as_deref(),
        )?;
        Ok(ProviderSpec {
            name: name.clone(),
            display_name: self.display_name.clone().unwrap_or_else(|| name.clone()),
            scopes: self
                .scopes
                .clone()
                .unwrap_or_else(|| ProviderSpec::default_scopes(&kind)),
            kind,
            client_id: self.client_id.clone(),
            client_secret: client_secret.map(secrecy::SecretString::from),
            link_verified_email: self.link_verified_email,
            groups_claim: self.groups_claim.clone().unwrap_or_else(|| "groups".into()),
            admin_groups: self.admin_groups.clone(),
            allowed_groups: self.allowed_groups.clone(),
            models_claim: self.models_claim.clone(),
            bearer: self.accept_bearer_tokens.then(|| BearerSpec {
                audience: self
                    .bearer_audience
                    .clone()
                    .unwrap_or_else(|| self.client_id.clone()),
                on_v1: self.bearer_on_v1,
            }),
        })
    }
}
