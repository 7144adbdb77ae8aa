use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::{AppError, types::Session};

/// `POST /api/auth/impersonate` `{user_id}` (admin): a session as that user, for at most an
/// hour; end it with `auth/logout` and its refresh token.
#[server(prefix = "/api", endpoint = "auth/impersonate", input = Json, client = crate::client::Gateway)]
pub async fn impersonate(user_id: String) -> Result<Session, AppError> {
    use crate::server::{api, auth::impersonation};
    api::run(|call| async move {
        let user = call.user().await?;
        impersonation::start(
            &call.services,
            user.require_admin()?,
            &user_id,
            &call.client,
        )
        .await
    })
    .await
}
