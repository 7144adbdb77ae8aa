use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::AppError;

/// `POST /api/auth/logout` `{refresh_token}`: ends that session.
#[server(prefix = "/api", endpoint = "auth/logout", input = Json, client = crate::client::Gateway)]
pub async fn logout(refresh_token: String) -> Result<(), AppError> {
    use crate::server::{api, auth::session};
    api::run(
        |call| async move { session::logout(&call.services, &refresh_token, &call.client).await },
    )
    .await
}
