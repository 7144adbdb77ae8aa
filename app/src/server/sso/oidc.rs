//! OpenID Connect: discovery, the authorization-code flow with PKCE, and the ID token's checks
//! (signature from the provider's JWKS, issuer, audience, authorised party, expiry, nonce).

use std::sync::Arc;

use jsonwebtoken::{Validation, decode, decode_header};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;
use tokio::sync::RwLock;

use super::{
    ExternalIdentity, ProviderKind, ProviderSpec, SsoError,
    jwks::{self, Jwks},
    provider_json, with_query,
};

/// Clock skew we tolerate on `exp`, `nbf` and `iat`.
const LEEWAY_SECS: u64 = 60;

#[derive(Debug, Deserialize)]
struct Metadata {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    userinfo_endpoint: Option<String>,
    #[serde(default)]
    token_endpoint_auth_methods_supported: Vec<String>,
    #[serde(default)]
    id_token_signing_alg_values_supported: Vec<String>,
}

struct Discovered {
    meta: Metadata,
    jwks: Jwks,
}

pub struct Oidc {
    pub spec: ProviderSpec,
    http: reqwest::Client,
    min_refresh: std::time::Duration,
    discovered: RwLock<Option<Arc<Discovered>>>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    id_token: String,
    access_token: Option<String>,
}

impl Oidc {
    pub fn new(
        spec: ProviderSpec,
        http: reqwest::Client,
        min_refresh: std::time::Duration,
    ) -> Self {
        Self {
            spec,
            http,
            min_refresh,
            discovered: RwLock::default(),
        }
    }

    fn issuer(&self) -> &str {
        match &self.spec.kind {
            ProviderKind::Oidc { issuer } => issuer,
            ProviderKind::Github { .. } => "",
        }
    }

