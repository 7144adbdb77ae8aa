use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::{AppError, types::Me};

/// `POST /api/auth/me`: the caller's profile, permissions and models.
#[server(prefix = "/api", endpoint = "auth/me", input = Json, client = crate::client::Gateway)]
pub async fn my_profile() -> Result<Me, AppError> {
    use crate::server::{api, auth::session};
    api::run(|call| async move {
        let user = call.user().await?;
        session::me(&call.services, &user).await
    })
    .await
}
