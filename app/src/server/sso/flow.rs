//! The three steps of an external sign-in: leaving for the provider, coming back, and the web
//! app trading its one-time hand-off code for our own tokens.

use chrono::Utc;
use serde_json::json;
use subtle::ConstantTimeEq;

use super::{ATTEMPT_TTL, HANDOFF_TTL, Provider, SsoError, pkce_challenge, random_token};
use crate::server::{
    CoreError, Services,
    audit::{self, Actor, Event},
    auth::{ClientInfo, refresh::digest, session},
    db::{
        self,
        sso::{NewAttempt, NewHandoff},
    },
};
use crate::types::SsoSession;

/// Sign-ins that may be in flight at once, over every instance.
pub const MAX_ATTEMPTS_IN_FLIGHT: i64 = 100_000;
/// Attempts in flight from one client address (an IPv6 /64): what one network may hold.
pub const MAX_ATTEMPTS_PER_PREFIX: i64 = 100;

/// Where the browser goes, and the cookie that binds the attempt to it.
#[derive(Debug)]
pub struct Started {
    pub location: String,
    pub cookie_name: String,
    /// The PKCE verifier: it leaves the server only in this cookie.
    pub cookie_value: String,
}

/// The cookie that carries an attempt's verifier; named after the attempt, so that sign-ins
/// in two tabs do not overwrite each other's.
pub fn cookie_name(state: &str) -> String {
    format!("pc_sso_{}", &digest(state)[..16])
}

/// A path on this site to go to afterwards, or nothing.
pub fn safe_next(next: Option<&str>) -> Option<&str> {
    next.and_then(crate::types::next_path::same_site)
}

pub async fn start(
    services: &Services,
    provider_name: &str,
    invite: Option<&str>,
    next: Option<&str>,
    prefix: Option<std::net::IpAddr>,
) -> Result<Started, SsoError> {
    let provider = services
        .sso
        .provider(provider_name)
        .ok_or(SsoError::UnknownProvider)?;
    let (state, nonce, verifier) = (random_token(), random_token(), random_token());
    let challenge = pkce_challenge(&verifier);
    let redirect_uri = services.sso.redirect_uri(provider_name);
    let location = match &*provider {
        Provider::Oidc(p) => {
            p.authorize_url(&redirect_uri, &state, &nonce, &challenge)
                .await?
        }
        Provider::Github(p) => p.authorize_url(&redirect_uri, &state, &challenge)?,
    };
    let now = Utc::now();
    db::sso::purge_expired(&services.db, now).await?;
    // Starting costs a row for ten minutes and needs no credentials: a flood must not grow
    // the table without bound, and one client network must not use up what others need.
    let prefix = prefix.map(|p| p.to_string());
    if db::sso::count_attempts(&services.db, prefix.as_deref()).await? >= MAX_ATTEMPTS_PER_PREFIX
        || db::sso::count_attempts(&services.db, None).await? >= MAX_ATTEMPTS_IN_FLIGHT
    {
        return Err(SsoError::Busy);
    }
    let invite_digest = invite.filter(|i| !i.is_empty()).map(digest);
    db::sso::insert_attempt(
        &services.db,
        &NewAttempt {
            state_digest: &digest(&state),
            provider: provider_name,
            code_challenge: &challenge,
            nonce: &nonce,
            invite_digest: invite_digest.as_deref(),
            next_path: safe_next(next),
            client_prefix: prefix.as_deref(),
            now,
            expires_at: now + ATTEMPT_TTL,
        },
    )
    .await?;
    Ok(Started {
        location,
        cookie_name: cookie_name(&state),
        cookie_value: verifier,
    })
}

/// What came back from the provider, as query parameters.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Callback {
    pub state: Option<String>,
    pub code: Option<String>,
    pub error: Option<String>,
}

