//! Every management call the pages make goes through [`call`]: when the access token has
//! expired it renews the session once, through `/api/auth/refresh` (one renewal shared by every
//! call that needs it), and retries; when the session cannot be renewed it signs the tab out,
//! and the page guard sends the person to the sign-in page, keeping where they were.

use std::{cell::RefCell, future::Future};

use futures::future::{FutureExt, LocalBoxFuture, Shared};
use leptos::prelude::Set;

use super::tokens::{self, Tokens};
use crate::{AppError, server_fns::auth::refresh, session::Session};

type Renewal = Shared<LocalBoxFuture<'static, Result<(), AppError>>>;

thread_local! {
    static RENEWING: RefCell<Option<Renewal>> = const { RefCell::new(None) };
}

pub async fn call<T, F, Fut>(f: F) -> Result<T, AppError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, AppError>>,
{
    match f().await {
        Err(AppError::TokenExpired) => {}
        Err(AppError::Unauthenticated) => {
            session_ended();
            return Err(AppError::Unauthenticated);
        }
        other => return other,
    }
    if let Err(e) = renew().await {
        session_ended();
        return Err(e);
    }
    let retried = f().await;
    if matches!(
        retried,
        Err(AppError::Unauthenticated | AppError::TokenExpired)
    ) {
        session_ended();
    }
    retried
}

/// Rotates the tokens; concurrent callers share one rotation, so a refresh token is never
/// presented twice (which the server would treat as theft and end the session).
async fn renew() -> Result<(), AppError> {
    let renewal = RENEWING.with(|r| {
        r.borrow_mut()
            .get_or_insert_with(|| {
                async {
                    let result = rotate().await;
                    RENEWING.with(|r| *r.borrow_mut() = None);
                    result
                }
                .boxed_local()
                .shared()
            })
            .clone()
    });
    renewal.await
}

async fn rotate() -> Result<(), AppError> {
    let current = tokens::load().ok_or(AppError::Unauthenticated)?;
    let session = refresh(current.refresh).await?;
    tokens::store(&Tokens {
        access: session.access_token,
        refresh: session.refresh_token,
    });
    Ok(())
}

/// The server no longer accepts this tab's session.
fn session_ended() {
    sign_out_locally();
    if let Some(s) = Session::global() {
        s.notice.set(Some(
            "Your session has ended. Please sign in again.".to_owned(),
        ));
    }
}

/// Forgets the tab's session (the server side is ended separately, by `auth/logout`).
pub fn sign_out_locally() {
    tokens::clear();
    if let Some(s) = Session::global() {
        s.signed_out();
    }
}
