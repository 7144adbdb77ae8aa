//! Who is calling `/v1`: an API key, checked against the in-memory key cache (no database,
//! no slow hash), or — only where the deployment allows it — a signed-in user's access token.

use app::server::{
    auth::CurrentUser,
    client_addr, db,
    keys::{KeyRejection, Principal},
};
use axum::{
    extract::{Request, State},
    http::{HeaderMap, header},
    middleware::Next,
    response::Response,
};
use chrono::Utc;

use super::ApiError;
use crate::AppState;

/// The credential from `Authorization: Bearer`, or `X-API-Key` as Anthropic-style clients send it.
fn presented(headers: &HeaderMap) -> Option<&str> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        });
    bearer
        .or_else(|| headers.get("x-api-key").and_then(|v| v.to_str().ok()))
        .map(str::trim)
        .filter(|k| !k.is_empty())
}

pub async fn require(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let services = &state.services;
    let raw = presented(req.headers()).ok_or(ApiError::InvalidApiKey)?;
    let addr = client_addr::of_request(req.extensions(), req.headers(), &services.trusted_proxies);
    let principal = match services.keys.check(raw, addr, Utc::now()) {
        Ok(p) => p,
        Err(KeyRejection::Invalid) if jwt_allowed(services) && raw.matches('.').count() == 2 => {
            user_principal(&state, raw).await?
        }
        Err(KeyRejection::Invalid) => return Err(ApiError::InvalidApiKey),
        Err(KeyRejection::Expired) => return Err(ApiError::ExpiredApiKey),
        Err(KeyRejection::Disabled) => return Err(ApiError::DisabledApiKey),
        Err(KeyRejection::AddressNotAllowed) => return Err(ApiError::AddressNotAllowed),
    };
    tracing::Span::current().record("user.id", principal.user_id());
    req.extensions_mut().insert(principal);
    Ok(next.run(req).await)
}

/// Some JWT may be accepted on `/v1`: our access tokens, or a provider's.
fn jwt_allowed(services: &app::server::Services) -> bool {
    services.allow_jwt_on_v1 || services.sso.settings.bearer_on_v1(None)
}

async fn user_principal(state: &AppState, token: &str) -> Result<Principal, ApiError> {
    let services = &state.services;
    // Read before anything else, so a change of access while this request is checked leaves
    // an entry that is already stale.
    let revision = services.keys.revision();
    let now = Utc::now().timestamp();
    if let Some(p) = state.bearer_principals.get(token, revision, now) {
        return Ok(p);
    }
    let user = CurrentUser::authenticate(services, Some(token))
        .await
        .map_err(|_| ApiError::InvalidApiKey)?;
    user.require_active().map_err(|_| ApiError::InvalidApiKey)?;
    // Acting as someone is for the web app: it never spends on their behalf through `/v1`.
    if user.impersonator.is_some() {
        return Err(ApiError::InvalidApiKey);
    }
    // Each kind of token is let in only where the deployment said.
    let allowed = match &user.external {
        None => services.allow_jwt_on_v1,
        Some(p) => services.sso.settings.bearer_on_v1(Some(p)),
    };
    if !allowed {
        return Err(ApiError::InvalidApiKey);
    }
    let models = if user.all_models {
        None
    } else {
        Some(
            db::users::models(&services.db, &user.user_id)
                .await
                .map_err(ApiError::internal)?,
        )
    };
    let limits = db::limits::limits_of(&services.db, app::types::LimitHolder::User, &user.user_id)
        .await
        .map_err(ApiError::internal)?
        .unwrap_or_default();
    let external = user.external.is_some();
    let principal = Principal::for_user(&user.user_id, models, limits);
    if external && let Some(expires_at) = app::server::sso::bearer::expiry(token) {
        state
            .bearer_principals
            .put(token, principal.clone(), expires_at, revision, now);
    }
    Ok(principal)
}