/// Checks the provider's answer and leaves a hand-off; returns the web app's address that
/// carries its code, in the fragment, which browsers never send to a server.
pub async fn callback(
    services: &Services,
    provider_name: &str,
    back: &Callback,
    verifier: Option<&str>,
    client: &ClientInfo,
) -> Result<String, SsoError> {
    let result = complete(services, provider_name, back, verifier).await;
    let mut e = Event::new(Actor::System, "auth.sso");
    e.client_addr = client.addr_string();
    match &result {
        Ok((user_id, _)) => {
            e = e
                .target("user", user_id)
                .details(json!({ "provider": provider_name }));
        }
        Err(err) => {
            tracing::info!(provider = %provider_name, reason = %err, "external sign-in failed");
            e = e.details(json!({ "provider": provider_name, "reason": err.to_string() }));
            e.success = false;
        }
    }
    if let Some(user) = result.as_ref().ok().map(|(id, _)| id.clone()) {
        e.actor = actor_of(services, &user).await?;
    }
    audit::record(&services.db, &e).await?;
    result.map(|(_, code)| format!("/login/sso#code={code}"))
}

async fn complete(
    services: &Services,
    provider_name: &str,
    back: &Callback,
    verifier: Option<&str>,
) -> Result<(String, String), SsoError> {
    let provider = services
        .sso
        .provider(provider_name)
        .ok_or(SsoError::UnknownProvider)?;
    let state = back.state.as_deref().ok_or(SsoError::State)?;
    // Taken whatever happens next: a callback is good for one try.
    let attempt = db::sso::take_attempt(&services.db, &digest(state))
        .await?
        .ok_or(SsoError::State)?;
    let verifier = verifier.ok_or(SsoError::State)?;
    let same_browser = pkce_challenge(verifier)
        .as_bytes()
        .ct_eq(attempt.code_challenge.as_bytes());
    if attempt.provider != provider_name
        || attempt.expires_at <= Utc::now()
        || !bool::from(same_browser)
    {
        return Err(SsoError::State);
    }
    if let Some(error) = &back.error {
        return Err(SsoError::Denied(error.chars().take(64).collect()));
    }
    let code = back
        .code
        .as_deref()
        .ok_or_else(|| SsoError::Provider("no authorization code".into()))?;
    let redirect_uri = services.sso.redirect_uri(provider_name);
    let who = match &*provider {
        Provider::Oidc(p) => {
            p.finish(code, verifier, &attempt.nonce, &redirect_uri)
                .await?
        }
        Provider::Github(p) => p.finish(code, verifier, &redirect_uri).await?,
    };
    let user = super::provision::sign_in(
        services,
        provider.spec(),
        &who,
        attempt.invite_digest.as_deref(),
        true,
    )
    .await?;
    let handoff = random_token();
    let now = Utc::now();
    db::sso::insert_handoff(
        &services.db,
        &NewHandoff {
            code_digest: &digest(&handoff),
            user_id: &user.user_id,
            provider: provider_name,
            next_path: attempt.next_path.as_deref(),
            now,
            expires_at: now + HANDOFF_TTL,
        },
    )
    .await?;
    Ok((user.user_id, handoff))
}

async fn actor_of(services: &Services, user_id: &str) -> Result<Actor, CoreError> {
    Ok(match db::users::find_by_id(&services.db, user_id).await? {
        Some(u) => Actor::User {
            user_id: u.user_id,
            username: u.username,
        },
        None => Actor::System,
    })
}

/// Trades a hand-off code for a session; a code works once, for [`HANDOFF_TTL`].
pub async fn finish(
    services: &Services,
    code: &str,
    client: &ClientInfo,
) -> Result<SsoSession, CoreError> {
    let now = Utc::now();
    let handoff = db::sso::take_handoff(&services.db, &digest(code), now)
        .await?
        .ok_or(CoreError::Unauthenticated)?;
    let user = db::users::find_by_id(&services.db, &handoff.user_id)
        .await?
        .filter(|u| u.enabled)
        .ok_or(CoreError::Unauthenticated)?;
    db::users::record_login(&services.db, &user.user_id, now).await?;
    let session = session::start_session(services, &user.user_id, client).await?;
    let mut e = Event::new(
        Actor::User {
            user_id: user.user_id.clone(),
            username: user.username.clone(),
        },
        "auth.login",
    )
    .target("user", &user.user_id)
    .details(json!({ "method": "sso", "provider": handoff.provider }));
    e.client_addr = client.addr_string();
    audit::record(&services.db, &e).await?;
    Ok(SsoSession {
        session,
        next: handoff.next_path,
    })
}
