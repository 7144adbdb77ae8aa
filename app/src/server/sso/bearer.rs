//! Bearer JWTs issued by an identity provider, accepted where our own access tokens are: the
//! management API and, where the deployment says so, `/v1`. A token is checked like an ID token
//! (signature from the provider's cached JWKS, issuer, the configured audience, expiry) and its
//! claims name the user as a sign-in would: by subject, under the same registration rules and
//! role and model mappings.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::Value;

use super::{Provider, ProviderKind, SsoError};
use crate::server::{CoreError, Services, auth::CurrentUser};

/// A JWT's claims, unverified.
fn claims(token: &str) -> Option<Value> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The issuer a token claims, before anything is verified: only to pick the provider whose
/// keys will then verify everything.
fn claimed_issuer(token: &str) -> Option<String> {
    claims(token)?.get("iss")?.as_str().map(str::to_owned)
}

/// When a token that [`authenticate`] accepted expires (its verified `exp`), in Unix seconds.
pub fn expiry(token: &str) -> Option<i64> {
    claims(token)?.get("exp")?.as_i64()
}

/// The user a provider's bearer token stands for.
pub async fn authenticate(services: &Services, token: &str) -> Result<CurrentUser, CoreError> {
    let issuer = claimed_issuer(token).ok_or(CoreError::Unauthenticated)?;
    let spec = services
        .sso
        .settings
        .providers
        .iter()
        .find(|p| {
            p.bearer.is_some()
                && matches!(&p.kind, ProviderKind::Oidc { issuer: i } if i.trim_end_matches('/') == issuer.trim_end_matches('/'))
        })
        .ok_or(CoreError::Unauthenticated)?;
    let provider = services
        .sso
        .provider(&spec.name)
        .ok_or(CoreError::Unauthenticated)?;
    let (Provider::Oidc(oidc), Some(bearer)) = (&*provider, &spec.bearer) else {
        return Err(CoreError::Unauthenticated);
    };
    let who = oidc
        .verify_bearer(token, &bearer.audience)
        .await
        .map_err(|e| refused(&spec.name, e))?;
    let user = super::provision::sign_in(services, spec, &who, None, false)
        .await
        .map_err(|e| refused(&spec.name, e))?;
    CurrentUser::of(user, String::new(), None, Some(spec.name.clone()))
}

fn refused(provider: &str, e: SsoError) -> CoreError {
    match e {
        SsoError::Expired => CoreError::TokenExpired,
        SsoError::Core(e) => e,
        other => {
            tracing::info!(%provider, reason = %other, "bearer token refused");
            CoreError::Unauthenticated
        }
    }
}
