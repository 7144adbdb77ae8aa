use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::AppError;

/// `POST /api/auth/logout_all`: ends every session of the caller, everywhere.
#[server(prefix = "/api", endpoint = "auth/logout_all", input = Json, client = crate::client::Gateway)]
pub async fn logout_all() -> Result<(), AppError> {
    use crate::server::{api, auth::session};
    api::run(|call| async move {
        let user = call.user_allowing_password_change().await?;
        session::logout_all(&call.services, &user, &call.client).await
    })
    .await
}
