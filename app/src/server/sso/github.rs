//! GitHub's OAuth (github.com or GitHub Enterprise Server): no ID token, so who signed in is
//! asked of the API with the access token. The subject is the numeric account id, which
//! survives a renamed login; groups are the user's organisations.

use secrecy::ExposeSecret;
use serde::Deserialize;

use super::{ExternalIdentity, ProviderKind, ProviderSpec, SsoError, provider_json, with_query};

pub struct Github {
    pub spec: ProviderSpec,
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
}

#[derive(Deserialize)]
struct User {
    id: u64,
    login: String,
    name: Option<String>,
}

#[derive(Deserialize)]
struct Email {
    email: String,
    primary: bool,
    verified: bool,
}

#[derive(Deserialize)]
struct Org {
    login: String,
}

impl Github {
    pub fn new(spec: ProviderSpec, http: reqwest::Client) -> Self {
        Self { spec, http }
    }

    fn urls(&self) -> (&str, &str, &str) {
        match &self.spec.kind {
            ProviderKind::Github {
                authorize_url,
                token_url,
                api_url,
            } => (authorize_url, token_url, api_url.trim_end_matches('/')),
            ProviderKind::Oidc { .. } => ("", "", ""),
        }
    }

    pub fn authorize_url(
        &self,
        redirect_uri: &str,
        state: &str,
        challenge: &str,
    ) -> Result<String, SsoError> {
        let scope = self.spec.scopes.join(" ");
        with_query(
            self.urls().0,
            &[
                ("client_id", self.spec.client_id.as_str()),
                ("redirect_uri", redirect_uri),
                ("scope", &scope),
                ("state", state),
                ("code_challenge", challenge),
                ("code_challenge_method", "S256"),
                ("allow_signup", "false"),
            ],
        )
    }

    pub async fn finish(
        &self,
        code: &str,
        verifier: &str,
        redirect_uri: &str,
    ) -> Result<ExternalIdentity, SsoError> {
        let (_, token_url, api) = self.urls();
        let secret = self
            .spec
            .client_secret
            .as_ref()
            .map(|s| s.expose_secret().to_owned())
            .unwrap_or_default();
        let form = [
            ("client_id", self.spec.client_id.as_str()),
            ("client_secret", secret.as_str()),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
        ];
        let token: TokenAnswer = provider_json(
            "token endpoint",
            self.http
                .post(token_url)
                .header("accept", "application/json")
                .form(&form)
                .send()
                .await,
        )
        .await?;
        let get = |path: &str| {
            self.http
                .get(format!("{api}{path}"))
                .bearer_auth(&token.access_token)
                .header("accept", "application/vnd.github+json")
                .header("x-github-api-version", "2022-11-28")
                .send()
        };
        let user: User = provider_json("user", get("/user").await).await?;
        let emails: Vec<Email> = provider_json("user emails", get("/user/emails").await).await?;
        let email = emails.into_iter().find(|e| e.primary);
        let groups = if self.spec.admin_groups.is_empty() && self.spec.allowed_groups.is_empty() {
            Vec::new()
        } else {
            let orgs: Vec<Org> = provider_json("user orgs", get("/user/orgs").await).await?;
            orgs.into_iter().map(|o| o.login).collect()
        };
        Ok(ExternalIdentity {
            subject: user.id.to_string(),
            email_verified: email.as_ref().is_some_and(|e| e.verified),
            email: email.map(|e| e.email),
            username_hint: Some(user.login),
            display_name: user.name,
            groups,
            models: None,
        })
    }
}
