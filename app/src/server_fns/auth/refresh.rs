use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::{AppError, types::Session};

/// `POST /api/auth/refresh` `{refresh_token}`: rotates the refresh token and issues a new access
/// token. A refresh token presented twice ends its whole session.
#[server(prefix = "/api", endpoint = "auth/refresh", input = Json, client = crate::client::Gateway)]
pub async fn refresh(refresh_token: String) -> Result<Session, AppError> {
    use crate::server::{api, auth::session};
    api::run(
        |call| async move { session::refresh(&call.services, &refresh_token, &call.client).await },
    )
    .await
}
