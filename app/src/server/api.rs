//! Plumbing shared by every server function: the services, the caller's credentials and
//! address, and turning a domain error into the right HTTP status.

use std::future::Future;

use axum::http::{HeaderValue, StatusCode, header, request::Parts};
use leptos::prelude::use_context;
use leptos_axum::ResponseOptions;

use super::{
    CoreError, Services,
    auth::{ClientInfo, CurrentUser},
    client_addr, services,
};
use crate::AppError;

/// One management call's view of its request.
pub struct Call {
    pub services: Services,
    pub client: ClientInfo,
    bearer: Option<String>,
}

impl Call {
    fn current() -> Result<Self, AppError> {
        let services = services()?;
        let parts = use_context::<Parts>();
        let header = |name| {
            parts
                .as_ref()
                .and_then(|p| p.headers.get(name))
                .and_then(|v: &HeaderValue| v.to_str().ok())
        };
        let bearer = header(header::AUTHORIZATION)
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(|t| t.trim().to_owned());
        let client = ClientInfo {
            addr: parts.as_ref().and_then(|p| {
                client_addr::of_request(&p.extensions, &p.headers, &services.trusted_proxies)
            }),
            // Bounded: it is stored with the session.
            user_agent: header(header::USER_AGENT).map(|ua| ua.chars().take(256).collect()),
        };
        Ok(Self {
            services,
            client,
            bearer,
        })
    }

    /// The signed-in caller, who must have changed a required password.
    pub async fn user(&self) -> Result<CurrentUser, CoreError> {
        let user = self.user_allowing_password_change().await?;
        user.require_active()?;
        Ok(user)
    }

    /// The signed-in caller, even while a password change is pending.
    pub async fn user_allowing_password_change(&self) -> Result<CurrentUser, CoreError> {
        CurrentUser::authenticate(&self.services, self.bearer.as_deref()).await
    }
}

/// Runs a server function's body and answers its error with the matching status.
pub async fn run<T, F, Fut>(body: F) -> Result<T, AppError>
where
    F: FnOnce(Call) -> Fut,
    Fut: Future<Output = Result<T, CoreError>>,
{
    let result = match Call::current() {
        Ok(call) => body(call).await.map_err(AppError::from),
        Err(e) => Err(e),
    };
    if let Err(e) = &result {
        set_error_status(e);
    }
    result
}

fn set_error_status(e: &AppError) {
    let Some(response) = use_context::<ResponseOptions>() else {
        return;
    };
    response
        .set_status(StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
    match e {
        AppError::TooManyAttempts { retry_after } => {
            response.insert_header(header::RETRY_AFTER, HeaderValue::from(*retry_after));
        }
        AppError::Unavailable => {
            response.insert_header(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        AppError::Unauthenticated | AppError::TokenExpired | AppError::InvalidCredentials => {
            response.insert_header(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        _ => {}
    }
}