    /// The provider's metadata, fetched at first use: a provider that is down at start-up
    /// must not stop the gateway, and is retried at the next sign-in.
    async fn discovered(&self) -> Result<Arc<Discovered>, SsoError> {
        if let Some(d) = self.discovered.read().await.clone() {
            return Ok(d);
        }
        let mut slot = self.discovered.write().await;
        if let Some(d) = slot.clone() {
            return Ok(d);
        }
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.issuer().trim_end_matches('/')
        );
        let meta: Metadata = provider_json("discovery", self.http.get(&url).send().await).await?;
        // OpenID Connect Discovery 1.0, section 4.3: the document must name the issuer we asked.
        if meta.issuer != self.issuer() {
            return Err(SsoError::Provider(format!(
                "discovery: the document is for issuer `{}`, not `{}`",
                meta.issuer,
                self.issuer()
            )));
        }
        let jwks = Jwks::new(meta.jwks_uri.clone(), self.http.clone(), self.min_refresh);
        let d = Arc::new(Discovered { meta, jwks });
        *slot = Some(d.clone());
        Ok(d)
    }

    pub async fn authorize_url(
        &self,
        redirect_uri: &str,
        state: &str,
        nonce: &str,
        challenge: &str,
    ) -> Result<String, SsoError> {
        let d = self.discovered().await?;
        let scope = self.spec.scopes.join(" ");
        with_query(
            &d.meta.authorization_endpoint,
            &[
                ("response_type", "code"),
                ("client_id", &self.spec.client_id),
                ("redirect_uri", redirect_uri),
                ("scope", &scope),
                ("state", state),
                ("nonce", nonce),
                ("code_challenge", challenge),
                ("code_challenge_method", "S256"),
            ],
        )
    }

    /// Trades the code for tokens and returns who signed in, once the ID token passed.
    pub async fn finish(
        &self,
        code: &str,
        verifier: &str,
        nonce: &str,
        redirect_uri: &str,
    ) -> Result<ExternalIdentity, SsoError> {
        let d = self.discovered().await?;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
        ];
        let mut req = self.http.post(&d.meta.token_endpoint);
        let methods = &d.meta.token_endpoint_auth_methods_supported;
        match &self.spec.client_secret {
            // RFC 6749 2.3.1: HTTP Basic is the default every server must support.
            Some(secret)
                if methods.is_empty() || methods.iter().any(|m| m == "client_secret_basic") =>
            {
                req = req.basic_auth(
                    form_encode(&self.spec.client_id),
                    Some(form_encode(secret.expose_secret())),
                );
            }
            Some(secret) => {
                form.push(("client_id", &self.spec.client_id));
                form.push(("client_secret", secret.expose_secret()));
            }
            None => form.push(("client_id", &self.spec.client_id)),
        }
        let answer: TokenAnswer = provider_json(
            "token endpoint",
            req.header("accept", "application/json")
                .form(&form)
                .send()
                .await,
        )
        .await?;
        let claims = self.verify_id_token(&d, &answer.id_token, nonce).await?;
        let mut claims = claims;
        if let (Some(url), Some(token)) = (&d.meta.userinfo_endpoint, &answer.access_token)
            && claims.get("email").is_none()
        {
            self.merge_userinfo(url, token, &mut claims).await?;
        }
        self.identity(&claims)
    }

    async fn verify_id_token(
        &self,
        d: &Discovered,
        token: &str,
        nonce: &str,
    ) -> Result<Map<String, Value>, SsoError> {
        let claims = self.decode(d, token, &self.spec.client_id).await?;
        let got = claims.get("nonce").and_then(Value::as_str).unwrap_or("");
        if !bool::from(got.as_bytes().ct_eq(nonce.as_bytes())) {
            return Err(SsoError::Token(
                "the nonce does not match this sign-in".into(),
            ));
        }
        Ok(claims)
    }

    /// Who a bearer JWT the provider issued for `audience` is about, once it passed every check.
    pub async fn verify_bearer(
        &self,
        token: &str,
        audience: &str,
    ) -> Result<ExternalIdentity, SsoError> {
        let d = self.discovered().await?;
        let claims = self.decode(&d, token, audience).await?;
        self.identity(&claims)
    }

    /// Signature, algorithm, issuer, audience, authorised party and expiry.
    async fn decode(
        &self,
        d: &Discovered,
        token: &str,
        audience: &str,
    ) -> Result<Map<String, Value>, SsoError> {
        let header =
            decode_header(token).map_err(|e| SsoError::Token(format!("malformed: {e}")))?;
        let advertised = &d.meta.id_token_signing_alg_values_supported;
        let alg_name = format!("{:?}", header.alg);
        if !jwks::ACCEPTED.contains(&header.alg)
            || (!advertised.is_empty() && !advertised.contains(&alg_name))
        {
            return Err(SsoError::Token(format!(
                "algorithm {alg_name} is not accepted"
            )));
        }
        let key = d
            .jwks
            .key(header.kid.as_deref(), header.alg)
            .await
            .map_err(|e| match e {
                jwks::KeyError::UnknownKey => SsoError::Token(e.to_string()),
                jwks::KeyError::Unreachable(_) => SsoError::Provider(e.to_string()),
            })?;
        let mut validation = Validation::new(header.alg);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        validation.set_issuer(&[&d.meta.issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let data =
            decode::<Map<String, Value>>(token, &key, &validation).map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => SsoError::Expired,
                _ => SsoError::Token(e.to_string()),
            })?;
        let claims = data.claims;
        // Core 1.0, 3.1.3.7: with several audiences, the token must name us as authorised party.
        if let Some(Value::Array(aud)) = claims.get("aud")
            && aud.len() > 1
            && claims.get("azp").and_then(Value::as_str) != Some(audience)
        {
            return Err(SsoError::Token("issued to another authorised party".into()));
        }
        Ok(claims)
    }

    async fn merge_userinfo(
        &self,
        url: &str,
        access_token: &str,
        claims: &mut Map<String, Value>,
    ) -> Result<(), SsoError> {
        let info: Map<String, Value> = provider_json(
            "userinfo",
            self.http.get(url).bearer_auth(access_token).send().await,
        )
        .await?;
        // Core 1.0, 5.3.2: userinfo about someone else must not be used.
        if info.get("sub") != claims.get("sub") {
            return Err(SsoError::Token("userinfo is about another subject".into()));
        }
        for (k, v) in info {
            claims.entry(k).or_insert(v);
        }
        Ok(())
    }

    fn identity(&self, claims: &Map<String, Value>) -> Result<ExternalIdentity, SsoError> {
        let text = |k: &str| claims.get(k).and_then(Value::as_str).map(str::to_owned);
        let subject = text("sub")
            .filter(|s| !s.is_empty())
            .ok_or_else(|| SsoError::Token("no subject".into()))?;
        // Some providers (Cognito, older Azure AD) send the flag as a string.
        let email_verified = matches!(claims.get("email_verified"), Some(Value::Bool(true)))
            || matches!(claims.get("email_verified"), Some(Value::String(s)) if s == "true");
        Ok(ExternalIdentity {
            subject,
            email: text("email"),
            email_verified,
            username_hint: text("preferred_username").or_else(|| text("nickname")),
            display_name: text("name"),
            groups: strings(claim_path(claims, &self.spec.groups_claim)).unwrap_or_default(),
            models: self
                .spec
                .models_claim
                .as_deref()
                .and_then(|c| strings(claim_path(claims, c))),
        })
    }
}

/// A claim by dotted path (`realm_access.roles` in Keycloak).
fn claim_path<'a>(claims: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('.');
    let mut v = claims.get(parts.next()?)?;
    for p in parts {
        v = v.get(p)?;
    }
    Some(v)
}

/// A list of strings, or one string, or space-separated strings.
pub fn strings(v: Option<&Value>) -> Option<Vec<String>> {
    match v? {
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
        ),
        Value::String(s) => Some(s.split_whitespace().map(str::to_owned).collect()),
        _ => None,
    }
}

/// What `application/x-www-form-urlencoded` leaves as it is.
const FORM: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'*')
    .remove(b'-')
    .remove(b'.')
    .remove(b'_');

/// `application/x-www-form-urlencoded`, as RFC 6749 2.3.1 wants for Basic credentials.
fn form_encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, FORM).to_string()
}
